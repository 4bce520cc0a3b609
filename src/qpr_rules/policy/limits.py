"""The limits of durable_rules 2.0.28, measured, and the checks that keep policies and facts
inside them before durable_rules ever sees them.

Every number here was found by `python -m qpr_rules.tools.durable_limits`, which grows one
dimension at a time until durable_rules fails, each attempt in a subprocess with a timeout
(durable_rules can loop forever inside its C code while holding the GIL, stopping every
thread). tests/test_durable_limits.py re-measures each limit just below and just above it, so a
new durable_rules version cannot move one unnoticed. docs/reliability.md lists them.

Counting. durable_rules turns each rule's condition into alternatives (its disjunctive normal
form: `$or` adds, `$and` multiplies) and builds one network path per alternative. Two measures
of a compiled condition matter:

- terms: how many alternatives it has (the paths it adds to the network);
- matches: how many of them can hold for one message at once (each holding alternative queues
  an action; a membership test `in: [...]` has many terms but at most one holds).

Both are computed here from the condition tree exactly as engine/durable_compiler.py writes it
(tests/test_durable_limits.py checks the count against the compiled expressions).
"""

from __future__ import annotations

import datetime as dt
import math
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, assert_never

from qpr_rules.facts.common import MAX_FACT_DATE as _MAX_FACT_DATE
from qpr_rules.facts.common import MAX_TEXT_BYTES, MAX_WHOLE_NUMBER
from qpr_rules.facts.common import MIN_FACT_DATE as _MIN_FACT_DATE
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
    Loc,
    Not,
    Operand,
    Present,
    Quantified,
)

# ------------------------------------------------------------ measured limits of durable_rules

#: One ruleset may have at most this many alternatives in all (the guard rule's included):
#: with 512 it loads, then loops forever on the first message (a full 512-bucket hash set of
#: next nodes, probed without end). Measured: 511 alternatives + guard pass, 512 + guard hang.
DURABLE_MAX_TERMS = 512
#: At most this many alternatives may hold for one message (the guard's included): 66 raise
#: error 303 (ERR_MAX_STACK_SIZE) at decide time. Measured: 65 pass, 66 fail.
DURABLE_MAX_MATCHES = 65
#: One rule's expression may hold at most this many `$and`/`$or` nodes (the case marker's `$and`
#: included; `$iany`/`$iall` do not count, the combinators inside them do): each takes two
#: entries (operator and end) of a fixed 32-entry expression sequence, and the 16th fails to
#: load with error 113. Measured three ways, all 15 pass and 16 fail: a chain nested n deep, a
#: full binary tree of `$and`s, and an `$and` of n - 1 two-way `$or`s (2**13 alternatives pass,
#: 2**14 fail: that is this limit, not a count of alternatives).
DURABLE_MAX_COMBINATORS = 15
#: Strings of this many UTF-8 bytes or more compare wrongly: two different strings of 65,536
#: bytes that share their first 65,535 compare equal. Measured: 65,535 right, 65,536 wrong.
DURABLE_MAX_STRING_BYTES = MAX_TEXT_BYTES  # the fact models enforce it (facts/common.py)
#: Integers are read with C `atol`, which saturates: beyond this, different numbers compare
#: equal. Measured: 2**63 - 1 right, 2**63 wrong.
DURABLE_MAX_INT = MAX_WHOLE_NUMBER
#: A message holding text of more than this many bytes fails with error 314. Measured: 16,777,214
#: pass, 16,777,215 fail. Checked on the whole message's JSON, which is longer than its text.
DURABLE_MAX_MESSAGE_BYTES = 16_777_214
#: A message of 255 properties or more fails with error 302 (counted in engine/messages.py).
DURABLE_MAX_PROPERTIES = 254

# ------------------------------------------------------------ the budgets the checks apply

