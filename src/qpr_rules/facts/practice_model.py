"""Facts for the Virginia practice model: a Quality Service Review (QSR) of one case.

One field per QSR indicator, rated 1 to 6 (4-6 acceptable, 1-3 unacceptable in QSR
protocols; the threshold itself is a policy parameter). An indicator not rated is absent.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, StrictInt

from qpr_rules.facts.base import FactModel, fact_type
from qpr_rules.facts.common import Age

Rating = Annotated[StrictInt, Field(ge=1, le=6)]


class ChildFamilyStatus(FactModel):
    i1a_exposure_to_threats_of_harm: Rating | None = Field(
        default=None, description=("Status 1a, exposure to threats of harm: its QSR rating, 1 to 6 "
                                   "(absent: not rated)"))
    i1b_risk_to_self_others: Rating | None = Field(
        default=None, description=("Status 1b, risk to self and others: its QSR rating, 1 to 6 "
                                   "(absent: not rated)"))
    i2_stability: Rating | None = Field(
        default=None, description="Status 2, stability: its QSR rating, 1 to 6 (absent: not rated)")
    i3_living_arrangement: Rating | None = Field(
        default=None, description="Status 3, living arrangement: its QSR rating, 1 to 6 (absent: not rated)")
    i4_permanency: Rating | None = Field(
        default=None, description="Status 4, permanency: its QSR rating, 1 to 6 (absent: not rated)")
    i5_physical_health: Rating | None = Field(
        default=None, description="Status 5, physical health: its QSR rating, 1 to 6 (absent: not rated)")
    i6_emotional_well_being: Rating | None = Field(
        default=None, description=("Status 6, emotional well-being: its QSR rating, 1 to 6 (absent: "
                                   "not rated)"))
    i7a_early_learning_status: Rating | None = Field(
        default=None, description="Status 7a, early learning: its QSR rating, 1 to 6 (absent: not rated)")
    i7b_academic_status: Rating | None = Field(
        default=None, description="Status 7b, academic status: its QSR rating, 1 to 6 (absent: not rated)")
    i8_pathway_to_independence: Rating | None = Field(
        default=None, description=("Status 8, pathway to independence: its QSR rating, 1 to 6 (absent:"
                                   " not rated)"))
    i9_parent_and_caretaker_functioning: Rating | None = Field(
        default=None, description=("Status 9, parent and caretaker functioning: its QSR rating, 1 to 6"
                                   " (absent: not rated)"))


class PracticePerformance(FactModel):
    i1a_engagement: Rating | None = Field(
        default=None, description="Practice 1a, engagement: its QSR rating, 1 to 6 (absent: not rated)")
    i1b_role_and_voice: Rating | None = Field(
        default=None, description="Practice 1b, role and voice: its QSR rating, 1 to 6 (absent: not rated)")
    i2_teaming: Rating | None = Field(
        default=None, description="Practice 2, teaming: its QSR rating, 1 to 6 (absent: not rated)")
    i3_cultural_awareness_and_responsiveness: Rating | None = Field(
        default=None, description=("Practice 3, cultural awareness and responsiveness: its QSR rating,"
                                   " 1 to 6 (absent: not rated)"))
    i4_assessment_and_understanding: Rating | None = Field(
        default=None, description=("Practice 4, assessment and understanding: its QSR rating, 1 to 6 "
                                   "(absent: not rated)"))
    i5_long_term_view_for_safe_case_closure: Rating | None = Field(
        default=None, description=("Practice 5, long-term view for safe case closure: its QSR rating, "
                                   "1 to 6 (absent: not rated)"))
    i6_planning_for_safe_case_closure: Rating | None = Field(
        default=None, description=("Practice 6, planning for safe case closure: its QSR rating, 1 to 6"
                                   " (absent: not rated)"))
    i7_planning_for_transitions_and_life_adjustments: Rating | None = Field(
        default=None, description=("Practice 7, planning for transitions and life adjustments: its QSR"
                                   " rating, 1 to 6 (absent: not rated)"))
    i8_resource_availability: Rating | None = Field(
        default=None, description=("Practice 8, resource availability: its QSR rating, 1 to 6 (absent:"
                                   " not rated)"))
    i9_intervention_adequacy: Rating | None = Field(
        default=None, description=("Practice 9, intervention adequacy: its QSR rating, 1 to 6 (absent:"
                                   " not rated)"))
    i10_maintaining_quality_connections: Rating | None = Field(
        default=None, description=("Practice 10, maintaining quality connections: its QSR rating, 1 to"
                                   " 6 (absent: not rated)"))
    i11_tracking_and_adjustment: Rating | None = Field(
        default=None, description=("Practice 11, tracking and adjustment: its QSR rating, 1 to 6 "
                                   "(absent: not rated)"))


@fact_type("qsr_review")
class QsrReview(FactModel):
    """Ratings of one case on the QSR protocol's indicators."""

    child_age: Age = Field(
        description="The child's age at the review: whether Pathway to Independence is rated yet")
    status: ChildFamilyStatus = Field(description="Child & Family Status indicators")
    practice: PracticePerformance = Field(description="Practice Performance indicators")
