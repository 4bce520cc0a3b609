"""Compile conditions into durable_rules JSON rule expressions.

durable_rules' own semantics differ from plain logic in ways that produced wrong
"allow" answers when measured (see shared notes): there is no `$in`, `$not` does not
negate, `$iall` is false on an empty list, and any comparison with an absent field is
false, so negating one is false too. Negations are therefore pushed down to the atoms
(negation normal form), where each negated atom is written with the opposite operator
OR'ed with "the field is absent", and list quantifiers use a length projection
(`__len__<path>`, added to every message by messages.py) to handle empty lists. An item
condition with alternatives under `some` is written as one `$iany` per alternative: durable_rules
keeps only the last test it made on an item (`_some`, issue 18.7).
"""

from __future__ import annotations

import datetime as dt
from enum import Enum
from typing import Any, assert_never

from qpr_rules.policy.conditions import (
    NEGATED_OP,
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

MARKER = "__qpr__"
Expr = dict[str, Any]


def len_key(path: str) -> str:
    """Top-level message key holding the length of the list at path."""
    return "__len__" + path.replace(".", "__")


def encode_scalar(value: Any) -> Any:
    """The message form of a scalar: dates as day ordinals (durable compares numbers only)."""
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, dt.date):
        return value.toordinal()
    return value


def compile_rule_expression(cond: Condition) -> Expr:
    """The `m` expression of a durable rule for cond, guarded by the case marker."""
    return {"$and": [{MARKER: 1}, _compile(cond, negate=False, prefix="")]}


def _absent(path: str) -> Expr:
    return {"$nex": {path: 1}}


def _either(*exprs: Expr) -> Expr:
    return exprs[0] if len(exprs) == 1 else {"$or": list(exprs)}


def _both(*exprs: Expr) -> Expr:
    return exprs[0] if len(exprs) == 1 else {"$and": list(exprs)}


def _cmp(path: str, op: str, rhs: Any) -> Expr:
    return {path: rhs} if op == "eq" else {f"${'neq' if op == 'ne' else op}": {path: rhs}}


def _rhs(op: Operand, prefix: str) -> Any:
    if isinstance(op, Literal_):
        return encode_scalar(op.value)
    ref: Expr = {"$m": op.path}
    if op.plus_days:
        ref = {"$add": {"$l": ref, "$r": op.plus_days}}
    return ref


def _absent_cases(*operands: tuple[str, bool]) -> list[Expr]:
    """`$nex` tests for the optional fields among (path, optional): a comparison with an absent
    field is false in durable_rules, so its negation must also accept absence explicitly."""
    return [_absent(path) for path, optional in operands if optional]


def _present_refs(op: Operand) -> list[Expr]:
    """`$ex` tests for an optional fact on the right: durable_rules does not make a comparison
    with an absent `$m` reference false (measured: `count >= absent` matched)."""
    return [{"$ex": {op.path: 1}}] if isinstance(op, FactRef) and op.optional else []


def _ref(op: Operand, prefix: str) -> list[tuple[str, bool]]:
    return [(prefix + op.path, op.optional)] if isinstance(op, FactRef) else []


def _compile(cond: Condition, negate: bool, prefix: str) -> Expr:
    match cond:
        case Not(item=item):
            return _compile(item, not negate, prefix)
        case All(items=items) | AnyOf(items=items):
            parts = [_compile(c, negate, prefix) for c in items]
            conjunctive = isinstance(cond, All) != negate
            return _both(*parts) if conjunctive else _either(*parts)
        case Compare():
            path = prefix + cond.path
            if not negate:
                return _both(*_present_refs(cond.right), _cmp(path, cond.op, _rhs(cond.right, prefix)))
            absent = _absent_cases((path, cond.ftype.optional), *_ref(cond.right, ""))
            return _either(*absent, _cmp(path, NEGATED_OP[cond.op], _rhs(cond.right, prefix)))
        case InSet():
            path = prefix + cond.path
            values = [encode_scalar(v) for v in cond.values]
            if not negate:
                return _either(*({path: v} for v in values))
            absent = _absent_cases((path, cond.ftype.optional))
            return _either(*absent, _both(*({"$neq": {path: v}} for v in values)))
        case Present():
            path = prefix + cond.path
            return _absent(path) if negate else {"$ex": {path: 1}}
        case Contains():
            return _contains(cond, prefix + cond.path, negate)
        case Count():
            length = len_key(cond.path)
            if not negate:
                return _both(*_present_refs(cond.right), _cmp(length, cond.op, _rhs(cond.right, prefix)))
            absent = _absent_cases((length, cond.optional), *_ref(cond.right, ""))
            return _either(*absent, _cmp(length, NEGATED_OP[cond.op], _rhs(cond.right, prefix)))
        case Quantified():
            path = prefix + cond.path
            empty = {len_key(cond.path): 0}
            # some:  $iany(c)              not some:  absent | empty | $iall(not c)
            # every: empty | $iall(c)      not every: absent | $iany(not c)
            if not cond.every and not negate:
                return _some(path, _compile(cond.cond, False, "$i."))
            absent = _absent_cases((path, cond.optional))
            if not cond.every:
                return _either(*absent, empty, _over_items("$iall", path, _compile(cond.cond, True, "$i.")))
            if not negate:
                return _either(empty, _over_items("$iall", path, _compile(cond.cond, False, "$i.")))
            return _either(*absent, _some(path, _compile(cond.cond, True, "$i.")))
        case _:
            assert_never(cond)