#: Alternatives one rule may have: the ruleset's budget less the guard rule.
MAX_RULE_TERMS = DURABLE_MAX_TERMS - 1
#: Alternatives of one rule that may hold at once: the budget less the guard rule.
MAX_RULE_MATCHES = DURABLE_MAX_MATCHES - 1
#: `$and`/`$or` nodes of one rule's compiled condition: the budget less the case marker's `$and`.
MAX_RULE_COMBINATORS = DURABLE_MAX_COMBINATORS - 1
#: A named condition expanded where it is used (`use:`), all the way down, may have at most
#: this many nodes: a chain of names that each use the previous twice doubles at each level
#: (18 levels made 262,144 nodes, 35 s and 735 MB). Counted on the names, never by expanding.
MAX_EXPANDED_NODES = 5000
#: Named conditions may use named conditions at most this deep (parsing expands them recursively).
MAX_USE_DEPTH = 32
#: Day offsets in policies (`plus_days`, `within_days`): a century either way keeps every date
#: computation inside the calendar for every fact date the engine accepts.
MAX_DAY_OFFSET = 36525
#: The dates facts may hold (the fact models enforce them: facts/common.py): with MAX_DAY_OFFSET,
#: date arithmetic never leaves year 1..9999.
MIN_FACT_DATE = _MIN_FACT_DATE
MAX_FACT_DATE = _MAX_FACT_DATE


@dataclass(frozen=True)
class Size:
    """terms: alternatives of the compiled condition; matches: how many can hold at once."""

    terms: int
    matches: int

    def __add__(self, other: Size) -> Size:
        return Size(self.terms + other.terms, self.matches + other.matches)


_ONE = Size(1, 1)


def _total(sizes: list[Size]) -> Size:
    return Size(sum(s.terms for s in sizes), sum(s.matches for s in sizes))


def _product(sizes: list[Size]) -> Size:
    return Size(math.prod(s.terms for s in sizes), math.prod(s.matches for s in sizes))


def _opt(optional: bool) -> Size:
    return _ONE if optional else Size(0, 0)


def condition_size(cond: Condition, negate: bool = False) -> Size:
    """The size of cond as engine/durable_compiler.py compiles it (negations pushed down)."""
    match cond:
        case Not(item=item):
            return condition_size(item, not negate)
        case All(items=items) | AnyOf(items=items):
            sizes = [condition_size(c, negate) for c in items]
            return _product(sizes) if isinstance(cond, All) != negate else _total(sizes)
        case Compare(ftype=ftype, right=right):
            if not negate:
                return _ONE
            # absent | (reference absent) | opposite comparison: a comparison with an absent
            # field is false, so only the reference's absence can hold with it
            return _negated_comparison(ftype.optional, right)
        case InSet(values=values, ftype=ftype):
            if negate:  # absent | all of the `$neq`s: one alternative holds at most
                return Size(1 + ftype.optional, 1)
            # one value per alternative: only equal values can hold together
            return Size(len(values), max(Counter(values).values()))
        case Present():
            return _ONE
        case Contains(right=right, ftype=ftype):
            # absent | empty | every item differs ($iall is false on an empty list): exclusive
            lacks = Size(2 + ftype.optional, 1)
            if isinstance(right, Literal_):
                return lacks if negate else _ONE
            element = ftype.item
            count = len(element.enum_values) if element is not None and element.kind == "enum" else 2
            if not negate:  # the reference equals one value at a time
                return Size(count, 1)
            return _opt(right.optional) + _product([_ONE + lacks] * count)
        case Count(right=right, optional=optional):
            return _negated_comparison(optional, right) if negate else _ONE
        case Quantified(every=every, cond=inner, optional=optional):
            if not every and not negate:
                return _some_size(condition_size(inner, False))
            # absent, empty and the quantifier over items exclude one another ($iall and
            # $iany are false on an empty list, every test is false on an absent one)
            if not every:
                body = condition_size(inner, True)
                return Size(optional + 1 + body.terms, body.matches)
            if not negate:
                body = condition_size(inner, False)
                return Size(1 + body.terms, body.matches)
            some = _some_size(condition_size(inner, True))
            return Size(optional + some.terms, some.matches)
        case _:
            assert_never(cond)


