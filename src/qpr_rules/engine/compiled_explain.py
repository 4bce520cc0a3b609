"""Why a rule did not fire, read straight from the validated fact model.

The same text as `reference.explain_failure` over the model's dump (the differential tests
compare them on every case), without the dump and the closure walk: each condition node it
visits is tested by a function compiled (engine/compiled.py) for that node alone, built the
first time an explanation reaches it, and fact values are read by attribute. Values are shown
as the dump would show them: a nested model, or a list of them, is dumped for display only.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, assert_never

from pydantic import BaseModel

from qpr_rules.engine.compiled import compile_decision
from qpr_rules.policy.conditions import (
    All,
    AnyOf,
    Compare,
    Condition,
    Contains,
    Count,
    FactRef,
    InSet,
    Not,
    Present,
    Quantified,
    _show,
    render,
)

_Test = Callable[[Any], int]


class ModelExplainer:
    """Explanations for one decision's fact model; memoises per condition node."""

    def __init__(self, model: type[BaseModel]) -> None:
        self.model = model
        self._tests: dict[int, tuple[Condition, _Test, str]] = {}  # id(node) -> node kept alive

    def _node(self, cond: Condition) -> tuple[_Test, str]:
        entry = self._tests.get(id(cond))
        if entry is None:
            test = compile_decision(self.model, [cond], "explanation").mask
            entry = self._tests[id(cond)] = (cond, test, render(cond))
        return entry[1], entry[2]

    def explain(self, cond: Condition, facts: Any) -> str | None:
        """Why cond is false for facts (a validated model); None if it holds."""
        test, rendered = self._node(cond)
        if test(facts):
            return None
        match cond:
            case All():
                for c in cond.items:
                    why = self.explain(c, facts)
                    if why is not None:
                        return why
                return f"{rendered} is false"  # not reached: an All is false through a part
            case Not():
                return (f"{self._node(cond.item)[1]} holds, and the rule requires it not to"
                        f"{_actual(cond.item, facts)}")
            case AnyOf():
                return "none of these holds: " + "; ".join(
                    f"{self._node(c)[1]}{_actual(c, facts)}" for c in cond.items)
            case Compare() | InSet() | Present() | Contains() | Count() | Quantified():
                return f"{rendered} is false{_actual(cond, facts)}"
            case _:
                assert_never(cond)


def _get(facts: Any, path: str) -> Any:
    value = facts
    for part in path.split("."):
        value = getattr(value, part)
        if value is None:
            return None
    return value


def _as_dumped(value: Any) -> Any:
    """value as model_dump(mode="python") holds it, for display."""
    if isinstance(value, BaseModel):
        return value.model_dump(mode="python")
    if isinstance(value, list) and value and isinstance(value[0], BaseModel):
        return [v.model_dump(mode="python") for v in value]
    return value


def _actual(cond: Condition, facts: Any) -> str:
    """' (home.hold.kind is pending_qpr)' for the fact values an atom reads (as reference._actual)."""
    match cond:
        case All() | AnyOf() | Not():
            return ""
        case Compare() | InSet() | Present() | Contains() | Count() | Quantified():
            pass
        case _:
            assert_never(cond)
    shown = []
    paths = [cond.path]
    right = getattr(cond, "right", None)
    if isinstance(right, FactRef):
        paths.append(right.path)
    for p in paths:
        v = _get(facts, p)
        if isinstance(cond, Count) and p == cond.path and v is not None:
            shown.append(f"number of {p} is {len(v)}")
        else:
            shown.append(f"{p} is {'absent' if v is None else _show(_as_dumped(v))}")
    return " (" + ", ".join(shown) + ")"
