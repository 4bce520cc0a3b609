"""The Engine: load policies, validate facts, evaluate with durable_rules, explain."""

from __future__ import annotations

import contextlib
import datetime as dt
import itertools
import threading
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Literal, TypeVar, get_args, overload

from pydantic import ValidationError

from qpr_rules.bundled import bundled_policy_dir
from qpr_rules.engine.answers import AnswerBook
from qpr_rules.engine.case import Case
from qpr_rules.engine.compiled import compile_decision
from qpr_rules.engine.compiled_atoms import AtomsOf, LogFactsOf, RuleAtoms, compile_atoms, compile_log_facts
from qpr_rules.engine.decision import Citation, Consequence, Decision, FiredRule, Obligation
from qpr_rules.engine.decision_log import (
    DecisionLogError,
    DecisionSink,
    JsonlDecisionLog,
    check_reference,
    decision_record,
    log_mask_split,
    masked,
)
from qpr_rules.engine.durable_compiler import compile_rule_expression
from qpr_rules.engine.durable_host import CompiledDurableRule, DurableRuleset
from qpr_rules.engine.message_writer import MessageWriter
from qpr_rules.engine.partial_result import PartialDecision
from qpr_rules.engine.procedure_runtime import ProcedureRuntime
from qpr_rules.engine.reference import Check, compile_condition
from qpr_rules.errors import (
    EngineError,
    EventError,
    FactsError,
    PolicyError,
    PolicyVersionError,
    UnknownDecisionError,
    UnknownProcedureError,
)
from qpr_rules.facts.base import FactModel
from qpr_rules.facts.paths import list_paths
from qpr_rules.facts.validation_messages import located_fact_errors
from qpr_rules.facts_input import document_errors, parse_json_facts
from qpr_rules.policy.conditions import Condition, fact_paths
from qpr_rules.policy.limits import condition_size, ruleset_chunks
from qpr_rules.policy.loader import CompiledRule, DecisionSpec, LoadedFile, PolicySet, load_policy_set
from qpr_rules.policy.model import Obligation as ObligationSpec
from qpr_rules.procedure.memory_store import MemoryStore
from qpr_rules.procedure.store_api import EventStore, StoredEvent

_CASES = itertools.count()
# Engine.replay runs every Nth case on durable_rules as well as on the compiled evaluator (its
# events were cross-checked at append; this keeps checking that the two still agree on them): 1%
# of the cases, about 7% of a replay's time (a case on durable_rules costs about 7x one without)
REPLAY_CROSS_CHECK_EVERY = 100
_REGISTERING = threading.Lock()

M = TypeVar("M", bound=FactModel)

#: How Engine.decide evaluates: "durable" (the default) evaluates with durable_rules, the engine
#: of record, cross-checked by the compiled evaluator (a disagreement fails closed); "compiled"
#: answers with the compiled evaluator alone (the fast path, for batch work and latency-critical
#: callers). Both give the same Decision for the same facts (tests/test_evaluator_paths.py).
Evaluator = Literal["durable", "compiled"]
EVALUATORS: tuple[str, ...] = get_args(Evaluator)


@dataclass(frozen=True, eq=False)  # identity: membership tests must not compare pydantic models
class _RuleRuntime:
    compiled: CompiledRule
    check: Check
    fired: FiredRule
    obligations: tuple[Obligation, ...]  # static per rule, so built once at load
    for_each: tuple[str | None, ...]  # per obligation: the list path it repeats over, if any
    consequences: tuple[Consequence, ...]

    # what engine.answers needs of a rule (its RuleView protocol)
    @property
    def rule_id(self) -> str:
        return self.compiled.id

    @property
    def title(self) -> str:
        return self.compiled.rule.title

    @property
    def outcome(self) -> str:
        return self.compiled.rule.outcome

    @property
    def condition(self) -> Condition:
        return self.compiled.condition


