"""The events of a home's Quality Parenting Review, and what its case remembers (San Diego CWS,
QPR procedure steps 1-5, "QPR actions and scope", "Homes on hold", "Reinstatement of
privileges"). Each event is what someone did or decided on a date; whether it was allowed at
that point is the procedure's answer (policies/qpr.yaml, `procedures:`), not a field here.
"""

from __future__ import annotations

from pydantic import Field, computed_field, model_validator

from qpr_rules.facts.base import DerivedFactModel, FactModel
from qpr_rules.facts.common import Age, Count, Date, Flag, Text
from qpr_rules.facts.events import CaseMemory, Event, case_model, event_type
from qpr_rules.facts.hold import HoldKind
from qpr_rules.facts.placement import Gender, Restrictions
from qpr_rules.facts.qpr_process import ActionKind, RaisedBy


@event_type("qpr.concern-raised")
class ConcernRaised(Event):
    """Someone has concerns in regards to a resource home (step 1's "When")."""

    raised_by: RaisedBy
    after_state_denial: Flag = Field(description="The home was sent to the state for revocation or "
                                                 "to rescind its approval, and that was denied")


@event_type("qpr.consultation-held")
class ConsultationHeld(Event):
    """Step 1: the SW consulted the PCO on whether the concern warrants a referral to QPR."""

    warranted: Flag = Field(description="The concern warrants a referral to QPR")


@event_type("qpr.recommendations-followed")
class RecommendationsFollowed(Event):
    """The PCO's recommendations were followed (contacting the Complaints Unit, the RFA or LFH SW,
    or the RF), or given to the SW at step 2."""


@event_type("qpr.form-submitted")
class FormSubmitted(Event):
    """Step 1: the 04-233 was completed and e-mailed to the PCO."""


@event_type("qpr.referral-screened")
class ReferralScreened(Event):
    """Step 2: the PCO, with the PCO PSS, reviewed the 04-233."""

    appropriate: Flag = Field(description="The referral is appropriate for QPR (the 04-233 is accepted)")


@event_type("qpr.hold-assessed")
class HoldAssessed(Event):
    """Step 2: the PCO PSS assessed an immediate HOLD pending QPR."""

    hold: Flag = Field(description="An immediate hold pending QPR was placed")


@event_type("qpr.information-gathered")
class InformationGathered(Event):
    """Step 3: RFA and/or FHL history, CWS history and placement history gathered."""

    units_knowing_home: list[Text] = Field(
        min_length=1, description="The unit or units (RFA, FHL) whose history of the home was gathered")


@event_type("qpr.internal-review-completed")
class InternalReviewCompleted(Event):
    """Step 4: the internal review met, mapped the concerns and made recommendations."""

    recommended: list[ActionKind] = Field(description="The actions recommended regarding the RF")


@event_type("qpr.rf-called")
class RfCalled(Event):
    """Step 5: the PCO PSS called the RF with the recommendations."""

    rf_agrees: Flag = Field(description="The RF agrees with the recommendations")


@event_type("qpr.qpr-concluded")
class QprConcluded(Event):
    """The QPR's outcome: the actions taken (after the RF agreed, or at the QPR meeting)."""

    actions: list[ActionKind] = Field(description="The actions taken at the QPR (none: no action)")
    review_after: Date | None = Field(
        default=None, description="For a time-limited hold, the date determined in the QPR after "
                                  "which the RF may ask for a review")
    at_meeting: Flag = Field(description="Concluded at a QPR team meeting (not by the RF's agreement)")
    restrictions: Restrictions | None = Field(
        default=None, description="With restrict_children: the age range, number or genders of children the "
                                  "home may take, as the QPR set them (required then; absent otherwise)")

    @model_validator(mode="after")
    def _restrictions_with_restrict_children(self) -> QprConcluded:
        # "Restrict age range, number, or gender of children placed": the action is its bounds; a
        # restriction without them would restrict nothing, and bounds without the action are stray
        restricting = ActionKind.RESTRICT_CHILDREN in self.actions
        if restricting and (self.restrictions is None or self.restrictions == Restrictions()):
            raise ValueError("restrictions: restrict_children needs the bounds the QPR set (min_child_age, "
                             "max_child_age, max_children or genders)")
        if not restricting and self.restrictions is not None:
            raise ValueError("restrictions: given only with the action restrict_children")
        return self


