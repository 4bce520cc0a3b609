"""Static checks from the SMT translation, for every valid fact the engine answers without an
error (lists of any length; examples are real facts, their lists' items past the bound repeat):

- dead rule: its condition cannot hold for any valid fact;
- shadowed rule: it fires, but never decides the outcome (first-applicable: an earlier rule
  always fires with it; precedence and deny-overrides: a stronger outcome always fires with it);
- conflicting pair: two rules with different outcomes that fire together (with an example);
- default region: facts on which no rule fires and the default decides (with an example);
- disabling default: a fact field whose default value (taken when the field is left out) keeps
  a restrictive rule (one whose outcome is the decision's fail-closed on_error) from firing;
- unknown: a question the solver could not answer within the time limit (nothing is claimed).

A rule "fires" only on facts the engine decides without an error (on facts beyond its range it
answers on_error and fires nothing). Claims that something never happens (dead, shadowed, a
disabling default) are unsat over every list length; examples come from the exact encoding.
"""

from __future__ import annotations

import datetime as dt
import gc
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum
from itertools import combinations
from typing import Any, Literal

import z3
from pydantic import BaseModel
from pydantic_core import PydanticUndefined

from qpr_rules.analysis.smt_conditions import literal
from qpr_rules.analysis.smt_decision import DecisionModel, decision_model
from qpr_rules.analysis.smt_facts import (
    DEFAULT_LIST_BOUND,
    Enc,
    ListEnc,
    ObjEnc,
    ScalarEnc,
    default_of,
    enum_value,
    facts_from_model,
    nice_model,
)
from qpr_rules.analysis.smt_solve import DEFAULT_TIMEOUT_S, TimedSolver, why_unknown
from qpr_rules.analysis.smt_solve import solver as new_solver
from qpr_rules.analysis.static_groups import candidate_partners
from qpr_rules.analysis.static_parts import Parts, Unknown, exact_model
from qpr_rules.engine.reference import get_path
from qpr_rules.policy.loader import CompiledRule, DecisionSpec

Kind = Literal["dead-rule", "shadowed-rule", "conflict", "default-region", "disabling-default", "unknown"]
SEVERITY: dict[Kind, Literal["warning", "info"]] = {
    "dead-rule": "warning", "shadowed-rule": "warning", "disabling-default": "info",
    "conflict": "info", "default-region": "info", "unknown": "warning",
}


@dataclass
class Finding:
    kind: Kind
    decision: str
    message: str
    rules: list[CompiledRule] = field(default_factory=list)
    example: dict[str, Any] | None = None

    @property
    def severity(self) -> Literal["warning", "info"]:
        return SEVERITY[self.kind]


def _sat(solver: z3.Solver, *extra: z3.BoolRef, facts: ObjEnc | None = None,
         minimal: bool = False) -> z3.ModelRef | None:
    """A model with extra, or None when there is none; with facts, one with readable values
    (for examples). Raises Unknown when the solver runs out of time."""
    solver.push()
    solver.add(*extra)
    try:
        verdict = solver.check()
        if verdict == z3.unknown:
            raise Unknown(why_unknown(solver, solver_timeout(solver)))
        if verdict != z3.sat:
            return None
        return nice_model(solver, [facts], minimal, solver_timeout(solver)) if facts is not None \
            else solver.model()
    finally:
        solver.pop()


def solver_timeout(solver: z3.Solver) -> float:
    return solver.timeout_s if isinstance(solver, TimedSolver) else DEFAULT_TIMEOUT_S


#: Told, now and then, how far the checks have come ("gen.placement: conflicts 120 of 4,950").
Progress = Callable[[str], None]


def _no_progress(_: str) -> None:
    return None


#: Which conflicting pairs get an example (the solver's most readable, a query of its own each):
#: every pair ("all": `--conflicts` and JSON), or only the first of each decision ("first": the
#: others are counted, their message without the example's answer; what `prove`'s text and
#: `check` print).
Examples = Literal["all", "first"]
#: "parts" decides whether rules fire, alone or two together, part by part of the facts they read,
#: most parts by a real fact and the rest by the solver over that part only (static_parts), and
#: tries real facts before each solver question about shadowed rules, the default's region and
#: disabling defaults; on a decision where some valid fact raises, it is "grouped": the solver is
#: asked only about pairs of rules whose pinned values overlap (static_groups), one question a
#: pair, and `not raises` is left out of every question when no valid fact raises; "pairwise"
#: asks about every pair with different outcomes (the reference both are tested against). "auto"
#: (the default) is "parts" for a decision of PARTS_MIN_RULES rules or more, "grouped" below: the
#: findings are the same, and a small decision's questions are few (its examples stay those the
#: solver gave before parts, which the docs show).
Method = Literal["auto", "parts", "grouped", "pairwise"]
PARTS_MIN_RULES = 40


