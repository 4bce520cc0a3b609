"""Property tests of every sentence of the QPR policy that says never, not, or "under any
circumstances". Facts are generated over the whole fact space: every enum value, every optional
field present and absent, empty lists, and dates before, on and after every boundary.

Every generated decision must also have status != "error": durable_rules and the reference
evaluator both answer each decision, and a disagreement between them fails closed as an error."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from qpr_rules import Engine
from qpr_rules.facts.placement import ApprovalKind, ApprovalStatus, Gender, HoldKind, PlacementStatus
from qpr_rules.facts.qpr_process import (
    ActionKind,
    RecordAction,
    RecordKind,
    ReferTo,
    RequestForm,
    StateAction,
    StateDecision,
)

ROOT = Path(__file__).resolve().parents[1]
ENGINE = Engine.load([ROOT / "policies" / "qpr.yaml"])
WAIT_DAYS = 365  # parameters.reinstatement_wait_days in policies/qpr.yaml (checked below)

DAY0 = dt.date(2024, 1, 1)
days = st.integers(min_value=-800, max_value=800).map(lambda n: DAY0 + dt.timedelta(days=n))
ages = st.integers(min_value=0, max_value=25)
genders = st.sampled_from([g.value for g in Gender])


def values(enum: Any) -> st.SearchStrategy[str]:
    return st.sampled_from([m.value for m in enum])


def maybe(d: dict[str, Any], key: str, value: Any) -> None:
    """Set d[key] unless value is None (absent optional field)."""
    if value is not None:
        d[key] = value


# ----------------------------------------------------------------- placement facts


@st.composite
def hold_for(draw: st.DrawFn, on: dt.date) -> dict[str, Any]:
    """A hold of any kind, with ends_on absent, before, on or after the placement date `on`."""
    where = draw(st.sampled_from(["absent", "before", "on", "after", "anywhere"]))
    offset = {"before": -draw(st.integers(1, 400)), "on": 0, "after": draw(st.integers(1, 400)),
              "anywhere": draw(st.integers(-400, 400))}.get(where)
    ends_on = None if offset is None else on + dt.timedelta(days=offset)
    anchor = ends_on or on + dt.timedelta(days=draw(st.integers(-400, 400)))
    hold: dict[str, Any] = {"kind": draw(values(HoldKind)),
                            "placed_on": anchor - dt.timedelta(days=draw(st.integers(0, 500)))}
    maybe(hold, "ends_on", ends_on)
    return hold


restrictions = st.fixed_dictionaries({}, optional={
    "min_child_age": ages, "max_child_age": ages, "max_children": st.integers(0, 6),
    "genders": st.lists(genders, unique=True, max_size=3),
})
placed_children = st.lists(st.fixed_dictionaries({"age": ages, "gender": genders}), max_size=6)


@st.composite
def placement_facts(draw: st.DrawFn, on_hold: bool | None = None) -> dict[str, Any]:
    """All fields of a placement_request. on_hold=True always draws a hold, None sometimes."""
    date = draw(days)
    child: dict[str, Any] = {"age": draw(ages), "gender": draw(genders)}
    maybe(child, "id", draw(st.none() | st.just("C-1")))
    maybe(child, "region", draw(st.none() | st.sampled_from(["North Central", "East"])))
    home: dict[str, Any] = {"id": "RH-1", "approval": draw(values(ApprovalKind)),
                            "approval_status": draw(values(ApprovalStatus)),
                            "children_placed": draw(placed_children)}
    maybe(home, "hold", draw(hold_for(date)) if on_hold or draw(st.booleans()) else None)
    maybe(home, "restrictions", draw(st.none() | restrictions))
    return {"placement": {"date": date, "status": draw(values(PlacementStatus)),
                          "cleared_with_pco": draw(st.booleans())},
            "child": child, "home": home}


def home_on_hold(facts: dict[str, Any]) -> bool:
    """The text's reading of "a home on hold" on the placement date (clause hold.no-placements):
    any pending or permanent hold; a time-limited hold through its end date, or with none."""
    hold = facts["home"].get("hold")
    if hold is None:
        return False
    if hold["kind"] != "time_limited":
        return True
    return "ends_on" not in hold or facts["placement"]["date"] <= hold["ends_on"]


@settings(max_examples=300, deadline=None)
@given(placement_facts(on_hold=True))
def test_homes_on_hold_never_receive_placements(facts: dict[str, Any]) -> None:
    # "Homes on hold are not to receive placements under any circumstances."
    decision = ENGINE.decide("qpr.placement", facts)
    assert decision.status != "error", decision.errors
    if home_on_hold(facts):
        assert decision.outcome == "deny"
        assert not decision.allowed
        assert any(r.id.startswith("qpr.placement.hold-") for r in decision.fired)
    else:  # a time-limited hold that ended before the placement date no longer holds the home
        assert not any(r.id.startswith("qpr.placement.hold-") for r in decision.fired)


@settings(max_examples=300, deadline=None)
@given(placement_facts())
def test_durable_rules_and_the_reference_agree_on_restricted_homes(facts: dict[str, Any]) -> None:
    # "An allowed placement never exceeds a restriction" (and is only for an active home cleared
    # with the PCO and not on hold) is proved for every valid fact by the invariants
    # qpr.inv.restrictions-respected, qpr.inv.cleared-with-pco, qpr.inv.approval-no-entitlement and
    # qpr.inv.no-placement-on-hold (`qpr-rules prove`). What the solver does not model is durable_rules
    # itself: on every example both evaluators must give the same answer (else status "error").
    decision = ENGINE.decide("qpr.placement", facts)
    assert decision.status != "error", decision.errors
    assert decision.allowed == (decision.outcome == "allow")


@settings(max_examples=200, deadline=None)
@given(placement_facts(on_hold=True))
def test_a_placement_made_into_a_home_on_hold_always_carries_its_duties(facts: dict[str, Any]) -> None:
    # "The PCO Manager will notify the Regional Manager ..."; "... may be subject to disciplinary action."
    facts["placement"]["status"] = "made"
    decision = ENGINE.decide("qpr.placement", facts)
    assert decision.status != "error", decision.errors
    duties = {o.who for o in decision.obligations}
    if home_on_hold(facts):
        assert duties >= {"pco-manager", "regional-manager"}
    else:
        assert not duties & {"pco-manager", "regional-manager"}


fuzz = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=5)),
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=8), inner, max_size=3)),
    max_leaves=10,
)


@settings(max_examples=150, deadline=None)
@given(st.one_of(fuzz, placement_facts().map(lambda f: {**f, "child": {"age": "7", "gender": "female"}})))
def test_invalid_placement_facts_fail_closed(facts: Any) -> None:
    # Fail closed: facts that do not validate are answered deny, with the error as the reason.
    decision = ENGINE.decide("qpr.placement", facts)
    assert decision.outcome == "deny" and not decision.allowed
    assert decision.status == "error" and decision.errors


# ----------------------------------------------------------------- reinstatement


@st.composite
def reinstatement_facts(draw: st.DrawFn, kind: st.SearchStrategy[str] | None = None) -> dict[str, Any]:
    """All fields of a qpr_reinstatement, the request dated around both possible boundaries."""
    placed_on = draw(days)
    hold: dict[str, Any] = {"kind": draw(kind if kind is not None else values(HoldKind)), "placed_on": placed_on}
    maybe(hold, "review_date", draw(st.none() | st.integers(0, 800).map(lambda n: placed_on + dt.timedelta(n))))
    boundary = hold.get("review_date", placed_on + dt.timedelta(days=WAIT_DAYS))
    date = boundary + dt.timedelta(days=draw(st.sampled_from([-1, 0, 1]) | st.integers(-800, 800)))
    request = {"date": date, "form": draw(values(RequestForm)),
               "states_understanding_of_worries": draw(st.booleans()),
               "describes_mitigating_actions": draw(st.booleans())}
    return {"hold": hold, "request": request}


@settings(max_examples=300, deadline=None)
@given(reinstatement_facts(kind=st.just("permanent")))
def test_a_home_on_permanent_hold_is_never_eligible_for_reinstatement(facts: dict[str, Any]) -> None:
    # "RF placed on permanent hold are not eligible for reinstatement of privileges."
    decision = ENGINE.decide("qpr.reinstatement", facts)
    assert decision.status != "error", decision.errors
    assert decision.outcome == "not-eligible"
    assert "eligible-for-review" not in decision.outcomes
    assert "qpr.reinstatement.permanent-hold" in {r.id for r in decision.fired}


@settings(max_examples=300, deadline=None)
@given(reinstatement_facts())
def test_reinstatement_is_never_reviewed_on_or_before_the_date_set(facts: dict[str, Any]) -> None:
    # "... may submit a request for a review after the date determined in the initial QPR" and
    # "must be submitted in writing" are proved for every valid fact by qpr.inv.no-review-before-date,
    # qpr.inv.no-review-before-default-wait, qpr.inv.eligible-only-complete and
    # qpr.inv.permanent-hold-not-eligible. Here, on every example: both evaluators agree, and a
    # request is eligible exactly when the PCO gets the duty to review it (obligations are not
    # modelled by the solver).
    decision = ENGINE.decide("qpr.reinstatement", facts)
    assert decision.status != "error", decision.errors
    review_duty = any(o.clause and o.clause.clause == "reinstatement.another-meeting" for o in decision.obligations)
    assert review_duty == (decision.outcome == "eligible-for-review")


def test_the_default_wait_matches_the_policy_parameter() -> None:
    import yaml

    policy = yaml.safe_load((ROOT / "policies" / "qpr.yaml").read_text(encoding="utf-8"))
    assert policy["parameters"]["reinstatement_wait_days"]["value"] == WAIT_DAYS


# ----------------------------------------------------------------- records


@settings(max_examples=100, deadline=None)
@given(record=values(RecordKind), action=values(RecordAction))
def test_a_qpr_referral_is_never_cleared_for_upload_to_cws_cms(record: str, action: str) -> None:
    # "QPR Referrals are confidential and are not to be uploaded to CWS/CMS."
    decision = ENGINE.decide("qpr.records", {"record": record, "action": action})
    assert decision.status != "error", decision.errors
    if record == "qpr_referral" and action == "upload_to_cws_cms":
        assert decision.outcome == "deny"
        assert "qpr.records.no-upload" in {r.id for r in decision.fired}
    if record == "qpr_referral" and action != "file_with_pco":
        assert decision.outcome == "deny"


# ----------------------------------------------------------------- concern routing


@st.composite
def concern_facts(draw: st.DrawFn) -> dict[str, Any]:
    home: dict[str, Any] = {"action_possible_against_approval": draw(st.booleans()),
                            "quality_parenting_concerns_remain": draw(st.booleans()),
                            "sent_to_state_for": draw(values(StateAction))}
    maybe(home, "state_decision", draw(st.none() | values(StateDecision)))
    facts: dict[str, Any] = {
        "referrer": {"child_welfare_staff": draw(st.booleans()), "social_worker": draw(st.booleans())},
        "allegation": {k: draw(st.booleans())
                       for k in ("abuse_or_neglect", "licensing_or_wd_only", "meets_is_irs_criteria")},
        "home": home,
    }
    maybe(facts, "sw_concern", draw(st.none() | st.fixed_dictionaries({
        "serious_problem_or_questionable_practices": st.booleans(), "specific_documentation": st.booleans()})))
    return facts


@settings(max_examples=300, deadline=None)
@given(concern_facts())
def test_concern_routing_never_skips_is_irs_and_never_takes_a_referral_from_outside_cws(
    facts: dict[str, Any],
) -> None:
    decision = ENGINE.decide("qpr.concern-routing", facts)
    assert decision.status != "error", decision.errors
    # "Referrals of abuse or neglect by a resource parent are assigned and investigated by an IS/IRS SW."
    if facts["allegation"]["abuse_or_neglect"]:
        assert "is-irs-investigation" in decision.outcomes
    # "Child Welfare Staff can make a referral for a QPR." (read: only they can)
    if not facts["referrer"]["child_welfare_staff"]:
        assert "qpr-referral" not in decision.outcomes
    # "The SW will need to provide specific documentation regarding their concerns."
    if "qpr-referral" in decision.outcomes and "qpr.concern-routing.sw-documented" in {r.id for r in decision.fired}:
        assert facts["sw_concern"]["specific_documentation"]
    # "... and the revocation or request to rescind is denied, the home will be referred for a QPR."
    if facts["home"]["sent_to_state_for"] != "none" and facts["home"].get("state_decision") == "denied":
        assert "qpr-referral-required" in decision.outcomes


# ----------------------------------------------------------------- allowable actions


action_items = st.fixed_dictionaries(
    {"kind": values(ActionKind)},
    optional={"restricts_age_range": st.booleans(), "restricts_number": st.booleans(),
              "restricts_gender": st.booleans(), "refer_to": values(ReferTo),
              "description": st.just("Attend training"), "addresses_referral_concerns": st.booleans(),
              "starts_on": days, "ends_on": days},
)


@settings(max_examples=300, deadline=None)
@given(st.lists(action_items, max_size=4))
def test_only_the_five_actions_with_what_they_need_are_allowed(actions: list[dict[str, Any]]) -> None:
    # "One or more of the following actions may be taken at the QPR:" (a closed list of five), each
    # with what it needs: proved for every valid fact by qpr.inv.actions-closed-list,
    # qpr.inv.actions-one-or-more, qpr.inv.period-has-dates, qpr.inv.referral-names-agency,
    # qpr.inv.restriction-names-what and qpr.inv.measure-described-and-on-target. Here, on every
    # example: a malformed period fails closed (a validator), otherwise both evaluators agree.
    decision = ENGINE.decide("qpr.actions", {"actions": actions})
    malformed = any(a.get("starts_on") and a.get("ends_on") and a["ends_on"] < a["starts_on"] for a in actions)
    assert (decision.status == "error") == malformed, decision.errors
    assert not malformed or decision.outcome == "not-allowed"
