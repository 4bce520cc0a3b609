"""The Engine: load policies, validate facts, evaluate with durable_rules, explain."""

from __future__ import annotations

import datetime as dt
import itertools
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from qpr_rules._truncate import truncate
from qpr_rules.bundled import bundled_policy_dir
from qpr_rules.engine.decision import Citation, Decision, FiredRule, NotFiredRule, Obligation
from qpr_rules.engine.durable_compiler import compile_rule_expression
from qpr_rules.engine.durable_host import CompiledDurableRule, DurableRuleset
from qpr_rules.engine.messages import to_message
from qpr_rules.engine.reference import Check, compile_condition, explain_failure
from qpr_rules.errors import EngineError, FactsError, UnknownDecisionError
from qpr_rules.facts.base import FactModel
from qpr_rules.facts.paths import list_paths
from qpr_rules.policy.limits import condition_size, ruleset_chunks
from qpr_rules.policy.loader import CompiledRule, DecisionSpec, PolicySet, load_policy_set

_CASES = itertools.count()


@dataclass(frozen=True, eq=False)  # identity: membership tests must not compare pydantic models
class _RuleRuntime:
    compiled: CompiledRule
    check: Check
    fired: FiredRule
    obligations: tuple[Obligation, ...]  # static per rule, so built once at load


class _DecisionRuntime:
    """Everything one decision needs at call time, prepared once at load."""

    def __init__(self, spec: DecisionSpec) -> None:
        self.spec = spec
        self.list_paths = list_paths(spec.fact_model)
        ordered = sorted(spec.rules, key=lambda r: (r.rule.priority, str(r.file.path), r.index))
        self.rules = [_RuleRuntime(r, compile_condition(r.condition), _fired(r), _obligations(r))
                      for r in ordered]
        self.by_id = {r.compiled.id: r for r in self.rules}
        compiled = [CompiledDurableRule(r.compiled.id, compile_rule_expression(r.compiled.condition),
                                        r.compiled.rule.priority) for r in self.rules]
        # rulesets within durable_rules' limits (policy/limits.py): usually one per decision
        chunks = ruleset_chunks([condition_size(r.compiled.condition) for r in self.rules])
        self.rulesets = [DurableRuleset(spec.decision.id, [compiled[i] for i in chunk]) for chunk in chunks]
        self.durable = self.rulesets[0]

    def evaluate(self, message: dict[str, Any]) -> list[str]:
        if len(self.rulesets) == 1:
            return self.durable.evaluate(message)
        return [rule for ruleset in self.rulesets for rule in ruleset.evaluate(message)]

    def close(self) -> None:
        for ruleset in self.rulesets:
            ruleset.close()


def _citation(rule: CompiledRule, clause_id: str) -> Citation:
    clause = rule.file.clause(clause_id)
    return Citation(clause.id, rule.file.policy.source.document, clause.section, clause.text)


def _fired(rule: CompiledRule) -> FiredRule:
    return FiredRule(rule.id, rule.rule.title, rule.rule.outcome,
                     tuple(_citation(rule, c) for c in rule.rule.clauses))


