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
        "placement": {"date": "2025-07-01", "cleared_with_pco": True, "status": "proposed"},
        "child": {"id": "c1", "age": 5, "gender": "female", "region": "north"},
        "home": {"id": "h1", "approval": "rfa", "approval_status": "active", "restrictions": None,
                 "children_placed": [],
                 "hold": {"kind": "time_limited", "placed_on": "2025-01-10", "review_after": "2026-01-10",
                          "reinstated_on": "2025-06-01"}},
    }
    decision = engine.decide("qpr.placement", facts)
    assert decision.outcome == "deny"
