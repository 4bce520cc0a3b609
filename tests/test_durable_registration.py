"""durable_rules' error 102 at registration (issue 21, item 4).

durable_rules' C engine, building the node of an `$iany`/`$iall` whose item test ends in an
alternative (`$or`), reads a field of that node it never set (rete.c, createAlpha after
createForwardAlpha): memory from realloc, so create_ruleset fails with 102 (ERR_UNEXPECTED_TYPE)
or not depending on what the process's memory held. The compiler never writes such an item
(durable_compiler._over_items); a policy of 5,000 rules registers in every fresh process.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from qpr_rules.engine import durable_compiler
from qpr_rules.engine.durable_compiler import compile_rule_expression, ends_in_alternative
from qpr_rules.policy.limits import condition_size, ruleset_chunks
from qpr_rules.policy.loader import load_policy_set

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

from scale_policy import write_policy  # noqa: E402


def _item_tests(expr: Any) -> list[tuple[str, Any]]:
    """Every (operator, item test) of an `$iany`/`$iall` in a compiled expression."""
    found: list[tuple[str, Any]] = []
    if isinstance(expr, dict):
        for key, value in expr.items():
            if key in ("$iany", "$iall"):
                ((_, item),) = value.items()
                found.append((key, item))
            found += _item_tests(value)
    elif isinstance(expr, list):
        for value in expr:
            found += _item_tests(value)
    return found


def _rulesets(paths: list[Path]) -> list[list[tuple[str, Any, int]]]:
    """Each decision's rules as the engine registers them: (id, expression, priority), in the
    rulesets ruleset_chunks splits them into."""
    out = []
    for spec in load_policy_set(paths).decisions.values():
        rules = sorted(spec.rules, key=lambda r: r.order)
        compiled = [(r.id, compile_rule_expression(r.condition), r.rule.priority) for r in rules]
        for chunk in ruleset_chunks([condition_size(r.condition) for r in rules]):
            out.append([compiled[i] for i in chunk])
    return out


def test_an_item_test_ending_in_an_alternative_is_never_written() -> None:
    either = {"$or": [{"$i.age": 1}, {"$i.gender": "male"}]}
    for item in (either, {"$and": [{"$i.age": 1}, either]}):
        assert ends_in_alternative(item)
        with pytest.raises(ValueError, match="error 102"):
            durable_compiler._over_items("$iall", "home.children_placed", item)
    assert not ends_in_alternative({"$and": [either, {"$i.age": 1}]})  # ends in a real test


def test_no_bundled_or_generated_rule_has_such_an_item_test(tmp_path: Path) -> None:
    rulesets = _rulesets([ROOT / "policies"]) + _rulesets([write_policy(tmp_path, 400)])
    items = [item for rules in rulesets for _, expr, _ in rules for item in _item_tests(expr)]
    assert len(items) > 100  # some, every and contains are there
    assert not [item for item in items if ends_in_alternative(item[1])]


# Registers every ruleset through the engine's own DurableRuleset in this fresh process; prints
# the number registered and the refusals.
_REGISTER = """
import json, sys
from qpr_rules.engine.durable_host import CompiledDurableRule, DurableRuleset
refused, made = [], []
for i, rules in enumerate(json.loads(open(sys.argv[1], encoding="utf-8").read())):
    try:
        made.append(DurableRuleset("gen.placement", [CompiledDurableRule(*r) for r in rules]))
    except Exception as exc:
        refused.append(f"ruleset {i}: {exc}")
print(json.dumps([len(made), refused]))
"""


def test_a_5000_rule_policy_registers_in_20_fresh_processes(tmp_path: Path) -> None:
    rulesets = _rulesets([write_policy(tmp_path, 5000)])
    assert sum(map(len, rulesets)) == 5000 and len(rulesets) > 100
    data = tmp_path / "rulesets.json"
    data.write_text(json.dumps(rulesets), encoding="utf-8")
    for run in range(20):
        done = subprocess.run([sys.executable, "-c", _REGISTER, str(data)], capture_output=True,
                              text=True, timeout=300, check=False)
        assert done.returncode == 0, (run, done.stderr[-2000:])
        made, refused = json.loads(done.stdout)
        assert (made, refused) == (len(rulesets), []), run
