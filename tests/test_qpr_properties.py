"""Property tests of every sentence of the QPR policy that says never, not, or "under any
circumstances". Facts are generated over the whole fact space: every enum value, absent
optional fields, empty lists, and dates on both sides of (and on) every boundary."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from qpr_rules import Engine
from tests.strategies import days, holds, optional, placement_facts

ROOT = Path(__file__).resolve().parents[1]
ENGINE = Engine.load([ROOT / "policies" / "qpr.yaml"])
def on_hold(facts: dict[str, Any]) -> bool:
    """The text's reading of "a home on hold" on the placement date (see clause hold.no-placements)."""
    hold = facts["home"].get("hold")
    if hold is None:
        return False
    if hold["kind"] != "time_limited":
        return True
    return "ends_on" not in hold or facts["placement"]["date"] <= hold["ends_on"]


@settings(max_examples=400, deadline=None)
@given(placement_facts(hold=holds()))
def test_homes_on_hold_never_receive_placements(facts: dict[str, Any]) -> None:
    # "Homes on hold are not to receive placements under any circumstances."
    decision = ENGINE.decide("qpr.placement", facts)
    assert decision.status != "error", decision.errors
    if on_hold(facts):
        assert decision.outcome == "deny"
        assert any(r.id.startswith("qpr.placement.hold-") for r in decision.fired)


@settings(max_examples=400, deadline=None)
@given(placement_facts())
def test_an_allowed_placement_never_exceeds_a_restriction(facts: dict[str, Any]) -> None:
    # "Restrict age range, number, or gender of children placed in the resource home."
    decision = ENGINE.decide("qpr.placement", facts)
    assert decision.status != "error", decision.errors
    if decision.outcome != "allow":
        return
    home, child = facts["home"], facts["child"]
    r = home.get("restrictions") or {}
    assert r.get("min_child_age", 0) <= child["age"] <= r.get("max_child_age", 25)
    assert len(home["children_placed"]) < r.get("max_children", len(home["children_placed"]) + 1)
    assert "genders" not in r or child["gender"] in r["genders"]
    # "... enforced against the child and the children already placed"
    for placed in home["children_placed"]:
        assert r.get("min_child_age", 0) <= placed["age"] <= r.get("max_child_age", 25)
        assert "genders" not in r or placed["gender"] in r["genders"]
    assert not on_hold(facts)
    assert facts["placement"]["cleared_with_pco"] and home["approval_status"] == "active"


@settings(max_examples=200, deadline=None)
@given(placement_facts(hold=holds()))
def test_a_placement_made_into_a_home_on_hold_always_carries_its_duties(facts: dict[str, Any]) -> None:
    # "The PCO Manager will notify the Regional Manager ..."; "... may be subject to disciplinary action."
    facts["placement"]["status"] = "made"
    decision = ENGINE.decide("qpr.placement", facts)
    if on_hold(facts):
        assert {o.who for o in decision.obligations} >= {"pco-manager", "regional-manager"}


fuzz = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=5)),
    lambda inner: st.one_of(st.lists(inner, max_size=3),
                            st.dictionaries(st.text(max_size=8), inner, max_size=3)),
    max_leaves=10,
)


@settings(max_examples=200, deadline=None)
@given(st.one_of(fuzz, placement_facts().map(lambda f: {**f, "child": {"age": "7", "gender": "female"}})))
def test_invalid_placement_facts_fail_closed(facts: Any) -> None:
    # Fail closed: facts that do not validate are answered deny, with the error as the reason.
    decision = ENGINE.decide("qpr.placement", facts)
    assert decision.outcome == "deny"
    assert decision.status == "error" and decision.errors


requests = st.fixed_dictionaries({
    "date": days, "form": st.sampled_from(["letter", "email", "verbal"]),
    "states_understanding_of_worries": st.booleans(), "describes_mitigating_actions": st.booleans(),
})


@settings(max_examples=300, deadline=None)
@given(placed_on=days, review_date=optional(days), request=requests)
def test_a_home_on_permanent_hold_is_never_eligible_for_reinstatement(
    placed_on: dt.date, review_date: dt.date | None, request: dict[str, Any]
) -> None:
    # "RF placed on permanent hold are not eligible for reinstatement of privileges."
    hold: dict[str, Any] = {"kind": "permanent", "placed_on": placed_on}
    if review_date is not None:
        hold["review_date"] = review_date
    decision = ENGINE.decide("qpr.reinstatement", {"hold": hold, "request": request})
    assert decision.status != "error", decision.errors
    assert decision.outcome == "not-eligible"
    assert "qpr.reinstatement.permanent-hold" in {r.id for r in decision.fired}


@settings(max_examples=300, deadline=None)
@given(kind=st.sampled_from(["pending_qpr", "time_limited", "permanent"]), placed_on=days,
       review_date=optional(days), request=requests)
def test_reinstatement_is_never_reviewed_on_or_before_the_date_set(
    kind: str, placed_on: dt.date, review_date: dt.date | None, request: dict[str, Any]
) -> None:
    # "... may submit a request for a review after the date determined in the initial QPR."
    hold: dict[str, Any] = {"kind": kind, "placed_on": placed_on}
    if review_date is not None:
        hold["review_date"] = review_date
    decision = ENGINE.decide("qpr.reinstatement", {"hold": hold, "request": request})
    assert decision.status != "error", decision.errors
    if decision.outcome == "eligible-for-review":
        assert kind != "permanent"
        assert request["form"] in ("letter", "email")
        assert request["states_understanding_of_worries"] and request["describes_mitigating_actions"]
        earliest = review_date or placed_on + dt.timedelta(days=365)
        assert request["date"] > earliest


@settings(max_examples=100, deadline=None)
@given(action=st.sampled_from(["upload_to_cws_cms", "share_outside_cws", "file_with_pco"]))
def test_a_qpr_referral_is_never_cleared_for_upload_to_cws_cms(action: str) -> None:
    # "QPR Referrals are confidential and are not to be uploaded to CWS/CMS."
    decision = ENGINE.decide("qpr.records", {"record": "qpr_referral", "action": action})
    assert decision.status != "error"
    if action != "file_with_pco":
        assert decision.outcome == "deny"


action_items = st.fixed_dictionaries(
    {"kind": st.sampled_from(["restrict_children", "refer_for_investigation", "corrective_measures",
                              "restrict_period", "permanent_hold", "other"])},
    optional={"restricts_age_range": st.booleans(), "restricts_number": st.booleans(),
              "restricts_gender": st.booleans(), "refer_to": st.sampled_from(["fhl", "rfa"]),
              "description": st.just("Attend training"), "addresses_referral_concerns": st.booleans(),
              "starts_on": days, "ends_on": days},
)


@settings(max_examples=300, deadline=None)
@given(st.lists(action_items, max_size=4))
def test_only_the_five_actions_with_what_they_need_are_allowed(actions: list[dict[str, Any]]) -> None:
    # "One or more of the following actions may be taken at the QPR:" (a closed list of five)
    decision = ENGINE.decide("qpr.actions", {"actions": actions})
    assert decision.status != "error", decision.errors
    if decision.outcome == "allowed":
        assert actions
        for a in actions:
            assert a["kind"] != "other"
            if a["kind"] == "restrict_period":
                assert "starts_on" in a and "ends_on" in a
            if a["kind"] == "refer_for_investigation":
                assert "refer_to" in a
            if a["kind"] == "restrict_children":
                assert any(a.get(k) for k in ("restricts_age_range", "restricts_number", "restricts_gender"))