def condition_combinators(cond: Condition, negate: bool = False) -> int:
    """How many `$and`/`$or` nodes engine/durable_compiler.py writes for cond (a combinator of one
    item is written as that item; `$iany`/`$iall` are not combinators, their item conditions'
    combinators count)."""
    match cond:
        case Not(item=item):
            return condition_combinators(item, not negate)
        case All(items=items) | AnyOf(items=items):
            return sum(condition_combinators(c, negate) for c in items) + (len(items) > 1)
        case Compare(ftype=ftype, right=right):
            return _comparison_combinators(ftype.optional, right, negate)
        case Count(right=right, optional=optional):
            return _comparison_combinators(optional, right, negate)
        case InSet(values=values, ftype=ftype):
            return int(len(values) > 1) + (negate and ftype.optional)
        case Present():
            return 0
        case Contains(right=right):
            if isinstance(right, Literal_):
                return int(negate)  # lacks: $or of absent, empty and $iall
            element = cond.ftype.item
            count = len(element.enum_values) if element is not None and element.kind == "enum" else 2
            if not negate:  # $or over values of ($and of "reference = value" and has(value))
                return count + (count > 1)
            # [$or absent |] $and over values of ($or of "reference != value" and lacks(value))
            return 2 * count + (count > 1) + right.optional
        case Quantified(every=every, cond=inner, optional=optional):
            if not every and not negate:
                return _some_combinators(inner, False)
            if not every:
                return 1 + condition_combinators(inner, True)
            if not negate:
                return 1 + condition_combinators(inner, False)
            return int(optional) + _some_combinators(inner, True)
        case _:
            assert_never(cond)


# An item condition with alternatives under `some` is compiled as one `$iany` per alternative
# (engine/durable_compiler.py `_some`: durable_rules keeps only the last test it made on an item,
# issue 18.7): its size and combinators are counted as written that way.


def _some_size(body: Size) -> Size:
    """`some` over an item condition of body's size: each alternative is its own `$iany`, and
    all of them can hold at once (each through another item)."""
    return body if body.terms == 1 else Size(body.terms, body.terms)


def _some_combinators(inner: Condition, negate: bool) -> int:
    """`$and`/`$or` nodes of `some` over inner: inner's own when it has one alternative; else an
    `$or` of the `$iany`s and an `$and` in each alternative of more than one test."""
    terms = condition_size(inner, negate).terms
    if terms == 1:
        return condition_combinators(inner, negate)
    return 1 + terms - _single_test_terms(inner, negate)


def _single_test_terms(cond: Condition, negate: bool) -> int:
    """How many of cond's alternatives (as engine/durable_compiler.py writes cond, negations
    pushed down) are one test each, not an `$and` of several. An `$and` of several parts has
    none: each of its alternatives takes a test from every part."""
    match cond:
        case Not(item=item):
            return _single_test_terms(item, not negate)
        case All(items=items) | AnyOf(items=items):
            if len(items) == 1:
                return _single_test_terms(items[0], negate)
            if isinstance(cond, All) != negate:
                return 0
            return sum(_single_test_terms(c, negate) for c in items)
        case Compare(ftype=ftype, right=right):
            ref_optional = isinstance(right, FactRef) and right.optional
            if not negate:  # [$and of "the reference is present" and] the comparison
                return int(not ref_optional)
            return 1 + ftype.optional + ref_optional  # absent | absent reference | opposite
        case Count(right=right, optional=optional):
            ref_optional = isinstance(right, FactRef) and right.optional
            return int(not ref_optional) if not negate else 1 + optional + ref_optional
        case InSet(values=values, ftype=ftype):
            # one equality per value; negated: absent | an `$and` of the `$neq`s
            return len(values) if not negate else ftype.optional + (len(values) == 1)
        case Present():
            return 1
        case Contains() | Quantified():
            # only asked of item conditions, where the parser refuses these (condition_parser.py)
            raise ValueError(f"{type(cond).__name__} cannot be inside an item condition")
        case _:
            assert_never(cond)


def _comparison_combinators(optional: bool, right: Operand, negate: bool) -> int:
    ref_optional = isinstance(right, FactRef) and right.optional
    if not negate:
        return int(ref_optional)  # $and of "the reference is present" and the comparison
    return int(optional or ref_optional)  # $or of "absent" and the opposite comparison


def _negated_comparison(optional: bool, right: Operand) -> Size:
    ref_optional = isinstance(right, FactRef) and right.optional
    return Size(1 + optional + ref_optional, 1 + ref_optional)


