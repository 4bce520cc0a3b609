"""Scenarios marked `known_wrong`: a reading the policy gets wrong today, committed failing before
its fix (issue 19, item 7). Such a scenario is failing-as-expected only when the decision answers
and the answer is exactly the recorded wrong one; `test` reports it as known wrong (not as a pass),
and `check --strict` refuses a mark whose scenario now passes, like a strict xfail."""

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
from qpr_rules.scenarios.runner import check_references, load_scenario_file, run_scenario

ROOT = Path(__file__).resolve().parents[1]

# qpr.actions answers not-allowed for revoking a license (three outcomes: not-allowed, incomplete,
# allowed), so a mark can record the right wrong answer, a different wrong one, or a stale one.
HEAD = "format: qpr-rules/scenarios-v1\ndecision: qpr.actions\nscenarios:\n"
REVOKE = "{actions: [kind: revoke_license]}"


def scenario(expect: str, wrong: str | None, facts: str = REVOKE, name: str = "marked") -> str:
    mark = f"    known_wrong: {{outcome: {wrong}, reason: 'issue 0.1: the reading it gets wrong'}}\n" if wrong else ""
    return f"  - name: {name}\n    facts: {facts}\n    expect: {{outcome: {expect}}}\n{mark}"


@pytest.fixture()
def policies(tmp_path: Path) -> Path:
    target = tmp_path / "policies"
    shutil.copytree(ROOT / "policies", target)
    return target


def write(policies: Path, *scenarios: str) -> Path:
    path = policies / "tests" / "qpr" / "marked.yaml"
    path.write_text(HEAD + "".join(scenarios))
    return path


def invoke(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    return result.exit_code, result.output


def result_of(path: Path):  # type: ignore[no-untyped-def]
    engine = Engine.load([path.parents[2]])
    (loaded,) = load_scenario_file(path)
    assert check_references(engine, [loaded]) == []
    return run_scenario(engine, loaded)


def test_the_recorded_wrong_answer_is_failing_as_expected(policies: Path) -> None:
    result = result_of(write(policies, scenario("allowed", "not-allowed")))
    assert result.passed and result.known_wrong and not result.mark_stale
    assert result.failures == []
    assert "outcome: expected 'allowed', got 'not-allowed'" in result.wrong_as_recorded


def test_a_different_wrong_answer_fails(policies: Path) -> None:
    result = result_of(write(policies, scenario("allowed", "incomplete")))
    assert not result.passed and not result.known_wrong
    assert any("recorded wrong answer 'incomplete'" in f and "'not-allowed'" in f for f in result.failures)


def test_a_facts_error_never_counts_as_the_known_wrong_answer(policies: Path) -> None:
    # The decision fails closed with not-allowed on bad facts: the same outcome as recorded, but
    # the decision did not answer, so the mark does not excuse it.
    facts = "{actions: [{kind: restrict_children, min_child_age: 10, max_child_age: 5}]}"
    result = result_of(write(policies, scenario("allowed", "not-allowed", facts=facts)))
    assert result.decision is not None and result.decision.status == "error"
    assert not result.passed and not result.known_wrong
    assert any("did not answer" in f for f in result.failures)


def test_a_mark_on_a_scenario_that_passes_is_stale(policies: Path) -> None:
    result = result_of(write(policies, scenario("not-allowed", "allowed")))
    assert result.mark_stale and not result.passed and result.failures == []


def test_the_wrong_answer_must_differ_from_the_expected_one(policies: Path) -> None:
    path = write(policies, scenario("allowed", "allowed"))
    with pytest.raises(PolicyError, match="known_wrong"):
        load_scenario_file(path)


def test_the_mark_needs_a_reason(policies: Path) -> None:
    path = write(policies, scenario("allowed", "not-allowed").replace(
        ", reason: 'issue 0.1: the reading it gets wrong'", ""))
    with pytest.raises(PolicyError, match="reason"):
        load_scenario_file(path)


def test_the_wrong_answer_must_be_an_outcome_of_the_decision(policies: Path) -> None:
    path = write(policies, scenario("allowed", "refused"))
    engine = Engine.load([policies])
    (loaded,) = load_scenario_file(path)
    (problem,) = check_references(engine, [loaded])
    assert "known_wrong outcome 'refused' is not one of" in problem.message


def test_the_test_command_reports_known_wrong_not_as_a_pass(policies: Path) -> None:
    path = write(policies, scenario("allowed", "not-allowed", name="revoking is allowed"),
                 scenario("not-allowed", None, name="plain"))
    code, out = invoke("test", str(path))
    assert code == 0, out
    assert f"KNOWN-WRONG {path}:4 revoking is allowed" in out
    assert "issue 0.1: the reading it gets wrong" in out
    assert "PASS " in out and "PASS " + str(path) + ":4" not in out
    assert out.strip().splitlines()[-1] == "1 passed, 0 failed, 1 known wrong"


def test_the_test_command_fails_a_stale_mark_and_a_different_answer(policies: Path) -> None:
    path = write(policies, scenario("not-allowed", "allowed", name="stale"),
                 scenario("allowed", "incomplete", name="other"))
    code, out = invoke("test", str(path))
    assert code == 1
    assert f"FIXED {path}:4 stale" in out and "remove the known_wrong mark" in out
    assert f"FAIL {path}:" in out
    assert out.strip().splitlines()[-1] == "0 passed, 2 failed"


def test_check_notes_a_known_wrong_scenario_and_strict_refuses_a_stale_mark(policies: Path) -> None:
    write(policies, scenario("allowed", "not-allowed"))
    code, out = invoke("check", "--strict", "--format", "json", str(policies))
    assert code == 0, out
    codes = {(p["code"], p["severity"]) for p in json.loads(out)["problems"]}
    assert ("scenario-known-wrong", "info") in codes
    write(policies, scenario("not-allowed", "allowed"))
    code, out = invoke("check", "--format", "json", str(policies))
    problems = json.loads(out)["problems"]
    stale = [p for p in problems if p["code"] == "known-wrong-passes"]
    assert stale and stale[0]["severity"] == "warning" and "remove the known_wrong mark" in stale[0]["message"]
    assert code == 0
    strict, _ = invoke("check", "--strict", str(policies))
    assert strict == 1


def test_pytest_reports_known_wrong_as_xfail_and_a_stale_mark_as_failure(policies: Path) -> None:
    path = write(policies, scenario("allowed", "not-allowed", name="known"),
                 scenario("not-allowed", "allowed", name="stale"))
    result = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(path)],
                            capture_output=True, text=True, cwd=policies.parent)
    assert result.returncode == 1
    assert "1 failed, 1 xfailed" in result.stdout
    assert "remove the known_wrong mark" in result.stdout



