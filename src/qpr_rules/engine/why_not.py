"""Why a rule did not fire, as a sentence a caseworker reads.

`explain_failure` names the first part of a condition that is not as the rule needs it, in the
words of the fact model's descriptions (facts/phrases.py) and with the values seen, then the
condition as the analyst wrote it in brackets, so nothing is lost:

    the kind of hold is time_limited, not permanent [hold.kind = permanent]
    the request describes the actions taken to mitigate the worries (the rule needs it not to
    be so) [not request.describes_mitigating_actions = true]

A `not` turns what the rule needs around: each atom is explained as needed to hold or needed not
to, so `not {x = a}` reads as `x != a` would. The compiled explainer (compiled_explain.py) calls
this same function, on the few values the condition reads, so the two cannot disagree.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from typing import Any, assert_never

from pydantic import BaseModel

from qpr_rules.engine.reference import compile_condition, get_path
from qpr_rules.facts.phrases import Fact, Glossary, glossary
from qpr_rules.policy.condition_format import render, show
from qpr_rules.policy.condition_nodes import (
    NEGATED_OP,
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
)

Facts = Mapping[str, Any]


def explain_failure(cond: Condition, facts: Facts, model: type[BaseModel] | None) -> str | None:
    """Why cond is false for facts (a fact model's dump), in a sentence; None if it holds."""
    if _holds(cond, facts):
        return None
    return explain_false(cond, facts, model)


def explain_false(cond: Condition, facts: Facts, model: type[BaseModel] | None) -> str:
    """Why cond, known to be false for facts, is false (the compiled explainer has tested it)."""
    return _why(cond, facts, glossary(model), True)


def _node(cond: Condition) -> tuple[Callable[[Facts], bool], str]:
    """The node's closure and rendering, memoised on the node itself (explanations revisit the
    same subtrees on every call; a frozen dataclass, so not a field: it lives with the policy)."""
    memo: tuple[Callable[[Facts], bool], str] | None = cond.__dict__.get("_why_not_memo")
    if memo is None:
        memo = (compile_condition(cond), render(cond))
        object.__setattr__(cond, "_why_not_memo", memo)
    return memo


def _holds(cond: Condition, facts: Facts) -> bool:
    return _node(cond)[0](facts)


def _rendered(cond: Condition) -> str:
    return _node(cond)[1]


def _why(cond: Condition, facts: Facts, words: Glossary, needed: bool) -> str:
    """Why cond is not `needed` (it is known not to be)."""
    match cond:
        case All(items=items):
            if needed:  # the first part that is false explains the whole
                return next(_why(c, facts, words, True) for c in items if not _holds(c, facts))
            return joined_all([_why(c, facts, words, False) for c in items])
        case AnyOf(items=items):
            if not needed:  # the first part that holds explains the whole
                return next(_why(c, facts, words, False) for c in items if _holds(c, facts))
            return joined_none([_why(c, facts, words, True) for c in items])
        case Not(item=item):
            return _why(item, facts, words, not needed)
        case Compare() | InSet() | Present() | Contains() | Count() | Quantified():
            return atom_why(cond, facts, words, needed)
        case _:
            assert_never(cond)


def atom_why(cond: Compare | InSet | Present | Contains | Count | Quantified, facts: Facts, words: Glossary,
             needed: bool) -> str:
    """Why an atom is not `needed`: the sentence, then the condition in brackets. facts need hold
    only what the atom reads (and the steps to it), as the compiled explainer gives them."""
    shown = _rendered(cond) if needed else f"not {_rendered(cond)}"
    return f"{_atom(cond, facts, words, needed)} [{shown}]"


def joined_all(parts: list[str]) -> str:
    """Why an `all` that had to fail holds: each part's reason."""
    return _joined("all of these hold", parts)


def joined_none(parts: list[str]) -> str:
    """Why an `any` that had to hold fails: each part's reason."""
    return _joined("none of these holds", parts)


def _joined(head: str, parts: list[str]) -> str:
    return parts[0] if len(parts) == 1 else f"{head}: " + "; ".join(parts)


def _atom(cond: Compare | InSet | Present | Contains | Count | Quantified, facts: Facts,
          words: Glossary, needed: bool) -> str:
    """The sentence for an atom that is not `needed` (without the bracketed condition)."""
    fact = words.fact(cond.path)
    value = get_path(facts, cond.path)
    if value is None:  # every atom is false on an absent fact, so it was needed to hold
        return _absent(_first_absent(cond.path, facts, words))
    match cond:
        case Compare(op=op, right=right):
            wanted = op if needed else NEGATED_OP[op]
            return _compare(fact, value, wanted, right, facts, words)
        case InSet():
            if needed:
                return f"{fact.valued(_show(value))}, not {_alternatives(cond)}"
            return (f"{fact.valued(_show(value))}, one of {_alternatives(cond)} "
                    "(the rule needs another)")
        case Present():
            if fact.is_bool:
                said = f"it is said whether {fact.phrase}" if fact.is_statement else \
                    f"said: {fact.phrase}"
                return f"{said} ({'yes' if value else 'no'}), and the rule needs it not said"
            shown = "" if isinstance(value, Mapping) else f" ({_show(value)})"  # not a whole record
            if fact.is_question:
                return f"it is said {fact.phrase}{shown}, and the rule needs it not said"
            return f"{fact.phrase} is given{shown}, and the rule needs it not given"
        case Contains(right=right):
            item, absent = _operand(right, facts, words)
            if absent:
                return absent
            if needed:
                return f"{fact.phrase} ({_show(value)}) does not include {item}"
            return f"{fact.phrase} ({_show(value)}) includes {item} (the rule needs it not to)"
        case Count(op=op, right=right):
            wanted = op if needed else NEGATED_OP[op]
            bound, absent = _operand(right, facts, words)
            if absent:
                return absent
            number = Fact(cond.path, f"{fact.phrase}: the number of items", None)
            return _relation(number, len(value), wanted, _value_of(right, facts), bound)
        case Quantified(every=every, cond=inner):
            return _quantified(fact, value, every, inner, words.items(cond.path), needed)
        case _:
            assert_never(cond)


def _show(value: Any) -> str:
    """A value as the analyst writes it, and an empty text as "blank" (else it would vanish)."""
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_show(v) for v in value) + "]"
    return "blank" if value == "" else show(value)


