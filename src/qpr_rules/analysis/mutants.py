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

`prove_equivalent` asks the solver whether a mutant can be told apart from the original at all:
on some valid fact, does the answer differ in anything a scenario can check (the outcome, which
rules fired, or which rules' duties and consequences the answer carries)? unsat is a proof that
no scenario can kill the mutant; sat gives the facts of a scenario that would.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass
from typing import Any, Literal, assert_never

import z3

from qpr_rules.analysis import smt_solve
from qpr_rules.analysis.smt_conditions import FALSE
from qpr_rules.analysis.smt_decision import DecisionModel, decision_model
from qpr_rules.analysis.smt_facts import DEFAULT_LIST_BOUND, FactEncoder, facts_from_model, nice_model
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


# ------------------------------------------------------------------------------- the solver


@dataclass
class Verdict:
    status: Literal["equivalent", "different", "unknown"]
    proof: str  # for equivalent: what the solver proved; else why not
    facts: dict[str, Any] | None = None  # for different: facts on which the answers differ


def prove_equivalent(original: DecisionSpec, mutated: DecisionSpec, list_bound: int = DEFAULT_LIST_BOUND,
                     timeout_s: float = smt_solve.DEFAULT_TIMEOUT_S) -> Verdict:
    """Is there a valid fact on which the two give answers a scenario could tell apart?"""
    encoder = FactEncoder("facts", list_bound)
    facts = encoder.encode(original.fact_model)
    a = decision_model(original, encoder=encoder, facts=facts)
    b = decision_model(mutated, encoder=encoder, facts=facts)
    differ = z3.Or(*_observables_differ(a, b))
    solver = smt_solve.solver(timeout_s)
    solver.add(*encoder.all_constraints(), differ)
    verdict = solver.check()
    if verdict == z3.unsat:
        if encoder.unmodelled:
            return Verdict("unknown", "no difference found, but not proved: the translation does not model "
                           + "; ".join(encoder.unmodelled))
        return Verdict("equivalent", "z3: unsat of (original != mutant) over every valid fact: the same "
                                     "outcome, the same rules fired and the same duties for every fact")
    if verdict != z3.sat:
        return Verdict("unknown", smt_solve.why_unknown(solver, timeout_s))
    solver.add(encoder.exact())
    verdict = solver.check()
    if verdict == z3.unsat:
        return Verdict("unknown", "the same answers for every valid fact whose lists hold up to "
                                  f"{list_bound} items; not proved for longer lists")
    if verdict != z3.sat:
        return Verdict("unknown", smt_solve.why_unknown(solver, timeout_s))
    model = nice_model(solver, [facts])
    return Verdict("different", "z3: sat", facts_from_model(facts, model))


def _observables_differ(a: DecisionModel, b: DecisionModel) -> list[z3.BoolRef]:
    """What a scenario checks, per fact: the outcome, each rule fired or not, and each rule whose
    duties or consequences the answer carries."""
    out: list[z3.BoolRef] = [a.raises != b.raises]
    for o in sorted(set(a.outcome_is) | set(b.outcome_is)):
        out.append(a.outcome_is.get(o, FALSE) != b.outcome_is.get(o, FALSE))
    duty_a, duty_b = _duty_rules(a), _duty_rules(b)
    for rid in a.fires:
        out.append(a.fires[rid] != b.fires.get(rid, FALSE))
        if rid in duty_a:
            out.append(duty_a[rid] != duty_b.get(rid, FALSE))
    return out


def _duty_rules(m: DecisionModel) -> dict[str, z3.BoolRef]:
    """Rule id -> the answer carries its duties and consequences (rules that carry some only)."""
    strategy = m.spec.decision.combine
    out: dict[str, z3.BoolRef] = {}
    earlier: list[z3.BoolRef] = []
    for r in m.rules:
        fires = m.fires[r.id]
        if r.rule.obligations or r.rule.consequences:
            match strategy:
                case "collect-all":
                    carried = fires
                case "first-applicable":
                    carried = z3.And(fires, z3.Not(z3.Or(*earlier))) if earlier else fires
                case "deny-overrides" | "precedence":
                    carried = z3.And(fires, m.outcome_is[r.rule.outcome])
                case _:
                    assert_never(strategy)
            out[r.id] = z3.And(carried, z3.Not(m.raises))
        earlier.append(fires)
    return out
