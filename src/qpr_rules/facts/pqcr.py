"""Facts for the California Peer Quality Case Review: a county's interview plan."""

from __future__ import annotations

from enum import StrEnum

from pydantic import Field

from qpr_rules.facts.base import FactModel, fact_type
from qpr_rules.facts.common import Date, Flag, FreeText


class IntervieweeRole(StrEnum):
    PARENT = "parent"
    FOSTER_PARENT = "foster_parent"
    SOCIAL_WORKER = "social_worker"
    COMMUNITY_PARTNER = "community_partner"
    PROBATION_OFFICER = "probation_officer"
    SUPERVISOR = "supervisor"


class Interviewee(FactModel):
    role: IntervieweeRole
    told_in_advance: Flag
    questions_shared_in_advance: Flag
    training_and_orientation: Flag = Field(description="Received training & orientation before the interview")
    may_review_case_first: Flag = Field(
        default=False, description="Offered to review the case before the interview")
    played_main_role_in_case: Flag | None = Field(
        default=None,
        description="Staff: played a main role in the selected case (absent: not said, answered incomplete)")


class Template(FactModel):
    """The blanks of the county template, as the county filled them in."""

    county_name: FreeText | None = None
    cycle: FreeText | None = Field(default=None,
                                   description="The county's cycle in the process (first, second)")
    focus_area: FreeText | None = None
    referrals_and_cases: FreeText | None = None
    selection_criteria: FreeText | None = None
    selection_goal_date: Date | None = None


class Reporting(FactModel):
    case_specific: Flag = Field(description="Results are reported case by case")
    common_themes: Flag
    strengths_identified: Flag


@fact_type("pqcr_interview_plan")
class InterviewPlan(FactModel):
    """A county's plan for its PQCR interviews."""

    template: Template
    focus_areas: list[str] = Field(default_factory=list)
    interviewees: list[Interviewee] = Field(default_factory=list)
    reporting: Reporting