def _first_absent(path: str, facts: Facts, words: Glossary) -> Fact:
    """The outermost absent step of path: "the hold on the home is not given", rather than its
    kind, when the home has never had a hold."""
    parts = path.split(".")
    for n in range(1, len(parts)):
        if get_path(facts, ".".join(parts[:n])) is None:
            return words.fact(".".join(parts[:n]))
    return words.fact(path)


def _absent(fact: Fact) -> str:
    if fact.is_bool:
        if fact.is_statement:
            return f"it is not said whether {fact.phrase}"
        return f"not said: {fact.phrase}"
    if fact.is_question:
        return f"it is not said {fact.phrase}"
    return f"{fact.phrase} is not given"


def _alternatives(cond: InSet) -> str:
    """The `in` list's values as a sentence ("a, b or c"), kept on the node: a list is the same at
    every explanation of its rule (a rule keyed on 50 homes lists them all), and the node lives
    with the policy (a frozen dataclass, so not a field)."""
    text: str | None = cond.__dict__.get("_why_not_alternatives")
    if text is None:
        shown = [_show(v) for v in cond.values]
        text = shown[0] if len(shown) == 1 else ", ".join(shown[:-1]) + " or " + shown[-1]
        object.__setattr__(cond, "_why_not_alternatives", text)
    return text


