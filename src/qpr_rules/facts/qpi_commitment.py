"""Facts for the Louisiana DCFS Quality Parenting Commitment: removals, information shared
with caregivers, and the signed commitment."""

from __future__ import annotations

from enum import StrEnum

from pydantic import Field

from qpr_rules.facts.base import FactModel, fact_type
from qpr_rules.facts.common import Date, Flag, Text


class RemovalReason(StrEnum):
    """Why the move is proposed, as the worker records it. Which reasons permit a removal is the
    policy's answer (policies/qpi_commitment.yaml), not a fact."""

    CAREGIVER_CLEARLY_UNABLE = "caregiver_clearly_unable"  # to meet the child's needs
    REUNIFIED_WITH_BIRTH_FAMILY = "reunified_with_birth_family"
    LEGALLY_PERMANENT_HOME = "legally_permanent_home"  # under the case plan or a court order
    DEMONSTRABLY_BEST_INTEREST = "demonstrably_best_interest"  # shown, not only asserted
    CAREGIVER_REQUEST = "caregiver_request"  # the caregiver asked for the child to be moved
    PLACEMENT_WITH_SIBLINGS = "placement_with_siblings"
    PLACEMENT_CLOSER_TO_FAMILY = "placement_closer_to_family"
    AGENCY_CAPACITY = "agency_capacity"  # the agency needs the bed, the worker, the budget


class BasisDocument(StrEnum):
    """The kind of document in the case record a reason for the move rests on."""

    ASSESSMENT = "assessment"  # a written assessment (of the caregiver, of the child's interest)
    CASE_PLAN = "case_plan"
    COURT_ORDER = "court_order"
    TEAM_DECISION = "team_decision"  # a recorded Family Team Meeting or staffing decision


class Reason(FactModel):
    """One reason for the move, with its basis as the case record shows it: who determined it,
    on which date, and the document it rests on ("clearly", "demonstrably", "in accordance with
    the case plan or court order" are evidence standards, issue 19.1). Each part of the basis
    is absent when the record does not say it: never assumed."""

    reason: RemovalReason = Field(description="Why the move is proposed, as the worker records it")
    determined_by: Text | None = Field(
        default=None, description="Who determined it: a name and role, or the court (absent: not said)")
    determined_on: Date | None = Field(
        default=None, description="The date it was determined (absent: not said)")
    document: BasisDocument | None = Field(
        default=None, description="The kind of document it rests on (absent: not said)")
    document_reference: Text | None = Field(
        default=None, description="The document's reference in the case record (absent: not said)")


class InformationTopic(StrEnum):
    """The topics the Staff column lists for sharing with the caregiver and the birth parent."""

    PROGRESS = "progress"
    NEEDS = "needs"
    HEALTH_AND_MENTAL_HEALTH_SERVICES = "health_and_mental_health_services"
    VISITATION = "visitation"
    RECREATIONAL_AND_SOCIAL_ACTIVITIES = "recreational_and_social_activities"
    ACADEMIC_PERFORMANCE = "academic_performance"
    BEHAVIORAL_FUNCTIONING = "behavioral_functioning"
    SCHOOL_PLACEMENT_ISSUES = "school_placement_issues"


class TransitionPlan(FactModel):
    made_with_all_parties: Flag = Field(
        description="Created through cooperation and information sharing among all parties")
    considers_developmental_stage: Flag = Field(
        description="The plan considers the child's developmental stage")
    considers_psychological_needs: Flag = Field(
        description="The plan considers the child's psychological needs")


@fact_type("child_removal")
class ChildRemoval(FactModel):
    """A proposed removal of a child or teen from a caregiver's home."""

    caregiver_accepted_placement: Flag = Field(
        description="The caregiver accepted responsibility for the child")
    reasons: list[Reason] = Field(
        min_length=1, description="Why the move is proposed, each reason with its basis as recorded")
    unforeseeable_emergency: Flag = Field(description="The move is forced by an unforeseeable emergency")
    transition_plan: TransitionPlan | None = Field(
        default=None, description="The plan for the child's transition (absent: none made)")
    child_leaves_with_all_belongings: Flag = Field(description="The child leaves with all their belongings")


class ContactGiven(FactModel):
    worker: Flag = Field(description="The caregiver was given the worker's contact information")
    supervisor: Flag = Field(description="The caregiver was given the supervisor's contact information")
    other_resources: Flag = Field(
        description="The caregiver was given contact information for other resources")


