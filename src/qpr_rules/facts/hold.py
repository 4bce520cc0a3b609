"""The hold on a resource home, and its state on a date: the one place that says whether a hold
is in force (San Diego CWS, Quality Parenting Review: Homes on hold, Reinstatement of privileges).

Every decision that needs a hold (placement, reinstatement, the actions of a QPR) reads this one
`Hold` type, and the derived `hold_state` of its facts comes from `hold_state_on` below, so two
decisions can never disagree on whether the same home is on hold on the same date.

A hold has no end date. The source gives none: "Any RF who is eligible to be reconsidered for
placements may submit a request for a review after the date determined in the initial QPR ...
The RF may be required to participate in another QPR meeting to discuss reinstatement of
placement privileges." The date set at the QPR is when a review may be asked, not when the hold
lapses; a hold stays in force until privileges are reinstated.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum

from pydantic import Field, model_validator

from qpr_rules.facts.base import FactModel
from qpr_rules.facts.common import Date


class HoldKind(StrEnum):
    """The three ways the QPR policy puts a home on hold."""

    PENDING_QPR = "pending_qpr"  # procedure step 2: immediate HOLD pending QPR (no QPR held yet)
    TIME_LIMITED = "time_limited"  # restricted from placements "for an undetermined amount of time"
    PERMANENT = "permanent"  # permanent hold: never eligible for reinstatement


class HoldState(StrEnum):
    """The state of a hold on a given date."""

    NONE = "none"  # no hold, or the date is before the hold was placed
    IN_FORCE = "in_force"  # placed on or before the date and not reinstated by it
    REINSTATED = "reinstated"  # placement privileges were reinstated on or before the date


class Hold(FactModel):
    kind: HoldKind = Field(
        description="The kind of hold: pending QPR, time-limited (restricted from placements) or permanent")
    placed_on: Date = Field(description="Date the hold was placed")
    review_after: Date | None = Field(
        default=None,
        description=(
            "The date determined in the initial QPR after which the RF may ask for a review; "
            "absent when no QPR has set one. It does not end the hold."
        ),
    )
    reinstated_on: Date | None = Field(
        default=None,
        description="Date placement privileges were reinstated; absent while the hold stands",
    )

    @model_validator(mode="after")
    def _coherent(self) -> Hold:
        if self.kind is HoldKind.PERMANENT and self.reinstated_on is not None:
            raise ValueError("a permanent hold is not eligible for reinstatement: "
                             "reinstated_on must be absent")
        if self.kind is HoldKind.PERMANENT and self.review_after is not None:
            raise ValueError("a permanent hold is not eligible for reinstatement: "
                             "it has no review date (review_after)")
        if self.kind is HoldKind.PENDING_QPR and self.review_after is not None:
            raise ValueError("a hold pending QPR has had no QPR to determine a review date: "
                             "review_after must be absent")
        if self.kind is HoldKind.PENDING_QPR and self.reinstated_on is not None:
            raise ValueError("a hold pending QPR has had no QPR, so nothing reinstated it: "
                             "reinstated_on must be absent (a QPR that ends without a hold ends it; "
                             "record the QPR's outcome instead)")
        if (self.review_after is not None and self.reinstated_on is not None
                and self.reinstated_on <= self.review_after):
            raise ValueError("reinstated_on must be after review_after: a review may be requested "
                             "only after the date determined in the initial QPR")
        if self.review_after is not None and self.review_after < self.placed_on:
            raise ValueError("review_after must not be before placed_on")
        if self.reinstated_on is not None and self.reinstated_on < self.placed_on:
            raise ValueError("reinstated_on must not be before placed_on")
        return self


def hold_state_on(hold: Hold | None, on: dt.date) -> HoldState:
    """The state of hold on the date on. The only definition of "a home on hold" in the code."""
    if hold is None or on < hold.placed_on:
        return HoldState.NONE
    if hold.reinstated_on is not None and on >= hold.reinstated_on:
        return HoldState.REINSTATED
    return HoldState.IN_FORCE


__all__ = ["Hold", "HoldKind", "HoldState", "hold_state_on"]
