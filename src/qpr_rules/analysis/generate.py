"""Deterministic fact generation from a fact model's field types (for `qpr-rules diff`).

Covers what differential tests showed matters: every enum value, both booleans, absent
optional fields, empty and short lists, numbers and dates around small ranges.
"""

from __future__ import annotations

import datetime as dt
import random
import typing
from typing import Any

from pydantic import BaseModel

from qpr_rules.facts.paths import FieldType, type_of

BASE_DATE = dt.date(2024, 1, 1)


def _bounds(annotation: Any) -> tuple[int, int]:
    """The ge/le bounds pydantic declares for an int field (through Optional and Annotated)."""
    lo, hi = 0, 21
    stack = [annotation]
    while stack:
        current = stack.pop()
        for meta in getattr(current, "__metadata__", ()):
            for constraint in [meta, *getattr(meta, "metadata", [])]:
                lo = getattr(constraint, "ge", lo)
                hi = getattr(constraint, "le", hi)
        stack.extend(typing.get_args(current))
    return lo, hi


def _value(ft: FieldType, rnd: random.Random, depth: int, annotation: Any = None) -> Any:
    if ft.kind == "bool":
        return rnd.random() < 0.5
    if ft.kind == "int":
        lo, hi = _bounds(annotation)
        # the edges and their neighbours are where rules' comparisons flip
        return rnd.choice([lo, hi, min(lo + 1, hi), max(hi - 1, lo), rnd.randint(lo, hi)])
    if ft.kind == "number":
        return rnd.choice([0.0, 1.5, 3.0, 4.0, 6.0])
    if ft.kind == "string":
        return rnd.choice(["A", "B", "x-1"])
    if ft.kind == "enum":
        return rnd.choice(ft.enum_values)
    if ft.kind == "date":
        return (BASE_DATE + dt.timedelta(days=rnd.randint(-400, 400))).isoformat()
    if ft.kind == "list" and ft.item is not None:
        return [_value(ft.item, rnd, depth + 1) for _ in range(rnd.choice([0, 0, 1, 2, 3]))]
    if ft.kind == "object" and ft.model is not None:
        return generate(ft.model, rnd, depth + 1)
    return None


def generate(model: type[BaseModel], rnd: random.Random, depth: int = 0) -> dict[str, Any]:
    """One facts mapping for model; optional fields are absent about a third of the time."""
    out: dict[str, Any] = {}
    for name, info in model.model_fields.items():
        ft = type_of(info.annotation)
        if not info.is_required() and rnd.random() < 0.35:
            continue
        if ft.optional and rnd.random() < 0.35:  # required but nullable: null is a state too
            out[name] = None
            continue
        value = _value(ft, rnd, depth, info.annotation)
        if value is not None:
            out[name] = value
    return out


def sample(model: type[BaseModel], count: int, seed: int = 0) -> list[dict[str, Any]]:
    """count facts mappings that validate against model (invalid draws are skipped)."""
    rnd = random.Random(seed)
    out: list[dict[str, Any]] = []
    attempts = 0
    while len(out) < count and attempts < count * 20:
        attempts += 1
        facts = generate(model, rnd)
        try:
            model.model_validate(facts)
        except ValueError:
            continue
        out.append(facts)
    return out
