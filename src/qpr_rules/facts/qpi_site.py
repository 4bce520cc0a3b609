"""Facts for QPI site readiness (Youth Law Center, Starting Points: Becoming a QPI Site)."""

from __future__ import annotations

from pydantic import Field

from qpr_rules.facts.base import FactModel, fact_type
from qpr_rules.facts.common import Count, Flag


class Leadership(FactModel):
    director_senior_staff_and_key_managers_support: Flag = Field(
        description="The agency director, senior staff and all key managers support QPI's philosophy")
    time_and_effort_committed: Flag = Field(description="They agree to commit the time and effort needed")
    support_changes: Flag = Field(
        description="Willing to support the changes recommended, to the extent possible")
    staff_time_committed: Flag = Field(description="Leadership commits staff time to QPI")
    support_from_all_parts_of_agency: Flag = Field(
        description="Operations, training, legal, clinical, administration and others support QPI")
    priority_to_aligning_policies: Flag = Field(
        description="Top priority to aligning policies and practices to the goal of excellent parenting")
    attends_key_milestone_meetings: Flag = Field(
        description="The director and senior leadership attend key milestone meetings")


class QpiLead(FactModel):
    direct_access_to_senior_administrators: Flag = Field(
        description="The QPI Lead has direct access to senior administrators")
    knows_system_culture_and_operation: Flag = Field(
        description="The QPI Lead knows the system's culture and operation")
    shares_qpi_values: Flag = Field(description="Enthusiastic about and shares QPI's values and principles")


class Resources(FactModel):
    staff_time_for_change: Flag = Field(description="Staff time is available for the change")
    community_involved: Flag = Field(
        description=(
            "Court representatives, health care professionals, "
            "teachers, attorneys and others involved already"))
    # "the ability ... to involve other members of the child welfare community" is a capacity: a
    # site not yet involving them may still be able to. Absent means not said, never "able".
    able_to_involve_community: Flag | None = Field(
        default=None,
        description=("The site is able to involve court representatives, health care professionals, "
                     "teachers, attorneys and others (absent: not said; a site that involves them "
                     "already has shown it)"))
    caregivers_birth_parents_youth_involved: Flag = Field(
        description="Caregivers, birth parents and youth are involved")


@fact_type("qpi_site_readiness")
class SiteReadiness(FactModel):
    """A prospective QPI site."""

    supports_core_principles: Flag = Field(description="Supports the three core QPI principles")
    leadership: Leadership = Field(description="The agency's leadership")
    staff_champions: Count = Field(description="Staff champions identified")
    qpi_lead: QpiLead | None = Field(
        default=None, description="The QPI Lead / Site Coordinator, if identified")
    resources: Resources = Field(description="The resources the site has")
