"""Rules grouped by the values they pin a fact to, so that the conflict check asks the solver
only about pairs of rules that can fire together.

Rules keyed on different values of one fact (a rule for these homes, another for those) never
fire together: that is decided here, without the solver, from each rule's top-level `all`
(`pins`). The pairs left (`candidate_partners`) are found value by value, through the fact most
rules pin, not by testing every pair. tests/test_static_groups.py checks on generated policies
that the findings are those of asking the solver about every pair.

(Asking the solver about a whole group at once, "does some partner of rule a fire with it?",
with each model deciding every pair that fires in it, was tried and measured slower on the
generated policies of bench/scale_policy.py: nine in ten of the pairs left do fire together,
the solver's models fire two or three rules each, and a query over a disjunction of a hundred
rules costs several pair queries. Naming each rule's `fires` by a boolean was 20 times slower.)
"""

from __future__ import annotations

from collections.abc import Callable

from qpr_rules.policy.condition_nodes import (
    All,
    AnyOf,
    Compare,
    Condition,
    Contains,
    Count,
    InSet,
    Literal_,
    Not,
    Present,
    Quantified,
    Scalar,
)
from qpr_rules.policy.loader import CompiledRule


def pins(cond: Condition) -> dict[str, frozenset[Scalar]]:
    """The values a rule's condition pins facts to: {path: values} for each `in` or `eq` literal
    among the conjuncts of its top-level `all` (nested `all`s included). The rule fires only
    when each such fact is present and holds one of its values (smt_conditions: an atom on an
    absent fact is false), so two rules whose pins on one path share no value never fire
    together. Paths here are read at the top of the facts, never inside a `some`/`every`."""
    out: dict[str, frozenset[Scalar]] = {}

    def add(path: str, values: frozenset[Scalar]) -> None:
        out[path] = out[path] & values if path in out else values

    def walk(c: Condition) -> None:
        match c:
            case All(items=items):
                for item in items:
                    walk(item)
            case InSet(path=path, values=values):
                add(path, frozenset(values))
            case Compare(path=path, op="eq", right=Literal_(value=value)):
                add(path, frozenset([value]))
            case Compare() | AnyOf() | Not() | Present() | Contains() | Count() | Quantified():
                pass  # no single set of values that the rule's firing implies

    walk(cond)
    return out


def compatible(a: dict[str, frozenset[Scalar]], b: dict[str, frozenset[Scalar]]) -> bool:
    """Whether two rules' pins leave some value for every fact both pin (else they never co-fire)."""
    return all(a[p] & b[p] for p in a.keys() & b.keys())


def candidate_partners(rules: list[CompiledRule], differ: Callable[[CompiledRule, CompiledRule], bool]
                       ) -> dict[str, set[str]]:
    """For each rule, the later rules (in list order) that differ from it and whose pins are
    compatible with its own: the pairs that may fire together. Found through the path most
    rules pin (rules keyed on a home, a program), value by value, not pair by pair."""
    pinned = {r.id: pins(r.condition) for r in rules}
    position = {r.id: i for i, r in enumerate(rules)}
    counts: dict[str, int] = {}
    for p in pinned.values():
        for path in p:
            counts[path] = counts.get(path, 0) + 1
    key = max(counts, key=lambda k: counts[k], default=None)
    by_value: dict[Scalar, list[str]] = {}
    unkeyed: list[str] = []
    for r in rules:
        if key is not None and key in pinned[r.id]:
            for v in pinned[r.id][key]:
                by_value.setdefault(v, []).append(r.id)
        else:
            unkeyed.append(r.id)
    by_id = {r.id: r for r in rules}
    out: dict[str, set[str]] = {}
    for r in rules:
        if key is not None and key in pinned[r.id]:
            near = {b for v in pinned[r.id][key] for b in by_value.get(v, ())} | set(unkeyed)
        else:
            near = set(by_id)
        i = position[r.id]
        out[r.id] = {b for b in near if position[b] > i and differ(r, by_id[b])
                     and compatible(pinned[r.id], pinned[b])}
    return out
