"""Each check the scenario runner makes fails a scenario that breaks it, with its own message:
deleting or weakening any check in scenarios/runner.py fails one of these tests.

Every scenario here breaks exactly one expectation (the rest hold), so that a check that is
deleted leaves the scenario passing, and the test asserting its failure fails."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from qpr_rules import Engine
from qpr_rules.scenarios.model import Scenario
from qpr_rules.scenarios.runner import LoadedScenario, ScenarioResult, run_scenario

ENGINE = Engine.from_bundled(evaluator="compiled")

# a home not cleared with the PCO (policies/tests/qpr/placement_restrictions.yaml): deny, by
# qpr.placement.not-cleared-with-pco, with the placing SW's duty to clear the home
NOT_CLEARED: dict[str, Any] = {
    "placement": {"date": "2024-05-01", "status": "proposed", "cleared_with_pco": False, "siblings": []},
    "child": {"age": 7, "gender": "female"},
    "home": {"id": "H-6", "approval": "rfa", "approval_status": "active", "hold": None,
             "restrictions": None, "children_placed": []},
}
RIGHT: dict[str, Any] = {"outcome": "deny", "status": "decided",
                         "fired": ["qpr.placement.not-cleared-with-pco"],
                         "not_fired": ["qpr.placement.cleared-active-home"],
                         "obligations": [{"who": "placing-sw", "do": "clear the resource home with the pco"}]}


def _run(facts: dict[str, Any], expect: dict[str, Any], **extra: Any) -> ScenarioResult:
    scenario = Scenario.model_validate({"name": "checked", "facts": facts, "expect": expect, **extra})
    return run_scenario(ENGINE, LoadedScenario(Path("checks.yaml"), 1, 0, "qpr.placement", scenario))


def _fails_with(result: ScenarioResult, message: str) -> None:
    assert not result.passed, f"the scenario passed; the check for {message!r} is missing"
    assert len(result.failures) == 1 and result.failures[0].startswith(message), result.failures


def test_the_right_expectations_pass() -> None:
    """The base all the others break one expectation of."""
    result = _run(NOT_CLEARED, RIGHT)
    assert result.passed and not result.failures


@pytest.mark.parametrize(("change", "message"), [
    ({"outcome": "allow"}, "outcome: expected 'allow', got 'deny'"),
    ({"status": "default"}, "status: expected 'default', got 'decided'"),
    ({"fired": ["qpr.placement.hold-permanent"]},
     "rule qpr.placement.hold-permanent was expected to fire but did not"),
    ({"not_fired": ["qpr.placement.not-cleared-with-pco"]},
     "rule qpr.placement.not-cleared-with-pco was expected not to fire but fired"),
    ({"obligations": [{"who": "placing-sw", "do": "notify the regional manager"}]},
     "expected an obligation for placing-sw containing 'notify the regional manager', got "),
    ({"obligations": [{"who": "pco-manager"}]}, "expected an obligation for pco-manager, got "),
    ({"obligations": None, "no_obligations": True}, "expected no obligations, got placing-sw: "),
    ({"consequences": ["may be subject to disciplinary action"]},
     "expected a consequence containing 'may be subject to disciplinary action', got none"),
])
def test_each_expectation_is_checked(change: dict[str, Any], message: str) -> None:
    expect = {k: v for k, v in {**RIGHT, **change}.items() if v is not None}
    _fails_with(_run(NOT_CLEARED, expect), message)


def test_an_unexpected_error_fails_even_with_the_error_outcome_expected() -> None:
    """Invalid facts answer deny (fail closed): a scenario expecting deny still fails, because it
    did not expect an error."""
    _fails_with(_run({"child": {"age": "seven"}}, {"outcome": "deny"}), "the decision failed: ")


def test_an_expected_error_passes() -> None:
    assert _run({"child": {"age": "seven"}}, {"outcome": "deny", "status": "error"}).passed


def test_known_wrong_that_now_passes_is_stale() -> None:
    result = _run(NOT_CLEARED, RIGHT, known_wrong={"outcome": "allow", "reason": "a test"})
    assert not result.passed and result.mark_stale and not result.failures


def test_known_wrong_recorded_answer_passes_as_known_wrong() -> None:
    result = _run(NOT_CLEARED, {**RIGHT, "outcome": "allow"}, known_wrong={"outcome": "deny", "reason": "a test"})
    assert result.passed and result.known_wrong
    assert result.wrong_as_recorded == ["outcome: expected 'allow', got 'deny'"]


def test_known_wrong_with_another_wrong_outcome_fails() -> None:
    result = _run(NOT_CLEARED, {**RIGHT, "outcome": "allow"},
                  known_wrong={"outcome": "needs-review", "reason": "a test"})
    assert not result.passed
    assert result.failures[0] == ("outcome 'deny' is neither the expected 'allow' nor the recorded wrong "
                                  "answer 'needs-review'")


def test_known_wrong_whose_recorded_duty_is_absent_fails() -> None:
    result = _run(NOT_CLEARED, {**RIGHT, "outcome": "allow"},
                  known_wrong={"outcome": "deny", "reason": "a test",
                               "obligations": [{"who": "pco-manager", "do": "notify"}]})
    assert not result.passed
    assert result.failures[0] == "the recorded wrong answer 'deny' carries pco-manager: notify; this answer does not"


def test_known_wrong_on_an_error_fails() -> None:
    result = _run({"child": {"age": "seven"}}, {"outcome": "allow"},
                  known_wrong={"outcome": "deny", "reason": "a test"})
    assert not result.passed
    assert result.failures[0].startswith("marked known_wrong (a test) but the decision did not answer: ")