def _some(path: str, item: Expr) -> Expr:
    """"Some item of the list at path satisfies item", written so durable_rules gets it right.

    Inside `$iany`/`$iall` durable_rules tests an item's fields one after another and keeps only
    the last result (`isArrayMatch` in its events.c): an alternative that held on one field is
    forgotten when a test on a later field fails (issue 18.7: `some: {any: [age lt 3, gender in
    [female, male]]}` was false for a child aged 1, nonbinary). A conjunction is safe, so an item
    condition with alternatives is written as one `$iany` per alternative (its disjunctive normal
    form), which is the same condition: some(a or b) == some(a) or some(b). The universal
    quantifier has no such split; the loader refuses alternatives under it
    (policy/condition_parser.py)."""
    terms = _terms(item)
    if len(terms) == 1:
        return _over_items("$iany", path, item)
    return _either(*(_over_items("$iany", path, _both(*term)) for term in terms))


def _over_items(op: str, path: str, item: Expr) -> Expr:
    """`$iany` / `$iall` of item over the list at path; never with an item whose last test is an
    alternative (`$or`, or an `$and` ending in one).

    durable_rules registers such a rule by reading a field of the `$or`'s node that it never set
    (rete.c, createAlpha: `newAlpha->value.a.expression.right.type` of the node made by
    createForwardAlpha, in memory from realloc, never cleared): when the leftover byte happens to
    read as an identifier or an expression, create_ruleset fails with error 102
    (ERR_UNEXPECTED_TYPE), depending on what the process's memory held before, so the same
    ruleset registers in one process and not in another (measured: 0 to 22 of 200 rulesets in
    each of 5 fresh processes). The loader refuses alternatives under a universal quantifier and
    `_some` writes one `$iany` per alternative, so no valid policy gets here; this says so if a
    change ever makes one."""
    if ends_in_alternative(item):
        raise ValueError(f"{op} over {path}: an item test ending in an alternative, which "
                         "durable_rules cannot register reliably (error 102)")
    return {op: {path: item}}


def ends_in_alternative(expr: Expr) -> bool:
    """Whether durable_rules' node for expr is an alternative's (the last test of an `$and`)."""
    if "$or" in expr:
        return True
    if "$and" in expr:
        return ends_in_alternative(expr["$and"][-1])
    return False


def _terms(expr: Expr) -> list[list[Expr]]:
    """expr's disjunctive normal form: its alternatives, each a list of tests that must all hold.
    (policy/limits.py counts them, and their `$and`s, from the condition tree.)"""
    if "$or" in expr:
        return [term for part in expr["$or"] for term in _terms(part)]
    if "$and" in expr:
        terms: list[list[Expr]] = [[]]
        for part in expr["$and"]:
            terms = [left + right for left in terms for right in _terms(part)]
        return terms
    return [[expr]]


def _contains(cond: Contains, path: str, negate: bool) -> Expr:
    def has(value: Any) -> Expr:
        return _over_items("$iany", path, {"$i": value})

    def lacks(value: Any) -> Expr:
        return _either(*_absent_cases((path, cond.ftype.optional)), {len_key(cond.path): 0},
                       _over_items("$iall", path, {"$neq": {"$i": value}}))

    if isinstance(cond.right, Literal_):
        value = encode_scalar(cond.right.value)
        return lacks(value) if negate else has(value)
    # No join between a list item and another fact: expand over the finite item values.
    assert cond.ftype.item is not None
    item = cond.ftype.item
    values: list[Any] = list(item.enum_values) if item.kind == "enum" else [True, False]
    ref = cond.right.path
    if not negate:
        return _either(*(_both({ref: v}, has(v)) for v in values))
    absent = _absent_cases((ref, cond.right.optional))
    return _either(*absent, _both(*(_either({"$neq": {ref: v}}, lacks(v)) for v in values)))