def _value_of(op: Operand, facts: Facts) -> Any:
    match op:
        case Literal_(value=value):
            return value
        case FactRef(path=path, plus_days=days):
            value = get_path(facts, path)
            return value + dt.timedelta(days=days) if value is not None and days else value
        case _:
            assert_never(op)


def _operand(op: Operand, facts: Facts, words: Glossary) -> tuple[str, str]:
    """How the right-hand side reads ("permanent", "the date of the hold (2026-01-10)"), and, if
    it is a fact that is absent, the sentence saying so instead."""
    match op:
        case Literal_(value=value):
            return _show(value), ""
        case FactRef(path=path, plus_days=days):
            fact = words.fact(path)
            value = _value_of(op, facts)
            if value is None:
                return "", _absent(_first_absent(path, facts, words))
            if not days:
                return f"{fact.phrase} ({_show(value)})", ""
            direction = "after" if days > 0 else "before"
            return f"{abs(days)} days {direction} {fact.phrase} ({_show(value)})", ""
        case _:
            assert_never(op)


def _compare(fact: Fact, value: Any, wanted: CmpOp, right: Operand, facts: Facts,
             words: Glossary) -> str:
    other, absent = _operand(right, facts, words)
    if absent:
        return absent
    if fact.is_bool and isinstance(right, Literal_) and wanted in ("eq", "ne"):
        # a yes/no fact: say it is so, or is not, in the description's own words
        is_so = bool(value)
        if fact.is_statement:
            return (f"{fact.phrase} (the rule needs it not to be so)" if is_so
                    else f"it is not the case that {fact.phrase}")
        return f"{'yes' if is_so else 'no'}: {fact.phrase} (the rule needs {'no' if is_so else 'yes'})"
    return _relation(fact, value, wanted, _value_of(right, facts), other)


_BELOW = {True: ("before", "not before", "after", "not after"),
          False: ("less than", "not less than", "more than", "not more than")}


def _relation(fact: Fact, value: Any, wanted: CmpOp, bound: Any, other: str) -> str:
    """'S is V, not R' for a comparison `S wanted R` that does not hold, in words."""
    shown = fact.valued(_show(value))
    below, not_below, above, not_above = _BELOW[fact.is_date]
    match wanted:
        case "eq":
            return f"{shown}, not {other}"
        case "ne":
            same = "" if other == _show(bound) else f", the same as {other}"  # a fact, not a value
            return f"{shown}{same} (the rule needs another value)"
        case "lt":
            return f"{shown}, {not_below} {other}"
        case "lte":
            return f"{shown}, {above} {other}"
        case "gt":
            return f"{shown}, {not_above} {other}"
        case "gte":
            return f"{shown}, {below} {other}"
        case _:
            assert_never(wanted)


def _quantified(fact: Fact, items: list[Any], every: bool, inner: Condition, words: Glossary,
                needed: bool) -> str:
    count = f"{len(items)} {'item' if len(items) == 1 else 'items'}"
    if not items:  # `some` is false on an empty list; `every` is true (and needed not to be)
        return f"{fact.phrase}: none" + ("" if not every else
                                          f" (the rule needs one without {_rendered(inner)})")
    holding = [i for i, item in enumerate(items, 1) if _holds(inner, item)]
    if every and needed:  # an item fails: say which, and why, in its own words
        k = next(i for i in range(1, len(items) + 1) if i not in holding)
        return f"{fact.phrase}, item {k} of {len(items)}: {_why(inner, items[k - 1], words, True)}"
    if not every and not needed:  # an item holds, and the rule needs none to
        k = holding[0]
        return (f"{fact.phrase}, item {k} of {len(items)}: "
                f"{_why(inner, items[k - 1], words, False)} (the rule needs no item to)")
    if every:  # every item holds, and the rule needs one not to
        return f"{fact.phrase} ({count}): every one has {_rendered(inner)} (the rule needs one not to)"
    return f"{fact.phrase} ({count}): none has {_rendered(inner)}"
