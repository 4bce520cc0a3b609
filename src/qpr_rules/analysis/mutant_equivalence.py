"""Is a rule mutant equivalent to the original? The solver's answer.

`prove_equivalent` asks the solver whether a mutant can be told apart from the original at all:
on some valid fact, does the answer differ in anything a scenario can check (the outcome, which
rules fired, or which rules' duties and consequences the answer carries)? unsat is a proof that
no scenario can kill the mutant; sat gives the facts of a scenario that would.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, assert_never

import z3

from qpr_rules.analysis import smt_solve
from qpr_rules.analysis.smt_conditions import FALSE
from qpr_rules.analysis.smt_decision import DecisionModel, decision_model
from qpr_rules.analysis.smt_facts import DEFAULT_LIST_BOUND, FactEncoder, facts_from_model, nice_model
from qpr_rules.policy.loader import DecisionSpec


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