def rule_limit_problems(cond: Condition, loc: Loc) -> list[tuple[Loc, str]]:
    """What of a parsed rule condition durable_rules cannot take, and how to restructure it."""
    size = condition_size(cond)
    problems: list[tuple[Loc, str]] = []
    if size.terms > MAX_RULE_TERMS:
        problems.append((loc, f"this condition has {size.terms:,} alternatives once `any`, `in` and "
                              f"negations are expanded; durable_rules takes at most {MAX_RULE_TERMS} per "
                              f"rule (beyond that it loops forever). {_ADVICE}"))
    elif size.matches > MAX_RULE_MATCHES:
        problems.append((loc, f"up to {size.matches:,} of this condition's alternatives can hold at "
                              f"once; durable_rules takes at most {MAX_RULE_MATCHES} per rule (beyond "
                              f"that it fails with error 303 when deciding). {_ADVICE}"))
    combinators = condition_combinators(cond)
    if combinators > MAX_RULE_COMBINATORS:
        problems.append((loc, f"this condition compiles to {combinators} `all`/`any` combinations (negations "
                              f"and some operators add their own); durable_rules takes at most "
                              f"{MAX_RULE_COMBINATORS} per rule (error 113 when loading). Flatten it (an "
                              "`all` inside an `all` is one `all`; `in: [...]` is one combination where "
                              "`any` of equalities is several), or split it into rules with the same "
                              "outcome"))
    problems.extend(_value_problems(cond))
    return problems


_ADVICE = ("Split the rule into several rules with the same outcome, or move a long list of "
           "values into a fact (for example a flag computed by the application)")


def _value_problems(cond: Condition) -> Iterator[tuple[Loc, str]]:
    """Literals durable_rules would compare wrongly, and day offsets out of range."""
    match cond:
        case Not(item=item):
            yield from _value_problems(item)
        case All(items=items) | AnyOf(items=items):
            for c in items:
                yield from _value_problems(c)
        case Quantified(cond=inner):
            yield from _value_problems(inner)
        case InSet(values=values):
            for v in values:
                yield from _literal_problems(v, cond.loc)
        case Compare(right=right) | Contains(right=right) | Count(right=right):
            if isinstance(right, Literal_):
                yield from _literal_problems(right.value, cond.loc)
            elif abs(right.plus_days) > MAX_DAY_OFFSET:
                yield (cond.loc, f"a day offset of {right.plus_days:,} days is out of range; at most "
                                 f"{MAX_DAY_OFFSET:,} days (a century) either way")
        case Present():
            pass
        case _:
            assert_never(cond)


def _literal_problems(value: object, loc: Loc) -> Iterator[tuple[Loc, str]]:
    problem = value_problem(value)
    if problem:
        yield (loc, problem)