class _DecisionRuntime:
    """Everything one decision needs at call time, prepared once at load."""

    def __init__(self, spec: DecisionSpec, policies: PolicySet, durable: bool) -> None:
        self.spec = spec
        # durable_rules gets the facts the rules read (every fact is still limit-checked)
        self.messages = MessageWriter(spec.fact_model, list_paths(spec.fact_model),
                                      {p for r in spec.rules for p in fact_paths(r.condition)})
        ordered = sorted(spec.rules, key=lambda r: r.order)
        self.rules = [_RuleRuntime(r, compile_condition(r.condition), _fired(r), _obligations(r),
                                   tuple(ob.for_each for ob in r.rule.obligations), _consequences(r))
                      for r in ordered]
        self.by_id = {r.compiled.id: r for r in self.rules}
        self.compiled = compile_decision(spec.fact_model, [r.condition for r in self.rules],
                                         spec.decision.id)
        self.error_duties = _error_duties(spec)
        self.answers = AnswerBook(spec, self.rules, policies.digest, policies.revision, _expand)
        self.fast = not durable  # the fast path never registers a ruleset
        self._validator: Any = None
        self._atoms_of: AtomsOf | None = None
        self.rule_ids = tuple(r.id for r in spec.rules)  # document order, as the log lists atoms
        self._log_reads: tuple[tuple[str, ...], LogFactsOf, tuple[str, ...]] | None = None
        self._rulesets: list[DurableRuleset] | None = None

    def atoms_of(self, model: FactModel) -> tuple[RuleAtoms, ...]:
        """Each rule's atoms for the decision log, in `spec.rules` order (compiled when a
        decision is first logged: an engine without a log never pays)."""
        if self._atoms_of is None:
            self._atoms_of = compile_atoms(self.spec.fact_model, [r.condition for r in self.spec.rules],
                                           self.spec.decision.id)
        return self._atoms_of(model)

    def log_reads(self, mask: tuple[str, ...]) -> tuple[LogFactsOf, tuple[str, ...]]:
        """What a log line of this decision reads from the facts under mask (the paths it keeps,
        compiled into one reader), and the logged paths the mask erases."""
        if self._log_reads is None or self._log_reads[0] != mask:
            kept, erased = log_mask_split(self.spec.decision.log_facts, mask)
            self._log_reads = (mask, compile_log_facts(self.spec.fact_model, kept), erased)
        return self._log_reads[1], self._log_reads[2]

    def validator(self) -> Any:
        """pydantic's validator of the decision's facts (a pydantic_core SchemaValidator). Fact
        models defer their build (facts/base.py: a process builds only the models it uses), so
        the first call builds it, once, under a lock, rather than in whichever threads first
        validate at the same moment."""
        validator = self._validator
        if validator is None:
            with _REGISTERING:
                self.spec.fact_model.model_rebuild()  # a no-op when built
                validator = self._validator = self.spec.fact_model.__pydantic_validator__
        return validator

    @property
    def rulesets(self) -> list[DurableRuleset]:
        """The decision's durable_rules rulesets (none on the fast path), registered the first time
        they are needed, so a process answering one decision registers only its own. Usually one;
        more when the rules together exceed durable_rules' limits (policy/limits.py)."""
        if self._rulesets is None and not self.fast:
            with _REGISTERING:
                if self._rulesets is None:
                    compiled = [CompiledDurableRule(r.compiled.id,
                                                    compile_rule_expression(r.compiled.condition),
                                                    r.compiled.rule.priority) for r in self.rules]
                    chunks = ruleset_chunks([condition_size(r.compiled.condition) for r in self.rules])
                    self._rulesets = [DurableRuleset(self.spec.decision.id, [compiled[i] for i in chunk])
                                      for chunk in chunks]
        return self._rulesets or []

    @property
    def durable(self) -> DurableRuleset | None:
        """The first durable_rules ruleset (None on the fast path)."""
        rulesets = self.rulesets
        return rulesets[0] if rulesets else None

    def evaluate(self, message: str, sid: str) -> list[str]:
        """The rules durable_rules fires for one message (its JSON text, and its sid)."""
        rulesets = self.rulesets
        if len(rulesets) == 1:
            return rulesets[0].evaluate_json(message, sid)
        return [rule for ruleset in rulesets for rule in ruleset.evaluate_json(message, sid)]

    def close(self) -> None:
        for ruleset in self._rulesets or []:
            ruleset.close()


def _cite(file: LoadedFile, clause_id: str) -> Citation:
    clause = file.clause(clause_id)
    return Citation(clause.id, file.policy.source.document, clause.section, clause.text)


def _citation(rule: CompiledRule, clause_id: str) -> Citation:
    return _cite(rule.file, clause_id)


