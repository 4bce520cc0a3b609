"""Fact models (pydantic) of the domain. Every module here registers its fact types on import."""

from __future__ import annotations

import importlib
import pkgutil

from qpr_rules.facts.base import FactModel, fact_type, get_fact_model, registered_fact_types

for _module in pkgutil.iter_modules(__path__):
    if _module.name not in {"base", "common"}:
        importlib.import_module(f"{__name__}.{_module.name}")

__all__ = ["FactModel", "fact_type", "get_fact_model", "registered_fact_types"]
