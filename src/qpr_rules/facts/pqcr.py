"""Facts for the California Peer Quality Case Review: a county's interview plan."""

from __future__ import annotations

from enum import StrEnum

from pydantic import Field, computed_field

from qpr_rules.facts.base import DerivedFactModel, FactModel, fact_type
from qpr_rules.facts.common import Date, Flag, FreeText


class IntervieweeRole(StrEnum):
    PARENT = "parent"
    FOSTER_PARENT = "foster_parent"
    SOCIAL_WORKER = "social_worker"
    COMMUNITY_PARTNER = "community_partner"
    PROBATION_OFFICER = "probation_officer"
    SUPERVISOR = "supervisor"


class Interviewee(FactModel):
    role: IntervieweeRole = Field(description="The interviewee's role")
    told_in_advance: Flag = Field(description="The interviewee was told about the interview in advance")
    questions_shared_in_advance: Flag = Field(
        description="The interview questions were shared with the interviewee in advance")
    training_and_orientation: Flag = Field(description="Received training & orientation before the interview")
    may_review_case_first: Flag = Field(
        default=False, description="Offered to review the case before the interview")
    played_main_role_in_case: Flag | None = Field(
        default=None,
        description="Staff: played a main role in the selected case (absent: not said, answered incomplete)")


class Template(FactModel):
    """The blanks of the county template, as the county filled them in."""

    county_name: FreeText | None = Field(
        default=None, description="The county's name, as filled in (absent: blank)")
    cycle: FreeText | None = Field(default=None,
                                   description="The county's cycle in the process (first, second)")
    focus_area: FreeText | None = Field(
        default=None, description="The topic area the county chose, as filled in (absent: blank)")
    referrals_and_cases: FreeText | None = Field(
        default=None, description="The referrals and cases reviewed, as filled in (absent: blank)")
    selection_criteria: FreeText | None = Field(
        default=None, description="The case selection criteria, as filled in (absent: blank)")
    selection_goal_date: Date | None = Field(
        default=None, description="The goal date for selecting the cases (absent: blank)")


class Reporting(FactModel):
    case_specific: Flag = Field(description="Results are reported case by case")
    common_themes: Flag = Field(description="Results report the common themes")
    strengths_identified: Flag = Field(description="Results identify strengths")


class FocusGroupMember(StrEnum):
    """Those the fact sheet says take part in focus groups ("Birth parents and youth, as well as
    tribal members and court personnel will participate in focus groups")."""

    BIRTH_PARENTS = "birth_parents"
    YOUTH = "youth"
    TRIBAL_MEMBERS = "tribal_members"
    COURT_PERSONNEL = "court_personnel"


@fact_type("pqcr_interview_plan")
class InterviewPlan(DerivedFactModel):
    """A county's plan for its PQCR interviews."""

    template: Template = Field(description="The county template, as filled in")
    focus_areas: list[str] = Field(default_factory=list,
                                   description="The focus areas the plan names (empty: none)")
    interviewees: list[Interviewee] = Field(default_factory=list,
                                            description="Who is interviewed (empty: nobody yet)")
    reporting: Reporting = Field(description="How the results are reported")
    focus_groups: list[FocusGroupMember] | None = Field(
        default=None,
        description="Who takes part in the focus groups (absent: not said, answered incomplete)")
    peer_review_one_week: Flag | None = Field(
        default=None, description=("The peer reviewers spend one week reviewing the sample of cases "
                                   "(absent: not said, answered incomplete)"))

    @computed_field  # type: ignore[prop-decorator]
    @property
    def focus_area_is_topic_chosen(self) -> bool:
        """Every focus area named is the topic the template's blank names, as written ("The PQCR
        has one focus area. We have chosen (enter your topic area here)."); false when the blank
        is empty (derived, never given; analysis/smt_facts.py models it exactly)."""
        chosen = self.template.focus_area
        return chosen is not None and all(area == chosen for area in self.focus_areas)