# A reading whose outcome is right but whose duty is wrong (the wrong actor) is marked with the
# duty today's answer carries: the same outcome as expected is then allowed, never on its own.
SUPERVISOR_24_7 = ("{relevant_information_before_placement: true, updates_as_soon_as_reasonably_possible: true, "
                   "contact_information: {worker: true, supervisor: true, other_resources: true}, "
                   "support_available_24_7: false, assessment_and_decisions_shared: true, "
                   "caregiver_invited_to_team_meetings_and_court: true, topics_shared: [], "
                   "topics_not_applicable: [progress, needs, health_and_mental_health_services, visitation, "
                   "recreational_and_social_activities, academic_performance, behavioral_functioning, "
                   "school_placement_issues], topics_shared_with_birth_parent: [], caregiver_shared_with_staff: true}")


def info_scenario(expect_who: str, wrong_who: str | None) -> str:
    mark = (f"    known_wrong: {{outcome: missing, obligations: [{{who: {wrong_who}, do: 24/7}}], "
            "reason: 'issue 0.2: the wrong actor'}\n") if wrong_who else ""
    return ("format: qpr-rules/scenarios-v1\ndecision: qpi_commitment.information-sharing\nscenarios:\n"
            f"  - name: who owes 24/7 support\n    facts: {SUPERVISOR_24_7}\n"
            f"    expect: {{outcome: missing, obligations: [{{who: {expect_who}, do: 24/7}}]}}\n" + mark)


def write_info(policies: Path, text: str) -> Path:
    path = policies / "tests" / "qpi_commitment" / "marked.yaml"
    path.write_text(text)
    return path


def test_a_wrong_duty_with_the_right_outcome_is_failing_as_expected(policies: Path) -> None:
    wrong = next(o.who for o in Engine.load([policies]).decide(
        "qpi_commitment.information-sharing", __import__("yaml").safe_load(SUPERVISOR_24_7)).obligations)
    right = "caregiver" if wrong != "caregiver" else "dcfs-staff"
    result = result_of(write_info(policies, info_scenario(right, wrong)))
    assert result.known_wrong and result.failures == []
    other = "signer" if wrong != "signer" else "caregiver"
    result = result_of(write_info(policies, info_scenario(right, other)))  # not today's duty
    assert not result.passed and any("recorded wrong answer" in f for f in result.failures)


def test_the_same_outcome_needs_the_wrong_duties_recorded(policies: Path) -> None:
    text = info_scenario("dcfs-staff", None) + "    known_wrong: {outcome: missing, reason: 'issue 0.2'}\n"
    with pytest.raises(PolicyError, match="known_wrong"):
        load_scenario_file(write_info(policies, text))
