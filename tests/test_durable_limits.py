"""The limits of durable_rules: each re-measured just below and just above its recorded value (in
subprocesses with timeouts: beyond some limits durable_rules loops forever holding the GIL);
the loader's counts equal the compiled expressions'; policies generated near every limit are
either refused with file:line:column and the limit, or load and decide without hanging or
raising; facts beyond a limit fail closed naming it."""

from __future__ import annotations

import datetime as dt
import json
import math
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from qpr_rules import Engine
from qpr_rules.engine.durable_compiler import compile_rule_expression
from qpr_rules.policy import limits
from qpr_rules.policy.limits import condition_combinators, condition_size
from qpr_rules.tools.durable_limits import DIMENSIONS, attempt
from tests.policy_text import BASE, placement_facts, write_policy

ROOT = Path(__file__).resolve().parents[1]
RECORDED = sorted(name for name, d in DIMENSIONS.items() if d.recorded is not None)


@pytest.mark.parametrize("name", RECORDED)
def test_each_recorded_limit_holds_exactly(name: str) -> None:
    limit = DIMENSIONS[name].recorded
    assert limit is not None
    at = attempt(name, limit, timeout=20)
    assert at["status"] == "ok", at
    past = attempt(name, limit + 1, timeout=8)
    assert past["status"] != "ok", f"{name}: durable_rules now takes {limit + 1}; re-measure and update limits.py"


# ---------------------------------------------------------------- counts equal the compiled form


def _compiled_combinators(expr: Any) -> int:
    if not isinstance(expr, dict):
        return 0
    count = 0
    for key, value in expr.items():
        if key in ("$and", "$or"):
            count += 1 + sum(_compiled_combinators(x) for x in value)
        elif key in ("$iany", "$iall"):
            count += sum(_compiled_combinators(x) for x in value.values())
    return count


def _compiled_terms(expr: Any) -> int:
    if isinstance(expr, dict) and len(expr) == 1:
        ((key, value),) = expr.items()
        if key == "$and":
            return math.prod(_compiled_terms(x) for x in value)
        if key == "$or":
            return sum(_compiled_terms(x) for x in value)
        if key in ("$iany", "$iall"):
            ((_, inner),) = value.items()
            return _compiled_terms(inner)
    return 1


@pytest.mark.parametrize("source", ["bundled", "differential", "conditions"])
def test_the_loader_counts_what_the_compiler_writes(source: str, tmp_path: Path) -> None:
    if source == "bundled":
        engine = Engine.from_bundled()
    elif source == "differential":
        engine = Engine.load(ROOT / "tests" / "fixtures" / "differential.yaml")
    else:  # every operator, negated and not (the fixture of tests/test_conditions.py)
        from tests.test_conditions import HEAD, RULES

        body = "".join(f"  - {{id: {rid}, decision: ops.d, title: {rid}, outcome: hit, when: {when}}}\n"
                       f"  - {{id: negated-{rid}, decision: ops.d, title: n, outcome: hit, when: {{not: {when}}}}}\n"
                       for rid, when, _ in RULES)
        engine = Engine.load(write_policy(tmp_path, HEAD + body, "ops.yaml"))
    rules = [r for spec in engine.policies.decisions.values() for r in spec.rules]
    assert len(rules) > 10
    for rule in rules:
        expr = compile_rule_expression(rule.condition)
        assert condition_size(rule.condition).terms == _compiled_terms(expr), rule.id
        assert condition_combinators(rule.condition) == _compiled_combinators(expr) - 1, rule.id  # less the marker's


# ---------------------------------------------------------------- policies near every limit


def _rule(rid: str, when: str, outcome: str = "deny") -> str:
    return f"  - {{id: {rid}, decision: tiny.placement, title: {rid}, clauses: [hold], when: {when}, outcome: {outcome}}}\n"


def _nested(depth: int) -> str:
    """A condition that compiles to `depth` levels of $and/$or (each level has two items)."""
    cond = "{fact: child.age, gte: 0}"
    for i in range(depth):
        key = "all" if i % 2 else "any"
        cond = f"{{{key}: [{cond}, {{fact: placement.cleared_with_pco, eq: true}}]}}"
    return cond


def _alls(n: int) -> str:
    """`any` of n two-item `all`s: n + 1 combinators, n alternatives."""
    item = "{all: [{fact: child.age, gte: 0}, {fact: child.age, lte: 25}]}"
    return "{any: [" + ", ".join([item] * n) + "]}"