def check_decision(spec: DecisionSpec, list_bound: int = DEFAULT_LIST_BOUND,
                   timeout_s: float = DEFAULT_TIMEOUT_S, progress: Progress = _no_progress,
                   examples: Examples = "all", method: Method = "auto", texts: bool = True) -> list[Finding]:
    """The findings of one decision; texts=False keeps the parts' text as text (no codes: the
    reference the codes are tested against)."""
    if method == "auto":
        method = "parts" if len(spec.rules) >= PARTS_MIN_RULES else "grouped"
    progress(f"{spec.decision.id}: translating {len(spec.rules):,} rules")
    dm = decision_model(spec, list_bound=list_bound)
    solver = new_solver(timeout_s)
    solver.add(*dm.constraints)
    did = spec.decision.id
    out: list[Finding] = []
    live: list[CompiledRule] = []
    # the engine fires rules only when it answers without an error; when no valid fact raises
    # (no date shifted past the calendar's ends within the engine's range), that holds already
    # and each question is smaller without it
    decides = z3.Not(dm.raises)
    if method != "pairwise":
        try:
            if _sat(solver, dm.raises) is None:
                decides = z3.BoolVal(True)
        except Unknown:
            pass
    exact = dm.encoder.exact()
    parts: Parts | None = None
    if method == "parts" and z3.is_true(decides):
        progress(f"{did}: the parts of the facts each rule reads")
        # the parts ask only exact questions: of an encoding built without the ghost items, its
        # text compared only with literals as codes (no string theory)
        exact_dm = exact_model(spec, list_bound, texts=texts)
        parts = Parts(exact_dm, timeout_s, progress)
        try:
            parts.seed([z3.Not(v) for v in exact_dm.fires.values()])
        except Unknown:
            parts = None  # the questions are asked whole, one by one

    def unknown(what: str, exc: Unknown, rules: list[CompiledRule]) -> None:
        out.append(Finding("unknown", did, f"{what}: not decided, {exc}", rules))

    for n, r in enumerate(dm.rules):
        progress(f"{did}: can each rule fire, {n:,} of {len(dm.rules):,}")
        try:
            # a rule that fires on a fact of the exact encoding is live; otherwise the whole
            # question (lists of any length) is asked
            dead = (parts is None or parts.rule_holds(r) is not None) and \
                _sat(solver, dm.fires[r.id], decides) is None
        except Unknown as exc:
            unknown(f"whether rule {r.id} can fire", exc, [r])
            continue
        if dead:
            out.append(Finding("dead-rule", did, f"rule {r.id} can never fire: no valid fact satisfies "
                               "its condition", [r]))
        else:
            live.append(r)
    progress(f"{did}: shadowed rules")
    out += _shadowed(dm, solver, live, unknown, decides, method, parts, progress)
    out += _conflicts(dm, solver, live, decides, examples, method, progress, parts)
    progress(f"{did}: where the default decides")
    none_fire = z3.And(*[z3.Not(v) for v in dm.fires.values()], z3.Not(dm.raises))
    try:
        model = _sat(solver, none_fire, exact, facts=dm.facts, minimal=True)
        forced = _forced(solver, none_fire, dm.facts, model, parts) if model is not None else []
    except Unknown as exc:
        unknown("where the default decides", exc, [])
        model = None
    if model is not None:
        shape = ("; every such fact has " + ", ".join(forced)) if forced else \
            "; no single fact value is common to all of them"
        out.append(Finding("default-region", did, f"no rule fires on some valid facts and the default "
                           f"{spec.decision.default!r} decides{shape}", [],
                           facts_from_model(dm.facts, model)))
    progress(f"{did}: defaults that keep a rule from firing")
    out += _disabling_defaults(dm, solver, live, unknown, decides, parts)
    return out


