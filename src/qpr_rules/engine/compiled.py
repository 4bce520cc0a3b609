"""The compiled evaluator: a decision's conditions turned once, at load, into one straight-line
Python function over the validated fact model.

The generated function reads every fact path the rules need once (attribute access on the
pydantic model: no `model_dump`, no dict walk), then tests each rule's condition as one Python
expression, and returns a bit mask with bit i set when rule i fired. Nothing is walked per call.

Its semantics are the reference evaluator's (`reference.py`), to the letter, because the two
must agree and the reference still explains the rules that did not fire:

- an absent value (None anywhere on the path) makes an atom false, and so a comparison with
  an absent fact on either side is false;
- `in` is membership in the listed values; `present` is "not None" (an empty list is present);
- `contains` and `count` are false on an absent list; `some` / `every` are false on an absent
  list, and `every` is true on an empty one.

The source is kept (`CompiledDecision.source`) so a reviewer or a failing test can read exactly
what runs.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, assert_never

from pydantic import BaseModel

from qpr_rules.facts.paths import FieldType
from qpr_rules.facts.paths import resolve as _resolve_uncached
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
)

Mask = Callable[[Any], int]
_UNREAD = object()  # a derived field not read yet

# resolve() rebuilds the model's field table at every step; the compiler asks for the same
# prefixes again and again, and models and paths are immutable, so remember each answer
resolve: Callable[[type[BaseModel], str], FieldType] = functools.cache(_resolve_uncached)

_PY_OP = {"eq": "==", "ne": "!=", "lt": "<", "lte": "<=", "gt": ">", "gte": ">="}


@dataclass(frozen=True)
class CompiledDecision:
    """One decision's rules as a single function: `mask(facts_model)` has bit i set when
    rule i (in the order given) fired."""

    mask: Mask
    source: str


class Writer:
    """Generates the source of one decision's mask function."""

    def __init__(self, model: type[BaseModel]) -> None:
        self.model = model
        self.consts: dict[str, Any] = {}
        self.prelude: list[str] = []
        self.paths: dict[str, str] = {}  # fact path -> local variable holding its value
        self.read: dict[str, None] = {}  # the fact paths read, in order of first use
        self.helpers: list[str] = []
        self._n = 0

    def _fresh(self, stem: str) -> str:
        self._n += 1
        return f"_{stem}{self._n}"

    def const(self, value: Any) -> str:
        """A literal in the generated code: inline where repr round-trips exactly (str, int,
        bool, float), else a named constant in the function's globals (dates, sets, deltas)."""
        if type(value) in (str, int, bool) or (type(value) is float and value == value):
            return repr(value)
        name = self._fresh("k")
        self.consts[name] = value
        return name

    def path(self, path: str) -> tuple[str, bool]:
        """An expression for the value at path, and whether it may be None. Stored fields are
        read once, in the prelude, into a local (each step guarded only where the model allows
        None); a derived field (a computed property, which does work on every read) is read at
        its first use and kept, so a rule that never gets that far never pays for it."""
        self.read.setdefault(path, None)  # what the generated code looks at (not the steps to it)
        return self._path(path)

    def _path(self, path: str) -> tuple[str, bool]:
        if path not in self.paths:
            parent_var, parent_optional = ("f", False)
            if "." in path:
                parent, step = path.rsplit(".", 1)
                parent_var, parent_optional = self._path(parent)
                owner = resolve(self.model, parent).model
            else:
                step, owner = path, self.model
            read = f"{parent_var}.{step}"
            if parent_optional:
                read = f"(None if {parent_var} is None else {read})"
            var = self._fresh("v")
            if owner is not None and step in owner.model_computed_fields:
                self.prelude.append(f"{var} = _UNREAD")
                self.paths[path] = f"({var} if {var} is not _UNREAD else ({var} := {read}))"
            else:
                self.prelude.append(f"{var} = {read}")
                self.paths[path] = var
        return self.paths[path], resolve(self.model, path).optional

    def operand(self, op: Operand) -> tuple[str, bool]:
        """An expression for op and whether it may be None."""
        match op:
            case Literal_():
                return self.const(op.value), op.value is None
            case FactRef():
                var, optional = self.path(op.path)
                if op.plus_days:
                    delta = self.const(dt.timedelta(days=op.plus_days))
                    if optional:
                        return f"(None if {var} is None else {var} + {delta})", True
                    return f"({var} + {delta})", False
                return var, optional
            case _:
                assert_never(op)

    def cond(self, node: Condition) -> str:
        """A Python boolean expression for node over the prelude's variables."""
        match node:
            case All():
                return "(" + " and ".join(self.cond(c) for c in node.items) + ")"
            case AnyOf():
                return "(" + " or ".join(self.cond(c) for c in node.items) + ")"
            case Not():
                return f"(not {self.cond(node.item)})"
            case Compare():
                left, left_opt = self.path(node.path)
                right, right_opt = self.operand(node.right)
                return _guarded([(left, left_opt), (right, right_opt)],
                                f"{left} {_PY_OP[node.op]} {right}")
            case InSet():
                var, _ = self.path(node.path)
                return f"({var} in {self.const(frozenset(node.values))})"
            case Present():
                var, optional = self.path(node.path)
                return f"({var} is not None)" if optional else "True"
            case Contains():
                items, items_opt = self.path(node.path)
                value, value_opt = self.operand(node.right)
                return _guarded([(items, items_opt), (value, value_opt)], f"{value} in {items}")
            case Count():
                items, items_opt = self.path(node.path)
                n, n_opt = self.operand(node.right)
                return _guarded([(items, items_opt), (n, n_opt)],
                                f"len({items}) {_PY_OP[node.op]} {n}")
            case Quantified():
                items, items_opt = self.path(node.path)
                helper = self._quantifier(node)
                return _guarded([(items, items_opt)], f"{helper}({items})")
            case _:
                assert_never(node)

    def _quantifier(self, node: Quantified) -> str:
        """A helper function over the list's items: a loop that returns at the first item
        deciding the answer (no generator per call). Item conditions read item fields only
        (the loader refuses references to outer facts inside some/every)."""
        item_type = resolve(self.model, node.path).item
        assert item_type is not None and item_type.model is not None
        inner = Writer(item_type.model)
        inner._n = self._n + 1000  # distinct names: the helper shares the module globals
        test = inner.cond(node.cond)
        self._n = inner._n
        self.consts.update(inner.consts)
        self.helpers.extend(inner.helpers)
        name = self._fresh("q")
        body = ["    " + line for line in inner.prelude]
        if node.every:
            loop = [f"def {name}(items):", "    for f in items:", *["    " + b for b in body],
                    f"        if not {test}:", "            return False", "    return True"]
        else:
            loop = [f"def {name}(items):", "    for f in items:", *["    " + b for b in body],
                    f"        if {test}:", "            return True", "    return False"]
        self.helpers.append("\n".join(loop))
        return name


