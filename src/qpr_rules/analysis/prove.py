"""`qpr-rules prove`: each invariant proved for every valid fact, or a counterexample.

A counterexample is the solver's model turned into facts, replayed through `Engine.decide`
(so the translation and the engine check each other: a disagreement is an error naming the
rule) and printed as a scenario file ready to paste under policies/tests/, expecting the
answer the invariant demands. Where the fact schema has Python the translation does not know
(a computed field or validator, see smt_facts), the result says so and claims no proof.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Literal

import yaml
import z3

from qpr_rules.analysis import smt_solve
from qpr_rules.analysis.smt_conditions import TRUE, translate
from qpr_rules.analysis.smt_decision import DecisionModel, decision_model
from qpr_rules.analysis.smt_facts import (
    DEFAULT_LIST_BOUND,
    MAX_LIST_BOUND,
    Enc,
    ObjEnc,
    ScalarEnc,
    facts_from_model,
    nice_model,
)
from qpr_rules.analysis.smt_solve import DEFAULT_TIMEOUT_S
from qpr_rules.engine.engine import Engine
from qpr_rules.engine.reference import compile_condition
from qpr_rules.errors import FactsError
from qpr_rules.facts.paths import FieldType
from qpr_rules.policy.invariants import OUTCOME, CompiledInvariant

Status = Literal["proved", "proved-bounded", "counterexample", "not-claimed", "unknown", "error"]


@dataclass
class Side:
    """One decision of a counterexample: its facts and the engine's answer to them."""

    name: str  # "" for a single-decision invariant
    decision: str
    facts: dict[str, Any]
    outcome: str
    fired: list[str]
    expected: str | None  # the outcome the invariant demands here, when one does


@dataclass
class InvariantResult:
    invariant: CompiledInvariant
    status: Status
    message: str = ""
    sides: list[Side] = field(default_factory=list)
    unmodelled: list[str] = field(default_factory=list)
    list_bound: int | None = None  # set when the proof holds only for lists up to this bound
    seconds: float = 0.0

    def scenario_yaml(self) -> str:
        return counterexample_yaml(self)


class ReplayMismatch(Exception):
    """The solver's model and the engine disagree (a bug in the translation or the engine)."""


def _outcome_scalar(dm: DecisionModel) -> ScalarEnc:
    ft = FieldType("enum", enum_values=tuple(dm.spec.decision.outcomes))
    return ScalarEnc(ft, TRUE, dm.outcome_term(), given=False)


def invariant_scope(inv: CompiledInvariant, models: dict[str, DecisionModel]) -> ObjEnc:
    """The encoding the invariant's conditions read: the facts plus `outcome`."""
    if inv.single:
        dm = models[""]
        return ObjEnc(None, TRUE, {**dm.facts.fields, OUTCOME: _outcome_scalar(dm)})
    fields: dict[str, Enc] = {name: dm.facts for name, dm in models.items()}
    fields[OUTCOME] = ObjEnc(None, TRUE, {name: _outcome_scalar(dm) for name, dm in models.items()})
    return ObjEnc(None, TRUE, fields)