class ConcernRaiser(StrEnum):
    """The system partners who may raise a concern (the commitment's parties)."""

    CAREGIVER = "caregiver"
    BIRTH_PARENT = "birth_parent"
    CHILD = "child"
    STAFF = "staff"
    OTHER_PARTNER = "other_partner"


class ConcernRaised(FactModel):
    """A concern a system partner raised ("to be heard and to receive a response to their
    concerns"). Nothing about the partner's motive is asked: see the clause system.heard."""

    raised_by: ConcernRaiser = Field(description="The system partner who raised the concern")
    responded: Flag = Field(description="The partner received a response to the concern")


@fact_type("caregiver_information")
class CaregiverInformation(FactModel):
    """What staff shared with a caregiver before and after a placement."""

    relevant_information_before_placement: Flag = Field(
        description="All relevant information available about the child and family, given prior to placement")
    updates_as_soon_as_reasonably_possible: Flag = Field(
        description="Updates were given to the caregiver as soon as reasonably possible")
    contact_information: ContactGiven = Field(description="The contact information given to the caregiver")
    support_available_24_7: Flag = Field(
        description="Support is available to the caregiver 24 hours a day, 7 days a week")
    assessment_and_decisions_shared: Flag = Field(
        description="The overall assessment and decision-making process shared with the caregiver")
    caregiver_invited_to_team_meetings_and_court: Flag = Field(
        description="The caregiver was invited to team meetings and court")
    topics_shared: list[InformationTopic] = Field(
        description="Topics on which information about the child was shared with the caregiver (empty: none)")
    # "Caregivers and staff share information with each other and the birth parent": the other
    # two directions of the same sentence (issue 19.2). Absent means not said, never shared.
    topics_shared_with_birth_parent: list[InformationTopic] | None = Field(
        default=None,
        description=("Topics on which caregivers and staff shared information with the birth parent "
                     "(absent: not said)"))
    caregiver_shared_with_staff: Flag | None = Field(
        default=None,
        description="The caregiver shared information about the child with staff (absent: not said)")
    concerns_raised: list[ConcernRaised] | None = Field(
        default=None, description="Concerns system partners raised (empty: none; absent: not said)")
    responded_timely: Flag | None = Field(
        default=None,
        description=("Staff responded timely to phone calls, emails, requests for services and other "
                     "resources (absent: not said)"))
    topics_not_applicable: list[InformationTopic] = Field(
        default_factory=list,
        description=("Topics that do not apply to this child (school for an infant, visitation where "
                     "there is none); empty: every topic applies"))


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

    role: PartnerRole = Field(description="The role of the partner who signs")
    signed: Flag = Field(
        description="Recorded, not read: the commitment asks for acknowledgement, not a signature")
    principles_acknowledged: list[Principle] = Field(
        default_factory=list, description="The principles the partner acknowledged (empty: none)")


@fact_type("partnership_record")
class PartnershipRecord(FactModel):
    """What a case record shows of the caregiver's day-to-day duties the commitment names
    ("Schedule and take child to medical appointments; Prepare child and transport to family
    visit") and of a partner's part in the team (principle 4: "attendance at meetings, court,
    case planning discussions and providing input"). Every field absent means the record does
    not say, never that the duty was done (issue 19.2)."""

    medical_appointment_due: Flag | None = Field(
        default=None, description="A medical appointment for the child was due (absent: not said)")
    medical_appointment_scheduled: Flag | None = Field(
        default=None, description="The caregiver scheduled it (absent: not said)")
    child_taken_to_appointment: Flag | None = Field(
        default=None, description="The caregiver took the child to it (absent: not said)")
    family_visit_due: Flag | None = Field(
        default=None, description="A family visit was due (absent: not said)")
    child_prepared_for_visit: Flag | None = Field(
        default=None, description="The caregiver prepared the child for the visit (absent: not said)")
    child_transported_to_visit: Flag | None = Field(
        default=None, description="The caregiver transported the child to the visit (absent: not said)")
    attended_meetings: Flag | None = Field(
        default=None, description="The partner attended the team's meetings (absent: not said)")
    attended_court: Flag | None = Field(
        default=None, description="The partner attended court (absent: not said)")
    attended_case_planning: Flag | None = Field(
        default=None, description="The partner attended case planning discussions (absent: not said)")
    provided_input: Flag | None = Field(
        default=None,
        description="The partner provided input and information unique to their role (absent: not said)")
