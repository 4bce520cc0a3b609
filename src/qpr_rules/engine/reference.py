"""The reference evaluator: conditions compiled once into plain Python closures.

It is the second opinion on every durable_rules answer (the engine fails closed when
the two disagree) and what explanations (why_not.py) evaluate to find, for a rule that did
not fire, the first part of its condition that failed.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable, Mapping
from typing import Any, assert_never

from qpr_rules.policy.conditions import (
    All,
    AnyOf,
    Compare,
    Condition,
    Contains,
    Count,
    InSet,
    Literal_,
    Not,
    Operand,
    Present,
    Quantified,
)

Facts = Mapping[str, Any]
Check = Callable[[Facts], bool]

_OPS: dict[str, Callable[[Any, Any], bool]] = {
    "eq": lambda a, b: a == b,
    "ne": lambda a, b: a != b,
    "lt": lambda a, b: a < b,
    "lte": lambda a, b: a <= b,
    "gt": lambda a, b: a > b,
    "gte": lambda a, b: a >= b,
}


def get_path(facts: Any, path: str) -> Any:
    """Value at a dotted path, or None when any step is absent."""
    return _getter(path)(facts)


@functools.cache  # one accessor per distinct path, shared by every rule that reads it
def _getter(path: str) -> Callable[[Any], Any]:
    """A fast accessor for path (facts are plain dicts from model_dump; checked with
    `type(...) is dict` because an ABC isinstance check dominated the evaluator's time)."""
    parts = tuple(path.split("."))

    def get(facts: Any) -> Any:
        value = facts
        for part in parts:
            if type(value) is not dict and not isinstance(value, Mapping):
                return None
            value = value.get(part)
            if value is None:
                return None
        return value

    return get


def _operand(op: Operand) -> Callable[[Facts], Any]:
    if isinstance(op, Literal_):
        value = op.value
        return lambda facts: value
    get, days = _getter(op.path), op.plus_days
    if days:
        delta = dt.timedelta(days=days)

        def shifted(facts: Facts) -> Any:
            v = get(facts)
            return None if v is None else v + delta

        return shifted
    return get


def compile_condition(cond: Condition) -> Check:
    """A closure that evaluates cond over a facts mapping. Absent values make atoms false."""
    match cond:
        case All(items=items):
            parts = [compile_condition(c) for c in items]
            return lambda facts: all(p(facts) for p in parts)
        case AnyOf(items=items):
            parts = [compile_condition(c) for c in items]
            return lambda facts: any(p(facts) for p in parts)
        case Not(item=item):
            inner = compile_condition(item)
            return lambda facts: not inner(facts)
        case Compare():
            get, fn, right = _getter(cond.path), _OPS[cond.op], _operand(cond.right)

            def compare(facts: Facts) -> bool:
                a, b = get(facts), right(facts)
                return a is not None and b is not None and fn(a, b)

            return compare
        case InSet():
            get, values = _getter(cond.path), frozenset(cond.values)
            return lambda facts: get(facts) in values
        case Present():
            get = _getter(cond.path)
            return lambda facts: get(facts) is not None
        case Contains():
            get, right = _getter(cond.path), _operand(cond.right)

            def contains(facts: Facts) -> bool:
                items, v = get(facts), right(facts)
                return items is not None and v is not None and v in items

            return contains
        case Count():
            get, fn, right = _getter(cond.path), _OPS[cond.op], _operand(cond.right)

            def count(facts: Facts) -> bool:
                items, n = get(facts), right(facts)
                return items is not None and n is not None and fn(len(items), n)

            return count
        case Quantified():
            get, inner = _getter(cond.path), compile_condition(cond.cond)
            if cond.every:
                return lambda facts: (items := get(facts)) is not None and all(inner(i) for i in items)
            return lambda facts: (items := get(facts)) is not None and any(inner(i) for i in items)
        case _:
            assert_never(cond)
