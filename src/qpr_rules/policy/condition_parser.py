"""Parsing and type checking of the condition language: YAML data into the typed tree.

An atom is a mapping with `fact: PATH` and exactly one operator:

    {fact: home.hold.kind, in: [pending_qpr, permanent]}
    {fact: placement.date, on_or_before: {fact: home.hold.ends_on}}
    {fact: home.children_placed, count: {gte: {fact: home.restrictions.max_children}}}
    {fact: home.children_placed, some: {fact: age, lt: 3}}

combined with `all: [...]`, `any: [...]` and `not: {...}`. Every node keeps its
YAML location, so coverage, explanations and errors can point back at it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, assert_never

from pydantic import BaseModel

from qpr_rules._suggest import did_you_mean
from qpr_rules.facts.paths import FieldType, PathError, resolve
from qpr_rules.policy.condition_format import OP_SYMBOL, kind_of, show
from qpr_rules.policy.condition_nodes import (
    ATOM_OPS,
    COMBINATORS,
    COMPARE_OPS,
    DATE_ONLY_OPS,
    All,
    AnyOf,
    Compare,
    Condition,
    Contains,
    Count,
    FactRef,
    InSet,
    Literal_,
    Loc,
    Not,
    Operand,
    Present,
    Quantified,
)


@dataclass
class ParseContext:
    model: type[BaseModel]
    params: Mapping[str, Any]
    errors: list[tuple[Loc, str]]
    inside_item: bool = False
    # rules compile to durable_rules, which mis-evaluates alternatives under universal quantifiers;
    # invariants are only ever translated for the solver and evaluated by the reference evaluator
    for_durable: bool = True
    negated: bool = False  # under an odd number of `not`s
    named: Mapping[str, tuple[Any, Loc]] = field(default_factory=dict)  # `conditions:` by name
    using: tuple[str, ...] = ()  # named conditions being expanded (to refuse cycles)


def parse_condition(data: Any, loc: Loc, ctx: ParseContext) -> Condition | None:
    """Parse and type-check a condition; append (loc, message) to ctx.errors on problems.

    `{use: NAME}` stands for a condition declared once under the file's `conditions:`."""
    if not isinstance(data, Mapping):
        ctx.errors.append((loc, f"a condition must be a mapping, got {kind_of(data)}; "
                                "write `all: [...]`, `any: [...]`, `not: {...}` or "
                                "`{fact: PATH, OPERATOR: VALUE}`"))
        return None
    keys = set(data)
    if "use" in keys:
        return _parse_use(data, loc, ctx)
    combinators = keys & set(COMBINATORS)
    if combinators:
        if len(keys) != 1:
            ctx.errors.append((loc, f"`{sorted(combinators)[0]}` must be the only key of its "
                                    f"mapping; found {', '.join(sorted(map(str, keys)))}"))
            return None
        (key,) = keys
        return _parse_combinator(key, data[key], (*loc, key), loc, ctx)
    if "fact" not in keys:
        unknown = sorted(map(str, keys))
        hint = did_you_mean(unknown[0], [*COMBINATORS, "fact"]) if unknown else ""
        ctx.errors.append((loc, f"a condition needs `fact: PATH` or one of all/any/not; found "
                                f"{', '.join(unknown) or 'nothing'}{hint}"))
        return None
    ops = [k for k in keys if k != "fact"]
    if len(ops) != 1:
        what = ", ".join(sorted(map(str, ops))) or "none"
        ctx.errors.append((loc, f"a condition on a fact needs exactly one operator (found {what}); "
                                f"operators are: {', '.join(ATOM_OPS)}"))
        return None
    op = str(ops[0])
    if op not in ATOM_OPS:
        ctx.errors.append(((*loc, op, "__key__"), f"unknown operator {op!r}{did_you_mean(op, ATOM_OPS)}; "
                                                  f"operators are: {', '.join(ATOM_OPS)}"))
        return None
    path = data["fact"]
    if not isinstance(path, str) or not path:
        ctx.errors.append(((*loc, "fact"), f"`fact` must be a dotted path such as home.hold.kind, "
                                           f"got {kind_of(path)}"))
        return None
    ftype = _resolve(path, (*loc, "fact"), ctx)
    if ftype is None:
        return None
    return _parse_atom(path, ftype, op, data[op], (*loc, op), loc, ctx)