def _conflicts(dm: DecisionModel, solver: z3.Solver, live: list[CompiledRule], decides: z3.BoolRef,
               examples: Examples, method: Method, progress: Progress, parts: Parts | None) -> list[Finding]:
    """A finding per pair of live rules with different outcomes that fire together, in the order
    of the pairs; the pairs whose pinned values share nothing are not asked (method grouped or
    parts); with parts, each pair is decided by the parts both rules read, and the solver is asked
    the whole question only for the pairs that get an example."""
    did, combine = dm.spec.decision.id, dm.spec.decision.combine
    exact = dm.encoder.exact()
    differ = [(a, b) for a, b in combinations(live, 2) if a.rule.outcome != b.rule.outcome]
    if method != "pairwise":
        partners = candidate_partners(live, lambda a, b: a.rule.outcome != b.rule.outcome)
        differ = [(a, b) for a, b in differ if b.id in partners[a.id]]
    out: list[Finding] = []
    alone: dict[str, bool | Unknown] = {}  # with parts: whether the rule fires on an exact fact

    def fires_alone(r: CompiledRule) -> bool | Unknown:
        assert parts is not None
        if r.id not in alone:
            try:
                alone[r.id] = parts.rule_holds(r) is None
            except Unknown as exc:
                alone[r.id] = exc
        return alone[r.id]

    shown = False  # whether a pair of this decision has its example
    step = 1 if parts is None else 100  # progress: a pair by parts takes microseconds
    for n, (a, b) in enumerate(differ):
        if n % step == 0:
            progress(f"{did}: conflicts, pair {n:,} of {len(differ):,} that may fire together "
                     f"({len(out):,} found)")
        wanted = examples == "all" or not shown
        try:
            if parts is not None:
                together: bool | Unknown = True
                for r in (a, b):
                    together = fires_alone(r) if together is True else together
                if isinstance(together, Unknown):
                    raise together
                if together:
                    together = parts.together(a, b)
                if not together:
                    continue
                if not wanted:
                    out.append(Finding("conflict", did, f"{a.id} ({a.rule.outcome}) and {b.id} "
                                       f"({b.rule.outcome}) fire together", [a, b]))
                    continue
            model = _sat(solver, dm.fires[a.id], dm.fires[b.id], decides, exact,
                         facts=dm.facts if wanted else None)
        except Unknown as exc:
            out.append(Finding("unknown", did, f"whether {a.id} and {b.id} fire together: not decided, "
                               f"{exc}", [a, b]))
            continue
        if model is None:
            if parts is not None:
                raise AssertionError(f"{did}: {a.id} and {b.id} fire together by their parts, "
                                     "not in the whole encoding (a bug in static_parts)")
            continue
        pair = f"{a.id} ({a.rule.outcome}) and {b.id} ({b.rule.outcome}) fire together"
        if not wanted:
            out.append(Finding("conflict", did, pair, [a, b]))
            continue
        shown = True
        winner = next(o for o, v in dm.outcome_is.items() if z3.is_true(model.eval(v, model_completion=True)))
        out.append(Finding("conflict", did, f"{pair}; {combine} answers {winner!r} in the example",
                           [a, b], facts_from_model(dm.facts, model)))
    return out


def _scalars(enc: ObjEnc, path: str = "") -> list[tuple[str, ScalarEnc | ListEnc | ObjEnc]]:
    """Given fields outside lists, with their paths (lists and objects for their presence)."""
    out: list[tuple[str, ScalarEnc | ListEnc | ObjEnc]] = []
    assert enc.model is not None
    for name, sub in enc.fields.items():
        if name in enc.model.model_computed_fields:
            continue
        out.append((f"{path}{name}", sub))
        if isinstance(sub, ObjEnc):
            out += _scalars(sub, f"{path}{name}.")
    return out


def _forced(solver: z3.Solver, region: z3.BoolRef, facts: ObjEnc, model: z3.ModelRef,
            parts: Parts | None = None) -> list[str]:
    """The fact values shared by every fact of the region ("home.hold absent", "signed = true"):
    a description of where the default decides. With parts, a value is first looked for on real
    facts: the example with that field changed to a value a fact of the pool holds, kept when no
    rule fires on it; the solver is asked only when none is found."""
    out = []
    example = parts.region_fact(facts_from_model(facts, model)) if parts is not None else None

    def elsewhere(path: str, differs: Callable[[Any], bool]) -> bool:
        return example is not None and parts is not None and parts.region_variant(example, path, differs)

    def value_at(path: str) -> Any:
        return get_path(example.given, path) if example is not None else None

    for path, enc in _scalars(facts):
        present = z3.is_true(model.eval(enc.present, model_completion=True))
        # a field whose presence is the constant true (a required field of objects always
        # present) is present on every fact: the question needs no solver
        always = z3.is_true(z3.simplify(enc.present))
        if not always and elsewhere(path, _presence_differs(present)):
            continue
        if always or _sat(solver, region, enc.present != z3.BoolVal(present)) is None:
            if not present:
                out.append(f"{path} absent")
                continue
            if isinstance(enc, ScalarEnc):
                value = model.eval(enc.value, model_completion=True)
                here = value_at(path)
                if not elsewhere(path, _value_differs(here)) and \
                        _sat(solver, region, enc.value != value) is None:
                    out.append(f"{path} = {_show(enc, value)}")
            elif isinstance(enc, ListEnc):
                length = model.eval(enc.length, model_completion=True)
                if length.as_long() == 0 and not elsewhere(path, lambda v: bool(v)) and \
                        _sat(solver, region, enc.length != 0) is None:
                    out.append(f"{path} empty")
    return out