def _chain(levels: int) -> str:
    """Named conditions each using the one before twice: 2**levels atoms when expanded."""
    lines = ["conditions:\n", "  c0: {fact: child.age, gte: 0}\n"]
    lines += [f"  c{i}: {{all: [{{use: c{i - 1}}}, {{use: c{i - 1}}}]}}\n" for i in range(1, levels + 1)]
    return "".join(lines)


def _single_chain(levels: int) -> str:
    """Named conditions each using the one before once, in an `any`: no growth, only depth."""
    lines = ["conditions:\n", "  c0: {fact: child.age, gte: 0}\n"]
    lines += [f"  c{i}: {{any: [{{use: c{i - 1}}}]}}\n" for i in range(1, levels + 1)]
    return "".join(lines)


def _ages(n: int, start: int = 0) -> str:
    return "[" + ", ".join(str(start + i) for i in range(n)) + "]"


# (name, extra rules, text inserted before `clauses:`, limit words expected when refused or None)
NEAR: list[tuple[str, str, str, str | None]] = [
    ("in-511", _rule("big", f"{{fact: child.age, in: {_ages(511)}}}"), "", None),
    ("in-512", _rule("big", f"{{fact: child.age, in: {_ages(512)}}}"), "", "at most 511 per rule"),
    ("not-in-512-under-not", _rule("big", f"{{not: {{fact: child.age, not_in: {_ages(512)}}}}}"), "",
     "at most 511 per rule"),
    ("matches-64", _rule("big", "{any: [" + ", ".join(f"{{fact: child.age, gt: {-i}}}" for i in range(1, 65)) + "]}"),
     "", None),
    ("matches-65", _rule("big", "{any: [" + ", ".join(f"{{fact: child.age, gt: {-i}}}" for i in range(1, 66)) + "]}"),
     "", "at most 64 per rule"),
    ("rules-firing-together-130", "".join(_rule(f"r{i}", "{fact: child.age, gte: 0}") for i in range(130)), "", None),
    ("rules-of-300-alternatives-each", "".join(_rule(f"r{i}", f"{{fact: child.age, in: {_ages(300)}}}")
                                               for i in range(4)), "", None),
    ("depth-14", _rule("deep", _nested(14)), "", None),
    ("depth-15", _rule("deep", _nested(15)), "", "at most 14 per rule (error 113"),
    ("combinations-14", _rule("wide", _alls(13)), "", None),
    ("combinations-15", _rule("wide", _alls(14)), "", "compiles to 15 `all`/`any` combinations"),
    ("text-65535", _rule("long", f"{{fact: home.id, eq: {'a' * 65535}}}"), "", None),
    ("text-65536", _rule("long", f"{{fact: home.id, eq: {'a' * 65536}}}"), "", "at most 65,535 bytes"),
    ("text-multibyte", _rule("long", f"{{fact: home.id, eq: {'é' * 32768}}}"), "", "at most 65,535 bytes"),
    ("int-max", _rule("big", f"{{fact: home.children_placed, count: {{lt: {2**63 - 1}}}}}"), "", None),
    ("int-past-max", _rule("big", f"{{fact: home.children_placed, count: {{lt: {2**63}}}}}"), "",
     "out of range"),
    ("plus-days-century", _rule("days", "{fact: placement.date, after: {fact: home.hold.placed_on, plus_days: 36525}}"),
     "", None),
    ("plus-days-past", _rule("days", "{fact: placement.date, after: {fact: home.hold.placed_on, plus_days: 36526}}"),
     "", "at most 36,525 days"),
    ("within-days-huge", _rule("days", "{fact: placement.date, within_days: {days: 99999999999, of: 2024-01-01}}"),
     "", "day offsets are at most 36,525 days"),
    ("date-literal-far", _rule("days", "{fact: placement.date, before: 9999-12-31}"), "", "out of range"),
    ("named-chain-3", _rule("chain", "{use: c3}"), _chain(3), None),
    ("named-chain-4", _rule("chain", "{use: c4}"), _chain(4), "compiles to 15 `all`/`any` combinations"),
    ("named-chain-10", _rule("chain", "{use: c10}"), _chain(10),
     "expands to 5,118 nodes through its named conditions (uses 'c10' (5,118 nodes), which uses 'c9' 2 times "
     "(2,558 nodes), which uses 'c8' 2 times"),
    ("named-chain-60", _rule("chain", "{use: c60}"), _chain(60), "at most 32 are allowed"),
    ("named-chain-60-x", _rule("chain", "{use: c12}"), _chain(60), "at most 5,000 are allowed"),
    ("named-single-chain-31", _rule("chain", "{use: c31}"), _single_chain(31), None),
    ("named-single-chain-32", _rule("chain", "{use: c32}"), _single_chain(32), "nests named conditions 33 deep"),
]


