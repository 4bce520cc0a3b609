"""Issue 17.7: "Restrict age range, number, or gender of children placed in the resource home".
Siblings placed together are each children placed: the caller names them (placement.siblings,
each with its age and gender; the fact is never a count the caller worked out), and the policy
counts them all against a number restriction (the home's children now, the child asked about and
every sibling must not exceed it) and checks each of them against the age range and genders."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from qpr_rules import Engine

POLICIES = Path(__file__).parent.parent / "policies"


@pytest.fixture(scope="module", params=["durable", "compiled"])
def engine(request: pytest.FixtureRequest) -> Engine:
    return Engine.load(POLICIES, evaluator=request.param)


def facts(siblings: list[dict[str, Any]], already: int = 0, **restrictions: Any) -> dict[str, Any]:
    return {
        "placement": {"date": "2024-05-01", "status": "proposed", "cleared_with_pco": True,
                      "siblings": siblings},
        "child": {"age": 7, "gender": "female"},
        "home": {"id": "H-S", "approval": "rfa", "approval_status": "active", "hold": None,
                 "restrictions": restrictions or None,
                 "children_placed": [{"age": 9, "gender": "female"}] * already},
    }


def fired(engine: Engine, f: dict[str, Any]) -> tuple[str, list[str]]:
    d = engine.decide("qpr.placement", f)
    return str(d.outcome), [r.id for r in d.fired]


GIRL_8 = {"age": 8, "gender": "female"}


def test_siblings_placed_together_count_against_the_number_restriction(engine: Engine) -> None:
    # two in the home, the child and one sibling: four children in a home restricted to three
    outcome, ids = fired(engine, facts([GIRL_8], already=2, max_children=3))
    assert outcome == "deny"
    assert "qpr.placement.number-restriction-reached" in ids


def test_siblings_that_fit_under_the_number_restriction_are_placed(engine: Engine) -> None:
    # one in the home, the child and one sibling: three, the most the restriction allows
    assert fired(engine, facts([GIRL_8], already=1, max_children=3)) == (
        "allow", ["qpr.placement.cleared-active-home"])


def test_a_child_placed_alone_still_counts_itself(engine: Engine) -> None:
    assert fired(engine, facts([], already=2, max_children=3))[0] == "allow"
    assert fired(engine, facts([], already=3, max_children=3))[0] == "deny"


def test_a_sibling_below_the_age_range_is_not_placed(engine: Engine) -> None:
    outcome, ids = fired(engine, facts([GIRL_8, {"age": 2, "gender": "female"}], min_child_age=5))
    assert outcome == "deny"
    assert "qpr.placement.sibling-below-age-range" in ids
    assert "qpr.placement.child-below-age-range" not in ids  # the child asked about is 7


def test_a_sibling_above_the_age_range_is_not_placed(engine: Engine) -> None:
    outcome, ids = fired(engine, facts([{"age": 15, "gender": "female"}], max_child_age=12))
    assert outcome == "deny"
    assert "qpr.placement.sibling-above-age-range" in ids


def test_a_sibling_of_a_restricted_gender_is_not_placed(engine: Engine) -> None:
    outcome, ids = fired(engine, facts([GIRL_8, {"age": 9, "gender": "male"}], genders=["female"]))
    assert outcome == "deny"
    assert "qpr.placement.sibling-gender-restricted" in ids
    assert "qpr.placement.gender-restricted" not in ids  # the child asked about is a girl


def test_siblings_inside_every_restriction_are_placed(engine: Engine) -> None:
    f = facts([GIRL_8, {"age": 12, "gender": "female"}], min_child_age=5, max_child_age=12,
              max_children=3, genders=["female"])
    assert fired(engine, f) == ("allow", ["qpr.placement.cleared-active-home"])


def test_the_siblings_are_required_not_assumed_none(engine: Engine) -> None:
    # no fact defaults to compliance: a caller who leaves the siblings out is not answered as if
    # the child were placed alone
    f = facts([], already=0, max_children=3)
    del f["placement"]["siblings"]
    d = engine.decide("qpr.placement", f)
    assert str(d.outcome) == "deny"
    assert d.status == "error" and any(e.startswith("placement.siblings: required") for e in d.errors)


def test_the_siblings_are_asked_for_when_a_number_restriction_could_turn_on_them() -> None:
    engine = Engine.load(POLICIES, evaluator="compiled")
    # every bound but the number stated absent (null), so that only the siblings are unknown
    f = facts([], already=2, max_children=3, min_child_age=None, max_child_age=None, genders=None)
    del f["placement"]["siblings"]
    answer = engine.decide_partial("qpr.placement", f)
    assert answer.status == "open"
    assert [q.path for q in answer.questions] == ["placement.siblings"]
    # and with them known the answer is determined: three children in a home restricted to three
    f["placement"]["siblings"] = []
    assert (engine.decide_partial("qpr.placement", f).outcome) == "allow"
    f["placement"]["siblings"] = [GIRL_8]
    assert (engine.decide_partial("qpr.placement", f).outcome) == "deny"