def prove_invariant(engine: Engine, inv: CompiledInvariant, list_bound: int = DEFAULT_LIST_BOUND,
                    timeout_s: float = DEFAULT_TIMEOUT_S, beyond_range: bool = False) -> InvariantResult:
    """Prove inv, or find a counterexample and replay it through the engine.

    Two questions, each a solver call bounded by timeout_s. First over every fact, lists of any
    length with arbitrary items past the bound (over-approximated, so unsat is a proof for every
    length). When that finds something, again over the exact encoding (items past the bound
    repeat the last one): sat is a real counterexample; unsat proves the invariant only for
    lists of up to list_bound items, and the verdict says so.

    The facts covered are those the engine accepts (policy/limits.py: dates 1800-2399, ...);
    beyond_range adds the values beyond that range, which the engine answers with on_error."""
    started = time.perf_counter()
    models = {name: decision_model(engine.spec(did), prefix=name or "facts", list_bound=list_bound,
                                   beyond_range=beyond_range)
              for name, did in inv.decisions.items()}
    scope = invariant_scope(inv, models)
    when = translate(inv.when, scope)[0] if inv.when is not None else TRUE
    then = translate(inv.then, scope)[0]
    solver = smt_solve.solver(timeout_s)
    for dm in models.values():
        solver.add(*dm.constraints)
    exact = z3.And(*[dm.encoder.exact() for dm in models.values()])
    unmodelled = sorted({u for dm in models.values() for u in dm.encoder.unmodelled})
    result = InvariantResult(inv, "proved", unmodelled=unmodelled)

    def finish(status: Status, message: str = "") -> InvariantResult:
        result.status, result.message = status, message
        result.seconds = time.perf_counter() - started
        return result

    def check(*extra: z3.BoolRef) -> z3.CheckSatResult:
        solver.push()
        solver.add(*extra)
        try:
            verdict = solver.check()
            if verdict == z3.unknown:
                result.message = smt_solve.why_unknown(solver, timeout_s)
            return verdict
        finally:
            solver.pop()

    # vacuous: no fact of any length meets `when` (a real witness is looked for first: cheaper)
    witness = check(when, exact)
    if witness == z3.unsat:
        witness = check(when)
    if witness == z3.unknown:
        return finish("unknown", result.message)
    if witness == z3.unsat:
        return finish("error", "vacuous: no valid fact satisfies `when`, so the invariant says nothing")
    verdict = check(when, z3.Not(then))
    if verdict == z3.unknown:
        return finish("unknown", result.message)
    if verdict == z3.unsat:
        if unmodelled:
            return finish("not-claimed", "no counterexample, but not proved: the translation does not "
                          "model " + "; ".join(unmodelled))
        return finish("proved")
    solver.add(when, z3.Not(then), exact)
    verdict = solver.check()
    if verdict == z3.unknown:
        return finish("unknown", smt_solve.why_unknown(solver, timeout_s))
    if verdict == z3.unsat:
        result.list_bound = list_bound
        lists = sorted({p for dm in models.values() for p in dm.encoder.bounded_lists if "[" not in p})
        further = min(list_bound + 1, MAX_LIST_BOUND)
        bounded = (f"proved for lists of up to {list_bound} items ({', '.join(lists)}); a counterexample "
                   f"would need more different items than that: --list-bound {further} looks further")
        if unmodelled:
            return finish("not-claimed", bounded + "; and not proved: the translation does not model "
                          + "; ".join(unmodelled))
        return finish("proved-bounded", bounded)
    model = nice_model(solver, [dm.facts for dm in models.values()], timeout_s=timeout_s)
    try:
        result.sides = _replay(engine, inv, models, model)
    except ReplayMismatch as exc:
        return finish("error", str(exc))
    return finish("counterexample")


def _replay(engine: Engine, inv: CompiledInvariant, models: dict[str, DecisionModel],
            model: z3.ModelRef) -> list[Side]:
    sides: list[Side] = []
    dumped: dict[str, Any] = {}
    outcomes: dict[str, str] = {}
    for name, dm in models.items():
        did = dm.spec.decision.id
        facts = facts_from_model(dm.facts, model)
        decision = engine.decide(did, facts)
        solver_raises = z3.is_true(model.eval(dm.raises, model_completion=True))
        if (decision.status == "error") != solver_raises:
            raise ReplayMismatch(f"{inv.id}: the counterexample for {did} does not replay: the solver "
                                 f"{'expects' if solver_raises else 'does not expect'} the on_error answer, "
                                 f"the engine answers {decision.outcome!r} "
                                 f"({'; '.join(decision.errors) or 'no error'}; facts: {facts})")
        solver_fired = {r.id for r in dm.rules
                        if z3.is_true(model.eval(dm.fires[r.id], model_completion=True))}
        engine_fired = {r.id for r in decision.fired}
        if solver_raises:  # the engine answers on_error without firing rules
            solver_fired = engine_fired
        if solver_fired != engine_fired:
            wrong = sorted(solver_fired ^ engine_fired)
            raise ReplayMismatch(f"{inv.id}: the translation and the engine disagree on rule(s) "
                           f"{', '.join(wrong)} for {did} (solver fired {sorted(solver_fired)}, engine "
                           f"fired {sorted(engine_fired)}; facts: {facts})")
        solver_outcome = next(o for o, v in dm.outcome_is.items()
                              if z3.is_true(model.eval(v, model_completion=True)))
        if solver_outcome != decision.outcome:
            raise ReplayMismatch(f"{inv.id}: the translation of {did}'s combine strategy "
                           f"({dm.spec.decision.combine}) gives {solver_outcome!r}, the engine "
                           f"{decision.outcome!r} (fired: {sorted(engine_fired)})")
        dumped[name] = _dumped(engine, did, facts, dm, model)
        outcomes[name] = decision.outcome
        sides.append(Side(name, did, facts, decision.outcome, [r.id for r in decision.fired], None))
    if not _violates(inv, dumped, outcomes):
        raise ReplayMismatch(f"{inv.id}: the solver's counterexample does not violate the invariant when "
                       "the reference evaluator reads it (a bug in the translation of when/then)")
    for side in sides:
        side.expected = _demanded(inv, dumped, outcomes, side.name, models[side.name])
    return sides


