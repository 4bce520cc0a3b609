"""Every mistake an analyst can make in a scenario file, with its exact message.

(Policy-file mistakes are in test_loader_errors.py.)"""

from __future__ import annotations

from pathlib import Path

import pytest

from qpr_rules import Engine, PolicyError
from qpr_rules.scenarios.runner import check_references, load_scenario_file

ROOT = Path(__file__).resolve().parents[1]
ENGINE = Engine.load([ROOT / "policies" / "qpr.yaml"])
GOOD = """\
format: qpr-rules/scenarios-v1
decision: qpr.records
scenarios:
  - name: upload is denied
    clauses: [records.confidential]
    facts: {record: qpr_referral, action: upload_to_cws_cms}
    expect: {outcome: deny, fired: [qpr.records.no-upload]}
"""


def messages(tmp_path: Path, text: str) -> list[str]:
    path = tmp_path / "s.yaml"
    path.write_text(text)
    try:
        scenarios = load_scenario_file(path)
    except PolicyError as exc:
        return [f"{p.line}:{p.column}: {p.message}" for p in exc.problems]
    return [f"{p.line}:{p.column}: {p.message}" for p in check_references(ENGINE, scenarios)]


def test_good_file_has_no_problem(tmp_path: Path) -> None:
    assert messages(tmp_path, GOOD) == []


@pytest.mark.parametrize("old, new, expected", [
    ("expect: {outcome: deny,", "expect: {outcom: deny,",
     "7:14: unknown key 'outcom' (did you mean 'outcome'?); allowed here: outcome, status, fired, not_fired, "
     "obligations, no_obligations, consequences"),
    ("format: qpr-rules/scenarios-v1", "format: qpr-rules/v2",
     "1:9: format: Input should be 'qpr-rules/scenarios-v1' (got str 'qpr-rules/v2')"),
    ("    facts: {record", "    fact: {record",
     "6:5: unknown key 'fact' (did you mean 'facts'?); allowed here: name, decision, clauses, facts, expect, "
     "known_wrong"),
    ("fired: [qpr.records.no-upload]", "fired: qpr.records.no-upload",
     "7:36: scenarios #1.expect.fired: Input should be a valid list (got str 'qpr.records.no-upload'); "
     "write a list: [a, b] or one '- item' per line"),
    ("decision: qpr.records\n", "",
     "3:5: no decision: set `decision:` on the scenario or at the top of the file"),
    ("decision: qpr.records", "decision: qpr.recrods",
     "4:1: scenario 'upload is denied': unknown decision 'qpr.recrods' (did you mean 'qpr.records'?); known: qpr.actions, qpr.concern-routing, "
     "qpr.hold-placed, "
     "qpr.placement, qpr.procedure, qpr.records, qpr.referral-screening, qpr.reinstatement, qpr.team"),
    ("fired: [qpr.records.no-upload]", "fired: [qpr.records.no-uplod]",
     "4:1: scenario 'upload is denied': rule 'qpr.records.no-uplod' is not a rule of qpr.records "
     "(did you mean 'qpr.records.no-upload'?)"),
    ("outcome: deny", "outcome: denied",
     "4:1: scenario 'upload is denied': outcome 'denied' is not one of ['deny', 'allow'] (did you mean 'deny'?)"),
    ("clauses: [records.confidential]", "clauses: [records.secret]",
     "4:1: scenario 'upload is denied': clause 'records.secret' is not in qpr.yaml (did you mean 'records.confidential'?)"),
    ("scenarios:\n", "scenarios:\nscenarios:\n",
     "4:1: duplicate key 'scenarios' (first defined at line 3, column 1); each key may appear once in a "
     "mapping: merge the two or rename one"),
])
def test_scenario_mistakes(tmp_path: Path, old: str, new: str, expected: str) -> None:
    assert old in GOOD
    found = messages(tmp_path, GOOD.replace(old, new, 1))
    assert expected in found, found


def test_empty_scenario_list(tmp_path: Path) -> None:
    found = messages(tmp_path, "format: qpr-rules/scenarios-v1\ndecision: qpr.records\nscenarios: []\n")
    assert found == ["3:12: scenarios: List should have at least 1 item after validation, not 0 (got a list); "
                     "it must not be empty"]


def test_a_policy_file_given_as_scenarios(tmp_path: Path) -> None:
    path = tmp_path / "p.yaml"
    path.write_text("format: qpr-rules/v1\nid: x\n")
    with pytest.raises(PolicyError) as info:
        load_scenario_file(path)
    assert info.value.problems[0].message == (
        f"this is a policy file, not scenarios; check it with `qpr-rules validate {path}`")


def test_one_bad_reference_still_runs_the_other_scenarios(tmp_path: Path) -> None:
    """`qpr-rules test`: the scenario naming a misspelt rule is reported with a suggestion; the
    file's other scenarios still run and pass."""
    import subprocess
    import sys

    tests_dir = tmp_path / "policies" / "tests"
    tests_dir.mkdir(parents=True)
    (tmp_path / "policies" / "qpr.yaml").write_text((ROOT / "policies" / "qpr.yaml").read_text(encoding="utf-8"),
                                                    encoding="utf-8")
    good = GOOD.split("scenarios:\n", 1)[1]
    bad = good.replace("fired: [qpr.records.no-upload]", "fired: [qpr.records.no-uplod]").replace(
        "upload is denied", "upload is denied (misspelt)")
    (tests_dir / "s.yaml").write_text(GOOD + bad, encoding="utf-8")
    cli = Path(sys.executable).with_name("qpr-rules")
    result = subprocess.run([str(cli), "test", str(tests_dir / "s.yaml")], capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 1
    assert "1 passed, 0 failed, 1 problem(s) in files" in result.stdout, result.stdout + result.stderr
    assert "(did you mean 'qpr.records.no-upload'?)" in result.stderr