def value_problem(value: object) -> str | None:
    """Why durable_rules cannot compare value correctly, or None when it can."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int) and abs(value) > DURABLE_MAX_INT:
        return (f"the number {value} is out of range; durable_rules compares whole numbers up to "
                f"{DURABLE_MAX_INT:,} either way")
    if isinstance(value, str):
        try:
            size = len(value.encode("utf-8"))
        except UnicodeEncodeError:
            return "the text is not valid Unicode (it holds a lone surrogate)"
        if size > DURABLE_MAX_STRING_BYTES:
            return (f"the text is {size:,} bytes long; durable_rules compares text of at most "
                    f"{DURABLE_MAX_STRING_BYTES:,} bytes (longer text compares wrongly)")
    if isinstance(value, dt.date) and not MIN_FACT_DATE <= value <= MAX_FACT_DATE:
        return (f"the date {value.isoformat()} is out of range; dates run from "
                f"{MIN_FACT_DATE.isoformat()} to {MAX_FACT_DATE.isoformat()}")
    return None


def facts_limit_problems(facts: Any, where: str = "") -> Iterator[str]:
    """Values in dumped facts that durable_rules (or date arithmetic) would get wrong: each as
    "path: what is wrong". Checked before a message is built, so the answer fails closed and
    says which limit."""
    if isinstance(facts, Mapping):
        for key, value in facts.items():
            yield from facts_limit_problems(value, f"{where}.{key}" if where else str(key))
    elif isinstance(facts, (list, tuple)):
        for i, value in enumerate(facts):
            yield from facts_limit_problems(value, f"{where}.{i}")
    else:
        problem = value_problem(facts)
        if problem:
            yield f"{where or '(facts)'}: {problem}"


# ------------------------------------------------------------ named-condition expansion


def expansion_problem(data: Any, named: Mapping[str, tuple[Any, Loc]]) -> str | None:
    """Refuse a condition whose `use:`s expand beyond MAX_EXPANDED_NODES nodes or nest names more
    than MAX_USE_DEPTH deep, naming the chain of names that causes it. Sizes are counted once per
    name, iteratively (memoised over the `use` graph, never by expanding), so the check takes time
    and memory linear in the file whatever the expansion would be. Cycles and unknown names are
    left to the parser, which reports them."""
    sizes: dict[str, int] = {}
    depths: dict[str, int] = {}

    def size(node: Any) -> int:  # recursion bounded by the YAML nesting limit, not by names
        if isinstance(node, Mapping):
            if set(node) == {"use"} and isinstance(node["use"], str):
                return sizes.get(node["use"], 1)
            return 1 + sum(size(v) for v in node.values())
        if isinstance(node, list):
            return 1 + sum(size(v) for v in node)
        return 1

    def measure(name: str) -> None:
        """sizes and depths of name and every name it reaches, children first, without recursion."""
        on_path: set[str] = set()
        stack = [(name, False)]
        while stack:
            current, children_done = stack.pop()
            if current in sizes:
                continue
            body = named[current][0]
            used = [u for u in dict.fromkeys(_uses(body)) if u in named]
            if children_done:
                sizes[current] = size(body)
                depths[current] = 1 + max((depths.get(u, 0) for u in used), default=0)
                on_path.discard(current)
                continue
            if current in on_path:
                continue  # a cycle: the parser reports it
            on_path.add(current)
            stack.append((current, True))
            stack.extend((u, False) for u in used if u not in sizes and u not in on_path)

    for name in dict.fromkeys(_uses(data)):
        if name in named:
            measure(name)
    total = size(data)
    depth = max((depths.get(u, 0) for u in _uses(data)), default=0)
    if depth > MAX_USE_DEPTH:
        return (f"this condition nests named conditions {depth} deep ({_chain(data, named, sizes)}); "
                f"at most {MAX_USE_DEPTH} are allowed. Use the inner conditions directly")
    if total <= MAX_EXPANDED_NODES:
        return None
    return (f"this condition expands to {total:,} nodes through its named conditions "
            f"({_chain(data, named, sizes)}); at most {MAX_EXPANDED_NODES:,} are allowed. Use each "
            "named condition once per condition, or combine them with `any`/`all` at one level")


def _chain(data: Any, named: Mapping[str, tuple[Any, Loc]], memo: Mapping[str, int]) -> str:
    """The chain of names the size comes from: at each step, the name used with the largest
    total expansion (its size times how often it is used)."""
    steps: list[str] = []
    body, seen = data, set()
    while True:
        uses: Counter[str] = Counter(_uses(body))
        if not uses:
            break
        name = max(uses, key=lambda n: (memo.get(n, 1) * uses[n], n))
        if name in seen or name not in named:
            break
        seen.add(name)
        times = f" {uses[name]} times" if uses[name] > 1 else ""
        steps.append(f"uses {name!r}{times} ({memo.get(name, 1):,} nodes)")
        body = named[name][0]
    return ", which ".join(steps) or "no named condition"


def _uses(node: Any) -> Iterator[str]:
    if isinstance(node, Mapping):
        if set(node) == {"use"} and isinstance(node["use"], str):
            yield node["use"]
            return
        for v in node.values():
            yield from _uses(v)
    elif isinstance(node, list):
        for v in node:
            yield from _uses(v)


def ruleset_chunks(sizes: list[Size]) -> list[list[int]]:
    """Indices of rules grouped, in order, into rulesets that durable_rules can take: within one
    ruleset at most MAX_RULE_TERMS alternatives in all and at most MAX_RULE_MATCHES that can hold
    at once (each rule alone fits, as the loader checks). Rules fire independently (facts, no
    chaining), so evaluating the groups one after another gives the same rules as one ruleset."""
    chunks: list[list[int]] = []
    total = Size(0, 0)
    for i, size in enumerate(sizes):
        grown = total + size
        if chunks and grown.terms <= MAX_RULE_TERMS and grown.matches <= MAX_RULE_MATCHES:
            chunks[-1].append(i)
            total = grown
        else:
            chunks.append([i])
            total = size
    return chunks or [[]]