def _fired(rule: CompiledRule) -> FiredRule:
    return FiredRule(rule.id, rule.rule.title, rule.rule.outcome,
                     tuple(_citation(rule, c) for c in rule.rule.clauses))


class Engine:
    """Answers policy decisions. Thread-safe; independent calls share no state.

    >>> engine = Engine.from_bundled()
    >>> engine.decide("qpr.placement", facts).outcome
    'deny'
    """

    def __init__(self, policies: PolicySet, decision_log: str | Path | DecisionSink | None = None,
                 on_log_error: Literal["raise", "fail-closed"] = "raise",
                 evaluator: Evaluator = "durable", log_mask: Sequence[str] = ()) -> None:
        """decision_log: a file path (a JsonlDecisionLog) or a sink that gets one record per
        decision. When a record cannot be written, `raise` raises DecisionLogError and
        `fail-closed` answers the decision's on_error outcome, saying why.
        log_mask: fact paths the log must not record, though a decision declares them in
        `log_facts` (a path masks the paths under it); each must mask a declared path, so that
        a misspelt mask is an error, not a field logged after all (ValueError).
        evaluator: "durable" (default: durable_rules, cross-checked by the compiled evaluator)
        or "compiled" (the compiled evaluator alone: the fast path). Only an explicit
        "compiled" gives the fast path."""
        if evaluator not in EVALUATORS:
            raise ValueError(f"evaluator must be one of {', '.join(map(repr, EVALUATORS))}, "
                             f"not {evaluator!r}")
        self.policies = policies
        self.evaluator: Evaluator = evaluator
        self.as_of: dt.date | None = None  # set by load(); worker processes reload with it
        self._runtimes = {did: _DecisionRuntime(spec, policies, evaluator == "durable")
                          for did, spec in policies.decisions.items()}
        self._versions: dict[dt.date, Engine] = {}  # other versions' engines, loaded when needed
        self._log = JsonlDecisionLog(decision_log) if isinstance(decision_log, (str, Path)) else decision_log
        self._on_log_error = on_log_error
        self.log_mask = _checked_mask(policies, log_mask)
        self._procedures: dict[str, ProcedureRuntime] = {}
        # (procedure, day) -> the procedure in force that day: a replay asks it for every event
        self._procedures_on: dict[tuple[str, dt.date], ProcedureRuntime] = {}

    @classmethod
    def load(cls, paths: Sequence[str | Path] | str | Path, as_of: dt.date | None = None,
             **kwargs: Any) -> Engine:
        """Load policy files or directories; raises PolicyError listing every problem.
        kwargs (decision_log, on_log_error, evaluator) go to the constructor."""
        if isinstance(paths, (str, Path)):
            paths = [paths]
        engine = cls(load_policy_set(list(paths), as_of=as_of), **kwargs)
        engine.as_of = as_of
        return engine

    @classmethod
    def from_bundled(cls, as_of: dt.date | None = None, **kwargs: Any) -> Engine:
        """The policies shipped with the package."""
        return cls.load([bundled_policy_dir()], as_of=as_of, **kwargs)

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

    @property
    def procedure_ids(self) -> list[str]:
        return sorted(self.policies.procedures)

    def case(self, procedure_id: str, case_id: str, store: EventStore | None = None) -> Case:
        """The case case_id of a procedure, replayed from store (a new MemoryStore by default):
        its state, open duties, allowed events and departures; `check` and `record` events."""
        return self._case(procedure_id, case_id, store if store is not None else MemoryStore())

    def replay(self, store: EventStore, *, cross_check_every: int = REPLAY_CROSS_CHECK_EVERY,
               share: tuple[int, int] = (0, 1)) -> Iterator[Case]:
        """Every case of the store, replayed in one pass over it (`histories()`), in `case_ids()`
        order, each under the procedure its events name: the same Case (state, duties,
        departures, steps, each event under the policy version in force on its date) as `case()`
        gives for it.

        Each event was validated and cross-checked when it was appended. Here each is validated
        again from its stored JSON and run on the compiled evaluator; the cases at positions 0,
        N, 2N, ... (N = cross_check_every; 1: every case, 0: none) are also run on
        durable_rules, event by event, and a disagreement raises EngineError, as in `case()`.
        share=(k, n): only the cases at positions k, k+n, k+2n, ... (one of n processes sharing
        a replay); the sample's positions are counted over the whole store all the same."""
        every = cross_check_every
        if isinstance(every, bool) or not isinstance(every, int) or every < 0:
            raise ValueError(f"cross_check_every must be a whole number of cases (1: every case, 0: "
                             f"none), not {cross_check_every!r}")
        part, parts = share
        if not (isinstance(parts, int) and isinstance(part, int) and 0 <= part < parts):
            raise ValueError(f"share must be (k, n) with 0 <= k < n: this process's part of n, not {share!r}")
        for i, history in enumerate(store.histories((part, parts))):
            n = part + i * parts  # the case's position in the whole store
            first = history[0]
            cross_check = cross_check_every > 0 and n % cross_check_every == 0
            yield self._case(first.procedure_id, first.case_id, store, history, cross_check)

    def _case(self, procedure_id: str, case_id: str, store: EventStore,
              history: Iterable[StoredEvent] | None = None, cross_check: bool = True) -> Case:
        spec = self.policies.procedures.get(procedure_id)
        if spec is None:
            raise UnknownProcedureError(procedure_id, self.procedure_ids)
        runtime = self._procedure_runtime(procedure_id)
        roles = {r.id: r.title for r in spec.file.policy.roles}
        # each event under the procedure of the policy version in force on its date, as each
        # decision under its own date's; an engine loaded with as_of applies that one version
        def runtime_on(day: dt.date) -> ProcedureRuntime:
            key = (procedure_id, day)
            found = self._procedures_on.get(key)
            if found is None:
                found = self._procedures_on[key] = self._procedure_runtime_on(procedure_id, day)
            return found

        return Case(runtime, case_id, store, roles, runtime_on if self.as_of is None else None,
                    history=history, cross_check=cross_check)

    def _procedure_runtime(self, procedure_id: str) -> ProcedureRuntime:
        with _REGISTERING:
            runtime = self._procedures.get(procedure_id)
            if runtime is None:
                spec = self.policies.procedures[procedure_id]
                runtime = self._procedures[procedure_id] = ProcedureRuntime(spec, self.evaluator == "durable")
        return runtime

    def _procedure_runtime_on(self, procedure_id: str, day: dt.date) -> ProcedureRuntime:
        """The procedure as the version of its policy in force on day defines it; EventError
        when no version is in force then, or that version has no such procedure."""
        policy = self.policies.procedures[procedure_id].file.policy
        versions = self.policies.versions.get(policy.id, (policy.effective_from,))
        in_force = [v for v in versions if v <= day]
        if not in_force:
            raise EventError(procedure_id, [
                f"on: {day.isoformat()}: no version of policy {policy.id!r} is in force on that date "
                f"(the earliest starts {versions[0].isoformat()}); a procedure judges only events "
                "dated when one of its versions is in force: correct the date"])
        engine = self._version_engine(in_force[-1], policy.effective_from)
        if procedure_id not in engine.policies.procedures:
            raise EventError(procedure_id, [
                f"on: {day.isoformat()}: the version of policy {policy.id!r} in force then (from "
                f"{in_force[-1].isoformat()}) has no procedure {procedure_id!r}"])
        return engine._procedure_runtime(procedure_id)

    def _version_engine(self, chosen: dt.date, own: dt.date | None = None) -> Engine:
        """This engine (chosen is its own version), or one loaded once from the same files with
        the versions in force on chosen (always that one when own is not given)."""
        if chosen == own:
            return self
        with _REGISTERING:
            engine = self._versions.get(chosen)
            if engine is None:  # loaded once per version, from the very files this engine loaded
                # the same files and the same log: its answers are logged like this engine's
                engine = self._versions[chosen] = Engine.load(
                    list(self.policies.paths), as_of=chosen, evaluator=self.evaluator,
                    decision_log=self._log, on_log_error=self._on_log_error, log_mask=self.log_mask)
        return engine

    def _runtime(self, decision_id: str) -> _DecisionRuntime:
        try:
            return self._runtimes[decision_id]
        except KeyError:
            raise UnknownDecisionError(decision_id, self.decision_ids) from None

    @overload
    def validate_facts(self, decision_id: str, facts: M) -> M: ...

    @overload
    def validate_facts(self, decision_id: str, facts: Any, as_type: type[M]) -> M: ...

    @overload
    def validate_facts(self, decision_id: str, facts: Any) -> FactModel: ...

    def validate_facts(self, decision_id: str, facts: Any,
                       as_type: type[FactModel] | None = None) -> FactModel:
        """Facts as the decision's pydantic model; FactsError names every invalid field.

        Give `as_type` (the decision's fact model, e.g. `PlacementRequest`) to get that type
        statically: `engine.validate_facts("qpr.placement", data, PlacementRequest).child.age`
        type-checks. TypeError if the decision takes another fact type."""
        runtime = self._runtime(decision_id)
        runtime.validator()  # the fact model is built once, under a lock, before it validates
        model = runtime.spec.fact_model
        if as_type is not None and as_type is not model:
            raise TypeError(f"{decision_id} takes {model.__name__} facts, not {as_type.__name__}")
        if isinstance(facts, (str, bytes, bytearray)):
            # the one reader of JSON text (facts_input.py): a duplicate key, NaN, a bad byte are
            # refused here with the same words as at every other door, never kept last-wins
            try:
                facts = parse_json_facts(facts)
            except PolicyError as exc:
                raise FactsError(decision_id, document_errors(exc)) from None
        try:
            if isinstance(facts, FactModel):
                # validated again, even of the right type: model_construct and
                # model_copy(update=...) build instances that were never validated
                facts = _given_fields(facts)
            return model.model_validate(facts)
        except ValidationError as exc:
            located = located_fact_errors(exc, model)
            raise FactsError(decision_id, [m for _, m in located], [loc for loc, _ in located]) from None

    def decide(self, decision_id: str, facts: Mapping[str, Any] | FactModel | str | bytes,
               as_of: dt.date | None = None, reference: str | None = None,
               case: Case | None = None) -> Decision:
        """Answer decision_id for facts. Never raises for bad facts or engine failures:
        the answer is then the decision's on_error outcome (deny for placements), with the
        error as the reason. Raises UnknownDecisionError for an unknown decision id.

        Versions: an Engine loaded without as_of applies the version of the decision's policy in
        force on the decision's own date (its `dated_by` fact, such as the placement date), else
        on as_of given here; never on today's date, so the same facts give the same bytes. An
        Engine loaded with as_of applies the versions in force on that date to every question.

        reference: the caller's case or request id, written on the decision's log line (letters,
        digits and `-_.:/#`, at most 128; ValueError otherwise), so the line can be tied to a
        case and replayed (docs/audit.md).

        case: a procedure's case that gives the hold (at the decision's `hold_from_case` path),
        derived from its events, in place of the caller; the Decision records the case's
        procedure, id and version, so the same case version and facts give the same bytes. A
        hold given in the facts as well is refused (error answer: deny for placements)."""
        if case is None:
            return self._answer(decision_id, facts, as_of, reference)[1]
        runtime = self._runtime(decision_id)
        ref = {"procedure": case.procedure_id, "id": case.case_id, "version": case.version}
        try:
            facts = _with_case_hold(runtime.spec, facts, case)
        except FactsError as exc:
            return replace(self.refuse(decision_id, exc.errors), case=ref)
        return replace(self._answer(decision_id, facts, as_of, reference)[1], case=ref)

    def _answer(self, decision_id: str, facts: Mapping[str, Any] | FactModel | str | bytes,
                as_of: dt.date | None, reference: str | None = None) -> tuple[Engine, Decision]:
        """decide()'s answer, and the engine (this one, or another version's) that gave it."""
        runtime = self._runtimes.get(decision_id) or self._runtime(decision_id)
        check_reference(reference)
        engine = self
        model: FactModel | None = None
        try:
            model = self._model(runtime, facts)
            if self.as_of is None:
                engine = self._engine_in_force(runtime, model, as_of)
                runtime = engine._runtime(decision_id)
            decision = engine._decide(runtime, model)
        except Exception as exc:  # fail closed on anything, the unforeseen too
            engine, runtime = self, self._runtimes[decision_id]
            decision = self._failed(runtime, exc)
        if engine._log is None:
            return engine, decision
        return engine, engine._logged(runtime, model, decision, reference)

    def _model(self, runtime: _DecisionRuntime,
               facts: Mapping[str, Any] | FactModel | str | bytes) -> FactModel:
        """The facts validated, as decide reads them (FactsError when they are invalid)."""
        if type(facts) is dict:  # the common case: straight to pydantic's validator
            with contextlib.suppress(ValidationError):
                model: FactModel = runtime.validator().validate_python(facts)
                return model
        # anything else, or refused (derived fields given back, or invalid facts, worded): the long way
        return self.validate_facts(runtime.spec.decision.id, facts)

    def _failed(self, runtime: _DecisionRuntime, exc: Exception) -> Decision:
        """The error answer for what went wrong while deciding."""
        match exc:
            case FactsError():
                return self._error(runtime, "the facts are invalid", exc.errors)
            case PolicyVersionError():
                return self._error(runtime, "no version of the policy applies", [str(exc)])
            case EngineError():
                return self._error(runtime, "evaluation failed", [str(exc)])
            case _:
                return self._error(runtime, f"evaluation failed in {runtime.spec.decision.id}", [repr(exc)])

    def refuse(self, decision_id: str, errors: list[str], what: str = "the facts are invalid",
               reference: str | None = None) -> Decision:
        """The answer for facts that could not even be read (a malformed document the caller
        parsed itself, as the command line does for YAML; a request of the wrong kind): the
        decision's on_error outcome, with what went wrong and errors as the reason, logged like
        any answer. UnknownDecisionError for an unknown id."""
        runtime = self._runtime(decision_id)
        check_reference(reference)
        decision = self._error(runtime, what, errors)
        return decision if self._log is None else self._logged(runtime, None, decision, reference)

    def _engine_in_force(self, runtime: _DecisionRuntime, model: FactModel, as_of: dt.date | None) -> Engine:
        """This engine, or one loaded from the same files with the version of the decision's policy
        that is in force on the decision's date; PolicyVersionError when none can be chosen."""
        spec = runtime.spec
        policy = spec.file.policy
        versions = self.policies.versions.get(policy.id, (policy.effective_from,))
        day = _date_at(model, spec.decision.dated_by) if spec.decision.dated_by else None
        day = day or as_of
        if day is None:
            if len(versions) == 1:
                return self
            raise PolicyVersionError(
                f"the facts of {spec.decision.id} carry no date and policy {policy.id!r} has versions "
                f"from {', '.join(v.isoformat() for v in versions)}: pass as_of, the date the question "
                "is about")
        in_force = [v for v in versions if v <= day]
        if not in_force:
            raise PolicyVersionError(f"no version of policy {policy.id!r} is in force on {day.isoformat()}; "
                                     f"the earliest starts {versions[0].isoformat()}")
        return self._version_engine(in_force[-1], policy.effective_from)

    def _logged(self, runtime: _DecisionRuntime, model: FactModel | None, decision: Decision,
                reference: str | None = None) -> Decision:
        """The decision once its log record is written; never returned as logged when it is not."""
        assert self._log is not None
        try:
            logged, erased = runtime.log_reads(self.log_mask)
            self._log.write(decision_record(
                runtime.rule_ids, decision, self.digest, self.policies.revision,
                logged(model) if model is not None else {}, erased, reference,
                runtime.atoms_of(model) if model is not None and decision.status != "error" else None))
        except Exception as exc:
            if self._on_log_error == "raise":
                if isinstance(exc, DecisionLogError):
                    raise
                raise DecisionLogError(f"the decision log record could not be made: {exc}") from exc
            return self._error(runtime, "the decision could not be written to the decision log", [str(exc)])
        return decision

    def _write_record(self, record: dict[str, Any]) -> Decision | None:
        """Write a record a worker process made (engine/batch.py); None when written, else (when
        this Engine fails closed) the error answer to give instead; DecisionLogError otherwise."""
        assert self._log is not None
        try:
            self._log.write(record)
        except Exception as exc:
            if self._on_log_error == "raise":
                if isinstance(exc, DecisionLogError):
                    raise
                raise DecisionLogError(f"the decision log record could not be written: {exc}") from exc
            return self._error(self._runtime(record["decision"]),
                               "the decision could not be written to the decision log", [str(exc)])
        return None

    def _error(self, runtime: _DecisionRuntime, what: str, errors: list[str]) -> Decision:
        spec = runtime.spec.decision
        return Decision(
            decision=spec.id, outcome=spec.on_error, status="error",
            reason=f"{what}; failing closed with {spec.on_error!r}: " + "; ".join(errors),
            obligations=runtime.error_duties, errors=tuple(errors), policy_digest=self.digest,
            policy_revision=self.policies.revision,
        )

    def _decide(self, runtime: _DecisionRuntime, model: FactModel) -> Decision:
        if runtime.fast:  # the fast path, chosen explicitly
            return runtime.answers.decision(runtime.compiled.mask(model), model)
        sid = f"c{next(_CASES)}"
        # the message first: it checks the limits, which keep date arithmetic in range too
        fired_ids = runtime.evaluate(runtime.messages.json(model, sid), sid)
        mask = runtime.compiled.mask(model)
        try:
            durable_mask = runtime.answers.mask_of(fired_ids)
        except KeyError:  # a rule the decision does not have: never an agreement
            durable_mask = -1
        if durable_mask != mask:
            raise EngineError(
                "durable_rules and the compiled evaluator disagree: durable fired "
                f"{sorted(fired_ids)}, compiled fired {sorted(runtime.answers.fired_ids(mask))}"
            )
        return runtime.answers.decision(mask, model)

    def decide_many(self, decision_id: str, cases: Iterable[Mapping[str, Any] | FactModel | str | bytes],
                    jobs: int = 1, as_of: dt.date | None = None) -> Iterator[Decision]:
        """decide() for each case, lazily and in order, in bounded memory (an iterator: pass a
        generator to stream any number of cases). jobs > 1 spreads the cases over that many
        worker processes, each loading these same policy files (the cases and Decisions are
        pickled to and fro, so give dicts or JSON text). With a decision log, the workers send
        each answer's record back and this process writes it to the one log, in order, before
        the answer is given. Workers import the calling script afresh: call this under
        `if __name__ == "__main__":` in a script."""
        from qpr_rules.engine.batch import decide_many

        return decide_many(self, decision_id, cases, jobs, as_of=as_of)

    def decide_partial(self, decision_id: str, known_facts: Mapping[str, Any], *, list_bound: int = 3,
                       timeout_s: float = 2.0, questions: bool = True,
                       case: Case | None = None) -> PartialDecision:
        """Answer decision_id on partial facts: an omitted key is unknown, null keeps its meaning.
        `determined` (the outcome every valid completion gets, proved with the solver), `open`
        (the outcomes still possible, an example of each, the questions that can change the
        answer) or `unknown` (a solver call ran out of timeout_s). docs/interview.md.

        case: a procedure's case whose events give the hold (at the decision's `hold_from_case`
        path), known from the case rather than asked; the answer records the case's procedure,
        id and version, as decide(case=) does."""
        from qpr_rules.engine.partial import decide_partial  # z3 is imported only when asked

        if case is None:
            return decide_partial(self, decision_id, known_facts, list_bound=list_bound, timeout_s=timeout_s,
                                  questions=questions)
        ref = {"procedure": case.procedure_id, "id": case.case_id, "version": case.version}
        spec = self.spec(decision_id)
        try:
            # the parents of the hold may be unknown here: the case makes them partly known
            known = _with_case_hold(spec, known_facts, case, make_parents=True)
        except FactsError as exc:  # refused as any impossible known facts are, with the error duties
            from qpr_rules.engine.partial import refused

            answer = refused(self, spec, self._runtime(decision_id).error_duties,
                             "the known facts cannot take the case's hold", list(exc.errors),
                             time.perf_counter())
            return replace(answer, case=ref)
        answer = decide_partial(self, decision_id, known, list_bound=list_bound, timeout_s=timeout_s,
                                questions=questions)
        return replace(answer, case=ref)

    def explain(self, decision_id: str, facts: Mapping[str, Any] | FactModel | str,
                as_of: dt.date | None = None) -> str:
        """A readable trace: each rule, fired or not and why, with the quoted policy text."""
        from qpr_rules.engine.explain import render_trace

        return render_trace(*self._answer(decision_id, facts, as_of))


