"""Holds given directly as facts, where only the procedure can establish them (issue 17.3):
"Any RF who is eligible to be reconsidered for placements may submit a request for a review
after the date determined in the initial QPR" - so privileges cannot have been reinstated on or
before that date; and a hold pending QPR has had no QPR, so nothing reinstated it."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from qpr_rules.engine.engine import Engine
from qpr_rules.facts.hold import Hold


def test_reinstated_before_the_review_date_is_refused() -> None:
    with pytest.raises(ValidationError, match="review_after"):
        Hold.model_validate({"kind": "time_limited", "placed_on": "2025-01-10", "review_after": "2026-01-10",
                             "reinstated_on": "2025-06-01"})


def test_pending_hold_reinstated_with_no_qpr_is_refused() -> None:
    with pytest.raises(ValidationError, match="pending QPR"):
        Hold.model_validate({"kind": "pending_qpr", "placed_on": "2025-01-10", "reinstated_on": "2025-02-01"})


def test_placement_into_a_home_reinstated_early_is_denied() -> None:
    engine = Engine.load(["policies"], evaluator="compiled")
    facts = {
        "placement": {"date": "2025-07-01", "cleared_with_pco": True, "status": "proposed", "siblings": []},
        "child": {"id": "c1", "age": 5, "gender": "female", "region": "north"},
        "home": {"id": "h1", "approval": "rfa", "approval_status": "active", "restrictions": None,
                 "children_placed": [],
                 "hold": {"kind": "time_limited", "placed_on": "2025-01-10", "review_after": "2026-01-10",
                          "reinstated_on": "2025-06-01"}},
    }
    decision = engine.decide("qpr.placement", facts)
    assert decision.outcome == "deny"


PLACEMENT = {
    "placement": {"date": "2025-07-01", "cleared_with_pco": True, "status": "proposed", "siblings": []},
    "child": {"id": "c1", "age": 5, "gender": "female", "region": "north"},
    "home": {"id": "h1", "approval": "rfa", "approval_status": "active", "restrictions": None,
             "children_placed": []},
}


def _events(*rows: tuple[str, str, str, dict[str, object]]) -> list[dict[str, object]]:
    return [{"type": f"qpr.{t}", "by": by, "on": on, **fields} for t, by, on, fields in rows]


TO_HOLD = _events(
    ("concern-raised", "referring-sw", "2025-01-02", {"raised_by": "social_worker", "after_state_denial": False}),
    ("consultation-held", "referring-sw", "2025-01-03", {"warranted": True}),
    ("form-submitted", "referring-sw", "2025-01-04", {}),
    ("referral-screened", "pco", "2025-01-06", {"appropriate": True}),
    ("hold-assessed", "pco-pss", "2025-01-06", {"hold": True}),
    ("information-gathered", "pco", "2025-01-08", {"units_knowing_home": ["rfa"]}),
    ("internal-review-completed", "pco", "2025-01-09", {"recommended": ["restrict_period"]}),
    ("rf-called", "pco-pss", "2025-01-09", {"rf_agrees": True}),
    ("qpr-concluded", "pco", "2025-01-10", {"actions": ["restrict_period"], "review_after": "2026-01-10",
                                            "at_meeting": False}),
)


def test_placement_reads_the_hold_from_the_case_and_records_its_version() -> None:
    engine = Engine.load(["policies"])
    case = engine.case("qpr.home", "h1")
    for e in TO_HOLD:
        case.record(e)
    # an early reinstatement is recorded as a departure: it does not lift the hold
    case.record(_events(("review-decided", "pco", "2025-06-01", {"meeting_required": False,
                                                                  "reinstated": True}))[0])
    facts = {**PLACEMENT, "home": {**PLACEMENT["home"], "hold": None}}
    decision = engine.decide("qpr.placement", facts, case=case)
    assert decision.outcome == "deny" and decision.status == "decided"
    assert decision.case == {"procedure": "qpr.home", "id": "h1", "version": len(TO_HOLD) + 1}
    assert decision.to_json() == engine.decide("qpr.placement", facts, case=case).to_json()
    for e in _events(("review-requested", "resource-family", "2026-01-11", {"in_writing": True,
                                                                            "addresses_worries": True}),
                     ("review-decided", "pco", "2026-02-01", {"meeting_required": False, "reinstated": True})):
        case.record(e)
    later = {**facts, "placement": {**PLACEMENT["placement"], "date": "2026-03-01"}}
    decision = engine.decide("qpr.placement", later, case=case)
    assert decision.outcome == "allow" and decision.case is not None and decision.case["version"] == 12


def test_a_hold_given_twice_is_refused_closed() -> None:
    engine = Engine.load(["policies"], evaluator="compiled")
    case = engine.case("qpr.home", "h1")
    facts = {**PLACEMENT, "home": {**PLACEMENT["home"], "hold": {"kind": "permanent", "placed_on": "2020-01-01"}}}
    decision = engine.decide("qpr.placement", facts, case=case)
    assert decision.outcome == "deny" and decision.status == "error"
    assert "taken from case 'h1'" in decision.reason + " ".join(decision.errors)
    assert "case" not in engine.decide("qpr.placement", facts).to_dict()
