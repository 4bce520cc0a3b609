"""A decision in SMT: which rules fire and which outcome the combine strategy gives.

Combining follows the engine's contract (to be shared with engine/combine.py):
deny-overrides answers deny whenever a deny rule fires, else the first outcome in the
decision's `outcomes` order that some fired rule gives; precedence and collect-all answer the
first outcome in `outcomes` order that fired; first-applicable answers the outcome of the first
rule that fired in priority order (priority, file, position). No rule fired: the default.
Evaluation raised, or a fact value is beyond the engine's range: on_error.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import assert_never

import z3

from qpr_rules.analysis.smt_conditions import FALSE, Memo, translate
from qpr_rules.analysis.smt_facts import DEFAULT_LIST_BOUND, FactEncoder, ObjEnc, ScalarEnc, lookup
from qpr_rules.policy.loader import CompiledRule, DecisionSpec


def rule_order(spec: DecisionSpec) -> list[CompiledRule]:
    """The rules in the engine's evaluation order (first-applicable takes the first)."""
    return sorted(spec.rules, key=lambda r: (r.rule.priority, str(r.file.path), r.index))


@dataclass
class DecisionModel:
    spec: DecisionSpec
    encoder: FactEncoder
    facts: ObjEnc
    rules: list[CompiledRule]
    fires: dict[str, z3.BoolRef]
    raises: z3.BoolRef
    outcome_is: dict[str, z3.BoolRef]  # exactly one holds for every valid fact
    memo: Memo = field(default_factory=dict)  # the conditions translated (to reuse: translate)
    memo_stronger: dict[str, list[CompiledRule]] = field(default_factory=dict)  # static_checks

    @property
    def constraints(self) -> list[z3.BoolRef]:
        return self.encoder.all_constraints()

    def outcome_term(self) -> z3.ArithRef:
        """The outcome as an index into sorted(outcomes), the enum encoding of outcome fields."""
        names = sorted(self.spec.decision.outcomes)
        term: z3.ArithRef = z3.IntVal(0)
        for i, name in reversed(list(enumerate(names))):
            term = z3.If(self.outcome_is[name], i, term)
        return term


def decision_model(spec: DecisionSpec, prefix: str = "facts", list_bound: int = DEFAULT_LIST_BOUND,
                   rules: list[CompiledRule] | None = None,
                   encoder: FactEncoder | None = None, facts: ObjEnc | None = None,
                   beyond_range: bool = False) -> DecisionModel:
    """The decision over the fact encoding (a fresh one, or the one given to share facts)."""
    if encoder is None or facts is None:
        encoder = FactEncoder(prefix, list_bound)
        facts = encoder.encode(spec.fact_model)
    ordered = rule_order(spec) if rules is None else rules
    fires: dict[str, z3.BoolRef] = {}
    errors: list[z3.BoolRef] = []
    memo: Memo = {}
    for r in ordered:
        value, error = translate(r.condition, facts, memo)
        fires[r.id] = value
        if not z3.is_false(error):
            errors.append(error)
    # Facts beyond the engine's range (policy/limits.py) answer on_error, as an evaluation error
    # does. By default they are outside the facts a proof covers (the fact models refuse them,
    # as they refuse any invalid fact); beyond_range keeps them in, answering on_error.
    invalid = [e for e in encoder.invalid if not z3.is_false(z3.simplify(e))]
    if beyond_range:
        errors += invalid
    elif invalid:
        encoder.constraints.append(z3.Not(z3.Or(*invalid)))
    # A question dated (`dated_by`) before the version's effective_from is answered under another
    # version, or with on_error when none is loaded (engine.py): outside this version's scope,
    # which docs/prove.md states ("questions dated on or after effective_from").
    if spec.decision.dated_by is not None:
        day = lookup(facts, spec.decision.dated_by)
        assert isinstance(day, ScalarEnc)
        start = spec.file.policy.effective_from.toordinal()
        encoder.constraints.append(z3.Implies(day.present, day.value >= start))
    raises = z3.Or(*errors) if errors else FALSE
    return DecisionModel(spec, encoder, facts, ordered, fires, raises,
                         combine(spec, ordered, fires, raises), memo)


def combine(spec: DecisionSpec, ordered: list[CompiledRule], fires: dict[str, z3.BoolRef],
            raises: z3.BoolRef) -> dict[str, z3.BoolRef]:
    d = spec.decision
    fired_outcome = {o: z3.Or(*[fires[r.id] for r in ordered if r.rule.outcome == o]) for o in d.outcomes}
    # `chosen` is a chain of (guard, outcome), tried in order; the default closes it
    chosen: list[tuple[z3.BoolRef, str]] = [(raises, d.on_error)]
    match d.combine:
        case "deny-overrides":
            chosen.append((fired_outcome["deny"], "deny"))
            chosen += [(fired_outcome[o], o) for o in d.outcomes]
        case "precedence" | "collect-all":
            chosen += [(fired_outcome[o], o) for o in d.outcomes]
        case "first-applicable":
            chosen += [(fires[r.id], r.rule.outcome) for r in ordered]
        case _:
            assert_never(d.combine)
    result: dict[str, z3.BoolRef] = {}
    earlier: z3.BoolRef = FALSE
    for guard, outcome in chosen:
        taken = z3.And(z3.Not(earlier), guard)
        result[outcome] = z3.Or(result.get(outcome, FALSE), taken)
        earlier = z3.Or(earlier, guard)
    result[d.default] = z3.Or(result.get(d.default, FALSE), z3.Not(earlier))
    for o in d.outcomes:
        result.setdefault(o, FALSE)
    return {o: z3.simplify(v) for o, v in result.items()}