def _policy(extra_rules: str, before_clauses: str) -> str:
    return BASE.replace("clauses:\n  - id: hold\n", before_clauses + "clauses:\n  - id: hold\n") + extra_rules


DECIDE_NEAR = """
import json, sys
from qpr_rules import Engine
engine = Engine.load(sys.argv[1])
for facts in json.loads(sys.argv[2]):
    d = engine.decide("tiny.placement", facts)
    assert d.status != "error", d.reason
print("decided", len(json.loads(sys.argv[2])))
"""


def _facts() -> list[dict[str, Any]]:
    return [placement_facts(), placement_facts(hold={"kind": "pending_qpr", "placed_on": "2024-01-01"}),
            {**placement_facts(children_placed=[{"age": 3, "gender": "male"}]), "child": {"age": 0, "gender": "male"}},
            {**placement_facts(), "child": {"age": 25, "gender": "nonbinary"}}]


@pytest.mark.parametrize(("name", "rules", "before", "refusal"), NEAR, ids=[n[0] for n in NEAR])
def test_policies_near_every_limit_are_refused_or_run(tmp_path: Path, name: str, rules: str, before: str,
                                                        refusal: str | None) -> None:
    path = write_policy(tmp_path, _policy(rules, before))
    validate = subprocess.run([str(Path(sys.executable).with_name("qpr-rules")), "validate", str(path)],
                              capture_output=True, text=True, timeout=60)
    assert "Traceback" not in validate.stderr
    if refusal is not None:
        assert validate.returncode == 1, validate.stdout
        first = validate.stderr.splitlines()[0]
        assert first.startswith(f"{path}:") and refusal in first, first[:600]
        line = int(first.split(":")[1])
        assert line > 1  # the rule's own line, not a made-up position
        return
    assert validate.returncode == 0, validate.stderr[:2000]
    run = subprocess.run([sys.executable, "-c", DECIDE_NEAR, str(path), json.dumps(_facts())],
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0 and run.stdout.strip() == "decided 4", run.stderr[-2000:]


def test_the_named_condition_check_takes_bounded_time(tmp_path: Path) -> None:
    path = write_policy(tmp_path, _policy(_rule("chain", "{use: c400}"), _chain(400)))
    code = f"""
        import time, tracemalloc
        from qpr_rules import PolicyError
        from qpr_rules.policy.loader import load_policy_set
        start = time.monotonic()
        tracemalloc.start()  # the memory the check itself allocates, not the interpreter's imports
        try:
            load_policy_set([{str(path)!r}])
        except PolicyError as exc:
            print(exc.problems[0].message[:80])
        peak = tracemalloc.get_traced_memory()[1]
        print(round(time.monotonic() - start, 2), peak // (1024 * 1024))
    """
    result = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=60)
    message, numbers = result.stdout.strip().splitlines()
    seconds, megabytes = numbers.split()
    assert message.startswith("this condition nests named conditions 401 deep (uses 'c400' (")
    assert float(seconds) < 5 and int(megabytes) < 100  # expanding it would take gigabytes


def test_a_decision_beyond_one_rulesets_budget_is_split_and_answers_the_same(tmp_path: Path) -> None:
    rules = "".join(_rule(f"r{i}", "{fact: child.age, gte: 0}") for i in range(130))
    engine = Engine.load(write_policy(tmp_path, _policy(rules, "")))
    runtime = engine._runtimes["tiny.placement"]
    assert len(runtime.rulesets) == 3  # 132 rules that can all fire: at most 64 a ruleset
    decision = engine.decide("tiny.placement", placement_facts())
    assert decision.status == "decided" and len(decision.fired) == 131  # 130 + tiny.allow


# ---------------------------------------------------------------- facts beyond a limit


