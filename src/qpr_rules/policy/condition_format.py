"""Value and condition formatting: how a condition reads in explanations and messages."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any, assert_never

from qpr_rules.policy.condition_nodes import (
    All,
    AnyOf,
    Compare,
    Condition,
    Contains,
    Count,
    InSet,
    Not,
    Present,
    Quantified,
)

OP_SYMBOL = {"eq": "=", "ne": "!=", "lt": "<", "lte": "<=", "gt": ">", "gte": ">="}


def show(value: object) -> str:
    """A value as an analyst writes it in YAML (true/false, YYYY-MM-DD, [a, b])."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(show(v) for v in value) + "]"
    return str(value)


def render(cond: Condition) -> str:
    """A one-line, human-readable form of a condition (used in explanations)."""
    match cond:
        case All(items=items):
            return "all of (" + "; ".join(render(c) for c in items) + ")"
        case AnyOf(items=items):
            return "any of (" + "; ".join(render(c) for c in items) + ")"
        case Not(item=item):
            return "not " + render(item)
        case Compare(path=path, op=op, right=right):
            return f"{path} {OP_SYMBOL[op]} {right.render()}"
        case InSet(path=path, values=values):
            return f"{path} is one of {show(values)}"
        case Present(path=path):
            return f"{path} is present"
        case Contains(path=path, right=right):
            return f"{path} contains {right.render()}"
        case Count(path=path, op=op, right=right):
            return f"number of {path} {OP_SYMBOL[op]} {right.render()}"
        case Quantified(path=path, every=every, cond=inner):
            word = "every" if every else "some"
            return f"{word} item of {path} has ({render(inner)})"
        case _:
            assert_never(cond)


def kind_of(value: Any) -> str:
    """What a YAML value is, in words, for error messages."""
    if value is None:
        return "nothing (null)"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "a whole number"
    if isinstance(value, float):
        return "a number"
    if isinstance(value, str):
        return f"text {value!r}"
    if isinstance(value, dt.date):
        return "a date"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, Mapping):
        return "a mapping"
    return type(value).__name__