def _presence_differs(present: bool) -> Callable[[Any], bool]:
    return lambda value: (value is not None) != present


def _value_differs(here: Any) -> Callable[[Any], bool]:
    return lambda value: value is not None and value != here


def _show(enc: ScalarEnc, value: z3.ExprRef) -> str:
    match enc.ft.kind:
        case "bool":
            return "true" if z3.is_true(value) else "false"
        case "enum":
            return enum_value(enc.ft, value.as_long())
        case "date":
            return dt.date.fromordinal(value.as_long()).isoformat()
        case _:
            return str(value)


def _shadowed(dm: DecisionModel, solver: z3.Solver, live: list[CompiledRule],
              unknown: Callable[[str, Unknown, list[CompiledRule]], None],
              decides: z3.BoolRef, method: Method, parts: Parts | None,
              progress: Progress = _no_progress) -> list[Finding]:
    d = dm.spec.decision
    out = []
    # grouped: a rule whose pins share nothing with r's cannot fire with it, so it is left out
    # of "no earlier (stronger) rule fires" (the same question, smaller)
    near = candidate_partners(dm.rules, lambda a, b: True) if method != "pairwise" else None

    def meets(r: CompiledRule, e: CompiledRule) -> bool:
        return near is None or r.id in near[e.id] or e.id in near[r.id]

    live_ids = {r.id for r in live}
    for i, r in enumerate(dm.rules):
        if r.id not in live_ids:
            continue
        progress(f"{d.id}: shadowed rules, {i:,} of {len(dm.rules):,}")
        try:
            if parts is not None and d.combine != "collect-all" and _decides_on_a_fact(dm, parts, r):
                continue  # a real fact on which r decides: not shadowed, nothing to ask
            if parts is not None and d.combine != "collect-all":
                # a fact of the exact encoding on which r fires and none of the rules that would
                # take the decision from it (the question without the ghost items: smaller)
                others = [e for e in (dm.rules[:i] if d.combine == "first-applicable" else
                                      _stronger(dm, r)) if meets(r, e)]
                if parts.fires_without(r, others):
                    continue
            if d.combine == "first-applicable":
                earlier = [z3.Not(dm.fires[e.id]) for e in dm.rules[:i] if meets(r, e)]
                if _sat(solver, dm.fires[r.id], decides, *earlier) is None:
                    out.append(Finding("shadowed-rule", d.id, f"rule {r.id} never decides: whenever it "
                                       "fires, a rule earlier in priority order fires too", [r]))
            elif d.combine in ("precedence", "deny-overrides") and \
                    _sat(solver, dm.fires[r.id], decides, dm.outcome_is[r.rule.outcome] if near is None
                         else _answers(dm, r, meets)) is None:
                out.append(Finding("shadowed-rule", d.id, f"rule {r.id} never decides: whenever it "
                                   f"fires, a rule with a stronger outcome than {r.rule.outcome!r} "
                                   "fires too", [r]))
        except Unknown as exc:
            unknown(f"whether rule {r.id} ever decides", exc, [r])
    return out


def _stronger(dm: DecisionModel, r: CompiledRule) -> list[CompiledRule]:
    """The rules whose outcome is stronger than r's (precedence, deny-overrides; see _answers)."""
    return [e for e in _stronger_than(dm, r.rule.outcome) if e is not r]


def _stronger_than(dm: DecisionModel, outcome: str) -> list[CompiledRule]:
    """The rules whose outcome is stronger than outcome (kept on dm per outcome: asked per rule)."""
    known = dm.memo_stronger.get(outcome)
    if known is not None:
        return known
    d = dm.spec.decision
    order = list(d.outcomes)
    stronger = set(order[:order.index(outcome)])
    if d.combine == "deny-overrides" and outcome != "deny":
        stronger.add("deny")
    known = dm.memo_stronger[outcome] = [e for e in dm.rules if e.rule.outcome in stronger]
    return known


