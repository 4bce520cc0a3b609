"""No fact defaults to compliance (issue 9, item 3).

Every registered fact model is walked, nested models included. A boolean or optional field that a
caller may leave out is a place where the engine, not the caller, would answer: it fails this test
unless it is listed below with the clause whose rules make its default the safe state (a restrictive
or "incomplete" rule fires on it, or absence only withholds a duty-free permission the text never
grants by default). Everything else is required: the caller says it, or the facts are refused
(placements: deny).
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel

from qpr_rules import Engine
from qpr_rules.facts.base import FactModel, registered_fact_types
from qpr_rules.facts.paths import type_of

ROOT = Path(__file__).resolve().parents[1]

_ABSENT_RATING = ("crosswalk.protocol-elements", "an indicator left out is not rated: the belief's not-rated rule fires")
_BLANK = ("the template blank's clause", "a blank left out fires its *-blank rule: incomplete")

#: (model, field) -> (clause, why the default is the safe state)
SAFE_DEFAULTS: dict[tuple[str, str], tuple[str, str]] = {
    # placement_request
    ("Child", "id"): ("hold.clear-with-pco", "an identifier only; no rule reads it"),
    ("Child", "region"): ("hold.notify-regional-manager",
                          "left out, the notice is still owed, to the Regional Manager of the child's region"),
    ("Hold", "review_after"): ("reinstatement.request-after-date",
                               "no date determined: a time-limited hold waits reinstatement_wait_days; "
                               "the hold stays in force either way"),
    ("Hold", "reinstated_on"): ("hold.no-placements", "not reinstated: the hold is in force and placements are denied"),
    ("Restrictions", "min_child_age"): ("actions.restrict-children",
                                        "a bound the QPR did not set; whether there are restrictions is required"),
    ("Restrictions", "max_child_age"): ("actions.restrict-children", "as min_child_age"),
    ("Restrictions", "max_children"): ("actions.restrict-children", "as min_child_age"),
    ("Restrictions", "genders"): ("actions.restrict-children", "as min_child_age"),
    # qpr_action_set: each bound or detail left out fires the action's incomplete rule
    ("ProposedAction", "min_child_age"): ("actions.restrict-children",
                                          "all four bounds left out: restriction-names-nothing, incomplete"),
    ("ProposedAction", "max_child_age"): ("actions.restrict-children", "as min_child_age"),
    ("ProposedAction", "max_children"): ("actions.restrict-children", "as min_child_age"),
    ("ProposedAction", "genders"): ("actions.restrict-children", "as min_child_age"),
    ("ProposedAction", "refer_to"): ("actions.refer-investigation", "referral-without-agency: incomplete"),
    ("ProposedAction", "description"): ("actions.corrective", "measure-undescribed: incomplete"),
    ("ProposedAction", "addresses_referral_concerns"): ("actions.corrective", "measure-concerns-unstated: incomplete"),
    ("ProposedAction", "hold"): ("actions.restrict-period", "hold-undated: incomplete"),
    # qpr_concern
    ("HomeStanding", "state_decision"): ("refer.state-denied",
                                         "required (by validation) whenever the home was sent to the state"),
    ("Concern", "sw_concern"): ("refer.sw-judgment",
                                "no SW judgment given: no SW referral route; the concern still routes by the rest"),
    # qpr_hold_placed
    ("ChildInHome", "id"): ("hold.notify-regional-manager", "an identifier only; no rule reads it"),
    # qpr_procedure: a step not shown done is the step still owed
    ("InternalReview", "concerns_mapped"): ("step4.map-concerns", "concerns-not-mapped: review-incomplete"),
    ("InternalReview", "recommendations_made"): ("step4.recommend", "concerns-not-mapped: review-incomplete"),
    ("Procedure", "call"): ("step5.call-rf", "no call yet: call-rf, the PCO PSS calls the RF"),
    ("RfCall", "rf_agrees"): ("step5.call-rf", "no answer yet: await-response"),
    ("RfCall", "invited_to_qpr_meeting"): ("step5.disagrees", "rf-disagrees: the duty to invite stays"),
    # qpr_referral: a step not shown reached is the step still owed (contradictions are refused)
    ("Referral", "referral_warranted"): ("step1.consult-pco", "awaiting-consultation: consult-pco"),
    ("Referral", "form_04_233_submitted"): ("step1.submit-form", "warranted: the SW must submit 04-233"),
    ("Referral", "form_emailed_to_pco"): ("refer.form-emailed", "form-not-emailed: the SW must e-mail it"),
    ("Referral", "appropriate_for_qpr"): ("step2.review", "received: the PCO must review"),
    ("Referral", "accepted"): ("step3.when", "not accepted: no information gathering is claimed done"),
    ("Referral", "after_state_denial"): ("refer.state-denied", "not known: the screening answers as for any "
                                         "referral; a known denial is routed qpr-referral-required by "
                                         "qpr.concern-routing, and given here it cannot be screened out"),
    # child_removal
    ("ChildRemoval", "transition_plan"): ("caregiver.transition-plan", "no-transition-plan: transition-incomplete"),
    # pqcr_interview_plan
    ("Template", "county_name"): _BLANK,
    ("Template", "cycle"): _BLANK,
    ("Template", "focus_area"): _BLANK,
    ("Template", "referrals_and_cases"): _BLANK,
    ("Template", "selection_criteria"): _BLANK,
    ("Template", "selection_goal_date"): _BLANK,
    ("Interviewee", "may_review_case_first"): ("facts.case-review",
                                              "not offered: no-case-review, not-acceptable, for SWs and POs"),
    ("Interviewee", "played_main_role_in_case"): ("selection.main-roles", "staff-role-unstated: incomplete"),
    ("CaregiverInformation", "topics_shared_with_birth_parent"): (
        "staff.information-topics", "not said: birth-parent-unstated, missing"),
    ("CaregiverInformation", "caregiver_shared_with_staff"): (
        "staff.information-topics", "not said: caregiver-to-staff, missing"),
    ("CaregiverInformation", "concerns_raised"): ("system.heard", "not said: concerns-unstated, missing"),
    ("CaregiverInformation", "responded_timely"): ("staff.respond.example", "not said: not-timely, missing"),
    # child_removal: a ground's basis the record does not show is never taken as shown
    **{("Reason", f): ("staff.removal-only-when", "not said: the ground's -unshown rule, ground-incomplete")
       for f in ("determined_by", "determined_on", "document", "document_reference")},
    # partnership_record: the record not saying is never the duty done
    ("PartnershipRecord", "medical_appointment_due"): ("caregiver.needs.example", "not said: appointment-unstated, missing"),
    ("PartnershipRecord", "medical_appointment_scheduled"): (
        "caregiver.needs.example", "not said, when due: appointment-not-scheduled, missing"),
    ("PartnershipRecord", "child_taken_to_appointment"): (
        "caregiver.needs.example", "not said, when due: appointment-not-kept, missing"),
    ("PartnershipRecord", "family_visit_due"): ("caregiver.needs.example", "not said: visit-unstated, missing"),
    ("PartnershipRecord", "child_prepared_for_visit"): (
        "caregiver.needs.example", "not said, when due: visit-not-prepared, missing"),
    ("PartnershipRecord", "child_transported_to_visit"): (
        "caregiver.needs.example", "not said, when due: visit-not-transported, missing"),
    ("PartnershipRecord", "attended_meetings"): ("principle.4", "not said: meetings, missing"),
    ("PartnershipRecord", "attended_court"): ("principle.4", "not said: court, missing"),
    ("PartnershipRecord", "attended_case_planning"): ("principle.4", "not said: case-planning, missing"),
    ("PartnershipRecord", "provided_input"): ("principle.4", "not said: input, missing"),
    ("InterviewPlan", "focus_groups"): ("what.focus-groups", "focus-groups-unstated: incomplete"),
    ("InterviewPlan", "peer_review_one_week"): ("what.peer-week", "week-unstated: incomplete"),
    # qpi_site_readiness
    ("SiteReadiness", "qpi_lead"): ("coordinator.identify", "no QPI Lead identified: the site is not ready"),
    ("Resources", "able_to_involve_community"): (
        "resources.community", "not said: a site not involving the community already is not ready on that point"),
    # qsr_review: every indicator
    **{("ChildFamilyStatus", f): _ABSENT_RATING for f in (
        "i1a_exposure_to_threats_of_harm", "i1b_risk_to_self_others", "i2_stability", "i3_living_arrangement",
        "i4_permanency", "i5_physical_health", "i6_emotional_well_being", "i7a_early_learning_status",
        "i7b_academic_status", "i8_pathway_to_independence", "i9_parent_and_caretaker_functioning")},
    **{("PracticePerformance", f): _ABSENT_RATING for f in (
        "i1a_engagement", "i1b_role_and_voice", "i2_teaming", "i3_cultural_awareness_and_responsiveness",
        "i4_assessment_and_understanding", "i5_long_term_view_for_safe_case_closure",
        "i6_planning_for_safe_case_closure", "i7_planning_for_transitions_and_life_adjustments",
        "i8_resource_availability", "i9_intervention_adequacy", "i10_maintaining_quality_connections",
        "i11_tracking_and_adjustment")},
}


def _models() -> dict[str, type[BaseModel]]:
    """Every model reachable from a registered fact type, by class name."""
    out: dict[str, type[BaseModel]] = {}
    stack: list[type[BaseModel]] = list(registered_fact_types().values())
    while stack:
        model = stack.pop()
        if model.__name__ in out:
            assert out[model.__name__] is model, f"two fact models are named {model.__name__}"
            continue
        out[model.__name__] = model
        for info in model.model_fields.values():
            ft = type_of(info.annotation)
            for t in (ft, ft.item):
                if t is not None and t.model is not None:
                    stack.append(t.model)
    return out


def _defaulted() -> set[tuple[str, str]]:
    """Boolean or optional fields that a caller may leave out."""
    found = set()
    for name, model in _models().items():
        for field, info in model.model_fields.items():
            ft = type_of(info.annotation)
            if not info.is_required() and (ft.kind == "bool" or ft.optional):
                found.add((name, field))
    return found


def test_every_defaulted_flag_or_optional_field_is_listed_with_the_clause_that_makes_it_safe() -> None:
    unlisted = sorted(_defaulted() - set(SAFE_DEFAULTS))
    assert not unlisted, (
        f"these fields may be left out, and nothing says why that is safe: {unlisted}. Make them "
        "required, or list them in SAFE_DEFAULTS with the clause whose rule answers their absence")


def test_the_list_has_no_stale_entries_and_names_real_clauses() -> None:
    assert sorted(set(SAFE_DEFAULTS) - _defaulted()) == []
    clauses = {c.id for spec in Engine.load([ROOT / "policies"]).policies.decisions.values()
               for c in spec.file.policy.clauses}
    named = {clause for clause, _ in SAFE_DEFAULTS.values() if clause != _BLANK[0]}
    assert sorted(named - clauses) == []


def test_no_flag_defaults_to_true() -> None:
    # a default of True is a conclusion made for the caller ("addresses the concerns": yes)
    for name, model in _models().items():
        for field, info in model.model_fields.items():
            assert info.default is not True, f"{name}.{field} defaults to true"


def test_a_derived_field_given_with_another_value_is_refused() -> None:
    engine = Engine.load([ROOT / "policies" / "qpr.yaml"])
    facts = {"placement": {"date": "2024-05-01", "status": "proposed", "cleared_with_pco": True, "siblings": []}, "child": {"age": 7, "gender": "female"},
             "home": {"id": "H", "approval": "rfa", "approval_status": "active", "restrictions": None,
                      "children_placed": [], "hold": {"kind": "permanent", "placed_on": "2024-01-01"}},
             "hold_state": "none"}
    decision = engine.decide("qpr.placement", facts)
    assert decision.outcome == "deny" and decision.status == "error"
    assert "hold_state is derived from the other facts, not an input" in decision.reason
    assert issubclass(registered_fact_types()["placement_request"], FactModel)