def _dumped(engine: Engine, did: str, facts: dict[str, Any], dm: DecisionModel,
            model: z3.ModelRef) -> dict[str, Any]:
    """The facts as the invariant's conditions read them (computed fields included): from the
    fact model, or, for values the fact model refuses (beyond the engine's range), from the
    solver's model, computed fields and all."""
    try:
        return engine.validate_facts(did, facts).model_dump(mode="python")
    except FactsError:
        return facts_from_model(dm.facts, model, computed=True)


def _combined(inv: CompiledInvariant, dumped: dict[str, Any], outcomes: dict[str, str]) -> dict[str, Any]:
    if inv.single:
        return {**dumped[""], OUTCOME: outcomes[""]}
    return {**dumped, OUTCOME: dict(outcomes)}


def _violates(inv: CompiledInvariant, dumped: dict[str, Any], outcomes: dict[str, str]) -> bool:
    facts = _combined(inv, dumped, outcomes)
    holds_when = inv.when is None or compile_condition(inv.when)(facts)
    return holds_when and not compile_condition(inv.then)(facts)


def _demanded(inv: CompiledInvariant, dumped: dict[str, Any], outcomes: dict[str, str], name: str,
              dm: DecisionModel) -> str | None:
    """The first outcome (in `outcomes` order) of this side that would satisfy the invariant."""
    for candidate in dm.spec.decision.outcomes:
        if not _violates(inv, dumped, {**outcomes, name: candidate}):
            return candidate
    return None


def _yaml_value(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _yaml_value(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_yaml_value(v) for v in value]
    return value


def counterexample_yaml(result: InvariantResult) -> str:
    """The counterexample as a scenario file (format qpr-rules/scenarios-v1)."""
    inv = result.invariant
    lines = [f"# Counterexample to invariant {inv.id} ({inv.file.path.name}:{inv.line}):",
             f"#   {inv.invariant.title}"]
    scenarios = []
    for side in result.sides:
        lines.append(f"# {side.decision} answers {side.outcome!r}; rules fired: "
                     f"{', '.join(side.fired) or 'none (the default decides)'}")
        expect: dict[str, Any] = {"outcome": side.expected or side.outcome}
        if side.expected is None:
            lines.append(f"#   (no single outcome of {side.decision} satisfies the invariant here; "
                         "the expectation below is today's answer: edit it)")
        scenarios.append({
            "name": f"{inv.id}: {inv.invariant.title}"[:200],
            "decision": side.decision,
            "clauses": [inv.invariant.clause],
            "facts": _yaml_value(side.facts),
            "expect": expect,
        })
    body = yaml.safe_dump({"format": "qpr-rules/scenarios-v1", "scenarios": scenarios},
                          sort_keys=False, allow_unicode=True, width=100)
    return "\n".join(lines) + "\n" + body


@dataclass
class ProveReport:
    results: list[InvariantResult]
    seconds: float

    @property
    def ok(self) -> bool:
        """Every invariant proved (for every list length, or for lists up to the bound)."""
        return all(r.status in ("proved", "proved-bounded") for r in self.results)

    @property
    def unknown(self) -> bool:
        return any(r.status == "unknown" for r in self.results)


def prove_all(engine: Engine, list_bound: int = DEFAULT_LIST_BOUND, timeout_s: float = DEFAULT_TIMEOUT_S,
              beyond_range: bool = False) -> ProveReport:
    started = time.perf_counter()
    results = [prove_invariant(engine, inv, list_bound, timeout_s, beyond_range)
               for inv in engine.policies.invariants]
    return ProveReport(results, time.perf_counter() - started)
