"""The `procedures:` section of a policy file: errors with file:line:column and did-you-mean,
check's lints, fmt round-trip, the JSON Schemas."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import jsonschema
import pytest

from qpr_rules.analysis.fmt import format_text
from qpr_rules.analysis.lint import check
from qpr_rules.errors import PolicyError
from qpr_rules.policy.loader import load_policy_set
from qpr_rules.schemas import event_schemas, policy_schema, render
from qpr_rules.yaml_source import load_yaml_file

ROOT = Path(__file__).resolve().parents[1]
QPR = ROOT / "policies" / "qpr.yaml"


def _edited(tmp_path: Path, old: str, new: str) -> Path:
    text = QPR.read_text()
    assert old in text, old
    target = tmp_path / "qpr.yaml"
    target.write_text(text.replace(old, new, 1))
    return target


def _problems(path: Path) -> list[str]:
    with pytest.raises(PolicyError) as info:
        load_policy_set([path])
    return [f"{p.line}:{p.column} {p.message}" for p in info.value.problems]


def _line_of(path: Path, needle: str) -> int:
    return next(i for i, line in enumerate(path.read_text().splitlines(), 1) if needle in line)


def test_unknown_state_in_a_transition_is_named_with_its_position(tmp_path: Path) -> None:
    path = _edited(tmp_path, "event: qpr.form-submitted, to: screening", "event: qpr.form-submitted, to: screenin")
    (problem,) = _problems(path)
    line = _line_of(path, "to: screenin,")
    assert problem.startswith(f"{line}:") and "unknown state 'screenin' (did you mean 'screening'?)" in problem


def test_unknown_event_type_clause_and_role(tmp_path: Path) -> None:
    path = _edited(tmp_path, "- {type: qpr.form-submitted, clause: step1.submit-form}",
                   "- {type: qpr.form-submited, clause: step1.submit-frm}")
    path.write_text(path.read_text().replace("{who: pco-pss, do: Assess immediate", "{who: pco-ps, do: Assess immediate"))
    found = _problems(path)
    assert any("unknown event type 'qpr.form-submited' (did you mean 'qpr.form-submitted'?)" in p for p in found)
    assert any("unknown clause 'step1.submit-frm' (did you mean 'step1.submit-form'?)" in p for p in found)
    assert any("unknown role 'pco-ps' (did you mean 'pco-pss'?)" in p for p in found)
    # the transition on the event no longer listed is refused too
    assert any("unknown event 'qpr.form-submitted'" in p for p in found)


def test_a_guard_is_type_checked_against_event_and_case(tmp_path: Path) -> None:
    path = _edited(tmp_path, "when: {fact: event.rf_agrees, eq: true}", "when: {fact: event.rf_agree, eq: true}")
    (problem,) = _problems(path)
    assert "rf_agree" in problem and "rf_agrees" in problem
    assert problem.startswith(f"{_line_of(path, 'event.rf_agree,')}:")


def test_a_departure_guard_is_type_checked_and_only_a_state_may_guard_its_departure(tmp_path: Path) -> None:
    path = _edited(tmp_path, "when: {not: {use: case-hold-in-force}}", "when: {fact: case.hold_knd, present: false}")
    (problem,) = _problems(path)
    assert "hold_knd" in problem and "hold_kind" in problem
    assert problem.startswith(f"{_line_of(path, 'case.hold_knd')}:")
    # the event's own departure is the last word: it cannot be passed over
    path = _edited(tmp_path, "        departure:\n          text: >-\n            Homes on hold",
                   "        departure:\n          when: {fact: case.hold_kind, present: true}\n"
                   "          text: >-\n            Homes on hold")
    (problem,) = _problems(path)
    assert problem.startswith(f"{_line_of(path, 'when: {fact: case.hold_kind, present: true}')}:")
    assert "an event's own departure" in problem and "takes no `when:`" in problem


def test_a_final_state_cannot_be_left(tmp_path: Path) -> None:
    path = _edited(tmp_path, "- {from: permanent-hold, event: qpr.concern-raised, clause: step1.when}",
                   "- {from: permanent-hold, event: qpr.concern-raised, to: consultation, clause: step1.when}")
    (problem,) = _problems(path)
    assert "state 'permanent-hold' is final: no transition leaves it" in problem


def test_record_names_a_case_field(tmp_path: Path) -> None:
    path = _edited(tmp_path, "record: {reinstated_on: {fact: event.on}}", "record: {reinstated: {fact: event.on}}")
    (problem,) = _problems(path)
    assert "unknown field of the case model HomeCase 'reinstated'" in problem


def test_check_lints_unreachable_states_and_dead_ends(tmp_path: Path) -> None:
    policies = tmp_path / "policies"
    shutil.copytree(ROOT / "policies", policies)
    qpr = policies / "qpr.yaml"
    text = qpr.read_text().replace(
        "      - {from: not-warranted, event: qpr.recommendations-followed, to: good-standing, clause: step1.not-warranted}\n",
        "")
    qpr.write_text(text)
    codes = {(p.code, p.message.split(" of ")[0]) for p in check([policies]).problems}
    assert ("state-without-exit", "state not-warranted") in codes
    text = text.replace(
        "      - {from: consultation, event: qpr.consultation-held, to: form, when: {fact: event.warranted, eq: true}, clause: step1.submit-form}\n",
        "")
    qpr.write_text(text)
    codes = {(p.code, p.message.split(" of ")[0]) for p in check([policies]).problems}
    assert ("state-unreachable", "state form") in codes


def test_fmt_keeps_the_procedures_section() -> None:
    text = QPR.read_text()
    assert format_text(text, str(QPR)) == text


def test_schemas_cover_procedures_and_events() -> None:
    schema = policy_schema()
    assert (ROOT / "schemas" / "policy.schema.json").read_text() == render(schema)
    data = json.loads(json.dumps(load_yaml_file(QPR)[0], default=str))
    jsonschema.validate(data, schema)
    data["procedures"][0]["transitions"][0]["when"] = {"fact": "event.on", "equals": 1}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(data, schema)
    events = event_schemas()
    assert "qpr.review-requested" in events
    for name, s in events.items():
        assert (ROOT / "schemas" / "events" / f"{name}.schema.json").read_text() == render(s)
    jsonschema.validate({"type": "qpr.form-submitted", "case": "h", "by": "referring-sw", "on": "2025-01-04"},
                        events["qpr.form-submitted"])
