"""qpr-rules: child-welfare quality-parenting policy as declarative YAML rules.

The public API::

    from qpr_rules import Engine
    engine = Engine.from_bundled()
    decision = engine.decide("qpr.placement", facts)
    decision.outcome, decision.reason, decision.fired, decision.obligations
    print(engine.explain("qpr.placement", facts))
"""

from __future__ import annotations

from qpr_rules.engine.decision import Citation, Consequence, Decision, FiredRule, NotFiredRule, Obligation
from qpr_rules.engine.engine import Engine
from qpr_rules.errors import (
    EngineError,
    FactsError,
    PolicyError,
    Problem,
    QprRulesError,
    UnknownDecisionError,
)
from qpr_rules.facts import (
    ActionSet,
    CaregiverInformation,
    ChildRemoval,
    Concern,
    FactModel,
    Hold,
    HoldPlaced,
    HoldState,
    InterviewPlan,
    PlacementRequest,
    Procedure,
    QsrReview,
    RecordRequest,
    Referral,
    Reinstatement,
    SignedCommitment,
    SiteReadiness,
    Team,
)
from qpr_rules.policy.loader import PolicySet, load_policy_set

__version__ = "0.1.0"

__all__ = [
    "ActionSet",
    "CaregiverInformation",
    "ChildRemoval",
    "Citation",
    "Concern",
    "Consequence",
    "Decision",
    "Engine",
    "EngineError",
    "FactModel",
    "FactsError",
    "FiredRule",
    "Hold",
    "HoldPlaced",
    "HoldState",
    "InterviewPlan",
    "NotFiredRule",
    "Obligation",
    "PlacementRequest",
    "PolicyError",
    "PolicySet",
    "Problem",
    "Procedure",
    "QprRulesError",
    "QsrReview",
    "RecordRequest",
    "Referral",
    "Reinstatement",
    "SignedCommitment",
    "SiteReadiness",
    "Team",
    "UnknownDecisionError",
    "load_policy_set",
]
