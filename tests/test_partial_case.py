"""Known facts can come from a procedure's case (issue 23.1): the hold a placement reads is the
one the case's events establish ("Homes on hold are not to receive placements under any
circumstances"), not a value the caller types, and the answer names the case version it read."""

from __future__ import annotations

from typing import Any

import pytest

from qpr_rules.engine.engine import Engine
from tests.test_procedure_hold_facts import TO_HOLD


@pytest.fixture(scope="module")
def engine() -> Engine:
    return Engine.load(["policies"], evaluator="compiled")


def _held_case(engine: Engine, case_id: str) -> Any:
    case = engine.case("qpr.home", case_id)
    for event in TO_HOLD:  # a QPR that ends in a one-year restriction from placements
        case.record(event)
    return case


def test_a_case_on_hold_settles_the_placement_with_only_the_child_and_the_date_known(engine: Engine) -> None:
    case = _held_case(engine, "h-partial")
    known = {"placement": {"date": "2025-07-01"}, "child": {"age": 5, "gender": "female"}}
    answer = engine.decide_partial("qpr.placement", known, case=case)
    assert (answer.status, answer.outcome) == ("determined", "deny"), answer.reason
    assert answer.case == {"procedure": "qpr.home", "id": "h-partial", "version": len(TO_HOLD)}
    assert answer.to_dict()["case"] == answer.case
    # without the case the same known facts leave the answer open: the hold is what settles it
    alone = engine.decide_partial("qpr.placement", known)
    assert alone.status == "open" and "case" not in alone.to_dict()
    assert any(q.path.startswith("home.hold") for q in alone.questions)


def test_a_case_with_no_hold_leaves_the_other_questions(engine: Engine) -> None:
    case = engine.case("qpr.home", "h-clear")  # no event: the home was never put on hold
    answer = engine.decide_partial("qpr.placement", {"child": {"age": 5, "gender": "female"}}, case=case)
    assert answer.status == "open"
    assert not any(q.path.startswith("home.hold") for q in answer.questions)
    assert {"placement.cleared_with_pco", "home.approval_status"} <= {q.path for q in answer.questions}


def test_a_hold_given_beside_the_case_is_refused_closed(engine: Engine) -> None:
    case = _held_case(engine, "h-twice")
    known = {"home": {"hold": {"kind": "permanent", "placed_on": "2020-01-01"}}}
    answer = engine.decide_partial("qpr.placement", known, case=case)
    assert (answer.status, answer.outcome) == ("determined", "deny")
    assert answer.errors and "taken from case 'h-twice'" in answer.errors[0]