def _checked_mask(policies: PolicySet, mask: Sequence[str]) -> tuple[str, ...]:
    """The log mask, each path masking at least one path some decision logs (ValueError naming
    the loggable paths otherwise)."""
    if isinstance(mask, str):
        raise ValueError("log_mask is a list of fact paths, not one text")
    loggable = sorted({p for spec in policies.decisions.values() for p in spec.decision.log_facts})
    for path in mask:
        if not any(masked(p, [path]) for p in loggable):
            raise ValueError(f"log_mask {path!r} masks no fact any decision logs; the logged paths "
                             f"are: {', '.join(loggable) or 'none'}")
    return tuple(mask)


def _with_case_hold(spec: DecisionSpec, facts: Mapping[str, Any] | FactModel | str | bytes,
                    case: Case, make_parents: bool = False) -> dict[str, Any]:
    """facts with the case's hold at the decision's hold_from_case path (FactsError when the
    decision reads no hold from cases, or the facts give one themselves). make_parents: partial
    facts may leave out the objects the hold sits in (unknown); they are made, holding the hold."""
    did, path = spec.decision.id, spec.decision.hold_from_case
    if path is None:
        raise FactsError(did, [f"{did} takes no hold from a case (no hold_from_case in its policy)"])
    if isinstance(facts, FactModel):
        data: Any = facts.model_dump(mode="json")
    elif isinstance(facts, (str, bytes, bytearray)):
        try:
            data = parse_json_facts(facts)
        except PolicyError as exc:
            raise FactsError(did, document_errors(exc)) from None
    else:
        data = facts
    if not isinstance(data, Mapping):
        raise FactsError(did, ["the facts must be a mapping"])
    out = dict(data)
    node = out
    *parents, last = path.split(".")
    for part in parents:
        child = node.get(part)
        if child is None and make_parents and part not in node:
            child = {}
        if not isinstance(child, Mapping):
            raise FactsError(did, [f"{'.'.join(parents)}: needed to take the hold from case "
                                   f"{case.case_id!r}"])
        node[part] = node = dict(child)
    if node.get(last) is not None:
        raise FactsError(did, [f"{path}: the hold is taken from case {case.case_id!r} (version "
                               f"{case.version}); leave {path} out or null rather than give it twice"])
    hold = case.hold()
    node[last] = None if hold is None else hold.model_dump(mode="json")
    return out