@pytest.mark.parametrize(("facts", "words"), [
    (placement_facts(id="a" * 65536), "home.id: the text is 65,536 bytes long; text may be at most 65,535 bytes in UTF-8"),
    (placement_facts(id="é" * 40000), "home.id: the text is 80,000 bytes long"),
    (placement_facts(restrictions={"max_children": 2**63}), "home.restrictions.max_children: Input should be less than or equal to 9223372036854775807"),
    ({**placement_facts(), "placement": {"date": "9999-12-31", "status": "proposed", "cleared_with_pco": True, "siblings": []}},
     "placement.date: the date 9999-12-31 is out of range; dates run from 1800-01-01 to 2399-12-31"),
    ({**placement_facts(), "placement": {"date": "0001-01-01", "status": "proposed", "cleared_with_pco": True, "siblings": []}},
     "placement.date: the date 0001-01-01 is out of range"),
])
def test_facts_beyond_a_limit_fail_closed_naming_it(facts: dict[str, Any], words: str) -> None:
    """The fact models hold durable_rules' limits (facts/common.py): beyond one, the facts are
    invalid on both evaluators, in the same words."""
    for evaluator in ("durable", "compiled"):
        decision = Engine.load(ROOT / "tests" / "fixtures" / "tiny", evaluator=evaluator).decide(  # type: ignore[arg-type]
            "tiny.placement", facts)
        assert decision.outcome == "deny" and decision.status == "error"
        assert "the facts are invalid" in decision.reason and words in decision.reason


def test_a_lone_surrogate_in_facts_fails_closed() -> None:
    decision = Engine.load(ROOT / "tests" / "fixtures" / "tiny").decide("tiny.placement", placement_facts(id="\ud800"))
    assert decision.status == "error" and "home.id: Input should be a valid string" in decision.reason


def test_facts_just_inside_the_limits_are_decided() -> None:
    engine = Engine.load(ROOT / "tests" / "fixtures" / "tiny")
    for facts in (placement_facts(id="a" * 65535), placement_facts(restrictions={"max_children": 2**63 - 1}),
                  {**placement_facts(), "placement": {"date": "2399-12-31", "status": "proposed", "cleared_with_pco": True, "siblings": []}}):
        assert engine.decide("tiny.placement", facts).status == "decided"


def test_a_message_too_large_for_durable_rules_fails_closed() -> None:
    # qpr.hold-placed reads the children in the home (it counts them), so all of them are posted
    # (qpr.placement no longer does: it reads counts and ages derived from them, issue 17.7)
    children = [{"region": "East"}] * 1_000_000  # ~19 MB as a message, every text short
    facts = {"home_id": "RH-1", "hold": {"kind": "pending_qpr", "placed_on": "2026-02-20"},
             "children_in_home": children}
    decision = Engine.from_bundled().decide("qpr.hold-placed", facts)
    assert decision.status == "error" and "durable_rules takes at most 16,777,214 (error 314)" in decision.reason


def test_facts_no_rule_reads_are_not_posted_so_their_size_is_no_limit() -> None:
    # tiny.placement reads no child placed: durable_rules gets none of them (each value is still
    # checked against the limits), and the case is decided as the compiled evaluator decides it
    children = [{"age": 3, "gender": "male"}] * 700_000
    facts = placement_facts(children_placed=children)
    durable = Engine.load(ROOT / "tests" / "fixtures" / "tiny").decide("tiny.placement", facts)
    fast = Engine.load(ROOT / "tests" / "fixtures" / "tiny", evaluator="compiled").decide("tiny.placement", facts)
    assert durable.status == "decided" and durable.to_json() == fast.to_json()


def test_limits_are_what_the_docs_say() -> None:
    doc = (ROOT / "docs" / "reliability.md").read_text(encoding="utf-8")
    for value in (limits.DURABLE_MAX_TERMS - 1, limits.DURABLE_MAX_MATCHES - 1, limits.DURABLE_MAX_COMBINATORS,
                  limits.DURABLE_MAX_STRING_BYTES, limits.DURABLE_MAX_PROPERTIES, limits.DURABLE_MAX_MESSAGE_BYTES,
                  limits.MAX_EXPANDED_NODES, limits.MAX_DAY_OFFSET):
        assert f"{value:,}" in doc, value
    assert dt.date(2399, 12, 31) == limits.MAX_FACT_DATE


def test_far_dates_fail_closed_before_any_date_arithmetic() -> None:
    # qpr.placement adds days to hold dates: 9999-12-31 + days would raise OverflowError in the
    # reference evaluator; the limit check runs first and names the field
    facts = placement_facts(hold={"kind": "time_limited", "placed_on": "9999-12-01", "review_after": "9999-12-31"})
    decision = Engine.from_bundled().decide("qpr.placement", facts)
    assert decision.outcome == "deny" and decision.status == "error"
    assert "home.hold.placed_on: the date 9999-12-01 is out of range" in decision.reason
    assert "Overflow" not in decision.reason
