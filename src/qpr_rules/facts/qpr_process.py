"""Facts of the QPR process other than placement: concerns, referrals, actions, procedure,
team, reinstatement requests and records (San Diego CWS, Quality Parenting Review)."""

from __future__ import annotations

from enum import StrEnum

from pydantic import Field, computed_field, model_validator

from qpr_rules.facts.base import DerivedFactModel, FactModel, fact_type
from qpr_rules.facts.common import Age, Count, Date, Flag, Text
from qpr_rules.facts.hold import Hold, HoldKind, HoldState, hold_state_on
from qpr_rules.facts.placement import Gender

# ----------------------------------------------------------------- concern routing


class StateAction(StrEnum):
    NONE = "none"
    REVOCATION = "revocation"  # license sent to the state for revocation
    RESCIND = "rescind"  # request to rescind the RFA approval


class StateDecision(StrEnum):
    PENDING = "pending"
    GRANTED = "granted"
    DENIED = "denied"


class RaisedBy(StrEnum):
    """Who brought the concern forward. Whether they may make a QPR referral is the policy's
    answer (policies/qpr.yaml), not a fact."""

    SOCIAL_WORKER = "social_worker"  # a CWS social worker
    CWS_STAFF = "cws_staff"  # other Child Welfare Services staff
    RESOURCE_FAMILY = "resource_family"
    BIRTH_PARENT = "birth_parent"
    YOUTH = "youth"
    TEACHER = "teacher"
    HEALTH_PROVIDER = "health_provider"
    COURT = "court"
    LAW_ENFORCEMENT = "law_enforcement"
    COMMUNITY_PARTNER = "community_partner"
    MEMBER_OF_PUBLIC = "member_of_public"


class AllegationTopic(StrEnum):
    """What the allegation is about, as reported."""

    ABUSE = "abuse"
    NEGLECT = "neglect"
    PERSONAL_RIGHTS = "personal_rights"  # violating a child's personal rights
    LICENSING = "licensing"  # a licensing regulation
    RFA_WRITTEN_DIRECTIVE = "rfa_written_directive"  # an RFA Written Directive (WD)
    QUALITY_OF_CARE = "quality_of_care"  # quality parenting


class Allegation(FactModel):
    topics: list[AllegationTopic] = Field(
        description="What the allegation is about (empty when the concern carries no allegation)")
    meets_is_irs_assignment_criteria: Flag = Field(
        description="It meets the IS/IRS assignment criteria (set outside the QPR policy, so a fact)")


class HomeStanding(FactModel):
    action_possible_against_approval: Flag = Field(
        description="Action can be taken against the home's approval or license"
    )
    quality_parenting_concerns_remain: Flag = Field(
        description="Staff believe quality parenting concerns remain that must be addressed first"
    )
    sent_to_state_for: StateAction = Field(description="Whether the home was sent to the state, and for what")
    state_decision: StateDecision | None = Field(
        default=None, description="The state's decision; absent when the home was not sent")

    @model_validator(mode="after")
    def _coherent(self) -> HomeStanding:
        if self.sent_to_state_for is StateAction.NONE and self.state_decision is not None:
            raise ValueError("state_decision is given but the home was not sent to the state "
                             "(sent_to_state_for: none)")
        if self.sent_to_state_for is not StateAction.NONE and self.state_decision is None:
            raise ValueError("the home was sent to the state: give state_decision "
                             "(pending, granted or denied)")
        return self


class SwConcern(FactModel):
    serious_problem_or_questionable_practices: Flag = Field(
        description="In the SW's judgment the home should be limited or not used"
    )
    specific_documentation: Flag = Field(description="The SW provides specific documentation")


@fact_type("qpr_concern")
class Concern(FactModel):
    """A concern about a resource home: where does it go?"""

    raised_by: RaisedBy = Field(description="Who brought the concern forward")
    allegation: Allegation = Field(description="The allegation the concern carries")
    home: HomeStanding = Field(description="The standing of the resource home the concern is about")
    sw_concern: SwConcern | None = Field(
        default=None, description="The referring SW's judgment; only when a social worker raised the concern")

    @model_validator(mode="after")
    def _sw_judgment_is_a_sws(self) -> Concern:
        if self.sw_concern is not None and self.raised_by is not RaisedBy.SOCIAL_WORKER:
            raise ValueError("sw_concern is a social worker's judgment: raised_by must be social_worker")
        return self


# ----------------------------------------------------------------- referral screening


