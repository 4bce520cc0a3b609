"""The condition tree in SMT, with the reference evaluator's semantics exactly.

An atom on an absent fact is false (so its negation is true); `some` is false and `every` true
on an empty list, both false on an absent one. Each condition gives two formulas: its value,
and whether evaluating it raises (a date shifted by `plus_days` past year 9999 raises in
Python, and the engine then answers the decision's on_error outcome), with the same
short-circuit order as the reference evaluator's `all`/`any`.

`contains`, `some` and `every` read the list's slots; past them, items repeat the last slot
(nothing to add) or, on an arbitrary list, are read on a ghost item kept for the condition
(see smt_facts): `some` may hold on it, `every` may fail on it.
"""

from __future__ import annotations

import datetime as dt
import typing
from collections.abc import Callable
from typing import assert_never

import z3

from qpr_rules.analysis.smt_facts import (
    DATE_MAX,
    DATE_MIN,
    Enc,
    ListEnc,
    ObjEnc,
    ScalarEnc,
    code_of,
    enum_index,
    lookup,
)
from qpr_rules.facts.paths import FieldType
from qpr_rules.policy.condition_nodes import (
    All,
    AnyOf,
    CmpOp,
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
    Scalar,
)

FALSE = z3.BoolVal(False)
TRUE = z3.BoolVal(True)


class Term:
    """An operand's value: present, value, and whether computing it raises."""

    def __init__(self, present: z3.BoolRef, value: z3.ExprRef, error: z3.BoolRef = FALSE) -> None:
        self.present, self.value, self.error = present, value, error


def literal(value: Scalar, ft: FieldType) -> z3.ExprRef:
    """A literal as the z3 constant the fact encoding uses for a field of type ft."""
    if isinstance(value, bool):
        return z3.BoolVal(value)
    if isinstance(value, dt.date):
        return z3.IntVal(value.toordinal())
    if isinstance(value, str):
        return z3.IntVal(enum_index(ft, value)) if ft.kind == "enum" else z3.StringVal(value)
    if isinstance(value, int):
        return z3.IntVal(value)
    return z3.RealVal(value)


def _cmp(op: CmpOp, a: z3.ExprRef, b: z3.ExprRef) -> z3.BoolRef:
    match op:
        case "eq":
            return a == b
        case "ne":
            return a != b
        case "lt":
            return a < b
        case "lte":
            return a <= b
        case "gt":
            return a > b
        case "gte":
            return a >= b
        case _:
            assert_never(op)


def _scalar(enc: Enc) -> ScalarEnc:
    assert isinstance(enc, ScalarEnc), enc
    return enc


def _list(enc: Enc) -> ListEnc:
    assert isinstance(enc, ListEnc), enc
    return enc


def operand(op: Operand, ft: FieldType, scope: ObjEnc) -> Term:
    match op:
        case Literal_(value=value):
            return Term(TRUE, literal(value, ft))
        case FactRef(path=path, plus_days=days):
            enc = _scalar(lookup(scope, path))
            assert enc.codes is None, path  # coded text is compared with literals only
            if not days:
                return Term(enc.present, enc.value)
            shifted = enc.value + days
            # date + timedelta raises OverflowError outside date.min..date.max
            overflow = z3.And(enc.present, z3.Or(shifted < DATE_MIN, shifted > DATE_MAX))
            return Term(enc.present, shifted, overflow)
        case _:
            assert_never(op)


#: Translations already made, by (id of the condition, id of the scope): a decision's rules
#: share conditions with their conjuncts (static_parts translates those again), and each is
#: kept alive by the policy and the encoding while the memo is.
Memo = dict[tuple[int, int], tuple[z3.BoolRef, z3.BoolRef]]


def translate(cond: Condition, scope: ObjEnc, memo: Memo | None = None) -> tuple[z3.BoolRef, z3.BoolRef]:
    """(value, raises) of cond over the facts encoded in scope (memo: translations to reuse)."""
    if memo is None:
        return _translate(cond, scope, {})
    key = (id(cond), id(scope))
    done = memo.get(key)
    if done is None:
        done = memo[key] = _translate(cond, scope, memo)
    return done


