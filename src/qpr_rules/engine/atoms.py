"""Non-short-circuit evaluation: a rule's result together with the result of every atomic
condition in it, for condition coverage and MC/DC.

The reference evaluator (`reference.py`) stops at the first false item of an `all` and the first
true item of an `any`, which is right for deciding and wrong for coverage: an atom after the one
that decided would never be seen. Here every atom of the tree is evaluated, each with the
reference evaluator's own closure for that atom (so the two cannot drift apart), and the tree is
combined from those results. A `some`/`every` over a list is one atom: its item condition is
evaluated per item, which is not a result of the rule's own.

The decision log no longer calls this (engine/compiled_atoms.py reads the atoms from the model by
generated code); it stays the reference the log's atoms are tested against
(tests/test_decision_log.py, tests/test_coverage.py).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import assert_never

from qpr_rules.engine.reference import Facts, compile_condition
from qpr_rules.policy.conditions import (
    All,
    AnyOf,
    Compare,
    Condition,
    Contains,
    Count,
    InSet,
    Not,
    Present,
    Quantified,
    atoms,
)

Traced = Callable[[Facts], tuple[bool, tuple[bool, ...]]]


def compile_traced(cond: Condition) -> Traced:
    """A closure giving (the condition's value, each atom's value in `atoms(cond)` order)."""
    leaves = atoms(cond)
    checks = [compile_condition(a) for a in leaves]
    position = {id(a): i for i, a in enumerate(leaves)}
    combine = _combiner(cond, position)

    def traced(facts: Facts) -> tuple[bool, tuple[bool, ...]]:
        values = tuple(check(facts) for check in checks)  # every atom, no short-circuit
        return combine(values), values

    return traced


def _combiner(cond: Condition, position: dict[int, int]) -> Callable[[Sequence[bool]], bool]:
    """The tree's value from its atoms' values (which are all computed beforehand)."""
    match cond:
        case All(items=items):
            parts = [_combiner(c, position) for c in items]
            return lambda v: all(p(v) for p in parts)
        case AnyOf(items=items):
            parts = [_combiner(c, position) for c in items]
            return lambda v: any(p(v) for p in parts)
        case Not(item=item):
            inner = _combiner(item, position)
            return lambda v: not inner(v)
        case Compare() | InSet() | Present() | Contains() | Count() | Quantified():
            i = position[id(cond)]
            return lambda v: v[i]
        case _:
            assert_never(cond)


def traced(cond: Condition) -> Traced:
    """compile_traced(cond), memoised on the node (it lives and dies with the loaded policy)."""
    memo: Traced | None = cond.__dict__.get("_traced_memo")
    if memo is None:
        memo = compile_traced(cond)
        object.__setattr__(cond, "_traced_memo", memo)  # a frozen dataclass: not a field
    return memo
