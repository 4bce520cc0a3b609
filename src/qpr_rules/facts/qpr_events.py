"""The events of a home's Quality Parenting Review, and what its case remembers (San Diego CWS,
QPR procedure steps 1-5, "QPR actions and scope", "Homes on hold", "Reinstatement of
privileges"). Each event is what someone did or decided on a date; whether it was allowed at
that point is the procedure's answer (policies/qpr.yaml, `procedures:`), not a field here.
"""

from __future__ import annotations

from pydantic import Field

from qpr_rules.facts.common import Count, Date, Flag, Text
from qpr_rules.facts.events import CaseMemory, Event, case_model, event_type
from qpr_rules.facts.hold import HoldKind
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


@event_type("qpr.placement-made")
class PlacementMade(Event):
    """A child was placed in the home."""

    children: Count = Field(ge=1, description="How many children were placed at once")
    child_region: Text | None = Field(description="The region/program of the child placed (null when "
                                                  "not known)")


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


__all__ = ["ConcernRaised", "ConsultationHeld", "FormSubmitted", "HoldAssessed", "HomeCase",
           "InformationGathered", "InternalReviewCompleted", "PlacementMade", "QprConcluded",
           "RecommendationsFollowed", "ReferralScreened", "RegionalManagerNotified", "ReviewDecided",
           "ReviewRequested", "RfCalled"]