def _parse_use(data: Mapping[str, Any], loc: Loc, ctx: ParseContext) -> Condition | None:
    """`{use: NAME}`: the named condition from `conditions:`, parsed here (in this rule's facts)."""
    name = data["use"]
    if len(data) != 1 or not isinstance(name, str):
        ctx.errors.append((loc, "`use` takes the name of a condition under `conditions:` and stands alone, "
                                "e.g. `{use: home-on-hold}`"))
        return None
    if name not in ctx.named:
        ctx.errors.append(((*loc, "use"), f"unknown condition {name!r}{did_you_mean(name, ctx.named)}; "
                                          "declare it under `conditions:`"))
        return None
    if name in ctx.using:
        cycle = " -> ".join([*ctx.using[ctx.using.index(name):], name])
        ctx.errors.append(((*loc, "use"), f"condition {name!r} uses itself ({cycle})"))
        return None
    body, body_loc = ctx.named[name]
    return parse_condition(body, body_loc, replace(ctx, using=(*ctx.using, name)))


def _parse_combinator(key: str, value: Any, vloc: Loc, loc: Loc, ctx: ParseContext) -> Condition | None:
    if key == "not":
        inner = parse_condition(value, vloc, replace(ctx, negated=not ctx.negated))
        return Not(loc, inner) if inner is not None else None
    if not isinstance(value, list) or not value:
        ctx.errors.append((vloc, f"`{key}` takes a non-empty list of conditions, got {kind_of(value)}"))
        return None
    items = [parse_condition(item, (*vloc, i), ctx) for i, item in enumerate(value)]
    if any(i is None for i in items):
        return None
    parsed = tuple(i for i in items if i is not None)
    return All(loc, parsed) if key == "all" else AnyOf(loc, parsed)


def _resolve(path: str, loc: Loc, ctx: ParseContext) -> FieldType | None:
    try:
        return resolve(ctx.model, path)
    except PathError as exc:
        ctx.errors.append((loc, f"unknown fact path {path!r}: {exc}"))
        return None


def _parse_atom(path: str, ftype: FieldType, op: str, value: Any, vloc: Loc, loc: Loc,
                ctx: ParseContext) -> Condition | None:
    if op in COMPARE_OPS:
        if op in DATE_ONLY_OPS and ftype.kind != "date":
            ctx.errors.append((vloc, f"`{op}` compares dates, but {path} is {ftype.describe()}; "
                                     "use lt/lte/gt/gte for numbers"))
            return None
        cmp = COMPARE_OPS[op]
        if cmp not in ("eq", "ne") and ftype.kind not in ("int", "number", "date"):
            ctx.errors.append((vloc, f"`{op}` needs a number or a date, but {path} is "
                                     f"{ftype.describe()}; use eq, ne or in"))
            return None
        if ftype.kind in ("list", "object"):
            ctx.errors.append((vloc, f"{path} is {ftype.describe()} and cannot be compared with "
                                     "`{op}`; use count, contains, some, every or present"))
            return None
        right = _operand(value, ftype, vloc, ctx)
        return Compare(loc, path, cmp, right, ftype) if right is not None else None
    if op in ("in", "not_in"):
        if ftype.kind in ("list", "object"):
            ctx.errors.append((vloc, f"{path} is {ftype.describe()}; `{op}` needs a single value. "
                                     "For a list use contains"))
            return None
        if not isinstance(value, list) or not value:
            ctx.errors.append((vloc, f"`{op}` takes a non-empty list of values, got {kind_of(value)}"))
            return None
        lits = [_literal(v, ftype, (*vloc, i), ctx) for i, v in enumerate(value)]
        if any(v is None for v in lits):
            return None
        node = InSet(loc, path, tuple(v.value for v in lits if v is not None), ftype)
        return Not(loc, node) if op == "not_in" else node
    if op == "present":
        if not isinstance(value, bool):
            ctx.errors.append((vloc, f"`present` takes true or false, got {kind_of(value)}"))
            return None
        node_p = Present(loc, path)
        return node_p if value else Not(loc, node_p)
    if op == "within_days":
        return _parse_within(path, ftype, value, vloc, loc, ctx)
    if ctx.inside_item:
        ctx.errors.append((vloc, f"`{op}` cannot be used inside some/every; compare the item's "
                                 "fields with eq, ne, lt, lte, gt, gte, in, not_in or present"))
        return None
    if ftype.kind != "list" or ftype.item is None:
        ctx.errors.append((vloc, f"`{op}` works on lists, but {path} is {ftype.describe()}"))
        return None
    if op == "contains":
        if ftype.item.kind in ("list", "object"):
            ctx.errors.append((vloc, f"{path} is a list of objects; use `some` with a condition "
                                     "on the items instead of contains"))
            return None
        right = _operand(value, ftype.item, vloc, ctx)
        if isinstance(right, FactRef) and ftype.item.kind not in ("enum", "bool"):
            ctx.errors.append((vloc, f"contains with a fact on the right needs a list of enum "
                                     f"values; {path} is {ftype.describe()}"))
            return None
        return Contains(loc, path, right, ftype) if right is not None else None
    if op == "count":
        if not isinstance(value, Mapping) or len(value) != 1:
            ctx.errors.append((vloc, "`count` takes one comparison, e.g. `count: {gte: 2}`"))
            return None
        ((cop, cval),) = value.items()
        if cop not in ("eq", "ne", "lt", "lte", "gt", "gte"):
            ctx.errors.append(((*vloc, cop, "__key__"),
                               f"unknown count comparison {cop!r}{did_you_mean(str(cop), OP_SYMBOL)}; "
                               "use eq, ne, lt, lte, gt or gte"))
            return None
        right = _operand(cval, FieldType("int"), (*vloc, cop), ctx)
        return Count(loc, path, cop, right, ftype.optional) if right is not None else None
    # some / every
    if ftype.item.kind != "object" or ftype.item.model is None:
        ctx.errors.append((vloc, f"`{op}` needs a list of objects; {path} is {ftype.describe()}. "
                                 "For a list of values use contains"))
        return None
    inner_ctx = ParseContext(ftype.item.model, ctx.params, ctx.errors, inside_item=True,
                             negated=ctx.negated, for_durable=ctx.for_durable)
    inner = parse_condition(value, vloc, inner_ctx)
    if inner is None:
        return None
    universal = (op == "every") != ctx.negated
    if universal and ctx.for_durable and has_disjunction(inner, ctx.negated):
        ctx.errors.append((vloc, f"this condition is checked for every item of {path} (`every`, or "
                                 "`some` under `not`) and holds an alternative (any, in with several "
                                 "values, or a negated all / optional field); durable_rules keeps only "
                                 "the last test it makes on an item, so an alternative that holds can be "
                                 "forgotten and the answer is wrong. Split it into separate rules, or "
                                 "state it with `some` for the failing case"))
        return None
    return Quantified(loc, path, op == "every", inner, ftype.optional)