class Engine:
    """Answers policy decisions. Thread-safe; independent calls share no state.

    >>> engine = Engine.from_bundled()
    >>> engine.decide("qpr.placement", facts).outcome
    'deny'
    """

    def __init__(self, policies: PolicySet) -> None:
        self.policies = policies
        self._runtimes = {did: _DecisionRuntime(spec) for did, spec in policies.decisions.items()}

    @classmethod
    def load(cls, paths: Sequence[str | Path] | str | Path, as_of: dt.date | None = None) -> Engine:
        """Load policy files or directories; raises PolicyError listing every problem."""
        if isinstance(paths, (str, Path)):
            paths = [paths]
        return cls(load_policy_set(list(paths), as_of=as_of))

    @classmethod
    def from_bundled(cls, as_of: dt.date | None = None) -> Engine:
        """The policies shipped with the package."""
        return cls.load([bundled_policy_dir()], as_of=as_of)

    @property
    def digest(self) -> str:
        return self.policies.digest

    @property
    def decision_ids(self) -> list[str]:
        return sorted(self._runtimes)

    def spec(self, decision_id: str) -> DecisionSpec:
        return self._runtime(decision_id).spec

    def fact_model(self, decision_id: str) -> type[FactModel]:
        return self._runtime(decision_id).spec.fact_model

    def _runtime(self, decision_id: str) -> _DecisionRuntime:
        try:
            return self._runtimes[decision_id]
        except KeyError:
            raise UnknownDecisionError(decision_id, self.decision_ids) from None

    def validate_facts(self, decision_id: str, facts: Any) -> FactModel:
        """Facts as the decision's pydantic model; FactsError names every invalid field."""
        model = self.fact_model(decision_id)
        try:
            if isinstance(facts, (str, bytes)):
                return model.model_validate_json(facts)
            if isinstance(facts, FactModel):
                # validated again, even of the right type: model_construct and
                # model_copy(update=...) build instances that were never validated
                facts = _given_fields(facts)
            return model.model_validate(facts)
        except ValidationError as exc:
            raise FactsError(decision_id, _fact_errors(exc)) from None

    def decide(self, decision_id: str, facts: Mapping[str, Any] | FactModel | str) -> Decision:
        """Answer decision_id for facts. Never raises for bad facts or engine failures:
        the answer is then the decision's on_error outcome (deny for placements), with the
        error as the reason. Raises UnknownDecisionError for an unknown decision id."""
        runtime = self._runtime(decision_id)
        spec = runtime.spec.decision
        try:
            model = self.validate_facts(decision_id, facts)
            return self._decide(runtime, model)
        except FactsError as exc:
            return self._error(runtime, "the facts are invalid", exc.errors)
        except EngineError as exc:
            return self._error(runtime, "evaluation failed", [str(exc)])
        except Exception as exc:  # fail closed on anything unforeseen, too
            return self._error(runtime, f"evaluation failed in {spec.id}", [repr(exc)])

    def _error(self, runtime: _DecisionRuntime, what: str, errors: list[str]) -> Decision:
        spec = runtime.spec.decision
        return Decision(
            decision=spec.id, outcome=spec.on_error, status="error",
            reason=f"{what}; failing closed with {spec.on_error!r}: " + "; ".join(errors),
            errors=tuple(errors), policy_digest=self.digest,
            policy_revision=self.policies.revision,
        )

    def _decide(self, runtime: _DecisionRuntime, model: FactModel) -> Decision:
        spec = runtime.spec.decision
        facts = model.model_dump(mode="python")
        # the message first: it checks the limits, which keep date arithmetic in range too
        message = to_message(facts, runtime.list_paths, f"c{next(_CASES)}")
        reference = [r for r in runtime.rules if r.check(facts)]
        fired_ids = runtime.evaluate(message)
        if set(fired_ids) != {r.compiled.id for r in reference}:
            raise EngineError(
                "durable_rules and the reference evaluator disagree: durable fired "
                f"{sorted(fired_ids)}, reference fired {sorted(r.compiled.id for r in reference)}"
            )
        fired_set = set(reference)
        not_fired = tuple(
            NotFiredRule(r.compiled.id, r.compiled.rule.title,
                         explain_failure(r.compiled.condition, facts) or "")
            for r in runtime.rules if r not in fired_set
        )
        common: dict[str, Any] = {"decision": spec.id, "not_fired": not_fired, "policy_digest": self.digest,
                  "policy_revision": self.policies.revision}
        if not reference:
            reason = spec.default_reason or "no rule applies"
            return Decision(outcome=spec.default, status="default",
                            reason=f"{reason}; default outcome {spec.default!r}", **common)
        outcomes = tuple(dict.fromkeys(r.compiled.rule.outcome for r in reference))
        if spec.combine == "first-applicable":
            winners = [reference[0]]
            outcome = winners[0].compiled.rule.outcome
        else:
            outcome = next(o for o in spec.outcomes if o in outcomes)
            winners = [r for r in reference if r.compiled.rule.outcome == outcome]
        duty_rules = reference if spec.combine == "collect-all" else winners
        obligations = tuple(ob for r in duty_rules for ob in r.obligations)
        reason = "; ".join(f"{r.compiled.rule.title} [{r.compiled.id}]" for r in winners)
        return Decision(outcome=outcome, status="decided", reason=reason,
                        fired=tuple(r.fired for r in reference), obligations=obligations,
                        outcomes=outcomes, **common)

    def explain(self, decision_id: str, facts: Mapping[str, Any] | FactModel | str) -> str:
        """A readable trace: each rule, fired or not and why, with the quoted policy text."""
        from qpr_rules.engine.explain import render_trace

        return render_trace(self, self.decide(decision_id, facts))


def _obligations(rule: CompiledRule) -> tuple[Obligation, ...]:
    roles = {r.id: r.title for r in rule.file.policy.roles}
    return tuple(Obligation(ob.who, roles.get(ob.who, ob.who), ob.do, rule.id,
                            _citation(rule, ob.clause) if ob.clause else None)
                 for ob in rule.rule.obligations)


def _given_fields(value: Any) -> Any:
    """A fact model instance as plain data for validating again: its declared fields only, at
    every level (derived, computed fields are left out; an unset field is left absent)."""
    if isinstance(value, BaseModel):
        return {name: _given_fields(getattr(value, name)) for name in type(value).model_fields
                if hasattr(value, name)}
    if isinstance(value, (list, tuple)):
        return [_given_fields(v) for v in value]
    if isinstance(value, dict):
        return {k: _given_fields(v) for k, v in value.items()}
    return value


def _fact_errors(exc: ValidationError) -> list[str]:
    out = []
    for err in exc.errors(include_url=False):
        where = truncate(".".join(str(p) for p in err["loc"]) or "(facts)")
        msg = err["msg"].removeprefix("Value error, ")
        got = err.get("input")
        if err["type"] == "missing" or isinstance(got, dict):  # the input is the parent: not telling
            out.append(f"{where}: {msg}")
        else:
            out.append(f"{where}: {msg} (got {json.dumps(got, default=str)[:60]})")
    return out
