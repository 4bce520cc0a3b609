"""Errors and rough edges an analyst meets daily (issue 20, item 6)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

import qpr_rules
from qpr_rules.cli.app import cli
from qpr_rules.errors import PolicyError
from qpr_rules.yaml_source import load_yaml_file, load_yaml_text

ROOT = Path(__file__).resolve().parents[1]
POLICIES = ROOT / "policies"
HOLD_FILE = ROOT / "examples" / "placement_home_on_hold.yaml"


def _problem(text: str) -> str:
    with pytest.raises(PolicyError) as caught:
        load_yaml_text(text, "f.yaml")
    (problem,) = caught.value.problems
    return str(problem)


def test_a_policy_line_indented_too_little_is_named_with_what_would_fit() -> None:
    text = (POLICIES / "qpr.yaml").read_text()
    lines = text.split("\n")
    at = lines.index("  - id: qpr.placement.hold-pending-qpr") + 2
    assert lines[at].startswith("    title: ")
    lines[at] = "   " + lines[at].lstrip()
    said = _problem("\n".join(lines))
    assert said.startswith(f"f.yaml:{at + 1}:4: invalid YAML: line {at + 1} is indented 3 space(s), which "
                           f"continues no block above it; line {at} is at 4: indent line {at + 1} to one of 4,")


def test_a_policy_line_indented_too_much_is_named() -> None:
    said = _problem("rules:\n  - id: a\n    decision: b\n     title: c\n")
    assert said == ("f.yaml:4:6: invalid YAML: line 4 is indented deeper (5 spaces) than line 3 (4), so YAML "
                    "reads it as more of line 3's value; indent it to 4 spaces, as the keys it belongs with")


def test_a_scenario_key_without_its_colon_is_named_at_its_own_line() -> None:
    # PyYAML says "mapping values are not allowed here" at line 5, one line after the mistake
    said = _problem("scenarios:\n  - name: x\n    facts:\n      placement\n        date: 2026-01-01\n")
    assert said == ("f.yaml:4:7: invalid YAML: line 4 ('placement') has no colon, so YAML reads line 5 as "
                    "more of its text; write `placement:` if it names what follows")


def test_a_tab_is_named() -> None:
    assert _problem("a:\n\tb: 1\n").endswith("a tab where YAML needs spaces; indent with spaces only")


def test_no_error_error_prefix(tmp_path: Path) -> None:
    bad = tmp_path / "tests" / "bad.yaml"
    bad.parent.mkdir()
    bad.write_text("this is: [not, a, scenario file\n")
    for args in (["coverage", "run", "-p", str(POLICIES), str(bad)], ["test", "-p", str(POLICIES), str(bad)]):
        result = CliRunner().invoke(cli, args)
        assert result.exit_code == 1 and "invalid YAML" in result.output
        assert "error error" not in result.output, args


def test_batch_progress_counts_lines_not_bytes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    from qpr_rules import Engine
    from qpr_rules.cli import batch

    facts = json.dumps(json.loads(Engine.load([POLICIES]).validate_facts(
        "qpr.placement", load_yaml_file(HOLD_FILE)[0]).model_dump_json()))
    cases = tmp_path / "cases.jsonl"
    cases.write_text((facts + "\n") * 300)
    calls: list[tuple[int, int, int | None]] = []

    def fake_bar(stack: ExitStack, label: str, unit: str = "cases") -> Any:
        assert unit == "lines"
        return lambda done, total, cases=None: calls.append((done, total, cases))

    monkeypatch.setattr(batch, "progress_bar", fake_bar)
    lines, errors, _ = batch.run_batch(Engine.load([POLICIES], evaluator="compiled"), "qpr.placement",
                                       str(cases), 1)
    assert (lines, errors) == (300, 0)
    assert calls[-1] == (cases.stat().st_size, cases.stat().st_size, 300)  # 300 lines, not the bytes
    assert calls[0][2] == 256
    capsys.readouterr()


def test_every_documented_error_is_importable_and_in_the_errors_table() -> None:
    api = (ROOT / "docs" / "api.md").read_text()
    named = set(re.findall(r"`([A-Z][A-Za-z]*Error)`", api)) - {"TypeError", "MemoryError", "OverflowError",
                                                                 "AttributeError", "ValueError", "KeyError"}
    assert {"DecisionLogError", "PolicyError", "FactsError", "UnknownDecisionError", "EngineError",
            "QprRulesError"} <= named
    for name in named:
        error = getattr(qpr_rules, name)
        assert issubclass(error, qpr_rules.QprRulesError) and name in qpr_rules.__all__
        assert re.search(rf"^\| `{name}` \|", api, re.M), f"{name} has no row of its own in docs/api.md"


def test_fmt_keeps_a_null_the_file_spells_out(tmp_path: Path) -> None:
    facts = tmp_path / "facts.yaml"
    text = "home:\n  id: H-1\n  hold: null\n  restrictions:\n  others: ~  # none\nlist:\n  - null\n"
    facts.write_text(text)
    result = CliRunner().invoke(cli, ["fmt", "--check", str(facts)])
    assert result.exit_code == 0, result.output
    assert facts.read_text() == text


def test_shell_completion_completes_decision_ids() -> None:
    env = {**os.environ, "COMP_WORDS": "qpr-rules decide qpr.p", "COMP_CWORD": "2",
           "_QPR_RULES_COMPLETE": "bash_complete"}
    result = subprocess.run([str(Path(sys.executable).with_name("qpr-rules"))], env=env, capture_output=True,
                            text=True, timeout=120, cwd=ROOT)
    assert result.stdout.split() == ["plain,qpr.placement", "plain,qpr.procedure"], result.stderr
