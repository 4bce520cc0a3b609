"""qpr-rules: child-welfare quality-parenting policy as declarative YAML rules.

The public API::

    from qpr_rules import Engine
    engine = Engine.from_bundled()
    decision = engine.decide("qpr.placement", facts)
    decision.outcome, decision.reason, decision.fired, decision.obligations
    print(engine.explain("qpr.placement", facts))
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from qpr_rules.engine.decision import Citation, Consequence, Decision, FiredRule, NotFiredRule, Obligation
    from qpr_rules.engine.decision_log import DecisionLogError
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
        PartnershipRecord,
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

# The public names are imported on first use (PEP 562): `import qpr_rules` alone, as the CLI's
# entry point and tools that only read __version__ do, does not pay for pydantic, the fact
# models, YAML and durable_rules. `from qpr_rules import Engine` imports what Engine needs.
_WHERE = {
    **dict.fromkeys(["Citation", "Consequence", "Decision", "FiredRule", "NotFiredRule", "Obligation"],
                    "qpr_rules.engine.decision"),
    "Engine": "qpr_rules.engine.engine",
    "DecisionLogError": "qpr_rules.engine.decision_log",
    **dict.fromkeys(["EngineError", "FactsError", "PolicyError", "Problem", "QprRulesError",
                     "UnknownDecisionError"], "qpr_rules.errors"),
    **dict.fromkeys(["ActionSet", "CaregiverInformation", "ChildRemoval", "Concern", "FactModel", "Hold",
                     "HoldPlaced", "HoldState", "InterviewPlan", "PartnershipRecord", "PlacementRequest",
                     "Procedure", "QsrReview", "RecordRequest", "Referral", "Reinstatement",
                     "SignedCommitment", "SiteReadiness", "Team"], "qpr_rules.facts"),
    **dict.fromkeys(["PolicySet", "load_policy_set"], "qpr_rules.policy.loader"),
}


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'qpr_rules' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later lookups are plain module attributes
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_WHERE])


__version__ = "0.1.0"

__all__ = [
    "ActionSet",
    "CaregiverInformation",
    "ChildRemoval",
    "Citation",
    "Concern",
    "Consequence",
    "Decision",
    "DecisionLogError",
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
    "PartnershipRecord",
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
