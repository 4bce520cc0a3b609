"""Property tests of the PQCR fact sheet's promises, over generated interview plans."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from qpr_rules import Engine

ROOT = Path(__file__).resolve().parents[1]
ENGINE = Engine.load([ROOT / "policies" / "pqcr.yaml"])
PARAMS = {k: p.value for k, p in ENGINE.spec("pqcr.interview-plan").file.policy.parameters.items()}
blank_or_text = st.one_of(st.none(), st.just(""), st.sampled_from(sorted(map(str, PARAMS.values()))),
                          st.text(min_size=1, max_size=12))
interviewees = st.lists(st.fixed_dictionaries(
    {"role": st.sampled_from(["parent", "foster_parent", "social_worker", "community_partner",
                              "probation_officer", "supervisor"]),
     "told_in_advance": st.booleans(), "questions_shared_in_advance": st.booleans(),
     "training_and_orientation": st.booleans()},
    optional={"may_review_case_first": st.booleans(), "played_main_role_in_case": st.booleans()}), max_size=4)


@st.composite
def plans(draw: st.DrawFn) -> dict[str, Any]:
    template = {k: draw(blank_or_text) for k in ("county_name", "cycle", "focus_area", "referrals_and_cases",
                                                 "selection_criteria")}
    template = {k: v for k, v in template.items() if v is not None}
    if draw(st.booleans()):
        template["selection_goal_date"] = dt.date(2026, 1, 1) + dt.timedelta(days=draw(st.integers(0, 365)))
    return {"template": template, "focus_areas": draw(st.lists(st.text(min_size=1, max_size=8), max_size=3)),
            "interviewees": draw(interviewees),
            "reporting": {"case_specific": draw(st.booleans()), "common_themes": draw(st.booleans()),
                          "strengths_identified": draw(st.booleans())}}


@settings(max_examples=400, deadline=None)
@given(plans())
def test_an_acceptable_plan_keeps_every_promise_and_fills_every_blank(plan: dict[str, Any]) -> None:
    # Proved for every valid plan by the invariants of policies/pqcr.yaml (pqcr.inv.*: one focus
    # area, not case specific, themes and strengths, told / questions / training in advance, case
    # review, main roles, template filled). Here, on every example, durable_rules and the reference
    # evaluator agree, and a plan is acceptable exactly when no rule fires (the default).
    decision = ENGINE.decide("pqcr.interview-plan", plan)
    assert decision.status != "error", decision.errors
    assert (decision.outcome == "acceptable") == (not decision.fired)


@settings(max_examples=200, deadline=None)
@given(plans())
def test_case_specific_reporting_is_never_acceptable(plan: dict[str, Any]) -> None:
    plan["reporting"]["case_specific"] = True
    decision = ENGINE.decide("pqcr.interview-plan", plan)
    assert decision.outcome == "not-acceptable"
    assert "pqcr.interview-plan.case-specific" in {r.id for r in decision.fired}
