"""durable_rules and the reference evaluator agree on every operator, negated or not, over
generated facts that cover the whole placement_request space: every enum value, absent optional
fields, empty and non-empty lists, and dates on and around every boundary the policy reads
(review_after == date, placed_on +/- the within_days window, placed_on + the plus_days offsets).

The policy is tests/fixtures/differential.yaml (every operator, under and outside `not`).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from qpr_rules import Engine
from qpr_rules.engine.reference import compile_condition
from qpr_rules.facts.placement import ApprovalKind, ApprovalStatus, Gender, HoldKind, PlacementStatus

FIXTURE = Path(__file__).parent / "fixtures" / "differential.yaml"
ENGINE = Engine.load(FIXTURE)
RULES = ENGINE.spec("t.d").rules
CHECKS = {r.id: compile_condition(r.condition) for r in RULES}

DATE = dt.date(2024, 5, 1)
# offsets (days) of hold dates from the placement date: each boundary the fixture reads, and its neighbours
OFFSETS = sorted({d + e for d in (0, 1, 2, 3, 10, 30) for e in (-1, 0, 1)} | {-d - e for d in (0, 1, 2, 3, 10, 30)
                                                                               for e in (-1, 0, 1)} | {400, -400})
GENDERS = [g.value for g in Gender]
AGES = st.one_of(st.sampled_from([0, 1, 2, 3, 4, 5, 9, 10, 11, 12, 13, 17, 25]), st.integers(0, 25))


def optional(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(st.none(), strategy)


def day(offset: int) -> str:
    return (DATE + dt.timedelta(days=offset)).isoformat()


@st.composite
def holds(draw: st.DrawFn) -> dict[str, Any]:
    placed = draw(st.sampled_from(OFFSETS))
    hold: dict[str, Any] = {"kind": draw(st.sampled_from([k.value for k in HoldKind])), "placed_on": day(placed)}
    review = draw(optional(st.sampled_from([o for o in OFFSETS if o >= placed])))
    if review is not None and hold["kind"] == "time_limited":  # only a time-limited hold has one
        hold["review_after"] = day(review)
    reinstated = draw(optional(st.sampled_from([o for o in OFFSETS if o >= placed])))
    # reinstated only after a QPR (not a hold pending QPR), after the date it determined
    if reinstated is not None and hold["kind"] == "time_limited" and (review is None or reinstated > review):
        hold["reinstated_on"] = day(reinstated)
    return hold


def coherent_ages(r: dict[str, Any]) -> dict[str, Any]:
    """An age range whose youngest age is above its oldest is refused by the fact model: swap."""
    if "min_child_age" in r and "max_child_age" in r and r["min_child_age"] > r["max_child_age"]:
        r = {**r, "min_child_age": r["max_child_age"], "max_child_age": r["min_child_age"]}
    return r


def without_none(data: dict[str, Any]) -> dict[str, Any]:
    """Absent, not null: an optional field is left out (null is tested by the None draws below)."""
    return {k: v for k, v in data.items() if v is not None}


@st.composite
def placement_requests(draw: st.DrawFn) -> dict[str, Any]:
    restrictions = draw(optional(st.fixed_dictionaries({
        "min_child_age": optional(AGES), "max_child_age": optional(AGES),
        "max_children": optional(st.integers(0, 4)),
        "genders": optional(st.lists(st.sampled_from(GENDERS), unique=True, max_size=3)),
    }).map(without_none).map(coherent_ages)))
    home = {
        "id": "H",
        "approval": draw(st.sampled_from([a.value for a in ApprovalKind])),
        "approval_status": draw(st.sampled_from([s.value for s in ApprovalStatus])),
        "hold": draw(optional(holds())),
        "restrictions": restrictions,
        "children_placed": draw(st.lists(
            st.fixed_dictionaries({"age": AGES, "gender": st.sampled_from(GENDERS)}), max_size=4)),
    }  # hold and restrictions are required, null when there are none
    placement = without_none({"date": DATE.isoformat(),
                              "status": draw(st.sampled_from([s.value for s in PlacementStatus])),  # required
                              "cleared_with_pco": draw(st.booleans()),
                              "siblings": draw(st.lists(st.fixed_dictionaries(
                                  {"age": AGES, "gender": st.sampled_from(GENDERS)}), max_size=2))})
    child = without_none({"id": draw(optional(st.just("C-1"))), "age": draw(AGES),
                          "gender": draw(st.sampled_from(GENDERS)),
                          "region": draw(optional(st.sampled_from(["north", "south"])))})
    if placement["status"] == "made":  # a made placement names the child's region (issue 17.7)
        child.setdefault("region", "north")
    return {"placement": placement, "child": child, "home": home}


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(placement_requests())
def test_durable_rules_agrees_with_the_reference_evaluator(facts: dict[str, Any]) -> None:
    decision = ENGINE.decide("t.d", facts)
    # decide() fails closed with status "error" when the two evaluators disagree
    assert decision.status != "error", (decision.errors, facts)
    dumped = ENGINE.validate_facts("t.d", facts).model_dump(mode="python")
    expected = {rid for rid, check in CHECKS.items() if check(dumped)}
    assert {r.id for r in decision.fired} == expected
    assert decision.outcome == ("deny" if expected else "allow")


def test_the_fixture_uses_every_operator_and_negation() -> None:
    from qpr_rules.policy.conditions import Compare, Contains, Count, InSet, Not, Present, Quantified, atoms

    text = FIXTURE.read_text(encoding="utf-8")
    for op in ("before:", "after:", "on_or_before:", "on_or_after:", "some:", "every:", "contains:", "count:",
               " in:", "not_in:", "present: true", "present: false", "within_days:", "plus_days: {param",
               "plus_days: 3", "{param: max_kids}", "any:", "all:", " lt:", " lte:", " gt:", "gte:", " ne:",
               " eq:"):
        assert op in text, op
    negated: set[type] = set()
    for r in RULES:
        if isinstance(r.condition, Not):
            negated |= {type(a) for a in atoms(r.condition.item)}
    assert negated >= {Compare, Contains, Count, InSet, Present, Quantified}


def test_known_boundaries() -> None:
    """A few hand-written boundary cases, so that the generated ones are not the only evidence."""
    base = {"placement": {"date": DATE.isoformat(), "status": "proposed", "cleared_with_pco": True, "siblings": []},
            "child": {"age": 7, "gender": "female"},
            "home": {"id": "H", "approval": "rfa", "approval_status": "active", "hold": None,
                     "restrictions": None, "children_placed": []}}
    cases = [
        base,
        {**base, "home": {**base["home"], "hold": {"kind": "time_limited", "placed_on": day(-5),
                                                  "review_after": DATE.isoformat()}}},
        {**base, "home": {**base["home"], "children_placed": [], "restrictions": {"genders": []}}},
        {**base, "home": {**base["home"], "restrictions": {"max_children": 0, "max_child_age": 7}}},
    ]
    for facts in cases:
        decision = ENGINE.decide("t.d", facts)
        dumped = ENGINE.validate_facts("t.d", facts).model_dump(mode="python")
        assert decision.status != "error", decision.errors
        assert {r.id for r in decision.fired} == {rid for rid, check in CHECKS.items() if check(dumped)}
    on_end = ENGINE.decide("t.d", cases[1])
    assert {"r22", "r11"} <= {r.id for r in on_end.fired}  # date on_or_after review_after; within 10 days
    assert "r20" not in {r.id for r in on_end.fired}  # date <= review_after - 2 is false


def test_both_evaluators_agree_on_every_bundled_scenario() -> None:
    from qpr_rules.scenarios.runner import load_scenario_file, scenario_files

    root = Path(__file__).resolve().parents[1]
    engine = Engine.load([root / "policies"])
    count = 0
    for path in scenario_files([root / "policies" / "tests"]):
        for s in load_scenario_file(path):
            if s.scenario.expect.status == "error":
                continue
            decision = engine.decide(s.decision, s.scenario.facts)
            assert decision.status != "error", (path, s.name, decision.errors)
            count += 1
    assert count >= 60