def _guarded(values: list[tuple[str, bool]], test: str) -> str:
    """test, preceded by `is not None` checks for the values that may be absent."""
    # plain locals first: a derived field is only read once the cheap checks have passed
    checks = sorted((f"{v} is not None" for v, optional in values if optional), key=lambda c: ":=" in c)
    return "(" + " and ".join([*checks, test]) + ")"


def build_function(writer: Writer, body: Sequence[str], name: str, label: str,
                   extra: dict[str, Any] | None = None, params: str = "f") -> tuple[Callable[..., Any], str]:
    """`def name(f):` (or `def name(PARAMS):`, f first) with the writer's prelude then body
    (lines, indented one level), compiled; returns the function and its source."""
    lines = [*writer.helpers, f"def {name}({params}):", *["    " + line for line in writer.prelude],
             *["    " + line for line in body]]
    source = "\n".join(lines) + "\n"
    namespace: dict[str, Any] = {**writer.consts, "_UNREAD": _UNREAD, **(extra or {})}
    # the source is generated from the typed condition tree, never from policy text: every
    # name in it is a local, a constant above, or an attribute checked against the fact model;
    # policy text (an explanation's wording) only ever enters it through repr() of a str
    exec(compile(source, f"<qpr-rules compiled {label}>", "exec"), namespace)
    return namespace[name], source


#: Rules keyed on the same fact (an `all` whose first item is `in: [...]` over it) are looked up
#: by that fact's value, not tested one by one, when at least this many share it: a large policy
#: (rules per home, per program) then costs the rules the facts can fire, not every rule.
INDEX_MIN_RULES = 16


def _key(cond: Condition) -> InSet | None:
    """The `in` test a rule's condition starts with (its key), if any."""
    if isinstance(cond, All) and cond.items and isinstance(cond.items[0], InSet):
        return cond.items[0]
    return None


def compile_decision(model: type[BaseModel], conditions: Sequence[Condition],
                     name: str = "decision") -> CompiledDecision:
    """Compile the conditions of one decision's rules (in evaluation order) into one function.

    Rules keyed on a fact shared by INDEX_MIN_RULES rules or more are found through a table from
    that fact's value to the mask of the rules whose key admits it; only those rules' other
    conditions are then tested, each by a function of the values read (the same expression the
    rule would have had inline, so the same answer)."""
    writer = Writer(model)
    keyed: dict[str, list[int]] = {}
    for i, cond in enumerate(conditions):
        key = _key(cond)
        if key is not None:
            keyed.setdefault(key.path, []).append(i)
    indexed = {path: members for path, members in keyed.items() if len(members) >= INDEX_MIN_RULES}
    in_index = {i for members in indexed.values() for i in members}
    body = ["m = 0", *[f"if {writer.cond(c)}:\n        m |= {1 << i}"
                       for i, c in enumerate(conditions) if i not in in_index]]
    extra: dict[str, Any] = {}
    for n, (path, members) in enumerate(indexed.items()):
        var, _ = writer.path(path)
        rests: dict[int, str] = {}
        for i in members:
            cond = conditions[i]
            assert isinstance(cond, All)
            rest = cond.items[1:]
            rests[i] = writer.cond(dataclasses.replace(cond, items=rest)) if rest else "True"
        args = sorted({v for test in rests.values() for v in re.findall(r"\b_v\d+\b", test)},
                      key=lambda v: int(v[2:]))
        params = ", ".join(["f", *args])
        for i, test in rests.items():
            writer.helpers.append(f"def _rest{n}_{i}({params}):\n    return {test}")
        # value -> the (bit, function name) of each rule whose key admits it, bound once compiled
        table: dict[Any, list[tuple[int, str]]] = {}
        for i in members:
            key = _key(conditions[i])
            assert key is not None
            for value in dict.fromkeys(key.values):
                table.setdefault(value, []).append((1 << i, f"_rest{n}_{i}"))
        extra[f"_ix{n}"] = table
        body += [f"for _b, _t in _ix{n}.get({var}, ()):", f"    if _t({params}):", "        m |= _b"]
    body.append("return m")
    mask, source = build_function(writer, body, "mask", name, extra)
    namespace = mask.__globals__
    for n in range(len(indexed)):
        namespace[f"_ix{n}"] = {value: tuple((bit, namespace[fn]) for bit, fn in rules)
                                for value, rules in namespace[f"_ix{n}"].items()}
    return CompiledDecision(mask, source)