@event_type("qpr.review-requested")
class ReviewRequested(Event):
    """Reinstatement: the RF asked for a review."""

    in_writing: Flag = Field(description="Submitted in writing (letter or e-mail)")
    addresses_worries: Flag = Field(description="States the RF's understanding of the agency's worries "
                                                "and the actions taken to mitigate them")


@event_type("qpr.review-decided")
class ReviewDecided(Event):
    """Reinstatement: the request was reviewed (perhaps at another QPR meeting)."""

    meeting_required: Flag = Field(description="The RF is required to attend another QPR meeting first")
    reinstated: Flag = Field(description="Placement privileges are reinstated")


class ChildPlaced(FactModel):
    age: Age = Field(description="The age in whole years of this child when placed")
    gender: Gender = Field(description="The gender of this child")


@event_type("qpr.placement-made")
class PlacementMade(DerivedFactModel, Event):
    """Children were placed in the home: each child placed at once (a child and the siblings
    placed together), with age and gender, as a caseworker knows them, so that a restriction set
    at a QPR ("Restrict age range, number, or gender of children placed") is checked against
    every one of them, and the number counts them all."""

    children: list[ChildPlaced] = Field(min_length=1, max_length=20, description=(
        "Each child placed (the child, and every sibling placed together), with age and gender"))
    children_in_home: Count = Field(description="How many children were living in the home before "
                                                "this placement")
    child_region: Text | None = Field(description="The region/program of the child placed (null when "
                                                  "not known)")

    # Derived, never given: a guard cannot compare a list's items with another fact (the
    # restriction's bounds), so the procedure's guards read these, as the placement decision
    # reads placement.youngest_sibling_age and children_after_placement
    @computed_field  # type: ignore[prop-decorator]
    @property
    def count(self) -> int:
        """How many children were placed at once."""
        return len(self.children)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def youngest_age(self) -> int:
        """Age of the youngest child placed."""
        return min(c.age for c in self.children)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def oldest_age(self) -> int:
        """Age of the oldest child placed."""
        return max(c.age for c in self.children)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def genders(self) -> list[Gender]:
        """Genders of the children placed, each once."""
        return sorted({c.gender for c in self.children})

    @computed_field  # type: ignore[prop-decorator]
    @property
    def children_after(self) -> int:
        """The children in the home once they were placed: those living there, and every child placed."""
        return self.children_in_home + len(self.children)


@event_type("qpr.regional-manager-notified")
class RegionalManagerNotified(Event):
    """The PCO Manager notified the Regional Manager of a placement into a home on hold."""

    region: Text


@case_model("qpr.home-case")
class HomeCase(CaseMemory):
    """What the QPR procedure remembers about a home across its events."""

    after_state_denial: Flag = Field(default=False, description="The current concern followed a "
                                                                "state denial of revocation/rescission")
    hold_kind: HoldKind | None = Field(default=None, description="The kind of the latest hold")
    hold_placed_on: Date | None = None
    review_after: Date | None = Field(default=None, description="The date determined in the QPR")
    reinstated_on: Date | None = None
    restrictions: Restrictions | None = Field(
        default=None,
        description="The restriction on the children placed set at the latest QPR (restrict_children)")


__all__ = ["ChildPlaced", "ConcernRaised", "ConsultationHeld", "FormSubmitted", "HoldAssessed", "HomeCase",
           "InformationGathered", "InternalReviewCompleted", "PlacementMade", "QprConcluded",
           "RecommendationsFollowed", "ReferralScreened", "RegionalManagerNotified", "ReviewDecided",
           "ReviewRequested", "RfCalled"]
