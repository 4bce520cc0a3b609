"""The reference evaluator: conditions compiled once into plain Python closures.

It is the second opinion on every durable_rules answer (the engine fails closed when
the two disagree) and the source of explanations: for a rule that did not fire, it
names the first condition that failed and the fact values it saw.
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
    FactRef,
    InSet,
    Literal_,
    Not,
    Operand,
    Present,
    Quantified,
    _show,
    render,
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


def _node(cond: Condition) -> tuple[Check, str]:
    """The node's closure and rendering, memoised on the node itself (explanations revisit the
    same subtrees on every call; the memo lives and dies with the loaded policy)."""
    memo: tuple[Check, str] | None = cond.__dict__.get("_reference_memo")
    if memo is None:
        memo = (compile_condition(cond), render(cond))
        object.__setattr__(cond, "_reference_memo", memo)  # a frozen dataclass: not a field
    return memo


def _cached(cond: Condition) -> Check:
    return _node(cond)[0]


def _rendered(cond: Condition) -> str:
    return _node(cond)[1]


def explain_failure(cond: Condition, facts: Facts) -> str | None:
    """Why cond is false for facts (the first failing part, with actual values); None if true."""
    if _cached(cond)(facts):
        return None
    match cond:
        case All(items=items):
            for c in items:
                why = explain_failure(c, facts)
                if why is not None:
                    return why
            return f"{_rendered(cond)} is false"
        case Not(item=item):
            return f"{_rendered(item)} holds, and the rule requires it not to{_actual(item, facts)}"
        case AnyOf(items=items):
            return "none of these holds: " + "; ".join(
                f"{_rendered(c)}{_actual(c, facts)}" for c in items
            )
        case Compare() | InSet() | Present() | Contains() | Count() | Quantified():
            return f"{_rendered(cond)} is false{_actual(cond, facts)}"
        case _:
            assert_never(cond)


def _actual(cond: Condition, facts: Facts) -> str:
    """' (home.hold.kind is pending_qpr)' for the fact values an atom reads."""
    match cond:
        case All() | AnyOf() | Not():
            return ""
        case Compare(path=path, right=right) | Contains(path=path, right=right) | Count(
                path=path, right=right):
            paths = [path, right.path] if isinstance(right, FactRef) else [path]
        case InSet(path=path) | Present(path=path) | Quantified(path=path):
            paths = [path]
        case _:
            assert_never(cond)
    shown = []
    for p in paths:
        v = get_path(facts, p)
        if isinstance(cond, Count) and p == cond.path and v is not None:
            shown.append(f"number of {p} is {len(v)}")
        else:
            shown.append(f"{p} is {'absent' if v is None else _show(v)}")
    return " (" + ", ".join(shown) + ")"
