"""A procedure's transitions on two evaluators, cross-checked on every event.

durable_rules: the procedure is written as durable_rules' statechart (a ruleset named
`name$state`: each state with its triggers, nested states under `$chart`) and flattened as
durable_rules' own `Statechart` does (a nested state gets its parent's triggers; each trigger
becomes a rule guarded by the qualified name of the state it leaves). It is then registered on
the C engine like the decisions' rulesets (durable_host.py). The case's state is not kept in a
durable_rules session: it lives in the event store, and each event is posted in a fresh session
as one message carrying the state's qualified name, the event type, the event and the case
memory. So sessions never accumulate, and the same store replays to the same state.

The compiled evaluator (compiled.py) tests the same guards as Python over the models. Both must
name the same set of transitions for every event; a disagreement raises EngineError, which the
case reports as a failure rather than a state (fails closed). A state's departure may be guarded
too (`when:`, which departure an event is where no transition takes it): those guards are rules
of the same ruleset and bits of the same compiled function, cross-checked alike.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any, NamedTuple

from qpr_rules.engine.compiled import CompiledDecision, compile_decision
from qpr_rules.engine.durable_compiler import MARKER, compile_rule_expression
from qpr_rules.engine.durable_host import CompiledDurableRule, DurableRuleset
from qpr_rules.engine.messages import to_message
from qpr_rules.errors import EngineError
from qpr_rules.facts.events import CaseMemory, Event
from qpr_rules.facts.paths import list_paths
from qpr_rules.policy.conditions import render
from qpr_rules.policy.model import Departure
from qpr_rules.policy.procedures import ProcedureSpec, TransitionSpec

STATE_KEY = "__state__"
EVENT_KEY = "__event__"
_SIDS = itertools.count()


@dataclass(frozen=True)
class _EventGuards:
    transitions: tuple[TransitionSpec, ...]  # every transition on this event type, in file order
    # bit i: the guard of the i-th guarded transition holds; after them, one bit per guarded
    # departure on this event type (departures[j]: the state whose departure it is)
    compiled: CompiledDecision
    list_paths: list[str]
    departures: tuple[str, ...]


class Judgement(NamedTuple):
    """What an event does in a state, given the case memory."""

    transitions: list[TransitionSpec]  # those whose guards hold, innermost state first; the first is taken
    departure: Departure | None  # where none is taken, what the event means there (None: the
    # procedure says nothing of it)

    @property
    def taken(self) -> TransitionSpec | None:
        """The transition the event takes (None: none does)."""
        return self.transitions[0] if self.transitions else None


class _Pair(NamedTuple):
    """What the compiled guards read (`f.event`, `f.case`): the two validated halves, unwrapped."""

    event: Event
    case: CaseMemory


class ProcedureRuntime:
    """Which transitions an event takes, from a state, with the case memory: on durable_rules and
    on the compiled evaluator, which must agree."""

    def __init__(self, spec: ProcedureSpec, durable: bool = True) -> None:
        self.spec = spec
        self._guards: dict[str, _EventGuards] = {}
        # (state, event type): the bit of that state's departure guard in the event's function
        self._departure_bit: dict[tuple[str, str], int] = {}
        # ... and the name of the durable_rules rule testing it
        self._departure_rule = {key: f"d{i}" for i, key in enumerate(spec.departure_guards)}
        for name, model in spec.guard_models.items():
            ts = tuple(t for t in spec.transitions if t.transition.event == name)
            conditions = [t.guard for t in ts if t.guard is not None]
            departures = tuple(sid for (sid, ev) in spec.departure_guards if ev == name)
            for sid in departures:
                self._departure_bit[(sid, name)] = len(conditions)
                conditions.append(spec.departure_guards[(sid, name)])
            compiled = compile_decision(model, conditions, f"{spec.id}:{name}")
            self._guards[name] = _EventGuards(ts, compiled, list_paths(model), departures)
        self._bit = {t.index: i for g in self._guards.values()
                     for i, t in enumerate(x for x in g.transitions if x.guard is not None)}
        self._durable = DurableRuleset(f"{spec.id}$state", self._flat_rules()) if durable else None
        # per (leaf, event type): the candidate transitions and the guard bit of each guarded one;
        # they depend on the procedure alone, not on the event, so a replay computes them once
        self._candidates: dict[tuple[str, str], tuple[tuple[TransitionSpec, int | None], ...]] = {}
        self._allowed: dict[str, tuple[str, ...]] = {}
        self._why_not: dict[tuple[str, str], str] = {}
        self._departures: dict[tuple[str, str], tuple[tuple[Departure, int | None], ...]] = {}

    @property
    def durable(self) -> bool:
        """Whether transitions are cross-checked on durable_rules (else: the compiled evaluator)."""
        return self._durable is not None

    def statechart(self) -> dict[str, Any]:
        """The procedure as durable_rules' statechart definition (`{"NAME$state": {...}}`)."""

        def chart(states: list[Any]) -> dict[str, Any]:
            out: dict[str, Any] = {}
            for s in states:
                triggers: dict[str, Any] = {}
                for t in self.spec.transitions:
                    if t.transition.from_ != s.id:
                        continue
                    m = {"$and": [{EVENT_KEY: t.transition.event}]}
                    if t.guard is not None:
                        m["$and"].append(compile_rule_expression(t.guard)["$and"][1])
                    triggers[f"t{t.index}"] = {"all": [{"m": m}],
                                               "to": t.transition.to or s.id}
                if s.states:
                    triggers["$chart"] = chart(s.states)
                out[s.id] = triggers
            return out

        return {f"{self.spec.id}$state": chart(self.spec.procedure.states)}

    def _flat_rules(self) -> list[CompiledDurableRule]:
        """durable_rules' statechart construction: each leaf state gets its own triggers and its
        parents' (inner first), each guarded by the leaf's qualified name."""
        rules: list[CompiledDurableRule] = []
        for leaf in self.spec.states.values():
            if not leaf.leaf:
                continue
            for t in self._inherited(leaf.id):
                test: list[Any] = [{MARKER: 1}, {STATE_KEY: leaf.qualified}, {EVENT_KEY: t.transition.event}]
                if t.guard is not None:
                    test.append(compile_rule_expression(t.guard)["$and"][1])
                rules.append(CompiledDurableRule(f"t{t.index}", {"$and": test}, len(rules)))
        # a guarded departure's guard, for any state: which state's departure applies is the
        # procedure's order (ProcedureSpec.departures), the same on both evaluators
        for (sid, event_type), guard in self.spec.departure_guards.items():
            test = [{MARKER: 1}, {EVENT_KEY: event_type}, compile_rule_expression(guard)["$and"][1]]
            rules.append(CompiledDurableRule(self._departure_rule[(sid, event_type)], {"$and": test},
                                             len(rules)))
        return rules

    def _inherited(self, leaf: str) -> list[TransitionSpec]:
        return [t for s in self.spec.ancestry(leaf) for t in self.spec.transitions
                if t.transition.from_ == s.id]

    def allowed_next(self, leaf: str) -> tuple[str, ...]:
        """The event types some transition takes from leaf or a state it is in (guards permitting)."""
        found = self._allowed.get(leaf)
        if found is None:
            seen: dict[str, None] = {}
            for s in self.spec.ancestry(leaf):
                for t in self.spec.transitions:
                    if t.transition.from_ == s.id:
                        seen.setdefault(t.transition.event, None)
            found = self._allowed[leaf] = tuple(seen)
        return found

    def _departures_of(self, leaf: str, event_type: str) -> tuple[tuple[Departure, int | None], ...]:
        """ProcedureSpec.departures, each with its guard's bit (None: unguarded)."""
        key = (leaf, event_type)
        found = self._departures.get(key)
        if found is None:
            found = self._departures[key] = tuple(
                (dep, None if guard is None or owner is None else self._departure_bit[(owner, event_type)])
                for owner, dep, guard in self.spec.departures(leaf, event_type))
        return found

    def why_not(self, leaf: str, event_type: str) -> str:
        """Why no transition takes event_type in leaf, as far as the procedure alone says it: the
        guards that did not hold, or the events allowed next (said where the procedure has no
        departure of its own for it)."""
        key = (leaf, event_type)
        found = self._why_not.get(key)
        if found is None:
            guarded = [t for t, _ in self._candidates_of(leaf, event_type)]
            found = ""
            if guarded:
                guards = "; ".join(render(t.guard) for t in guarded if t.guard is not None)
                found = f" (its condition does not hold: {guards})" if guards else ""
            else:
                allowed = ", ".join(self.allowed_next(leaf)) or "none (the procedure has ended)"
                found = f"; allowed next: {allowed}"
            self._why_not[key] = found
        return found

    def _candidates_of(self, leaf: str, event_type: str) -> tuple[tuple[TransitionSpec, int | None], ...]:
        key = (leaf, event_type)
        found = self._candidates.get(key)
        if found is None:
            found = self._candidates[key] = tuple(
                (t, None if t.guard is None else self._bit[t.index])
                for t in self.spec.candidates(leaf, event_type))
        return found

    def judge(self, leaf: str, event_type: str, event: Event, memory: CaseMemory,
              cross_check: bool = True) -> Judgement:
        """The transitions whose guards hold for the event in leaf, given the case memory,
        innermost state first (the first is the one taken), and where none holds, the departure
        the event is there. Evaluated on both evaluators; EngineError when they disagree on a
        transition's guard or a departure's. cross_check=False evaluates on the compiled evaluator
        alone: only for events the store holds, which were cross-checked when they were appended
        (Engine.replay cross-checks a sample of them again).

        event and memory must be validated instances of the procedure's models (the case
        validates each event it reads, and each memory it records): the guard facts are made of
        them without validating them a second time, so only their types are checked here."""
        guards = self._guards.get(event_type)
        if guards is None:
            return Judgement([], self._departure(leaf, event_type, 0))
        if type(event) is not self.spec.event_models[event_type] or type(memory) is not self.spec.case_model:
            raise EngineError(f"procedure {self.spec.id}: {event_type} reads a "
                              f"{self.spec.event_models[event_type].__name__} and a "
                              f"{self.spec.case_model.__name__}, not a {type(event).__name__} and a "
                              f"{type(memory).__name__}")
        candidates = self._candidates_of(leaf, event_type)
        mask = guards.compiled.mask(_Pair(event, memory))
        compiled = [t for t, bit in candidates if bit is None or mask >> bit & 1]
        judged = Judgement(compiled, None if compiled else self._departure(leaf, event_type, mask))
        if self._durable is None or not cross_check:
            return judged
        facts = self.spec.guard_models[event_type].model_construct(event=event, case=memory)
        message = to_message(facts.model_dump(mode="python"), guards.list_paths,
                             f"{self.spec.id}-{next(_SIDS)}")
        message[STATE_KEY] = self.spec.states[leaf].qualified
        message[EVENT_KEY] = event_type
        fired = set(self._durable.evaluate(message))
        durable = [t for t, _ in candidates if f"t{t.index}" in fired]
        if [t.index for t in durable] != [t.index for t in compiled]:
            raise EngineError(
                f"procedure {self.spec.id}: durable_rules and the compiled evaluator disagree on "
                f"{event_type} in state {leaf} (durable: {[f't{t.index}' for t in durable]}, compiled: "
                f"{[f't{t.index}' for t in compiled]}); nothing is decided")
        held = {sid for sid in guards.departures if mask >> self._departure_bit[(sid, event_type)] & 1}
        durable_held = {sid for sid in guards.departures if self._departure_rule[(sid, event_type)] in fired}
        if held != durable_held:
            raise EngineError(
                f"procedure {self.spec.id}: durable_rules and the compiled evaluator disagree on the "
                f"guards of the departures of {event_type} (durable: those of {sorted(durable_held)}, "
                f"compiled: those of {sorted(held)}); nothing is decided")
        return judged

    def _departure(self, leaf: str, event_type: str, mask: int) -> Departure | None:
        for dep, bit in self._departures_of(leaf, event_type):
            if bit is None or mask >> bit & 1:
                return dep
        return None

    def close(self) -> None:
        if self._durable is not None:
            self._durable.close()

