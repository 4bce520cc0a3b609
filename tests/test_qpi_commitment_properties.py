"""Property tests of the Quality Parenting Commitment's "only when" and "must" sentences."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from qpr_rules import Engine

ROOT = Path(__file__).resolve().parents[1]
ENGINE = Engine.load([ROOT / "policies" / "qpi_commitment.yaml"])
flags = st.booleans()
GROUNDS = ["caregiver_clearly_unable", "reunified_with_birth_family", "legally_permanent_home",
           "demonstrably_best_interest"]
OTHER_REASONS = ["caregiver_request", "placement_with_siblings", "placement_closer_to_family", "agency_capacity"]
TOPICS = ["progress", "needs", "health_and_mental_health_services", "visitation", "recreational_and_social_activities",
          "academic_performance", "behavioral_functioning", "school_placement_issues"]
removals = st.fixed_dictionaries(
    {"caregiver_accepted_placement": flags,
     "reasons": st.lists(st.sampled_from(GROUNDS + OTHER_REASONS), unique=True, min_size=1),
     "unforeseeable_emergency": flags,
     "child_leaves_with_all_belongings": flags},
    optional={"transition_plan": st.fixed_dictionaries({
        "made_with_all_parties": flags, "considers_developmental_stage": flags,
        "considers_psychological_needs": flags})},
)


@settings(max_examples=400, deadline=None)
@given(removals)
def test_a_child_is_removed_only_on_one_of_the_four_grounds(facts: dict[str, Any]) -> None:
    # "... the child or teen will be removed only when: 1) ... 4) ..."
    decision = ENGINE.decide("qpi_commitment.child-removal", facts)
    assert decision.status != "error", decision.errors
    if decision.outcome == "permitted":
        assert facts["caregiver_accepted_placement"]
        assert set(facts["reasons"]) & set(GROUNDS)
    # a reason the worker records that is not one of the four (the caregiver asked, siblings, a
    # closer placement, the agency's needs) never permits a removal by itself
    if facts["caregiver_accepted_placement"] and not set(facts["reasons"]) & set(GROUNDS):
        assert decision.outcome == "not-permitted"


@settings(max_examples=400, deadline=None)
@given(removals)
def test_a_permitted_move_outside_an_emergency_follows_a_full_transition_plan(facts: dict[str, Any]) -> None:
    # "... the transition will be accomplished according to a transition plan created through
    # cooperation and information sharing among all parties. It should consider the child or teen's
    # developmental stage and psychological needs. It should also ensure the child or teen has all
    # of his or her belongings."
    decision = ENGINE.decide("qpi_commitment.child-removal", facts)
    if decision.outcome != "permitted":
        return
    assert facts["child_leaves_with_all_belongings"]
    if not facts["unforeseeable_emergency"]:
        plan = facts.get("transition_plan")
        assert plan is not None and all(plan.values())


@settings(max_examples=200, deadline=None)
@given(st.fixed_dictionaries({
    "relevant_information_before_placement": flags, "updates_as_soon_as_reasonably_possible": flags,
    "contact_information": st.fixed_dictionaries({"worker": flags, "supervisor": flags, "other_resources": flags}),
    "support_available_24_7": flags, "assessment_and_decisions_shared": flags,
    "caregiver_invited_to_team_meetings_and_court": flags,
    "topics_shared": st.lists(st.sampled_from(TOPICS), unique=True)}))
def test_information_is_complete_only_when_every_promise_is_kept(facts: dict[str, Any]) -> None:
    decision = ENGINE.decide("qpi_commitment.information-sharing", facts)
    assert decision.status != "error"
    flags_ = {k: v for k, v in facts.items() if k not in ("contact_information", "topics_shared")}
    topics_missing = len(TOPICS) - len(facts["topics_shared"])  # the eight topics, each checked
    kept = all(flags_.values()) and all(facts["contact_information"].values()) and topics_missing == 0
    assert (decision.outcome == "complete") == kept
    assert len(decision.fired) == sum(not v for v in flags_.values()) + sum(
        not v for v in facts["contact_information"].values()) + topics_missing


PRINCIPLES = ["respect", "parenting_to_unique_needs", "support_for_reunification", "professional_partner"]


@settings(max_examples=200, deadline=None)
@given(role=st.sampled_from(["system_partner", "foster_parent", "child_welfare_practitioner"]), signed=flags,
       acknowledged=st.lists(st.sampled_from(PRINCIPLES), unique=True))
def test_a_commitment_is_complete_only_when_signed_with_all_four_principles(
    role: str, signed: bool, acknowledged: list[str]
) -> None:
    decision = ENGINE.decide("qpi_commitment.signed-commitment",
                             {"role": role, "signed": signed, "principles_acknowledged": acknowledged})
    assert decision.status != "error"
    assert (decision.outcome == "complete") == (signed and set(acknowledged) == set(PRINCIPLES))
