"""qpr-rules: child-welfare quality-parenting policy as declarative YAML rules.

The public API::

    from qpr_rules import Engine
    engine = Engine.from_bundled()
    decision = engine.decide("qpr.placement", facts)
    decision.outcome, decision.reason, decision.fired, decision.obligations
    print(engine.explain("qpr.placement", facts))
"""

from __future__ import annotations

from qpr_rules.engine.decision import Citation, Decision, FiredRule, NotFiredRule, Obligation
from qpr_rules.engine.engine import Engine
from qpr_rules.errors import (
    EngineError,
    FactsError,
    PolicyError,
    Problem,
    QprRulesError,
    UnknownDecisionError,
)
from qpr_rules.policy.loader import PolicySet, load_policy_set

__version__ = "0.1.0"

__all__ = [
    "Citation",
    "Decision",
    "Engine",
    "EngineError",
    "FactsError",
    "FiredRule",
    "NotFiredRule",
    "Obligation",
    "PolicyError",
    "PolicySet",
    "Problem",
    "QprRulesError",
    "UnknownDecisionError",
    "load_policy_set",
]
