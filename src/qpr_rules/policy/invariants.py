"""Invariants: guarantees written in the condition language, checked at load, proved by `prove`.

    invariants:
      - id: no-placement-on-hold
        clause: hold.no-placements
        title: A home on hold never receives a placement
        decision: qpr.placement
        when: {use: home-on-hold}
        never: allow

Over one decision, `when` and `then` read the decision's facts, and `then` may read `outcome`;
`never: X` and `always: X` are short for `then: {fact: outcome, not_in/in: [X]}`. Over several
decisions (`decisions: {placement: qpr.placement, reinstatement: qpr.reinstatement}`), the
conditions read `placement.home.hold.kind`, `reinstatement.hold.kind`, `outcome.placement`, ...:
the solver looks for facts of every named decision at once that satisfy `when` and not `then`.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, create_model

from qpr_rules._suggest import did_you_mean
from qpr_rules.errors import Problem
from qpr_rules.facts.paths import FieldType
from qpr_rules.policy.condition_nodes import Condition, InSet, Loc, Not
from qpr_rules.policy.condition_parser import ParseContext, parse_condition
from qpr_rules.policy.model import Invariant

if TYPE_CHECKING:
    from qpr_rules.policy.loader import DecisionSpec, LoadedFile

OUTCOME = "outcome"


@dataclass(frozen=True)
class CompiledInvariant:
    invariant: Invariant
    file: LoadedFile = field(repr=False)
    index: int
    decisions: dict[str, str]  # name -> decision id; a single decision has the name ""
    when: Condition | None
    then: Condition

    @property
    def id(self) -> str:
        return self.invariant.id

    @property
    def line(self) -> int:
        return self.file.smap.at(("invariants", self.index))[0]

    @property
    def single(self) -> bool:
        return "" in self.decisions


def _outcome_type(outcomes: tuple[str, ...]) -> Any:
    return Literal[outcomes]


Shape = tuple[tuple[str, type[BaseModel], tuple[str, ...]], ...]  # (name, fact model, outcomes)


#: The scope models only carry types for the condition checker (model_fields, read by
#: facts/paths.py); nothing validates against them, so pydantic never builds their validators
#: and serializers (a few milliseconds each, at every load) unless something asks for them.
_DEFERRED = ConfigDict(defer_build=True)


@functools.cache  # the same shapes recur in every load of a process
def _scope_model(shape: Shape) -> type[BaseModel]:
    if len(shape) == 1 and shape[0][0] == "":
        _, model, outcomes = shape[0]
        return create_model(f"{model.__name__}WithOutcome", __base__=model,
                            __cls_kwargs__={"defer_build": True}, outcome=(_outcome_type(outcomes), ...))
    outcome_model = create_model("Outcomes", __config__=_DEFERRED, **{  # type: ignore[call-overload]
        name: (_outcome_type(outcomes), ...) for name, _, outcomes in shape})
    return create_model("Decisions", __config__=_DEFERRED, **{  # type: ignore[call-overload]
        name: (model, ...) for name, model, _ in shape}, outcome=(outcome_model, ...))


def invariant_scope(inv: Invariant, specs: dict[str, DecisionSpec]) -> type[BaseModel]:
    """The model the invariant's conditions are checked against: the facts plus `outcome`."""
    names = {"": inv.decision} if inv.decision is not None else dict(inv.decisions or {})
    return _scope_model(tuple((name, specs[did].fact_model, tuple(specs[did].decision.outcomes))
                              for name, did in names.items() if did is not None))


def compile_invariants(files: list[LoadedFile], specs: dict[str, DecisionSpec],
                       problems: list[Problem]) -> tuple[CompiledInvariant, ...]:
    out: list[CompiledInvariant] = []
    seen: dict[str, LoadedFile] = {}
    for f in files:
        clause_ids = {c.id for c in f.policy.clauses}
        params = {k: p.value for k, p in f.policy.parameters.items()}
        named = {n: (body, ("conditions", n)) for n, body in f.policy.conditions.items()}
        for i, inv in enumerate(f.policy.invariants):
            loc: Loc = ("invariants", i)
            before = len(problems)
            if inv.id in seen:
                problems.append(f.smap.problem((*loc, "id"), f"duplicate invariant id {inv.id!r} "
                                f"(also in {seen[inv.id].path}); invariant ids are unique"))
            seen[inv.id] = f
            if inv.clause not in clause_ids:
                problems.append(f.smap.problem((*loc, "clause"), f"unknown clause {inv.clause!r}"
                                f"{did_you_mean(inv.clause, clause_ids)}; an invariant cites the clause "
                                "it guarantees, from this file"))
            names = {"": inv.decision} if inv.decision is not None else dict(inv.decisions or {})
            for name, did in names.items():
                if did not in specs:
                    where = (*loc, "decision") if name == "" else (*loc, "decisions", name)
                    problems.append(f.smap.problem(where, f"unknown decision {did!r}"
                                    f"{did_you_mean(did, specs)}; known: {', '.join(sorted(specs))}"))
            if OUTCOME in names:
                problems.append(f.smap.problem((*loc, "decisions", OUTCOME), "`outcome` names the "
                                "decisions' answers (outcome.NAME); call this decision something else"))
            if len(problems) > before:
                continue
            spec = specs[inv.decision] if inv.decision is not None else None
            if spec is not None and OUTCOME in spec.fact_model.model_fields:
                problems.append(f.smap.problem((*loc, "decision"), f"the facts of {spec.decision.id} "
                                "have a field named `outcome`, which invariants use for the answer"))
                continue
            model = invariant_scope(inv, specs)
            errors: list[tuple[Loc, str]] = []
            ctx = ParseContext(model, params, errors, named=named, for_durable=False)
            when = parse_condition(inv.when, (*loc, "when"), ctx) if inv.when is not None else None
            then: Condition | None
            if spec is not None and inv.then is None:
                key = "never" if inv.never is not None else "always"
                listed = getattr(inv, key)
                values = [listed] if isinstance(listed, str) else list(listed)
                for j, v in enumerate(values):
                    if v not in spec.decision.outcomes:
                        eloc0: Loc = (*loc, key) if isinstance(listed, str) else (*loc, key, j)
                        errors.append((eloc0, f"{v!r} is not an outcome of {spec.decision.id}"
                                       f"{did_you_mean(v, spec.decision.outcomes)}; "
                                       f"outcomes: {', '.join(spec.decision.outcomes)}"))
                ftype = FieldType("enum", enum_values=tuple(spec.decision.outcomes))
                node = InSet((*loc, key), OUTCOME, tuple(values), ftype)
                then = Not((*loc, key), node) if key == "never" else node
            else:
                then = parse_condition(inv.then, (*loc, "then"), ctx)
            for eloc, msg in errors:
                problems.append(f.smap.problem(eloc, msg, "condition"))
            if errors or then is None or (inv.when is not None and when is None):
                continue
            out.append(CompiledInvariant(inv, f, i, {k: v for k, v in names.items() if v}, when, then))
    return tuple(out)