def _duties(file: LoadedFile, obligations: Sequence[ObligationSpec], source: str) -> tuple[Obligation, ...]:
    """Obligations as the Decision carries them: each role's title, the clause quoted; source is
    the rule (or, for an error answer's duties, the decision) that imposes them."""
    roles = {r.id: r.title for r in file.policy.roles}
    return tuple(Obligation(ob.who, roles.get(ob.who, ob.who), ob.do, source,
                            _cite(file, ob.clause) if ob.clause else None)
                 for ob in obligations)


def _obligations(rule: CompiledRule) -> tuple[Obligation, ...]:
    return _duties(rule.file, rule.rule.obligations, rule.id)


def _error_duties(spec: DecisionSpec) -> tuple[Obligation, ...]:
    """The duties every error answer of the decision carries (its `on_error_obligations`)."""
    return _duties(spec.file, spec.decision.on_error_obligations, spec.decision.id)


def _consequences(rule: CompiledRule) -> tuple[Consequence, ...]:
    return tuple(Consequence(c.text, rule.id, _citation(rule, c.clause)) for c in rule.rule.consequences)


def _expand(rule: _RuleRuntime, facts: Mapping[str, Any]) -> tuple[Obligation, ...]:
    """The rule's duties for these facts: one per item of an obligation's for_each list."""
    if not any(rule.for_each):
        return rule.obligations
    out: list[Obligation] = []
    for ob, path in zip(rule.obligations, rule.for_each, strict=True):
        if path is None:
            out.append(ob)
            continue
        items: Any = facts
        for part in path.split("."):
            items = items.get(part) if isinstance(items, Mapping) else None
        for item in items or ():
            out.append(replace(ob, do=ob.do.replace("{item}", str(getattr(item, "value", item)))))
    return tuple(out)


def _date_at(model: FactModel, path: str) -> dt.date | None:
    """The date at a fact path (checked at load to be a date fact), or None when it is absent."""
    value: Any = model
    for part in path.split("."):
        value = getattr(value, part, None)
    return value if isinstance(value, dt.date) else None


def _given_fields(value: FactModel) -> dict[str, Any]:
    """A fact model instance as plain data for validating again: its declared fields only, at
    every level (derived, computed fields are left out; a field never set is left absent, so a
    model_construct() without a required field is refused). pydantic's own dump, which walks
    the instance in Rust: it does not check the values (warnings off), validation does."""
    return value.model_dump(mode="python", exclude_computed_fields=True, warnings=False)