@fact_type("qpr_referral")
class Referral(FactModel):
    """A QPR referral moving through procedure steps 1 to 3. A later step's fact may be given
    only once the earlier steps are reached; contradictory facts are refused, not answered."""

    consulted_pco: Flag = Field(description="Step 1: the SW contacted the PCO to consult")
    referral_warranted: Flag | None = Field(
        default=None,
        description="Step 1: the consultation found a referral warranted (absent: not yet known)"
    )
    form_04_233_submitted: Flag = Field(default=False, description="The SW completed 04-233")
    form_emailed_to_pco: Flag = Field(default=False, description="04-233 was e-mailed to the PCO")
    appropriate_for_qpr: Flag | None = Field(
        default=None, description="Step 2: PCO and PCO PSS found the referral appropriate (absent: not yet)"
    )
    accepted: Flag = Field(default=False, description="Step 3: 04-233 is accepted")
    after_state_denial: Flag | None = Field(
        default=None, description="The home was sent to the state for revocation or to rescind its "
        "approval, and that was denied (absent: not known)")

    @model_validator(mode="after")
    def _steps_in_order(self) -> Referral:
        problems = []
        if self.referral_warranted is not None and not self.consulted_pco:
            problems.append("referral_warranted is known only after the SW consulted the PCO "
                            "(consulted_pco: true)")
        if self.form_04_233_submitted and self.referral_warranted is not True:
            problems.append("04-233 is completed only when the consultation found a referral warranted")
        if self.form_emailed_to_pco and not self.form_04_233_submitted:
            problems.append("form_emailed_to_pco needs form_04_233_submitted")
        received = self.form_04_233_submitted and self.form_emailed_to_pco
        if self.appropriate_for_qpr is not None and not received:
            problems.append("appropriate_for_qpr is decided only upon receipt of 04-233 "
                            "(submitted and e-mailed)")
        if self.accepted and self.appropriate_for_qpr is not True:
            problems.append("a referral not found appropriate for QPR cannot be accepted (accepted needs "
                            "appropriate_for_qpr: true)")
        if problems:
            raise ValueError("contradictory referral facts: " + "; ".join(problems))
        return self


# ----------------------------------------------------------------- allowable QPR actions


class ActionKind(StrEnum):
    """What a caseworker proposes at a QPR. Which of these the QPR may take is the policy's
    answer (policies/qpr.yaml lists them), not a fact."""

    RESTRICT_CHILDREN = "restrict_children"  # age range, number or gender of children placed
    REFER_FOR_INVESTIGATION = "refer_for_investigation"  # to Foster Home Licensing or RFA Granted
    CORRECTIVE_MEASURES = "corrective_measures"
    RESTRICT_PERIOD = "restrict_period"  # restrict from taking placements for a time
    PERMANENT_HOLD = "permanent_hold"
    REVOKE_LICENSE = "revoke_license"
    RESCIND_APPROVAL = "rescind_approval"
    CLOSE_HOME = "close_home"
    REMOVE_CHILDREN_PLACED = "remove_children_placed"


class ReferTo(StrEnum):
    FHL = "fhl"  # Foster Home Licensing
    RFA = "rfa"  # RFA Granted


_HOLD_OF_ACTION = {ActionKind.RESTRICT_PERIOD: HoldKind.TIME_LIMITED,
                   ActionKind.PERMANENT_HOLD: HoldKind.PERMANENT}


class ProposedAction(FactModel):
    kind: ActionKind = Field(description="The action proposed")
    # restrict_children: the bounds of the restriction, as proposed
    min_child_age: Age | None = Field(default=None, description="restrict_children: youngest age allowed")
    max_child_age: Age | None = Field(default=None, description="restrict_children: oldest age allowed")
    max_children: Count | None = Field(default=None, description="restrict_children: most children at once")
    genders: list[Gender] | None = Field(default=None, description="restrict_children: genders allowed")
    # refer_for_investigation
    refer_to: ReferTo | None = Field(default=None, description="refer_for_investigation: to whom")
    # corrective_measures
    description: Text | None = Field(default=None, description="What the measure requires")
    addresses_referral_concerns: Flag | None = Field(
        default=None,
        description="corrective_measures: the measure addresses the concerns leading to the referral "
                    "(absent: not said, answered incomplete)")
    # restrict_period and permanent_hold: the hold the action places
    hold: Hold | None = Field(default=None,
                              description="restrict_period / permanent_hold: the hold it places")

    @model_validator(mode="after")
    def _coherent(self) -> ProposedAction:
        bounds = (self.min_child_age, self.max_child_age, self.max_children, self.genders)
        if self.kind is not ActionKind.RESTRICT_CHILDREN and any(b is not None for b in bounds):
            raise ValueError("age, number and gender bounds belong to a restrict_children action")
        low, high = self.min_child_age, self.max_child_age
        if low is not None and high is not None and low > high:
            raise ValueError("min_child_age must not be above max_child_age")
        if self.genders is not None and not self.genders:
            raise ValueError("genders must name at least one gender")
        if self.refer_to is not None and self.kind is not ActionKind.REFER_FOR_INVESTIGATION:
            raise ValueError("refer_to belongs to a refer_for_investigation action")
        if self.hold is not None:
            expected = _HOLD_OF_ACTION.get(self.kind)
            if expected is None:
                raise ValueError("hold belongs to a restrict_period or permanent_hold action")
            if self.hold.kind is not expected:
                raise ValueError(f"a {self.kind.value} action places a {expected.value} hold, "
                                 f"not {self.hold.kind.value}")
            if self.hold.reinstated_on is not None:
                raise ValueError("a proposed hold cannot already be reinstated")
        return self


