"""Facts of the QPR process other than placement: concerns, referrals, actions, procedure,
team, reinstatement requests and records (San Diego CWS, Quality Parenting Review)."""

from __future__ import annotations

from enum import StrEnum

from pydantic import Field, model_validator

from qpr_rules.facts.base import FactModel, fact_type
from qpr_rules.facts.common import Date, Flag, Text
from qpr_rules.facts.placement import HoldKind

# ----------------------------------------------------------------- concern routing


class StateAction(StrEnum):
    NONE = "none"
    REVOCATION = "revocation"  # license sent to the state for revocation
    RESCIND = "rescind"  # request to rescind the RFA approval


class StateDecision(StrEnum):
    PENDING = "pending"
    GRANTED = "granted"
    DENIED = "denied"


class Referrer(FactModel):
    child_welfare_staff: Flag = Field(description="The referrer is Child Welfare Services staff")
    social_worker: Flag = Field(description="The referrer is a social worker (SW)")


class Allegation(FactModel):
    abuse_or_neglect: Flag = Field(description="An allegation of abuse or neglect by a resource parent")
    licensing_or_wd_only: Flag = Field(
        description="The allegation involves solely licensing or RFA Written Directive issues"
    )
    meets_is_irs_criteria: Flag = Field(description="It meets the IS/IRS assignment criteria")


class HomeStanding(FactModel):
    action_possible_against_approval: Flag = Field(
        description="Action can be taken against the home's approval or license"
    )
    quality_parenting_concerns_remain: Flag = Field(
        description="Staff believe quality parenting concerns remain that must be addressed first"
    )
    sent_to_state_for: StateAction = StateAction.NONE
    state_decision: StateDecision | None = None


class SwConcern(FactModel):
    serious_problem_or_questionable_practices: Flag = Field(
        description="In the SW's judgment the home should be limited or not used"
    )
    specific_documentation: Flag = Field(description="The SW provides specific documentation")


@fact_type("qpr_concern")
class Concern(FactModel):
    """A concern about a resource home: where does it go?"""

    referrer: Referrer
    allegation: Allegation
    home: HomeStanding
    sw_concern: SwConcern | None = None


# ----------------------------------------------------------------- referral screening


@fact_type("qpr_referral")
class Referral(FactModel):
    """A QPR referral moving through procedure steps 1 to 3."""

    consulted_pco: Flag = Field(description="Step 1: the SW contacted the PCO to consult")
    referral_warranted: Flag | None = Field(
        default=None, description="Step 1: the consultation found a referral warranted"
    )
    form_04_233_submitted: Flag = Field(default=False, description="The SW completed 04-233")
    form_emailed_to_pco: Flag = Field(default=False, description="04-233 was e-mailed to the PCO")
    appropriate_for_qpr: Flag | None = Field(
        default=None, description="Step 2: PCO and PCO PSS found the referral appropriate"
    )
    accepted: Flag = Field(default=False, description="Step 3: 04-233 is accepted")


# ----------------------------------------------------------------- allowable QPR actions


class ActionKind(StrEnum):
    RESTRICT_CHILDREN = "restrict_children"  # age range, number or gender
    REFER_FOR_INVESTIGATION = "refer_for_investigation"
    CORRECTIVE_MEASURES = "corrective_measures"
    RESTRICT_PERIOD = "restrict_period"  # restricted from placements for a period
    PERMANENT_HOLD = "permanent_hold"
    OTHER = "other"  # anything outside the five allowed actions


class ReferTo(StrEnum):
    FHL = "fhl"  # Foster Home Licensing
    RFA = "rfa"  # RFA Granted


class ProposedAction(FactModel):
    kind: ActionKind
    restricts_age_range: Flag = False
    restricts_number: Flag = False
    restricts_gender: Flag = False
    refer_to: ReferTo | None = None
    description: Text | None = Field(default=None, description="What the measure requires")
    addresses_referral_concerns: Flag = Field(
        default=True, description="The measure addresses the concerns leading to the referral"
    )
    starts_on: Date | None = None
    ends_on: Date | None = None

    # A period that ends before it starts is malformed; refused here so the decision fails
    # closed (item fields cannot be compared with each other inside `some`).
    @model_validator(mode="after")
    def _ends_after_start(self) -> ProposedAction:
        if self.starts_on is not None and self.ends_on is not None and self.ends_on < self.starts_on:
            raise ValueError("ends_on must not be before starts_on")
        return self


@fact_type("qpr_action_set")
class ActionSet(FactModel):
    """Actions proposed at a QPR."""

    actions: list[ProposedAction] = Field(default_factory=list)


# ----------------------------------------------------------------- procedure steps 4 and 5


class ReviewParticipant(StrEnum):
    RFA = "rfa"
    FHL = "fhl"
    COMPLAINTS = "complaints"
    FAMILY_SWS = "family_sws"  # SWs who have worked with the RF in the past or present


class InternalReview(FactModel):
    held: Flag
    participants: list[ReviewParticipant] = Field(default_factory=list)
    concerns_mapped: Flag = False
    recommendations_made: Flag = False


class RfCall(FactModel):
    made: Flag = Field(description="The PCO PSS called the RF with the recommendations")
    rf_agrees: Flag | None = Field(default=None, description="The RF agrees with the recommendations")
    invited_to_qpr_meeting: Flag = False


@fact_type("qpr_procedure")
class Procedure(FactModel):
    """Where a QPR stands in procedure steps 4 (internal review) and 5 (call to the RF)."""

    internal_review: InternalReview
    call: RfCall | None = None


class TeamMember(StrEnum):
    PCO_MANAGER = "pco_manager"
    PCO_SUPERVISOR = "pco_supervisor"
    PCO_SENIOR_PSW = "pco_senior_psw"
    PCO_PSW = "pco_psw"
    RESOURCE_FAMILY = "resource_family"
    MENTOR_OR_SUPPORT = "mentor_or_support"


@fact_type("qpr_team")
class Team(FactModel):
    """Who attends a QPR team meeting."""

    members: list[TeamMember] = Field(default_factory=list)


# ----------------------------------------------------------------- reinstatement


class RequestForm(StrEnum):
    LETTER = "letter"
    EMAIL = "email"
    VERBAL = "verbal"


class HoldRecord(FactModel):
    kind: HoldKind
    placed_on: Date
    review_date: Date | None = Field(
        default=None, description="The date determined in the initial QPR after which a review may be asked"
    )


class ReinstatementRequest(FactModel):
    date: Date
    form: RequestForm
    states_understanding_of_worries: Flag
    describes_mitigating_actions: Flag


@fact_type("qpr_reinstatement")
class Reinstatement(FactModel):
    """A resource family's request for reinstatement of placement privileges."""

    hold: HoldRecord
    request: ReinstatementRequest


# ----------------------------------------------------------------- records


class RecordKind(StrEnum):
    QPR_REFERRAL = "qpr_referral"
    OTHER = "other"


class RecordAction(StrEnum):
    UPLOAD_TO_CWS_CMS = "upload_to_cws_cms"
    SHARE_OUTSIDE_CWS = "share_outside_cws"
    FILE_WITH_PCO = "file_with_pco"


@fact_type("qpr_record")
class RecordRequest(FactModel):
    """What may be done with a record."""

    record: RecordKind
    action: RecordAction