def has_disjunction(cond: Condition, negated: bool) -> bool:
    """Whether cond, with negations pushed to the atoms, contains an alternative (an OR).

    Inside `$iany`/`$iall` durable_rules tests an item's fields one after another and keeps only
    the last result (`isArrayMatch` in its events.c), so an alternative that held on one field
    is forgotten when a test on a later field fails (issue 18.7). Under `some` the compiler
    writes one `$iany` per alternative (some(A or B) is some(A) or some(B)); "every item
    satisfies A or B" has no such split, so the loader refuses alternatives inside universally
    quantified item conditions.
    """
    match cond:
        case Not(item=item):
            return has_disjunction(item, not negated)
        case All(items=items) | AnyOf(items=items):
            branches = isinstance(cond, AnyOf) != negated and len(items) > 1
            return branches or any(has_disjunction(c, negated) for c in items)
        case InSet(values=values, ftype=ftype):
            return (not negated and len(values) > 1) or (negated and ftype.optional)
        case Compare(ftype=ftype):
            return negated and ftype.optional
        case Present() | Contains() | Count() | Quantified():
            return False
        case _:
            assert_never(cond)


def _parse_within(path: str, ftype: FieldType, value: Any, vloc: Loc, loc: Loc,
                  ctx: ParseContext) -> Condition | None:
    """`within_days: {days: N, of: REF}`: REF - N <= fact <= REF + N, as two comparisons."""
    if ftype.kind != "date":
        ctx.errors.append((vloc, f"`within_days` needs a date, but {path} is {ftype.describe()}"))
        return None
    if not isinstance(value, Mapping) or set(value) != {"days", "of"}:
        ctx.errors.append((vloc, "`within_days` takes `days: N` and `of: {fact: PATH}` or a date"))
        return None
    days = value["days"]
    if not isinstance(days, int) or isinstance(days, bool) or days < 0:
        ctx.errors.append(((*vloc, "days"), f"days must be a whole number >= 0, got {kind_of(days)}"))
        return None
    ref = _operand(value["of"], ftype, (*vloc, "of"), ctx)
    if ref is None:
        return None
    if isinstance(ref, FactRef):
        low: Operand = replace(ref, plus_days=ref.plus_days - days)
        high: Operand = replace(ref, plus_days=ref.plus_days + days)
    else:
        assert isinstance(ref.value, dt.date)
        low = Literal_(ref.value - dt.timedelta(days=days), ref.param)
        high = Literal_(ref.value + dt.timedelta(days=days), ref.param)
    return All(loc, (Compare(loc, path, "gte", low, ftype), Compare(loc, path, "lte", high, ftype)))


