"""Issue 17.7: "Restrict age range, number, or gender of children placed in the resource home".
A placement of several children at once (siblings) counts all of them against a number
restriction: the home's children now plus the children placed together must not exceed it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from qpr_rules import Engine

POLICIES = Path(__file__).parent.parent / "policies"


@pytest.fixture(scope="module")
def engine() -> Engine:
    return Engine.load(POLICIES)


def facts(children: int, already: int, limit: int) -> dict[str, Any]:
    return {
        "placement": {"date": "2024-05-01", "status": "proposed", "cleared_with_pco": True,
                      "children": children},
        "child": {"age": 7, "gender": "female"},
        "home": {"id": "H-S", "approval": "rfa", "approval_status": "active", "hold": None,
                 "restrictions": {"max_children": limit},
                 "children_placed": [{"age": 9, "gender": "male"}] * already},
    }


@pytest.mark.xfail(strict=True, reason="issue 17.7: siblings placed together were counted as one")
def test_siblings_placed_together_count_against_the_number_restriction(engine: Engine) -> None:
    d = engine.decide("qpr.placement", facts(children=2, already=2, limit=3))
    assert str(d.outcome) == "deny"
    assert "qpr.placement.number-restriction-reached" in [r.id for r in d.fired]


@pytest.mark.xfail(strict=True, reason="issue 17.7: siblings placed together were counted as one")
def test_siblings_that_fit_under_the_number_restriction_are_placed(engine: Engine) -> None:
    d = engine.decide("qpr.placement", facts(children=2, already=1, limit=3))
    assert str(d.outcome) == "allow"