@fact_type("qpr_action_set")
class ActionSet(FactModel):
    """Actions proposed at a QPR."""

    actions: list[ProposedAction] = Field(description="Every action proposed (empty: none)")


# ----------------------------------------------------------------- a hold placed on a home


class ChildInHome(FactModel):
    id: Text | None = Field(default=None, description="The child's case identifier (absent: not given)")
    region: Text = Field(description="The child's region or program")


@fact_type("qpr_hold_placed")
class HoldPlaced(DerivedFactModel):
    """A hold has been placed on a home: who must be told? ("The PCO Manager will notify the
    Regional Manager if a child from their region/program has been placed in a home placed on
    hold.")"""

    home_id: Text = Field(description="The identifier of the home placed on hold")
    hold: Hold = Field(description="The hold placed on the home")
    children_in_home: list[ChildInHome] = Field(description="Every child living in the home (empty: none)")

    @computed_field  # type: ignore[prop-decorator]
    @property
    def regions_to_notify(self) -> list[str]:
        """The regions/programs of the children in the home, each once (derived, never given)."""
        return sorted({c.region for c in self.children_in_home})


# ----------------------------------------------------------------- procedure steps 4 and 5


class ReviewParticipant(StrEnum):
    RFA = "rfa"
    FHL = "fhl"
    COMPLAINTS = "complaints"
    FAMILY_SWS = "family_sws"  # SWs who have worked with the RF in the past or present


class InternalReview(FactModel):
    held: Flag = Field(description="Step 4: the internal review was held")
    participants: list[ReviewParticipant] = Field(
        default_factory=list, description="Who took part in the internal review (empty: nobody yet)")
    concerns_mapped: Flag = Field(
        default=False, description="The concerns were mapped at the internal review")
    recommendations_made: Flag = Field(default=False, description="The internal review made recommendations")


class RfCall(FactModel):
    made: Flag = Field(description="The PCO PSS called the RF with the recommendations")
    rf_agrees: Flag | None = Field(default=None, description="The RF agrees with the recommendations")
    invited_to_qpr_meeting: Flag = Field(default=False, description="The RF was invited to a QPR meeting")


@fact_type("qpr_procedure")
class Procedure(FactModel):
    """Where a QPR stands in procedure steps 4 (internal review) and 5 (call to the RF)."""

    internal_review: InternalReview = Field(description="Step 4: the internal review")
    call: RfCall | None = Field(
        default=None, description="Step 5: the PCO PSS's call to the RF (absent: not made yet)")


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

    members: list[TeamMember] = Field(default_factory=list,
                                      description="Who attends the QPR team meeting (empty: nobody yet)")


# ----------------------------------------------------------------- reinstatement


class RequestForm(StrEnum):
    LETTER = "letter"
    EMAIL = "email"
    VERBAL = "verbal"


class ReinstatementRequest(FactModel):
    date: Date = Field(description="The date of the request")
    form: RequestForm = Field(description="How the request was made: a letter, an e-mail or verbally")
    states_understanding_of_worries: Flag = Field(
        description="The request states the RF's understanding of the worries")
    describes_mitigating_actions: Flag = Field(
        description="The request describes the actions taken to mitigate the worries")


@fact_type("qpr_reinstatement")
class Reinstatement(DerivedFactModel):
    """A resource family's request for reinstatement of placement privileges."""

    hold: Hold = Field(description="The hold on the home")
    request: ReinstatementRequest = Field(description="The request for reinstatement of placement privileges")

    @computed_field  # type: ignore[prop-decorator]
    @property
    def hold_state(self) -> HoldState:
        """The state of the hold on the date of the request (derived, never given)."""
        return hold_state_on(self.hold, self.request.date)


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

    record: RecordKind = Field(description="The kind of record")
    action: RecordAction = Field(description="What is to be done with the record")
