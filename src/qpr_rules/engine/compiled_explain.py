"""Why a rule did not fire, read straight from the validated fact model.

The same text as `reference.explain_failure` over the model's dump (the differential tests
compare them on every case), without the dump and the closure walk: each rule's explanation is
one generated function (engine/compiled.py writes its tests and reads), built the first time
that rule is explained. Values are shown as the dump would show them: a nested model, or a
list of them, is dumped for display only.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, assert_never

from pydantic import BaseModel

from qpr_rules.engine.compiled import Writer, build_function, resolve
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

Explain = Callable[[Any], "str | None"]


class ModelExplainer:
    """Explanations for one decision's fact model: one generated function per condition,
    compiled the first time that condition is explained (a rule that always fires never pays)."""

    def __init__(self, model: type[BaseModel]) -> None:
        self.model = model
        self._explainers: dict[int, tuple[Condition, Explain]] = {}  # id(node) -> node kept alive
        self.budget = Budget(EXPLAIN_BUDGET_BYTES)  # shared by every rule's memo of texts

    def explain(self, cond: Condition, facts: Any) -> str | None:
        """Why cond is false for facts (a validated model); None if it holds."""
        entry = self._explainers.get(id(cond))
        if entry is None:
            entry = self._explainers[id(cond)] = (cond, compile_explainer(self.model, cond, self.budget)[0])
        return entry[1](facts)


class Budget:
    """Bytes that memos may still take (texts kept stay kept; once spent, texts are computed)."""

    __slots__ = ("left",)

    def __init__(self, size: int) -> None:
        self.left = size

    def take(self, size: int) -> bool:
        if size > self.left:
            return False
        self.left -= size
        return True


def compile_explainer(model: type[BaseModel], cond: Condition,
                      budget: Budget | None = None) -> tuple[Explain, str]:
    """A function giving reference.explain_failure's text for cond over a validated model, as
    straight-line code: each test and each shown value is written out, nothing is walked.

    When every value the explanation reads is a plain scalar (no list, object or float, whose
    display could differ between equal values), the text is a function of those values alone and
    is memoised on them: over many cases the same few texts recur."""
    writer = Writer(model)
    body = [f"if {writer.cond(cond)}:", "    return None", *_why_false(writer, cond)]
    label = f"explanation of {render(cond)[:60]}"
    fn, source = build_function(writer, body, "explain", label, {"_display": _display})
    if not all(resolve(model, p).kind in _MEMO_KINDS for p in writer.read):
        return fn, source
    key_fn, key_source = build_function(
        writer, [f"return ({''.join(writer.paths[p] + ', ' for p in writer.read)})"], "key", label)
    return _memoised(fn, key_fn, budget or Budget(EXPLAIN_BUDGET_BYTES)), source + key_source


_MEMO_KINDS = frozenset({"bool", "int", "string", "enum", "date"})
#: Bytes of explanation texts memoised per decision, over all its rules (an estimate: the text,
#: its key and the slot): a policy of thousands of rules cannot grow it with its size.
EXPLAIN_BUDGET_BYTES = 4 * 1024 * 1024
_SLOT_BYTES = 200
_MISS: Any = object()


def _memoised(explain: Explain, key: Callable[[Any], tuple[Any, ...]], budget: Budget) -> Explain:
    memo: dict[tuple[Any, ...], str | None] = {}

    def explain_memoised(facts: Any) -> str | None:
        k = key(facts)
        text = memo.get(k, _MISS)
        if text is _MISS:
            text = explain(facts)
            if budget.take(_SLOT_BYTES + len(text or "")):
                memo[k] = text
        return text

    return explain_memoised


def _why_false(writer: Writer, cond: Condition) -> list[str]:
    """Statements returning why cond, known to be false, is false (explain_failure's cases)."""
    match cond:
        case All():
            lines = []
            for c in cond.items:  # the first part that is false explains the whole
                lines.append(f"if not {writer.cond(c)}:")
                lines += ["    " + line for line in _why_false(writer, c)]
            return [*lines, f"return {render(cond) + ' is false'!r}"]  # not reached
        case Not():
            return [f"return {render(cond.item) + ' holds, and the rule requires it not to'!r}"
                    f" + {_actual(writer, cond.item)}"]
        case AnyOf():
            parts = " + '; ' + ".join(f"{render(c)!r} + {_actual(writer, c)}" for c in cond.items)
            return [f"return 'none of these holds: ' + {parts}"]
        case Compare() | InSet() | Present() | Contains() | Count() | Quantified():
            return [f"return {render(cond) + ' is false'!r} + {_actual(writer, cond)}"]
        case _:
            assert_never(cond)


def _actual(writer: Writer, cond: Condition) -> str:
    """An expression for ' (home.hold.kind is pending_qpr)': the values an atom reads, as
    reference._actual shows them."""
    match cond:
        case All() | AnyOf() | Not():
            return "''"
        case Compare() | InSet() | Present() | Contains() | Count() | Quantified():
            pass
        case _:
            assert_never(cond)
    paths = [cond.path]
    right = getattr(cond, "right", None)
    if isinstance(right, FactRef):
        paths.append(right.path)
    shown = []
    for p in paths:
        value, _ = writer.path(p)
        if isinstance(cond, Count) and p == cond.path:
            shown.append(f"({'number of ' + p + ' is '!r} + str(len({value})) if {value} is not None "
                         f"else {p + ' is absent'!r})")
        else:
            shown.append(f"({p + ' is '!r} + ('absent' if {value} is None else _display({value})))")
    return "(' (' + " + " + ', ' + ".join(shown) + " + ')')"


def _display(value: Any) -> str:
    return _show(_as_dumped(value))


def _as_dumped(value: Any) -> Any:
    """value as model_dump(mode="python") holds it, for display."""
    if isinstance(value, BaseModel):
        return value.model_dump(mode="python")
    if isinstance(value, list) and value and isinstance(value[0], BaseModel):
        return [v.model_dump(mode="python") for v in value]
    return value
