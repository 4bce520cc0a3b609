"""Semantic diff: do two revisions of a decision give the same answer for every valid fact?

Both revisions are translated over one shared fact encoding, and the solver looks for facts on
which their outcomes differ. Equal answers are proved for lists of any length (or said to hold
only up to the bound); a difference comes with the facts and both answers. Used by
`qpr-rules diff OLD NEW --prove`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import z3

from qpr_rules.analysis import smt_solve
from qpr_rules.analysis.smt_decision import decision_model
from qpr_rules.analysis.smt_facts import DEFAULT_LIST_BOUND, FactEncoder, facts_from_model, nice_model
from qpr_rules.policy.loader import DecisionSpec, PolicySet


@dataclass
class DecisionComparison:
    decision: str
    verdict: Literal["same", "different", "not-comparable", "added", "removed", "not-claimed"]
    message: str = ""
    example: dict[str, Any] | None = None
    old_outcome: str = ""
    new_outcome: str = ""


def compare_decision(old: DecisionSpec, new: DecisionSpec, list_bound: int = DEFAULT_LIST_BOUND,
                     timeout_s: float = smt_solve.DEFAULT_TIMEOUT_S) -> DecisionComparison:
    did = new.decision.id
    if old.fact_model is not new.fact_model:
        return DecisionComparison(did, "not-comparable", f"the fact type changed ({old.decision.facts} -> "
                                  f"{new.decision.facts})")
    encoder = FactEncoder("facts", list_bound)
    facts = encoder.encode(new.fact_model)
    a = decision_model(old, encoder=encoder, facts=facts)
    b = decision_model(new, encoder=encoder, facts=facts)
    names = sorted(set(a.outcome_is) | set(b.outcome_is))
    differ = z3.Or(*[a.outcome_is.get(o, z3.BoolVal(False)) != b.outcome_is.get(o, z3.BoolVal(False))
                     for o in names])
    solver = smt_solve.solver(timeout_s)
    solver.add(*encoder.all_constraints(), differ)
    verdict = solver.check()
    if verdict == z3.unsat:
        if encoder.unmodelled:
            return DecisionComparison(did, "not-claimed", "no difference found, but not proved: the "
                                      "translation does not model " + "; ".join(encoder.unmodelled))
        return DecisionComparison(did, "same", "the same answer for every valid fact")
    if verdict != z3.sat:
        return DecisionComparison(did, "not-claimed", f"the solver gave up ({solver.reason_unknown()})")
    # a difference may need list items past the bound that differ from the slots (the
    # over-approximation of smt_facts): the example comes from the exact encoding
    solver.add(encoder.exact())
    verdict = solver.check()
    if verdict == z3.unsat:
        return DecisionComparison(did, "not-claimed", f"the same answer for every valid fact whose lists "
                                  f"hold up to {list_bound} items; not proved for longer lists")
    if verdict != z3.sat:
        return DecisionComparison(did, "not-claimed", f"the solver gave up ({solver.reason_unknown()})")
    model = nice_model(solver, [facts])

    def answer(outcome_is: dict[str, z3.BoolRef]) -> str:
        return next(o for o, v in outcome_is.items() if z3.is_true(model.eval(v, model_completion=True)))

    old_o, new_o = answer(a.outcome_is), answer(b.outcome_is)
    return DecisionComparison(did, "different", f"answers differ: {old_o!r} before, {new_o!r} after",
                              facts_from_model(facts, model), old_o, new_o)


def compare_sets(old: PolicySet, new: PolicySet,
                 list_bound: int = DEFAULT_LIST_BOUND) -> list[DecisionComparison]:
    out = []
    for did in sorted(set(old.decisions) | set(new.decisions)):
        if did not in old.decisions:
            out.append(DecisionComparison(did, "added", "a new decision"))
        elif did not in new.decisions:
            out.append(DecisionComparison(did, "removed", "the decision was removed"))
        else:
            out.append(compare_decision(old.decisions[did], new.decisions[did], list_bound))
    return out
