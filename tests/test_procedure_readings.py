"""Readings of issue 17.7, each written from the sentence before its fix.

Step 1 of the QPR procedure: "Who: SW. When: When a SW has concerns in regards to a resource home
(RH). Action: Contact PCO to consult and determine whether the concern warrants a referral to
QPR." When to refer: "Child Welfare Staff can make a referral for a QPR." A concern that no
other route takes (IS/IRS, the Complaint Unit, a referral the text requires) owes that
consultation, by the SW or by the other CWS staff who raised it.
"""

from __future__ import annotations

from typing import Any

import pytest

from qpr_rules.engine.engine import Engine

ENGINE = Engine.load(["policies"], evaluator="compiled")
HOME = {"action_possible_against_approval": True, "quality_parenting_concerns_remain": False,
        "sent_to_state_for": "none"}


def concern(raised_by: str, *topics: str, **extra: Any) -> dict[str, Any]:
    return {"raised_by": raised_by, "allegation": {"topics": list(topics), "meets_is_irs_assignment_criteria": False},
            "home": HOME, **extra}


@pytest.mark.parametrize(("raised_by", "who"), [("social_worker", "referring-sw"), ("cws_staff", "cws-staff")])
@pytest.mark.parametrize("topic", ["personal_rights", "quality_of_care"])
def test_a_concern_routed_nowhere_else_owes_the_step1_consultation(raised_by: str, who: str, topic: str) -> None:
    decision = ENGINE.decide("qpr.concern-routing", concern(raised_by, topic))
    assert decision.outcome == "consult-pco"
    assert [(o.who, o.clause.clause if o.clause else None) for o in decision.obligations] == [
        (who, "step1.consult-pco")]


def test_a_concern_routed_elsewhere_does_not_owe_it() -> None:
    for facts in (concern("social_worker", "abuse"), concern("cws_staff", "licensing"),
                  concern("social_worker", "personal_rights",
                          sw_concern={"serious_problem_or_questionable_practices": True,
                                      "specific_documentation": True})):
        decision = ENGINE.decide("qpr.concern-routing", facts)
        assert "consult-pco" not in decision.outcomes, facts


def test_a_teachers_concern_still_goes_to_cws_staff() -> None:
    decision = ENGINE.decide("qpr.concern-routing", concern("teacher", "personal_rights"))
    assert decision.outcome == "route-to-cws-staff"


# When to refer: "When a home is sent to the state for revocation or to rescind the RFA approval,
# and the revocation or request to rescind is denied, the home will be referred for a QPR."
REFERRAL = {"consulted_pco": True, "referral_warranted": True, "form_04_233_submitted": True,
            "form_emailed_to_pco": True}


@pytest.mark.parametrize("screened_out", [{"referral_warranted": False, "form_04_233_submitted": False,
                                           "form_emailed_to_pco": False},
                                          {"appropriate_for_qpr": False}])
def test_a_referral_after_a_state_denial_cannot_be_screened_out(screened_out: dict[str, Any]) -> None:
    decision = ENGINE.decide("qpr.referral-screening", {**REFERRAL, **screened_out, "after_state_denial": True})
    assert decision.status == "decided" and decision.outcome == "referral-required"
    assert "pco-recommendations" not in decision.outcomes
    assert "follow-pco-recommendations" not in decision.outcomes
    assert any(o.clause and o.clause.clause == "refer.state-denied" for o in decision.obligations)