def _decides_on_a_fact(dm: DecisionModel, parts: Parts, r: CompiledRule) -> bool:
    """Whether parts finds a real fact on which r decides: no earlier rule fires (first-applicable),
    no rule with a stronger outcome (precedence, deny-overrides; see _answers)."""
    i = parts.position[r.id]  # (list.index compares rules field by field)
    takers = dm.rules[:i] if dm.spec.decision.combine == "first-applicable" else _stronger(dm, r)
    return parts.fires_alone_of(r, {e.id for e in takers})


def _answers(dm: DecisionModel, r: CompiledRule, meets: Callable[[CompiledRule, CompiledRule], bool]
             ) -> z3.BoolRef:
    """When r fires and the engine answers without an error (each question holds that): the
    decision answers r's outcome (precedence, deny-overrides). That is: no rule with a stronger
    outcome fires (deny first under deny-overrides, then the order of `outcomes`), leaving out
    the rules that cannot fire with r."""
    d = dm.spec.decision
    order = list(d.outcomes)
    stronger = set(order[:order.index(r.rule.outcome)])
    if d.combine == "deny-overrides" and r.rule.outcome != "deny":
        stronger.add("deny")
    return z3.And(*[z3.Not(dm.fires[e.id]) for e in dm.rules
                    if e.rule.outcome in stronger and e is not r and meets(r, e)])


def _given_defaults(model: type[BaseModel], enc: ObjEnc, path: str) -> list[tuple[str, Any, Enc]]:
    """(path, default, encoding) of every given field with a default other than None."""
    out: list[tuple[str, Any, Enc]] = []
    for name, info in model.model_fields.items():
        sub = enc.fields[name]
        fpath = f"{path}{name}"
        default = default_of(info)
        if default is not PydanticUndefined and default is not None:
            out.append((fpath, default, sub))
        if isinstance(sub, ObjEnc) and sub.model is not None:
            out += _given_defaults(sub.model, sub, f"{fpath}.")
    return out


def _at_default(enc: Enc, default: Any) -> z3.BoolRef | None:
    if isinstance(default, Enum):
        default = default.value
    match enc:
        case ListEnc(present=present, length=length) if default == []:
            return z3.And(present, length == 0)
        case ScalarEnc(ft=ft, present=present, value=value) if not isinstance(default, (list, dict)):
            return z3.And(present, value == literal(default, ft))
        case _:
            return None


def _disabling_defaults(dm: DecisionModel, solver: z3.Solver, live: list[CompiledRule],
                        unknown: Callable[[str, Unknown, list[CompiledRule]], None],
                        decides: z3.BoolRef, parts: Parts | None) -> list[Finding]:
    d = dm.spec.decision
    restrictive = [r for r in live if r.rule.outcome == d.on_error]
    out = []
    for path, default, enc in _given_defaults(dm.spec.fact_model, dm.facts, ""):
        at_default = _at_default(enc, default)
        if at_default is None:
            continue
        given = default.value if isinstance(default, Enum) else default
        for r in restrictive:
            # a real fact on which r fires with the field at its default: nothing to ask
            if parts is not None and parts.fires_with(r, tuple(path.split(".")), given):
                continue
            try:
                disabled = _sat(solver, dm.fires[r.id], decides, at_default) is None
            except Unknown as exc:
                unknown(f"whether {path} left out keeps rule {r.id} from firing", exc, [r])
                continue
            if disabled:
                shown = default.value if isinstance(default, Enum) else default
                out.append(Finding("disabling-default", d.id, f"when {path} is left out it defaults to "
                                   f"{shown!r}, and then rule {r.id} ({r.rule.outcome}) cannot fire: a "
                                   "missing fact reads as compliance; make the field required", [r]))
    return out


def check_all(specs: dict[str, DecisionSpec], list_bound: int = DEFAULT_LIST_BOUND,
              timeout_s: float = DEFAULT_TIMEOUT_S, progress: Progress = _no_progress,
              examples: Examples = "all", method: Method = "auto") -> list[Finding]:
    # the checks make millions of short-lived z3 wrappers: the objects alive before them (a
    # caller's decisions, the policy) are left out of each collection meanwhile
    gc.freeze()
    try:
        return [f for did in sorted(specs)
                for f in check_decision(specs[did], list_bound, timeout_s, progress, examples, method)]
    finally:
        gc.unfreeze()
