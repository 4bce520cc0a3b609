"""Static checks from the SMT translation, for every valid fact (lists up to the bound):

- dead rule: its condition cannot hold for any valid fact;
- shadowed rule: it fires, but never decides the outcome (first-applicable: an earlier rule
  always fires with it; precedence and deny-overrides: a stronger outcome always fires with it);
- conflicting pair: two rules with different outcomes that fire together (with an example);
- default region: facts on which no rule fires and the default decides (with an example);
- disabling default: a fact field whose default value (taken when the field is left out) keeps
  a restrictive rule (one whose outcome is the decision's fail-closed on_error) from firing.
"""

from __future__ import annotations

import datetime as dt
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
from qpr_rules.policy.loader import CompiledRule, DecisionSpec

Kind = Literal["dead-rule", "shadowed-rule", "conflict", "default-region", "disabling-default"]
SEVERITY: dict[Kind, Literal["warning", "info"]] = {
    "dead-rule": "warning", "shadowed-rule": "warning", "disabling-default": "info",
    "conflict": "info", "default-region": "info",
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
    """A model with extra, or None; with facts, one with readable values (for examples)."""
    solver.push()
    solver.add(*extra)
    try:
        if solver.check() != z3.sat:
            return None
        return nice_model(solver, [facts], minimal) if facts is not None else solver.model()
    finally:
        solver.pop()


def check_decision(spec: DecisionSpec, list_bound: int = DEFAULT_LIST_BOUND) -> list[Finding]:
    dm = decision_model(spec, list_bound=list_bound)
    solver = z3.Solver()
    solver.add(*dm.constraints)
    did = spec.decision.id
    out: list[Finding] = []
    live: list[CompiledRule] = []
    for r in dm.rules:
        if _sat(solver, dm.fires[r.id]) is None:
            out.append(Finding("dead-rule", did, f"rule {r.id} can never fire: no valid fact satisfies "
                               "its condition", [r]))
        else:
            live.append(r)
    out += _shadowed(dm, solver, live)
    for a, b in combinations(live, 2):
        if a.rule.outcome == b.rule.outcome:
            continue
        model = _sat(solver, dm.fires[a.id], dm.fires[b.id], facts=dm.facts)
        if model is not None:
            winner = next(o for o, v in dm.outcome_is.items()
                          if z3.is_true(model.eval(v, model_completion=True)))
            out.append(Finding("conflict", did, f"{a.id} ({a.rule.outcome}) and {b.id} ({b.rule.outcome}) "
                               f"fire together; {spec.decision.combine} answers {winner!r} in the example",
                               [a, b], facts_from_model(dm.facts, model)))
    none_fire = z3.And(*[z3.Not(v) for v in dm.fires.values()], z3.Not(dm.raises))
    model = _sat(solver, none_fire, facts=dm.facts, minimal=True)
    if model is not None:
        forced = _forced(solver, none_fire, dm.facts, model)
        shape = ("; every such fact has " + ", ".join(forced)) if forced else \
            "; no single fact value is common to all of them"
        out.append(Finding("default-region", did, f"no rule fires on some valid facts and the default "
                           f"{spec.decision.default!r} decides{shape}", [],
                           facts_from_model(dm.facts, model)))
    out += _disabling_defaults(dm, solver, live)
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


def _forced(solver: z3.Solver, region: z3.BoolRef, facts: ObjEnc, model: z3.ModelRef) -> list[str]:
    """The fact values shared by every fact of the region ("home.hold absent", "signed = true"):
    a description of where the default decides."""
    out = []
    for path, enc in _scalars(facts):
        present = z3.is_true(model.eval(enc.present, model_completion=True))
        if _sat(solver, region, enc.present != z3.BoolVal(present)) is None:
            if not present:
                out.append(f"{path} absent")
                continue
            if isinstance(enc, ScalarEnc):
                value = model.eval(enc.value, model_completion=True)
                if _sat(solver, region, enc.value != value) is None:
                    out.append(f"{path} = {_show(enc, value)}")
            elif isinstance(enc, ListEnc):
                length = model.eval(enc.length, model_completion=True)
                if length.as_long() == 0 and _sat(solver, region, enc.length != 0) is None:
                    out.append(f"{path} empty")
    return out


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


def _shadowed(dm: DecisionModel, solver: z3.Solver, live: list[CompiledRule]) -> list[Finding]:
    d = dm.spec.decision
    out = []
    if d.combine == "first-applicable":
        for i, r in enumerate(dm.rules):
            if r not in live:
                continue
            earlier = [z3.Not(dm.fires[e.id]) for e in dm.rules[:i]]
            if _sat(solver, dm.fires[r.id], *earlier) is None:
                out.append(Finding("shadowed-rule", d.id, f"rule {r.id} never decides: whenever it "
                                   "fires, a rule earlier in priority order fires too", [r]))
    elif d.combine in ("precedence", "deny-overrides"):
        for r in live:
            if _sat(solver, dm.fires[r.id], dm.outcome_is[r.rule.outcome]) is None:
                out.append(Finding("shadowed-rule", d.id, f"rule {r.id} never decides: whenever it fires, "
                                   f"a rule with a stronger outcome than {r.rule.outcome!r} fires too", [r]))
    return out


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


def _disabling_defaults(dm: DecisionModel, solver: z3.Solver, live: list[CompiledRule]) -> list[Finding]:
    d = dm.spec.decision
    restrictive = [r for r in live if r.rule.outcome == d.on_error]
    out = []
    for path, default, enc in _given_defaults(dm.spec.fact_model, dm.facts, ""):
        at_default = _at_default(enc, default)
        if at_default is None:
            continue
        for r in restrictive:
            if _sat(solver, dm.fires[r.id], at_default) is None:
                shown = default.value if isinstance(default, Enum) else default
                out.append(Finding("disabling-default", d.id, f"when {path} is left out it defaults to "
                                   f"{shown!r}, and then rule {r.id} ({r.rule.outcome}) cannot fire: a "
                                   "missing fact reads as compliance; make the field required", [r]))
    return out


def check_all(specs: dict[str, DecisionSpec], list_bound: int = DEFAULT_LIST_BOUND) -> list[Finding]:
    return [f for did in sorted(specs) for f in check_decision(specs[did], list_bound)]
