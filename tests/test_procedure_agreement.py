"""durable_rules and the compiled evaluator name the same transitions for every event of every
case (random event histories of the QPR procedure, valid events in any order), and a replay of
the store gives the same case: so a departure, a state or a duty never depends on the evaluator."""

from __future__ import annotations

import datetime as dt
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from qpr_rules.engine.engine import Engine
from qpr_rules.procedure.memory_store import MemoryStore

DURABLE = Engine.load(["policies"])
COMPILED = Engine.load(["policies"], evaluator="compiled")
ACTIONS = ["restrict_children", "refer_for_investigation", "corrective_measures", "restrict_period",
           "permanent_hold"]

flags = st.booleans()
GENDERS = ["female", "male", "nonbinary"]
CHILD = st.fixed_dictionaries({"age": st.integers(0, 17), "gender": st.sampled_from(GENDERS)})
# a restriction set at a QPR (with restrict_children): each bound set or not, at least one set
RESTRICTIONS = st.fixed_dictionaries({}, optional={
    "min_child_age": st.integers(0, 10), "max_child_age": st.integers(10, 17), "max_children": st.integers(1, 4),
    "genders": st.lists(st.sampled_from(GENDERS), min_size=1, max_size=2, unique=True)}).filter(bool)


def _event(kind: str, fields: dict[str, Any]) -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries({"type": st.just(f"qpr.{kind}"), **fields})


EVENTS = st.one_of(
    _event("concern-raised", {"by": st.just("referring-sw"), "raised_by": st.sampled_from(["social_worker", "cws_staff"]),
                              "after_state_denial": flags}),
    _event("consultation-held", {"by": st.just("referring-sw"), "warranted": flags}),
    _event("recommendations-followed", {"by": st.just("referring-sw")}),
    _event("form-submitted", {"by": st.just("referring-sw")}),
    _event("referral-screened", {"by": st.just("pco"), "appropriate": flags}),
    _event("hold-assessed", {"by": st.just("pco-pss"), "hold": flags}),
    _event("information-gathered", {"by": st.just("pco"), "units_knowing_home": st.just(["rfa"])}),
    _event("internal-review-completed", {"by": st.just("pco"), "recommended": st.lists(st.sampled_from(ACTIONS))}),
    _event("rf-called", {"by": st.just("pco-pss"), "rf_agrees": flags}),
    _event("qpr-concluded", {"by": st.just("pco"), "actions": st.lists(st.sampled_from(ACTIONS), max_size=2),
                             "review_after": st.none() | st.integers(0, 400), "at_meeting": flags}),
    _event("review-requested", {"by": st.just("resource-family"), "in_writing": flags, "addresses_worries": flags}),
    _event("review-decided", {"by": st.just("pco"), "meeting_required": flags, "reinstated": flags}),
    _event("placement-made", {"by": st.just("placing-sw"), "children": st.lists(CHILD, min_size=1, max_size=3),
                              "children_in_home": st.integers(0, 3), "child_region": st.none() | st.just("north")}),
    _event("regional-manager-notified", {"by": st.just("pco-manager"), "region": st.just("north")}),
)


@st.composite
def histories(draw: st.DrawFn) -> list[dict[str, Any]]:
    day = dt.date(2025, 1, 1)
    out = []
    for event in draw(st.lists(EVENTS, min_size=1, max_size=25)):
        day += dt.timedelta(days=draw(st.integers(0, 200)))
        if event["type"] == "qpr.qpr-concluded" and "restrict_children" in event["actions"]:
            event = {**event, "restrictions": draw(RESTRICTIONS)}  # the bounds come with the action
        if "review_after" in event:  # a date determined in the QPR, days after it
            offset = event["review_after"]
            event = {**event, "review_after": None if offset is None else (day + dt.timedelta(offset)).isoformat()}
        out.append({**event, "on": day.isoformat()})
    return out


@settings(max_examples=60, deadline=None)
@given(histories())
def test_both_evaluators_give_the_same_case_and_replay_is_stable(events: list[dict[str, Any]]) -> None:
    store = MemoryStore()
    durable, compiled = DURABLE.case("qpr.home", "h", store), COMPILED.case("qpr.home", "h")
    permanent = False
    for event in events:
        assert durable.check(event) == compiled.check(event)
        durable.record(event)
        compiled.record(event)
        assert durable.summary() == compiled.summary()
        # "RF placed on permanent hold are not eligible for reinstatement of privileges": no way out
        assert not permanent or durable.state == "permanent-hold"
        permanent = durable.state == "permanent-hold"
        if permanent:
            hold = durable.hold()
            assert hold is not None and hold.kind.value == "permanent" and hold.reinstated_on is None
    assert DURABLE.case("qpr.home", "h", store).summary() == durable.summary()
