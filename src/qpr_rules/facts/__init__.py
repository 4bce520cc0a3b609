"""Fact models (pydantic) of the domain. Every module here registers its fact types on import."""

from __future__ import annotations

import importlib
import pkgutil

from qpr_rules.facts.base import FactModel, fact_type, get_fact_model, registered_fact_types

for _module in pkgutil.iter_modules(__path__):
    if _module.name not in {"base", "common"}:
        importlib.import_module(f"{__name__}.{_module.name}")

# The fact model of every decision, importable by name so applications build typed facts
# (`from qpr_rules import PlacementRequest`); tests/test_typed_facts.py checks none is missing.
from qpr_rules.facts.hold import Hold, HoldState  # noqa: E402
from qpr_rules.facts.placement import PlacementRequest  # noqa: E402
from qpr_rules.facts.pqcr import InterviewPlan  # noqa: E402
from qpr_rules.facts.practice_model import QsrReview  # noqa: E402
from qpr_rules.facts.qpi_commitment import (  # noqa: E402
    CaregiverInformation,
    ChildRemoval,
    PartnershipRecord,
    SignedCommitment,
)
from qpr_rules.facts.qpi_site import SiteReadiness  # noqa: E402
from qpr_rules.facts.qpr_process import (  # noqa: E402
    ActionSet,
    Concern,
    HoldPlaced,
    Procedure,
    RecordRequest,
    Referral,
    Reinstatement,
    Team,
)

__all__ = [
    "ActionSet",
    "CaregiverInformation",
    "ChildRemoval",
    "Concern",
    "FactModel",
    "Hold",
    "HoldPlaced",
    "HoldState",
    "InterviewPlan",
    "PartnershipRecord",
    "PlacementRequest",
    "Procedure",
    "QsrReview",
    "RecordRequest",
    "Referral",
    "Reinstatement",
    "SignedCommitment",
    "SiteReadiness",
    "Team",
    "fact_type",
    "get_fact_model",
    "registered_fact_types",
]
