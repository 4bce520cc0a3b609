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
     "6:5: unknown key 'fact' (did you mean 'facts'?); allowed here: name, decision, clauses, facts, expect"),
    ("fired: [qpr.records.no-upload]", "fired: qpr.records.no-upload",
     "7:36: scenarios.0.expect.fired: Input should be a valid list (got str 'qpr.records.no-upload'); "
     "write a list: [a, b] or one '- item' per line"),
    ("decision: qpr.records\n", "",
     "3:5: no decision: set `decision:` on the scenario or at the top of the file"),
    ("decision: qpr.records", "decision: qpr.recrods",
     "4:1: scenario 'upload is denied': unknown decision 'qpr.recrods'; known: qpr.actions, qpr.concern-routing, qpr.hold-placed, "
     "qpr.placement, qpr.procedure, qpr.records, qpr.referral-screening, qpr.reinstatement, qpr.team"),
    ("fired: [qpr.records.no-upload]", "fired: [qpr.records.no-uplod]",
     "4:1: scenario 'upload is denied': rule 'qpr.records.no-uplod' is not a rule of qpr.records"),
    ("outcome: deny", "outcome: denied",
     "4:1: scenario 'upload is denied': outcome 'denied' is not one of ['deny', 'allow']"),
    ("clauses: [records.confidential]", "clauses: [records.secret]",
     "4:1: scenario 'upload is denied': clause 'records.secret' is not in qpr.yaml"),
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
