"""Facts of a placement question: a child, a resource home and the placement asked for."""

from __future__ import annotations

from enum import StrEnum

from pydantic import Field, computed_field, model_validator

from qpr_rules.facts.base import DerivedFactModel, FactModel, fact_type
from qpr_rules.facts.common import Age, Count, Date, Flag, Text
from qpr_rules.facts.hold import Hold, HoldKind, HoldState, hold_state_on


class Gender(StrEnum):
    FEMALE = "female"
    MALE = "male"
    NONBINARY = "nonbinary"


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


class Restrictions(FactModel):
    """Restrictions imposed at a QPR on the children a home may take ("Restrict age range,
    number, or gender of children placed in the resource home"). A bound left out is one the QPR
    did not set; whether the home has restrictions at all is never left out (Home.restrictions)."""

    min_child_age: Age | None = Field(default=None, description="Youngest age the home may take")
    max_child_age: Age | None = Field(default=None, description="Oldest age the home may take")
    max_children: Count | None = Field(default=None, description="Most children placed at once")
    genders: list[Gender] | None = Field(
        default=None, description="Genders the home may take; absent means no gender restriction"
    )

    @model_validator(mode="after")
    def _coherent(self) -> Restrictions:
        low, high = self.min_child_age, self.max_child_age
        if low is not None and high is not None and low > high:
            raise ValueError("min_child_age must not be above max_child_age")
        return self


class PlacedChild(FactModel):
    age: Age = Field(description="The age in whole years of this child already placed in the home")
    gender: Gender = Field(description="The gender of this child already placed in the home")


class Sibling(FactModel):
    age: Age = Field(description="The age in whole years of this sibling placed together with the child")
    gender: Gender = Field(description="The gender of this sibling placed together with the child")


class Child(FactModel):
    id: Text | None = Field(default=None, description="The child's case identifier (absent: not given)")
    age: Age = Field(description="The child's age in whole years")
    gender: Gender = Field(description="The child's gender")
    region: Text | None = Field(default=None, description=(
        "The child's region or program (required when a placement was made into a home on hold: "
        "its Regional Manager is notified)"))


class Home(DerivedFactModel):
    id: Text = Field(description="The resource home's identifier")
    approval: ApprovalKind = Field(
        description=("How the home is approved: Resource Family Approval (rfa) or a licensed foster "
                     "home (lfh)"))
    approval_status: ApprovalStatus = Field(
        description="The status of the home's approval or license on the placement date")
    # Required even when empty: a placement reader that forgot them would otherwise get an
    # answer for a home with no hold, no restriction and no children (item 3 of issue 9).
    hold: Hold | None = Field(description="The hold on the home (null when there has never been one)")
    restrictions: Restrictions | None = Field(
        description="Restrictions set at a QPR on the children placed (null when none)")
    children_placed: list[PlacedChild] = Field(description="The children living in the home now")

    # Derived from children_placed, never given: durable_rules cannot compare a list's items
    # with another fact, so rules on the children already placed read these instead.
    # (read on every decision: written for speed, a list rather than a generator, and no work
    # at all for a home with no child placed)
    @computed_field  # type: ignore[prop-decorator]
    @property
    def youngest_placed_age(self) -> int | None:
        """Age of the youngest child already placed (absent when none is)."""
        children = self.children_placed
        return min([c.age for c in children]) if children else None

    @computed_field  # type: ignore[prop-decorator]
    @property
    def oldest_placed_age(self) -> int | None:
        """Age of the oldest child already placed (absent when none is)."""
        children = self.children_placed
        return max([c.age for c in children]) if children else None

    @computed_field  # type: ignore[prop-decorator]
    @property
    def genders_placed(self) -> list[Gender]:
        """Genders of the children already placed, each once."""
        children = self.children_placed
        return sorted({c.gender for c in children}) if children else []


class Placement(DerivedFactModel):
    date: Date = Field(description="The date of the placement")
    # Required (issue 17.7): a made placement into a home on hold owes the Regional Manager a
    # notice; defaulting to proposed would drop that duty for a caller who left it out.
    status: PlacementStatus = Field(description=(
        "Whether the placement is proposed (asked before it is made) or already made"))
    cleared_with_pco: Flag = Field(
        description="The placing social worker cleared the home with the PCO before placing"
    )
    # Required, even when empty (issue 17.7): siblings placed together are each children placed
    # ("Restrict age range, number, or gender of children placed"); defaulting to none would
    # count one child where several arrive and check no sibling against the restriction. The
    # caller names them; the policy counts them (PlacementRequest.children_after_placement).
    siblings: list[Sibling] = Field(max_length=20, description=(
        "The child's siblings placed in the home together with the child (empty when the child "
        "is placed alone)"))

    # Derived from siblings, never given: as Home's, because a rule cannot compare a list's
    # items with another fact (the restriction's bounds)
    @computed_field  # type: ignore[prop-decorator]
    @property
    def youngest_sibling_age(self) -> int | None:
        """Age of the youngest sibling placed together with the child (absent when none is)."""
        siblings = self.siblings
        return min([c.age for c in siblings]) if siblings else None

    @computed_field  # type: ignore[prop-decorator]
    @property
    def oldest_sibling_age(self) -> int | None:
        """Age of the oldest sibling placed together with the child (absent when none is)."""
        siblings = self.siblings
        return max([c.age for c in siblings]) if siblings else None

    @computed_field  # type: ignore[prop-decorator]
    @property
    def sibling_genders(self) -> list[Gender]:
        """Genders of the siblings placed together with the child, each once."""
        siblings = self.siblings
        return sorted({c.gender for c in siblings}) if siblings else []


@fact_type("placement_request")
class PlacementRequest(DerivedFactModel):
    """May this child be placed in this home on this date?"""

    placement: Placement = Field(description="The placement asked for")
    child: Child = Field(description="The child to be placed")
    home: Home = Field(description="The resource home")

    @computed_field  # type: ignore[prop-decorator]
    @property
    def hold_state(self) -> HoldState:
        """The state of the home's hold on the placement date (derived, never given)."""
        return hold_state_on(self.home.hold, self.placement.date)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def children_after_placement(self) -> int:
        """The children in the home once this placement is made: those living there now, the
        child and every sibling placed together with the child (derived, never given)."""
        return len(self.home.children_placed) + 1 + len(self.placement.siblings)

    @model_validator(mode="after")
    def _notice_has_an_addressee(self) -> PlacementRequest:
        # "The PCO Manager will notify the Regional Manager if a child from their region/program
        # has been placed in a home placed on hold" (issue 17.7): the notice goes to the child's
        # region; without it the duty could not be delivered, so the question is incomplete.
        if (self.placement.status is PlacementStatus.MADE and self.child.region is None
                and self.hold_state is HoldState.IN_FORCE):
            raise ValueError("child.region is required when a placement was made into a home on hold: "
                             "the Regional Manager of the child's region/program must be notified")
        return self


__all__ = ["ApprovalKind", "ApprovalStatus", "Child", "Gender", "Hold", "HoldKind", "HoldState", "Home",
           "PlacedChild", "Placement", "PlacementRequest", "PlacementStatus", "Restrictions", "Sibling"]