def _operand(value: Any, ftype: FieldType, loc: Loc, ctx: ParseContext) -> Operand | None:
    if isinstance(value, Mapping) and "fact" in value:
        extra = set(value) - {"fact", "plus_days"}
        if extra:
            ctx.errors.append((loc, f"a fact reference takes `fact` and optionally `plus_days`; "
                                    f"unknown: {', '.join(sorted(map(str, extra)))}"))
            return None
        if ctx.inside_item:
            ctx.errors.append((loc, "inside some/every, compare item fields with values only "
                                    "(durable_rules cannot join an item with the outer facts)"))
            return None
        other = _resolve(str(value["fact"]), (*loc, "fact"), ctx)
        if other is None:
            return None
        days = value.get("plus_days", 0)
        if isinstance(days, Mapping) and set(days) == {"param"}:
            name = str(days["param"])
            if name not in ctx.params:
                ctx.errors.append(((*loc, "plus_days"), f"unknown parameter {name!r}"
                                   f"{did_you_mean(name, ctx.params)}; declare it under `parameters:`"))
                return None
            days = ctx.params[name]
        if not isinstance(days, int) or isinstance(days, bool):
            ctx.errors.append(((*loc, "plus_days"), f"plus_days must be a whole number, got {kind_of(days)}"))
            return None
        if days and other.kind != "date":
            ctx.errors.append(((*loc, "plus_days"), f"plus_days needs a date, {value['fact']} is "
                                                    f"{other.describe()}"))
            return None
        if not _same_kind(ftype, other):
            ctx.errors.append((loc, f"type mismatch: cannot compare {ftype.describe()} with "
                                    f"{value['fact']} ({other.describe()})"))
            return None
        return FactRef(str(value["fact"]), days, other.optional)
    lit = _literal(value, ftype, loc, ctx)
    return lit


def _same_kind(a: FieldType, b: FieldType) -> bool:
    numeric = {"int", "number"}
    if a.kind in numeric and b.kind in numeric:
        return True
    if a.kind == "enum" and b.kind == "enum":
        return set(a.enum_values) == set(b.enum_values)
    return a.kind == b.kind


def _literal(value: Any, ftype: FieldType, loc: Loc, ctx: ParseContext) -> Literal_ | None:
    param = None
    if isinstance(value, Mapping) and set(value) == {"param"}:
        param = str(value["param"])
        if param not in ctx.params:
            ctx.errors.append((loc, f"unknown parameter {param!r}{did_you_mean(param, ctx.params)}; "
                                    "declare it under `parameters:`"))
            return None
        value = ctx.params[param]
    problem = literal_problem(value, ftype)
    if problem:
        where = f"parameter {param!r}" if param else "value"
        ctx.errors.append((loc, f"type mismatch: {where} {show(value)!s} ({kind_of(value)}) "
                                f"{problem}"))
        return None
    if ftype.kind == "number" and isinstance(value, int):
        value = float(value)
    return Literal_(value, param)


def literal_problem(value: Any, ftype: FieldType) -> str | None:
    """Why value cannot stand for a field of type ftype, or None when it can."""
    ok = {
        "bool": isinstance(value, bool),
        "int": isinstance(value, int) and not isinstance(value, bool),
        "number": isinstance(value, (int, float)) and not isinstance(value, bool),
        "string": isinstance(value, str),
        "enum": isinstance(value, str) and value in ftype.enum_values,
        "date": isinstance(value, dt.date) and not isinstance(value, dt.datetime),
    }.get(ftype.kind, False)
    if ok:
        return None
    if ftype.kind == "enum" and isinstance(value, str):
        return (f"is not allowed here{did_you_mean(value, ftype.enum_values)}; "
                f"expected {ftype.describe()}")
    return f"does not match the fact, which is {ftype.describe()}"


def raw_mappings(bodies: Iterable[Any], named: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
    """Every mapping of conditions as written in YAML (before parsing), following `{use: NAME}`
    into the named conditions, each named one visited once. For what the parsed tree no longer
    shows: which names are used, which `{param: NAME}` are read."""
    stack: list[Any] = list(bodies)
    visited: set[str] = set()
    while stack:
        node = stack.pop()
        if isinstance(node, Mapping):
            yield node
            name = node.get("use")
            if isinstance(name, str) and name in named and name not in visited:
                visited.add(name)
                stack.append(named[name])
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