def _translate(cond: Condition, scope: ObjEnc, memo: Memo) -> tuple[z3.BoolRef, z3.BoolRef]:
    match cond:
        case All(items=items):
            parts = [translate(c, scope, memo) for c in items]
            return _and([v for v, _ in parts]), _short_circuit(parts, stop_on=False)
        case AnyOf(items=items):
            parts = [translate(c, scope, memo) for c in items]
            return _or([v for v, _ in parts]), _short_circuit(parts, stop_on=True)
        case Not(item=item):
            value, error = translate(item, scope, memo)
            return z3.Not(value), error
        case Compare(path=path, op=op, right=right, ftype=ftype):
            a = _scalar(lookup(scope, path))
            if a.codes is not None:  # text as a code (smt_facts): compared with literals only
                assert op in ("eq", "ne") and isinstance(right, Literal_), (op, right)
                return z3.And(a.present, _cmp(op, a.value, z3.IntVal(code_of(a, str(right.value))))), FALSE
            b = operand(right, ftype, scope)
            return z3.And(a.present, b.present, _cmp(op, a.value, b.value)), b.error
        case InSet(path=path, values=values, ftype=ftype):
            a = _scalar(lookup(scope, path))
            if a.codes is not None:
                named = sorted({code_of(a, str(v)) for v in values})
                return _and([a.present, _or([_eq(a.value, z3.IntVal(c)) for c in named])]), FALSE
            if ftype.kind in ("string", "enum"):  # the literal has the field's sort: no coercion
                return _and([a.present, _or([_eq(a.value, literal(v, ftype)) for v in values])]), FALSE
            return z3.And(a.present, z3.Or(*[a.value == literal(v, ftype) for v in values])), FALSE
        case Present(path=path):
            return lookup(scope, path).present, FALSE
        case Contains(path=path, right=right, ftype=ftype):
            lst = _list(lookup(scope, path))
            assert ftype.item is not None
            v = operand(right, ftype.item, scope)
            member = z3.Or(*[z3.And(g, _scalar(item).value == v.value) for g, item in lst.items],
                           _beyond(lst, ("contains", v.value.get_id()),
                                   lambda item, _: _scalar(item).value == v.value))
            return z3.And(lst.present, v.present, member), v.error
        case Count(path=path, op=op, right=right):
            lst = _list(lookup(scope, path))
            n = operand(right, FieldType("int"), scope)
            return z3.And(lst.present, n.present, _cmp(op, lst.length, n.value)), n.error
        case Quantified(path=path, every=every, cond=inner):
            lst = _list(lookup(scope, path))
            per_item: list[tuple[z3.BoolRef, z3.BoolRef, z3.BoolRef]] = []
            for guard, entry in lst.items:
                assert isinstance(entry, ObjEnc)
                value, error = translate(inner, entry, memo)
                per_item.append((guard, value, error))
            # `every` past the slots: no item there fails (one reading for some and every)
            past = _beyond(lst, ("fails" if every else "passes", inner),
                           lambda item, _: (z3.Not if every else _same)(
                               translate(inner, typing.cast(ObjEnc, item), memo)[0]))
            if every:
                holds = z3.And(*[z3.Implies(g, v) for g, v, _ in per_item], z3.Not(past))
            else:
                holds = z3.Or(*[z3.And(g, v) for g, v, _ in per_item], past)
            return z3.And(lst.present, holds), _item_errors(per_item, stop_on=not every)
        case _:
            assert_never(cond)


def _and(items: list[z3.BoolRef]) -> z3.BoolRef:
    """z3.And of Boolean terms, built through the C API (z3.And checks and coerces each one)."""
    return _app(z3.Z3_mk_and, items)


def _or(items: list[z3.BoolRef]) -> z3.BoolRef:
    return _app(z3.Z3_mk_or, items)


def _app(make: Callable[..., z3.Ast], items: list[z3.BoolRef]) -> z3.BoolRef:
    ctx = z3.main_ctx()
    args = (z3.Ast * len(items))()
    for i, item in enumerate(items):
        args[i] = item.as_ast()
    return z3.BoolRef(make(ctx.ref(), len(items), args), ctx)


def _eq(a: z3.ExprRef, b: z3.ExprRef) -> z3.BoolRef:
    """a == b for terms of one sort, through the C API."""
    ctx = z3.main_ctx()
    return z3.BoolRef(z3.Z3_mk_eq(ctx.ref(), a.as_ast(), b.as_ast()), ctx)


def _beyond(lst: ListEnc, key: object, test: Callable[[Enc, z3.BoolRef], z3.BoolRef]) -> z3.BoolRef:
    """Whether some item past the slots of an arbitrary list passes test (false otherwise)."""
    if lst.past is None or z3.is_false(z3.simplify(lst.arbitrary)):
        return FALSE
    return lst.past(key, test)


def _same(value: z3.BoolRef) -> z3.BoolRef:
    return value


def _short_circuit(parts: list[tuple[z3.BoolRef, z3.BoolRef]], stop_on: bool) -> z3.BoolRef:
    """Whether evaluation raises, given that `all` stops at the first false part and `any` at
    the first true one (later parts are then not evaluated)."""
    if all(z3.is_false(error) for _, error in parts):
        return FALSE  # nothing raises (the common case: no date shifted)
    errors = []
    reached: z3.BoolRef = TRUE
    for value, error in parts:
        if not z3.is_false(error):
            errors.append(z3.And(reached, error))
        reached = z3.And(reached, value if not stop_on else z3.Not(value))
    return z3.Or(*errors) if errors else FALSE


def _item_errors(parts: list[tuple[z3.BoolRef, z3.BoolRef, z3.BoolRef]], stop_on: bool) -> z3.BoolRef:
    return _short_circuit([(z3.Implies(g, v) if not stop_on else z3.And(g, v),
                            z3.And(g, e)) for g, v, e in parts], stop_on)
