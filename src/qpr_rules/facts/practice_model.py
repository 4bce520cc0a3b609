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
    i1a_exposure_to_threats_of_harm: Rating | None = None
    i1b_risk_to_self_others: Rating | None = None
    i2_stability: Rating | None = None
    i3_living_arrangement: Rating | None = None
    i4_permanency: Rating | None = None
    i5_physical_health: Rating | None = None
    i6_emotional_well_being: Rating | None = None
    i7a_early_learning_status: Rating | None = None
    i7b_academic_status: Rating | None = None
    i8_pathway_to_independence: Rating | None = None
    i9_parent_and_caretaker_functioning: Rating | None = None


class PracticePerformance(FactModel):
    i1a_engagement: Rating | None = None
    i1b_role_and_voice: Rating | None = None
    i2_teaming: Rating | None = None
    i3_cultural_awareness_and_responsiveness: Rating | None = None
    i4_assessment_and_understanding: Rating | None = None
    i5_long_term_view_for_safe_case_closure: Rating | None = None
    i6_planning_for_safe_case_closure: Rating | None = None
    i7_planning_for_transitions_and_life_adjustments: Rating | None = None
    i8_resource_availability: Rating | None = None
    i9_intervention_adequacy: Rating | None = None
    i10_maintaining_quality_connections: Rating | None = None
    i11_tracking_and_adjustment: Rating | None = None


@fact_type("qsr_review")
class QsrReview(FactModel):
    """Ratings of one case on the QSR protocol's indicators."""

    child_age: Age = Field(
        description="The child's age at the review: whether Pathway to Independence is rated yet")
    status: ChildFamilyStatus = Field(description="Child & Family Status indicators")
    practice: PracticePerformance = Field(description="Practice Performance indicators")
