"""Case scenarios marked `known_wrong`, as decision scenarios are (tests/test_known_wrong.py): a
reading the procedure gets wrong today, committed failing before its fix. The mark counts only
while the case ends exactly as recorded (its state, the duties among those owed, exactly its
departures); `test` reports it as known wrong (not as a pass), pytest as xfail, and a mark on a
case that now passes is stale: `test` and pytest fail it, `check --strict` refuses it."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

import qpr_rules.cli.analyst
import qpr_rules.cli.core  # noqa: F401
from qpr_rules.cli.app import cli
from qpr_rules.engine.engine import Engine
from qpr_rules.errors import PolicyError
from qpr_rules.scenarios.case_runner import CaseResult, check_case_references, load_case_file, run_case

ROOT = Path(__file__).resolve().parents[1]
ENGINE = Engine.load([ROOT / "policies"])
HEAD = "format: qpr-rules/case-scenarios-v1\nprocedure: qpr.home\ncases:\n"
CONCERN = ('{type: qpr.concern-raised, by: referring-sw, "on": 2025-01-02, raised_by: social_worker, '
           "after_state_denial: false}")
WARRANTED = '{type: qpr.consultation-held, by: referring-sw, "on": 2025-01-03, warranted: true}'
FORM = '{type: qpr.form-submitted, by: referring-sw, "on": 2025-01-04}'
REASON = "reason: 'issue 0.1: the reading it gets wrong'"


def case(expect: str, wrong: str | None, events: str = f"[{CONCERN}, {WARRANTED}]", name: str = "marked") -> str:
    """A case whose events lead to `form` (step 1: a referral is warranted, the 04-233 is owed)."""
    mark = f"    known_wrong: {{{wrong}, {REASON}}}\n" if wrong else ""
    return f"  - name: {name}\n    events: {events}\n    expect: {{{expect}}}\n{mark}"


@pytest.fixture()
def policies(tmp_path: Path) -> Path:
    target = tmp_path / "policies"
    shutil.copytree(ROOT / "policies", target)
    return target


def write(directory: Path, *cases: str) -> Path:
    path = directory / "tests" / "qpr" / "marked_cases.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(HEAD + "".join(cases))
    return path


def result_of(path: Path) -> CaseResult:
    (loaded,) = load_case_file(path)
    assert check_case_references(ENGINE, [loaded]) == []
    return run_case(ENGINE, loaded)


def invoke(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    return result.exit_code, result.output


def test_the_recorded_wrong_state_is_failing_as_expected(tmp_path: Path) -> None:
    result = result_of(write(tmp_path, case("state: consultation", "state: form")))
    assert result.passed and result.known_wrong and not result.mark_stale
    assert result.wrong_as_recorded == ["state: expected 'consultation', got 'form' (qpr > form)"]


def test_a_case_that_now_answers_right_has_a_stale_mark(tmp_path: Path) -> None:
    result = result_of(write(tmp_path, case("state: form", "state: consultation")))
    assert result.mark_stale and not result.passed and not result.known_wrong


def test_a_different_wrong_answer_fails(tmp_path: Path) -> None:
    result = result_of(write(tmp_path, case("state: consultation", "state: screening")))
    assert not result.passed and not result.known_wrong
    assert "not the recorded wrong answer: state: expected 'screening', got 'form' (qpr > form)" in result.failures


def test_the_recorded_departures_must_be_exactly_those_recorded(tmp_path: Path) -> None:
    # step 1 skipped: the 04-233 submitted before the consultation is a departure
    events = f"[{CONCERN}, {FORM}]"
    recorded = "state: consultation, departures: [{event: 2, clause: step1.submit-form}]"
    result = result_of(write(tmp_path, case("state: consultation", recorded, events)))
    assert result.known_wrong
    assert result.wrong_as_recorded[0].startswith("unexpected departure: event 2 qpr.form-submitted")
    # the same wrong state recorded without the departure the case records: wrong another way
    result = result_of(write(tmp_path, case("state: form", "state: consultation", events)))
    assert not result.passed
    assert any(f.startswith("not the recorded wrong answer: unexpected departure: event 2") for f in result.failures)


def test_the_recorded_duties_must_be_owed(tmp_path: Path) -> None:
    recorded = "state: form, duties: [{who: referring-sw, do: Complete}]"
    assert result_of(write(tmp_path, case("state: consultation", recorded))).known_wrong
    recorded = "state: form, duties: [{who: pco, do: gather}]"
    result = result_of(write(tmp_path, case("state: consultation", recorded)))
    assert not result.passed
    assert any(f.startswith("not the recorded wrong answer: expected a duty for pco") for f in result.failures)


def test_a_refused_event_never_counts_as_the_wrong_answer(tmp_path: Path) -> None:
    refused = f'[{CONCERN}, {{type: qpr.consultation-held, by: referring-sw, "on": 2025-01-03}}]'
    path = write(tmp_path, case("state: form", "state: consultation", refused))
    (loaded,) = load_case_file(path)
    result = run_case(ENGINE, loaded)
    assert not result.passed and not result.known_wrong
    assert result.failures[0].startswith("marked known_wrong (issue 0.1: the reading it gets wrong) but event 2 "
                                         "was refused")


def test_the_wrong_answer_must_differ_from_the_expected_one_and_have_a_reason(tmp_path: Path) -> None:
    with pytest.raises(PolicyError, match="known_wrong records the expected answer"):
        load_case_file(write(tmp_path, case("state: form", "state: form")))
    path = write(tmp_path, case("state: consultation", None) + "    known_wrong: {state: form}\n")
    with pytest.raises(PolicyError, match=r"marked_cases.yaml:7:\d+: .*reason"):
        load_case_file(path)


def test_names_in_the_mark_are_checked_with_did_you_mean(tmp_path: Path) -> None:
    path = write(tmp_path, case("state: consultation", "state: frm, duties: [{who: pcoo}]"))
    problems = [p.message for p in check_case_references(ENGINE, load_case_file(path))]
    assert any(m.startswith("case 'marked': unknown state 'frm' (did you mean 'form'?)") for m in problems), problems
    assert "case 'marked': 'pcoo' is not a role (did you mean 'pco'?)" in problems


def test_the_test_command_reports_known_wrong_and_fails_a_stale_mark(tmp_path: Path) -> None:
    path = write(tmp_path, case("state: consultation", "state: form", name="known"),
                 case("state: form", None, name="right"))
    code, out = invoke("test", "-p", str(ROOT / "policies"), str(path))
    assert code == 0, out
    assert f"KNOWN-WRONG {path}:4 known" in out and "issue 0.1: the reading it gets wrong" in out
    assert out.strip().splitlines()[-1] == "1 passed, 0 failed, 1 known wrong"
    path = write(tmp_path, case("state: form", "state: consultation", name="fixed"))
    code, out = invoke("test", "-p", str(ROOT / "policies"), str(path))
    assert code == 1
    assert f"FIXED {path}:4 fixed: passes now: remove the known_wrong mark" in out


def test_check_notes_a_known_wrong_case_and_strict_refuses_a_stale_mark(policies: Path) -> None:
    write(policies, case("state: consultation", "state: form", name="known"),
          case("state: form", "state: consultation", name="fixed"))
    code, out = invoke("check", "--format", "json", str(policies))
    problems = json.loads(out)["problems"]
    assert code == 0, out
    known = [p for p in problems if p["code"] == "scenario-known-wrong"]
    assert [(p["severity"], p["message"].split(":")[0]) for p in known] == [
        ("info", "case 'known' is known wrong (issue 0.1")]
    (stale,) = [p for p in problems if p["code"] == "known-wrong-passes"]
    assert stale["severity"] == "warning" and stale["message"] == "case 'fixed' passes now: remove the known_wrong mark"
    strict, _ = invoke("check", "--strict", str(policies))
    assert strict == 1


def test_pytest_reports_known_wrong_as_xfail_and_a_stale_mark_as_failure(tmp_path: Path) -> None:
    path = write(tmp_path / "p", case("state: consultation", "state: form", name="known"),
                 case("state: form", "state: consultation", name="stale"))
    result = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(path),
                             f"--qpr-policies={ROOT / 'policies'}", "--rootdir", str(tmp_path)],
                            capture_output=True, text=True, cwd=tmp_path, timeout=300)
    assert result.returncode == 1, result.stdout[-2000:]
    assert "1 failed, 1 xfailed" in result.stdout
    assert "case 'stale' passes now: remove the known_wrong mark" in result.stdout
