"""Documented mappings between fact schemas of successive revisions, for `qpr-rules diff --against`.

When a revision changes a fact model, the facts written for the old schema no longer validate
against the new one. A mapping says how an old fact maps to the new schema (forward) and, where
it can, back (backward). Each mapping is documented here, with what it cannot carry: `diff`
compares only cases a mapping (or no change at all) makes valid on both sides, and reports the
rest as not compared.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

Facts = dict[str, Any]


@dataclass(frozen=True)
class FactMapping:
    fact_type: str
    name: str
    description: str  # what changed, and what the mapped facts cannot say
    forward: Callable[[Facts], Facts]  # old schema -> new schema
    backward: Callable[[Facts], Facts] | None = None  # new schema -> old schema, losing what it says


def _reasons_to_objects(facts: Facts) -> Facts:
    reasons = facts.get("reasons")
    if not isinstance(reasons, list) or not all(isinstance(r, str) for r in reasons):
        raise ValueError("reasons are not the old plain values")
    return {**facts, "reasons": [{"reason": r} for r in reasons]}


def _reasons_to_values(facts: Facts) -> Facts:
    reasons = facts.get("reasons")
    if not isinstance(reasons, list) or not all(isinstance(r, dict) and "reason" in r for r in reasons):
        raise ValueError("reasons are not the new objects")
    values = list(dict.fromkeys(r["reason"] for r in reasons))  # the old list held each reason once
    return {**facts, "reasons": values}


MAPPINGS: list[FactMapping] = [
    FactMapping(
        "child_removal", "reasons-with-basis",
        "Issue 19.1: each reason became an object carrying its basis. Forward: a reason X becomes "
        "{reason: X} with no basis (the old schema could not say who determined it, when, or on "
        "which document, so the mapped case says nothing of it). Backward: the basis is dropped.",
        _reasons_to_objects, _reasons_to_values),
]


def mappings_for(fact_type: str) -> list[FactMapping]:
    return [m for m in MAPPINGS if m.fact_type == fact_type]
