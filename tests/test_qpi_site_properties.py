"""Property tests of Starting Points' "must" sentences: a site is ready only with all of them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from qpr_rules import Engine
from qpr_rules.facts.qpi_site import Leadership, QpiLead, Resources

ROOT = Path(__file__).resolve().parents[1]
ENGINE = Engine.load([ROOT / "policies" / "qpi_site.yaml"])


def flags(model: type) -> st.SearchStrategy[dict[str, bool]]:
    return st.fixed_dictionaries({name: st.booleans() for name in model.model_fields})


# "the ability ... to involve other members of the child welfare community" (issue 19.5): whether
# the site is able to is said or not, besides whether it involves them already.
resources = st.fixed_dictionaries(
    {name: st.booleans() for name in Resources.model_fields if name != "able_to_involve_community"},
    optional={"able_to_involve_community": st.booleans()})

sites = st.fixed_dictionaries(
    {"supports_core_principles": st.booleans(), "leadership": flags(Leadership),
     "staff_champions": st.integers(0, 3), "resources": resources},
    optional={"qpi_lead": flags(QpiLead)},
)


def resources_missing(r: dict[str, bool]) -> int:
    """Each resource the site lacks: the community counts only when neither involved nor able."""
    community = not r["community_involved"] and r.get("able_to_involve_community") is not True
    return (not r["staff_time_for_change"]) + community + (not r["caregivers_birth_parents_youth_involved"])


@settings(max_examples=400, deadline=None)
@given(sites)
def test_a_site_is_ready_only_when_nothing_is_missing(site: dict[str, Any]) -> None:
    decision = ENGINE.decide("qpi_site.readiness", site)
    assert decision.status != "error", decision.errors
    complete = (site["supports_core_principles"] and all(site["leadership"].values())
                and site["staff_champions"] >= 1 and "qpi_lead" in site and all(site["qpi_lead"].values())
                and resources_missing(site["resources"]) == 0)
    assert (decision.outcome == "ready") == complete


@settings(max_examples=200, deadline=None)
@given(sites)
def test_every_missing_requirement_is_listed_with_its_text(site: dict[str, Any]) -> None:
    decision = ENGINE.decide("qpi_site.readiness", site)
    missing = sum(not v for v in site["leadership"].values()) + resources_missing(site["resources"])
    missing += (not site["supports_core_principles"]) + (site["staff_champions"] < 1)
    missing += sum(not v for v in site["qpi_lead"].values()) if "qpi_lead" in site else 1
    assert len(decision.fired) == missing
    assert all(r.citations and r.citations[0].text for r in decision.fired)
