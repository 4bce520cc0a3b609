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
from qpr_rules.facts.hold import Hold, HoldState, hold_state_on
from qpr_rules.facts.placement import ApprovalKind, ApprovalStatus, Gender, HoldKind, PlacementStatus
from qpr_rules.facts.qpr_process import (
    ActionKind,
    AllegationTopic,
    RaisedBy,
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
def holds(draw: st.DrawFn) -> dict[str, Any]:
    """A valid hold of any kind: a review date only on a time-limited hold, a reinstatement date
    on any but a permanent one, each present or absent."""
    kind = draw(values(HoldKind))
    placed_on = draw(days)
    hold: dict[str, Any] = {"kind": kind, "placed_on": placed_on}
    if kind == "time_limited":
        maybe(hold, "review_after", draw(st.none() | st.integers(0, 400).map(lambda n: placed_on + dt.timedelta(n))))
    if kind == "time_limited":  # reinstated only after a QPR, after the date it determined
        after = hold.get("review_after", placed_on - dt.timedelta(1))
        maybe(hold, "reinstated_on", draw(st.none() | st.integers(1, 600).map(lambda n: after + dt.timedelta(n))))
    return hold


@st.composite
def date_around(draw: st.DrawFn, hold: dict[str, Any]) -> dt.date:
    """A date drawn around the hold's own dates: the day before, of and after each of placement,
    the review date set at the QPR and reinstatement, or anywhere."""
    anchors = [hold[k] for k in ("placed_on", "review_after", "reinstated_on") if k in hold]
    near = st.sampled_from(anchors).flatmap(
        lambda d: st.sampled_from([-1, 0, 1]).map(lambda n: d + dt.timedelta(days=n)))
    return draw(near | days)


def hold_in_force(hold: dict[str, Any] | None, on: dt.date) -> bool:
    """The text's reading, written here independently of facts/hold.py: a hold is in force from the
    day it is placed until privileges are reinstated; nothing else ends it."""
    if hold is None or on < hold["placed_on"]:
        return False
    return "reinstated_on" not in hold or on < hold["reinstated_on"]


restrictions = st.fixed_dictionaries({}, optional={
    "min_child_age": ages, "max_child_age": ages, "max_children": st.integers(0, 6),
    "genders": st.lists(genders, unique=True, max_size=3),
}).filter(lambda r: r.get("min_child_age", 0) <= r.get("max_child_age", 25))  # else refused
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
    home["hold"] = draw(holds()) if on_hold or draw(st.booleans()) else None
    if home["hold"] is not None and draw(st.booleans()):  # half the time, a date near the hold's own
        date = draw(date_around(home["hold"]))
    home["restrictions"] = draw(st.none() | restrictions)
    status = draw(values(PlacementStatus))
    if status == PlacementStatus.MADE:  # a made placement names the child's region (issue 17.7)
        child.setdefault("region", "East")
    return {"placement": {"date": date, "status": status,
                          "siblings": draw(st.lists(st.fixed_dictionaries(
                              {"age": st.integers(0, 21), "gender": values(Gender)}), max_size=2)),
                          "cleared_with_pco": draw(st.booleans())},
            "child": child, "home": home}


def home_on_hold(facts: dict[str, Any]) -> bool:
    """Clause hold.no-placements on the placement date (see hold_in_force)."""
    return hold_in_force(facts["home"]["hold"], facts["placement"]["date"])


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
    else:  # placed after the date, or reinstated on or before it
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
    if decision.outcome != "allow":
        return
    home, child = facts["home"], facts["child"]
    r = home.get("restrictions") or {}
    placed = home["children_placed"]
    # the child and every sibling placed together with it are children placed (issue 17.7)
    arriving = [child, *facts["placement"]["siblings"]]
    for c in arriving:
        assert r.get("min_child_age", 0) <= c["age"] <= r.get("max_child_age", 25)
        assert "genders" not in r or c["gender"] in r["genders"]
    assert "max_children" not in r or len(placed) + len(arriving) <= r["max_children"]
    # a child already placed outside the restriction does not stop the placement: it is a
    # finding for the PCO (clause actions.restrict-children, note)
    outside = any(not (r.get("min_child_age", 0) <= c["age"] <= r.get("max_child_age", 25))
                  or ("genders" in r and c["gender"] not in r["genders"]) for c in placed)
    assert outside == any(o.who == "pco" for o in decision.obligations)
    # Allowed only for an active home cleared with the PCO and not on hold (WIC 16507.5).
    assert not home_on_hold(facts)
    assert facts["placement"]["cleared_with_pco"] and home["approval_status"] == "active"


@settings(max_examples=200, deadline=None)
@given(placement_facts(on_hold=True))
def test_a_placement_made_into_a_home_on_hold_always_carries_its_duties(facts: dict[str, Any]) -> None:
    # "The PCO Manager will notify the Regional Manager ..."; "... may be subject to disciplinary action."
    facts["placement"]["status"] = "made"
    facts["child"].setdefault("region", "East")  # the notice names the child's region (issue 17.7)
    decision = ENGINE.decide("qpr.placement", facts)
    assert decision.status != "error", decision.errors
    duties = {o.who for o in decision.obligations}
    if home_on_hold(facts):
        assert "pco-manager" in duties
        # "may be subject to disciplinary action": a consequence, owed by no one
        assert [c.clause.clause for c in decision.consequences] == ["hold.discipline"]
    else:
        assert "pco-manager" not in duties and not decision.consequences
    assert "regional-manager" not in duties


@st.composite
def one_home_one_date(draw: st.DrawFn) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """The same hold and date asked of qpr.placement and of qpr.reinstatement."""
    hold = draw(holds())
    on = draw(date_around(hold))
    placement = draw(placement_facts())
    placement["home"]["hold"] = hold
    placement["placement"]["date"] = on
    request = {"date": on, "form": draw(values(RequestForm)),
               "states_understanding_of_worries": draw(st.booleans()),
               "describes_mitigating_actions": draw(st.booleans())}
    return hold, placement, {"hold": hold, "request": request}


@settings(max_examples=400, deadline=None)
@given(one_home_one_date())
def test_placement_and_reinstatement_agree_on_whether_a_hold_is_in_force(
    case: tuple[dict[str, Any], dict[str, Any], dict[str, Any]],
) -> None:
    # One Hold, one date: the two decisions read the same hold state, and neither lets a hold lapse.
    hold, placement_facts_, reinstatement_facts_ = case
    on = placement_facts_["placement"]["date"]
    placement = ENGINE.decide("qpr.placement", placement_facts_)
    reinstatement = ENGINE.decide("qpr.reinstatement", reinstatement_facts_)
    assert placement.status != "error", placement.errors
    assert reinstatement.status != "error", reinstatement.errors
    in_force = hold_in_force(hold, on)
    # the one definition in the facts layer agrees with the text's reading written here
    assert (hold_state_on(Hold.model_validate(hold), on) is HoldState.IN_FORCE) == in_force
    hold_rules = {r.id for r in placement.fired if r.id.startswith("qpr.placement.hold-")}
    if in_force:
        assert placement.outcome == "deny" and not placement.allowed
        assert hold_rules == {f"qpr.placement.hold-{hold['kind'].replace('_', '-')}"}
        assert reinstatement.outcome != "already-reinstated"
        assert "already-reinstated" not in reinstatement.outcomes
    else:
        assert not hold_rules
        reinstated = "reinstated_on" in hold and on >= hold["reinstated_on"]
        assert (reinstatement.outcome == "already-reinstated") == reinstated


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
def reinstatement_facts(draw: st.DrawFn, kind: str | None = None) -> dict[str, Any]:
    """All fields of a qpr_reinstatement, the request dated around the hold's own dates and the
    default wait."""
    hold = draw(holds().filter(lambda h: kind is None or h["kind"] == kind))
    boundary = hold.get("review_after", hold["placed_on"] + dt.timedelta(days=WAIT_DAYS))
    date = draw(date_around(hold) | st.sampled_from([-1, 0, 1]).map(lambda n: boundary + dt.timedelta(days=n)))
    request = {"date": date, "form": draw(values(RequestForm)),
               "states_understanding_of_worries": draw(st.booleans()),
               "describes_mitigating_actions": draw(st.booleans())}
    return {"hold": hold, "request": request}


@settings(max_examples=300, deadline=None)
@given(reinstatement_facts(kind="permanent"))
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
    hold, request = facts["hold"], facts["request"]
    if decision.outcome == "eligible-for-review":
        assert hold["kind"] == "time_limited"  # never pending QPR (no QPR held), never permanent
        assert hold_in_force(hold, request["date"])
        assert request["form"] in ("letter", "email")
        assert request["states_understanding_of_worries"] and request["describes_mitigating_actions"]
        earliest = hold.get("review_after", hold["placed_on"] + dt.timedelta(days=WAIT_DAYS))
        assert request["date"] > earliest
        assert any(o.clause and o.clause.clause == "reinstatement.another-meeting" for o in decision.obligations)


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
    sent = draw(values(StateAction))
    home: dict[str, Any] = {"action_possible_against_approval": draw(st.booleans()),
                            "quality_parenting_concerns_remain": draw(st.booleans()),
                            "sent_to_state_for": sent}
    if sent != "none":
        home["state_decision"] = draw(values(StateDecision))
    raised_by = draw(values(RaisedBy))
    facts: dict[str, Any] = {
        "raised_by": raised_by,
        "allegation": {"topics": draw(st.lists(values(AllegationTopic), unique=True, max_size=3)),
                       "meets_is_irs_assignment_criteria": draw(st.booleans())},
        "home": home,
    }
    if raised_by == "social_worker":
        maybe(facts, "sw_concern", draw(st.none() | st.fixed_dictionaries({
            "serious_problem_or_questionable_practices": st.booleans(), "specific_documentation": st.booleans()})))
    return facts


STAFF = {"social_worker", "cws_staff"}


@settings(max_examples=300, deadline=None)
@given(concern_facts())
def test_concern_routing_never_skips_is_irs_and_never_drops_a_stakeholder_concern(facts: dict[str, Any]) -> None:
    decision = ENGINE.decide("qpr.concern-routing", facts)
    assert decision.status != "error", decision.errors
    allegation = facts["allegation"]
    # "Referrals of abuse or neglect by a resource parent are assigned and investigated by an IS/IRS SW",
    # and what meets the IS/IRS assignment criteria is never left to the Complaint Unit.
    to_is_irs = bool({"abuse", "neglect"} & set(allegation["topics"])) or allegation["meets_is_irs_assignment_criteria"]
    assert ("is-irs-investigation" in decision.outcomes) == to_is_irs
    # "... solely licensing or RFA Written Directive (WD) issues and do not meet IS/IRS assignment criteria"
    solely = bool(allegation["topics"]) and set(allegation["topics"]) <= {"licensing", "rfa_written_directive"}
    assert ("complaint-unit" in decision.outcomes) == (solely and not allegation["meets_is_irs_assignment_criteria"])
    # "Child Welfare Staff can make a referral": permission, not "only"; a stakeholder's concern
    # (the Purpose: "a venue for hearing stakeholder concerns") is routed to CWS staff, never refused.
    if facts["raised_by"] not in STAFF:
        assert "route-to-cws-staff" in decision.outcomes
        assert "qpr-referral" not in decision.outcomes
    else:
        assert "route-to-cws-staff" not in decision.outcomes
        # Step 1, "Contact PCO to consult": a staff concern no other route takes is a consultation
        # with the PCO, never left without a route (issue 20.8: one with a licensing issue and a
        # quality-of-care one was, as if the Complaint Unit took what is not "solely" licensing).
        assert decision.outcome != "no-route"
    # "The SW will need to provide specific documentation regarding their concerns." (a duty)
    sw = facts.get("sw_concern") or {}
    if sw.get("serious_problem_or_questionable_practices") and not sw.get("specific_documentation"):
        assert any(o.clause and o.clause.clause == "refer.sw-documentation" for o in decision.obligations)
    # "... and the revocation or request to rescind is denied, the home will be referred for a QPR."
    if facts["home"].get("state_decision") == "denied":
        assert "qpr-referral-required" in decision.outcomes


# ----------------------------------------------------------------- allowable actions


ALLOWED_KINDS = {"restrict_children", "refer_for_investigation", "corrective_measures", "restrict_period",
                 "permanent_hold"}
HOLD_OF = {"restrict_period": "time_limited", "permanent_hold": "permanent"}


@st.composite
def action_items(draw: st.DrawFn) -> dict[str, Any]:
    """A proposed action of any kind, with the fields that kind may carry, each present or absent."""
    kind = draw(values(ActionKind))
    a: dict[str, Any] = {"kind": kind}
    if kind == "restrict_children":
        a.update(draw(restrictions.filter(lambda r: r.get("genders") != [])))  # [] is refused
    if kind == "refer_for_investigation":
        maybe(a, "refer_to", draw(st.none() | values(ReferTo)))
    maybe(a, "description", draw(st.none() | st.just("Attend training")))
    maybe(a, "addresses_referral_concerns", draw(st.none() | st.booleans()))
    if kind in HOLD_OF and draw(st.booleans()):
        placed_on = draw(days)
        a["hold"] = {"kind": HOLD_OF[kind], "placed_on": placed_on}
        if kind == "restrict_period":
            maybe(a["hold"], "review_after", draw(st.none() | st.just(placed_on + dt.timedelta(days=365))))
    return a


@settings(max_examples=300, deadline=None)
@given(st.lists(action_items(), max_size=4))
def test_only_the_five_actions_with_what_they_need_are_allowed(actions: list[dict[str, Any]]) -> None:
    # "One or more of the following actions may be taken at the QPR:" (a closed list of five, a
    # permission: none taken is allowed; removing the children is no action on the home), each
    # with what it needs: proved for every valid fact by qpr.inv.actions-closed-list,
    # qpr.inv.actions-one-or-more, qpr.inv.hold-actions-state-the-hold, qpr.inv.referral-names-agency,
    # qpr.inv.restriction-names-what and qpr.inv.measure-described-and-on-target. Here, on every
    # example: a malformed period fails closed (a validator), otherwise both evaluators agree.
    decision = ENGINE.decide("qpr.actions", {"actions": actions})
    assert decision.status != "error", decision.errors
    complete = all(
        a["kind"] in ALLOWED_KINDS
        and (a["kind"] != "restrict_children"
             or any(k in a for k in ("min_child_age", "max_child_age", "max_children", "genders")))
        and (a["kind"] != "refer_for_investigation" or "refer_to" in a)
        and (a["kind"] != "corrective_measures"
             or ("description" in a and a.get("addresses_referral_concerns") is True))
        and (a["kind"] not in HOLD_OF or "hold" in a)
        for a in actions)
    assert (decision.outcome == "allowed") == complete
    # any other action on the home (revoking a license, closing the home ...) is not allowed;
    # removing the children placed is routed out of the QPR unless something else is refused
    if any(a["kind"] not in ALLOWED_KINDS | {"remove_children_placed"} for a in actions):
        assert decision.outcome == "not-allowed"
    elif any(a["kind"] == "remove_children_placed" for a in actions):
        assert decision.outcome != "allowed"
        assert any(o.who == "childs-sw" for o in decision.obligations)
        if all(a["kind"] == "remove_children_placed" for a in actions):
            assert decision.outcome == "not-a-qpr-action"
    # a measure that never says whether it addresses the concerns is never allowed
    if any(a["kind"] == "corrective_measures" and "addresses_referral_concerns" not in a for a in actions):
        assert decision.outcome != "allowed"


@settings(max_examples=100, deadline=None)
@given(placement_facts(on_hold=True))
def test_a_made_placement_without_the_childs_region_is_refused_when_the_hold_is_in_force(
        facts: dict[str, Any]) -> None:
    # Issue 17.7: the Regional Manager notice names the child's region; without it, incomplete.
    facts["placement"]["status"] = "made"
    facts["child"].pop("region", None)
    decision = ENGINE.decide("qpr.placement", facts)
    if home_on_hold(facts):
        assert (decision.outcome, decision.status) == ("deny", "error")
        assert any("child.region" in e for e in decision.errors)
    else:
        assert decision.status != "error", decision.errors
