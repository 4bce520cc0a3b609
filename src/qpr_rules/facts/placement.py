"""Facts of a placement question: a child, a resource home and the placement asked for."""

from __future__ import annotations

from enum import StrEnum

from pydantic import Field, computed_field, model_validator

from qpr_rules.facts.base import DerivedFactModel, FactModel, fact_type
from qpr_rules.facts.common import Age, Count, Date, Flag, Text


class Gender(StrEnum):
    FEMALE = "female"
    MALE = "male"
    NONBINARY = "nonbinary"


class HoldKind(StrEnum):
    """The three ways the QPR policy puts a home on hold."""

    PENDING_QPR = "pending_qpr"  # step 2: immediate HOLD pending QPR
    TIME_LIMITED = "time_limited"  # restricted from placements for a period (e.g. one year)
    PERMANENT = "permanent"  # permanent hold


class ApprovalKind(StrEnum):
    RFA = "rfa"  # Resource Family Approval
    LFH = "lfh"  # licensed foster home (Foster Home Licensing)


class ApprovalStatus(StrEnum):
    ACTIVE = "active"
    INACTIVE = "inactive"
    REVOKED = "revoked"
    RESCINDED = "rescinded"


class PlacementStatus(StrEnum):
    PROPOSED = "proposed"  # asked before the placement is made
    MADE = "made"  # reported after the placement was made


class Hold(FactModel):
    kind: HoldKind
    placed_on: Date = Field(description="Date the hold was placed")
    ends_on: Date | None = Field(
        default=None,
        description="Last day of a time-limited hold; absent when no end date was set",
    )

    @model_validator(mode="after")
    def _ends_after_start(self) -> Hold:
        if self.ends_on is not None and self.ends_on < self.placed_on:
            raise ValueError("ends_on must not be before placed_on")
        return self


class Restrictions(FactModel):
    """Restrictions imposed at a QPR on the children a home may take."""

    min_child_age: Age | None = None
    max_child_age: Age | None = None
    max_children: Count | None = Field(default=None, description="Most children placed at once")
    genders: list[Gender] | None = Field(
        default=None, description="Genders the home may take; absent means no gender restriction"
    )


class PlacedChild(FactModel):
    age: Age
    gender: Gender


class Child(FactModel):
    id: Text | None = None
    age: Age
    gender: Gender
    region: Text | None = Field(default=None, description="The child's region or program")


class Home(DerivedFactModel):
    id: Text
    approval: ApprovalKind
    approval_status: ApprovalStatus
    hold: Hold | None = Field(default=None, description="The hold on the home, if any")
    restrictions: Restrictions | None = None
    children_placed: list[PlacedChild] = Field(default_factory=list)

    # Derived from children_placed, never given: durable_rules cannot compare a list's items
    # with another fact, so rules on the children already placed read these instead.
    @computed_field  # type: ignore[prop-decorator]
    @property
    def youngest_placed_age(self) -> int | None:
        """Age of the youngest child already placed (absent when none is)."""
        return min((c.age for c in self.children_placed), default=None)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def oldest_placed_age(self) -> int | None:
        """Age of the oldest child already placed (absent when none is)."""
        return max((c.age for c in self.children_placed), default=None)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def genders_placed(self) -> list[Gender]:
        """Genders of the children already placed, each once."""
        return sorted({c.gender for c in self.children_placed})


class Placement(FactModel):
    date: Date
    status: PlacementStatus = PlacementStatus.PROPOSED
    cleared_with_pco: Flag = Field(
        description="The placing social worker cleared the home with the PCO before placing"
    )


@fact_type("placement_request")
class PlacementRequest(FactModel):
    """May this child be placed in this home on this date?"""

    placement: Placement
    child: Child
    home: Home
