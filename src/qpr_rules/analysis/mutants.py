"""Rule mutants: small wrong versions of a rule, for asking whether the scenarios would notice.

Each mutant changes one thing of one rule, in memory (the files are never touched):

- `stuck-true` / `stuck-false`: one atomic condition replaced by a tautology (`A or not A`) or a
  contradiction (`A and not A`) built from the atom itself, so every evaluator, the durable
  compiler and the SMT translation read it with no new node type;
- `negated`: one atomic condition replaced by its negation;
- `boundary+1` / `boundary-1`: an ordered comparison (`lt`, `lte`, `gt`, `gte`, and the date
  words) or a `count` whose right side is a number, a date or a shifted date fact, moved by one
  (one unit, one day);
- `outcome:X`: the rule's outcome replaced by another outcome X of its decision (one mutant per
  other outcome);
- `deleted`: the rule removed.

Whether a mutant can be told apart from the original at all is the solver's question:
analysis/mutant_equivalence.py (kept apart so that making mutants does not import z3).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass
from typing import Any, Literal, assert_never

from qpr_rules.policy.condition_nodes import (
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
    Present,
    Quantified,
    atoms,
)
from qpr_rules.policy.loader import CompiledRule, DecisionSpec

Kind = Literal["stuck-true", "stuck-false", "negated", "boundary+1", "boundary-1", "outcome", "deleted"]
KINDS: tuple[str, ...] = ("stuck-true", "stuck-false", "negated", "boundary+1", "boundary-1", "outcome",
                          "deleted")
_ORDERED = ("lt", "lte", "gt", "gte")


@dataclass(frozen=True)
class Mutant:
    """One change to one rule: picklable (a worker process rebuilds the mutated rule from it)."""

    decision: str
    rule: str
    kind: Kind
    atom: int = -1  # the atom's position in `atoms(rule.condition)` order; -1 for rule mutants
    path: str = ""  # its condition path (coverage's key), for the reader
    outcome: str = ""  # the new outcome of an `outcome` mutant

    @property
    def id(self) -> str:
        where = f" [{self.path}]" if self.path else ""
        what = f"outcome -> {self.outcome}" if self.kind == "outcome" else self.kind
        return f"{self.rule}{where} {what}"


def mutants_of(spec: DecisionSpec, paths: dict[str, list[str]]) -> list[Mutant]:
    """Every mutant of every rule of a decision, in rule order (paths: rule id -> its condition
    paths, as the coverage data keys them)."""
    out: list[Mutant] = []
    did = spec.decision.id
    for rule in spec.rules:
        for i, atom in enumerate(atoms(rule.condition)):
            path = paths[rule.id][i]
            kinds: tuple[Kind, ...] = ("stuck-true", "stuck-false", "negated")
            for kind in kinds:
                out.append(Mutant(did, rule.id, kind, i, path))
            if _shifted(atom, 1) is not None:
                out.append(Mutant(did, rule.id, "boundary+1", i, path))
                out.append(Mutant(did, rule.id, "boundary-1", i, path))
        for other in spec.decision.outcomes:
            if other != rule.rule.outcome:
                out.append(Mutant(did, rule.id, "outcome", outcome=other))
        out.append(Mutant(did, rule.id, "deleted"))
    return out


def apply(spec: DecisionSpec, mutant: Mutant) -> DecisionSpec:
    """The decision with the mutant's change made to its rule."""
    rules: list[CompiledRule] = []
    for rule in spec.rules:
        if rule.id != mutant.rule:
            rules.append(rule)
            continue
        match mutant.kind:
            case "deleted":
                continue
            case "outcome":
                changed = rule.rule.model_copy(update={"outcome": mutant.outcome})
                rules.append(dataclasses.replace(rule, rule=changed))
            case "stuck-true" | "stuck-false" | "negated" | "boundary+1" | "boundary-1":
                condition, _ = _replace_atom(rule.condition, mutant.atom,
                                             lambda a: _mutated_atom(a, mutant.kind))
                rules.append(dataclasses.replace(rule, condition=condition))
            case _:
                assert_never(mutant.kind)
    return dataclasses.replace(spec, rules=tuple(rules))


def _mutated_atom(atom: Condition, kind: Kind) -> Condition:
    match kind:
        case "stuck-true":
            return AnyOf(atom.loc, (atom, Not(atom.loc, atom)))
        case "stuck-false":
            return All(atom.loc, (atom, Not(atom.loc, atom)))
        case "negated":
            return Not(atom.loc, atom)
        case "boundary+1" | "boundary-1":
            moved = _shifted(atom, 1 if kind == "boundary+1" else -1)
            assert moved is not None
            return moved
        case "outcome" | "deleted":
            raise AssertionError(f"{kind} is not an atom mutation")
        case _:
            assert_never(kind)


def _shifted(atom: Condition, by: int) -> Condition | None:
    """An ordered comparison with its right side moved by one unit (None when there is none)."""
    if not isinstance(atom, (Compare, Count)) or atom.op not in _ORDERED:
        return None
    right = atom.right
    if isinstance(right, FactRef):
        if isinstance(atom, Compare) and atom.ftype.kind == "date":
            return dataclasses.replace(atom, right=dataclasses.replace(right, plus_days=right.plus_days + by))
        return None
    value = right.value
    new: Any
    if isinstance(value, bool):
        return None
    if isinstance(value, dt.date):
        new = value + dt.timedelta(days=by)
    elif isinstance(value, (int, float)):
        new = value + by
    else:
        return None
    return dataclasses.replace(atom, right=Literal_(new, right.param))


def _replace_atom(cond: Condition, index: int, change: Any) -> tuple[Condition, int]:
    """cond with its index-th atom (document order) replaced by change(atom); and how many atoms
    it holds (counted by position, so a named condition used twice is changed in one place)."""
    match cond:
        case All(items=items) | AnyOf(items=items):
            out = []
            seen = 0
            for c in items:
                new, n = _replace_atom(c, index - seen, change)
                out.append(new)
                seen += n
            return dataclasses.replace(cond, items=tuple(out)), seen
        case Not(item=item):
            new, n = _replace_atom(item, index, change)
            return dataclasses.replace(cond, item=new), n
        case Compare() | InSet() | Present() | Contains() | Count() | Quantified():
            return (change(cond) if index == 0 else cond), 1
        case _:
            assert_never(cond)
