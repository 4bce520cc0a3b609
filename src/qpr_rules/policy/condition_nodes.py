"""The condition tree: node types and the operator tables they use.

A consumer of the tree (the durable compiler, the reference evaluator, explanations, the SMT
translation in analysis/prove) walks it with one `match` over `Condition` ending in
`assert_never`, so adding a node type is an error in every consumer until it is handled.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Literal, assert_never

from qpr_rules.facts.paths import FieldType

Loc = tuple[str | int, ...]
CmpOp = Literal["eq", "ne", "lt", "lte", "gt", "gte"]

COMPARE_OPS: dict[str, CmpOp] = {
    "eq": "eq", "ne": "ne", "lt": "lt", "lte": "lte", "gt": "gt", "gte": "gte",
    "before": "lt", "after": "gt", "on_or_before": "lte", "on_or_after": "gte",
}
DATE_ONLY_OPS = {"before", "after", "on_or_before", "on_or_after"}
ATOM_OPS = [*COMPARE_OPS, "in", "not_in", "present", "contains", "count", "some", "every",
            "within_days"]
COMBINATORS = ["all", "any", "not"]
NEGATED_OP: dict[CmpOp, CmpOp] = {
    "eq": "ne", "ne": "eq", "lt": "gte", "gte": "lt", "gt": "lte", "lte": "gt",
}

Scalar = bool | int | float | str | dt.date


@dataclass(frozen=True)
class Literal_:
    value: Scalar
    param: str | None = None

    def render(self) -> str:
        from qpr_rules.policy.condition_format import show

        shown = show(self.value)
        return f"{shown} (parameter {self.param})" if self.param else shown


@dataclass(frozen=True)
class FactRef:
    path: str
    plus_days: int = 0
    optional: bool = field(default=False, compare=False)  # the fact may be absent

    def render(self) -> str:
        if self.plus_days:
            sign = "+" if self.plus_days > 0 else "-"
            return f"{self.path} {sign} {abs(self.plus_days)} days"
        return self.path


Operand = Literal_ | FactRef


@dataclass(frozen=True)
class Node:
    loc: Loc = field(compare=False)


@dataclass(frozen=True)
class All(Node):
    items: tuple[Condition, ...]


@dataclass(frozen=True)
class AnyOf(Node):
    items: tuple[Condition, ...]


@dataclass(frozen=True)
class Not(Node):
    item: Condition


@dataclass(frozen=True)
class Compare(Node):
    path: str
    op: CmpOp
    right: Operand
    ftype: FieldType = field(compare=False)


@dataclass(frozen=True)
class InSet(Node):
    path: str
    values: tuple[Scalar, ...]
    ftype: FieldType = field(compare=False)


@dataclass(frozen=True)
class Present(Node):
    path: str


@dataclass(frozen=True)
class Contains(Node):
    path: str
    right: Operand
    ftype: FieldType = field(compare=False)  # the list's type


@dataclass(frozen=True)
class Count(Node):
    path: str
    op: CmpOp
    right: Operand
    optional: bool = field(default=False, compare=False)


@dataclass(frozen=True)
class Quantified(Node):
    path: str
    every: bool
    cond: Condition
    optional: bool = field(default=False, compare=False)


Condition = All | AnyOf | Not | Compare | InSet | Present | Contains | Count | Quantified
ATOMS = (Compare, InSet, Present, Contains, Count, Quantified)


def atoms(cond: Condition) -> list[Condition]:
    """The atomic conditions of a tree, in document order (for condition coverage)."""
    match cond:
        case All(items=items) | AnyOf(items=items):
            return [a for c in items for a in atoms(c)]
        case Not(item=item):
            return atoms(item)
        case Compare() | InSet() | Present() | Contains() | Count() | Quantified():
            return [cond]
        case _:
            assert_never(cond)


def fact_paths(cond: Condition) -> set[str]:
    """Top-level fact paths a condition reads (quantified items' fields are not included)."""
    match cond:
        case All(items=items) | AnyOf(items=items):
            return set().union(*(fact_paths(c) for c in items))
        case Not(item=item):
            return fact_paths(item)
        case Compare(path=path, right=right) | Contains(path=path, right=right) | Count(
                path=path, right=right):
            return {path, right.path} if isinstance(right, FactRef) else {path}
        case InSet(path=path) | Present(path=path) | Quantified(path=path):
            return {path}
        case _:
            assert_never(cond)
