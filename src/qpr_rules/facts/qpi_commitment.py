"""Facts for the Louisiana DCFS Quality Parenting Commitment: removals, information shared
with caregivers, and the signed commitment."""

from __future__ import annotations

from enum import StrEnum

from pydantic import Field

from qpr_rules.facts.base import FactModel, fact_type
from qpr_rules.facts.common import Flag


class RemovalGrounds(FactModel):
    caregiver_clearly_unable: Flag = Field(
        description="The caregiver is clearly unable to meet the child's needs")
    reunified_with_birth_family: Flag = Field(description="The child and their birth family are reunited")
    legally_permanent_home: Flag = Field(
        description="Placement in a legally permanent home in accordance with the case plan or court order")
    demonstrably_best_interest: Flag = Field(
        description="Removal is demonstrably in the child's best interest")


class TransitionPlan(FactModel):
    made_with_all_parties: Flag = Field(
        description="Created through cooperation and information sharing among all parties")
    considers_developmental_stage: Flag
    considers_psychological_needs: Flag


@fact_type("child_removal")
class ChildRemoval(FactModel):
    """A proposed removal of a child or teen from a caregiver's home."""

    caregiver_accepted_placement: Flag = Field(
        description="The caregiver accepted responsibility for the child")
    grounds: RemovalGrounds
    unforeseeable_emergency: Flag = False
    transition_plan: TransitionPlan | None = None
    child_leaves_with_all_belongings: Flag


class ContactGiven(FactModel):
    worker: Flag
    supervisor: Flag
    other_resources: Flag


@fact_type("caregiver_information")
class CaregiverInformation(FactModel):
    """What staff shared with a caregiver before and after a placement."""

    relevant_information_before_placement: Flag = Field(
        description="All relevant information available about the child and family, given prior to placement")
    updates_as_soon_as_reasonably_possible: Flag
    contact_information: ContactGiven
    support_available_24_7: Flag
    assessment_and_decisions_shared: Flag = Field(
        description="The overall assessment and decision-making process shared with the caregiver")
    caregiver_invited_to_team_meetings_and_court: Flag


class Principle(StrEnum):
    RESPECT = "respect"  # 1. respect for the child and family and all working on their behalf
    PARENTING_TO_UNIQUE_NEEDS = "parenting_to_unique_needs"  # 2.
    SUPPORT_FOR_REUNIFICATION = "support_for_reunification"  # 3.
    PROFESSIONAL_PARTNER = "professional_partner"  # 4.


class PartnerRole(StrEnum):
    SYSTEM_PARTNER = "system_partner"
    FOSTER_PARENT = "foster_parent"
    CHILD_WELFARE_PRACTITIONER = "child_welfare_practitioner"


@fact_type("signed_commitment")
class SignedCommitment(FactModel):
    """A partner's signed Quality Parenting Commitment."""

    role: PartnerRole
    signed: Flag
    principles_acknowledged: list[Principle] = Field(default_factory=list)
