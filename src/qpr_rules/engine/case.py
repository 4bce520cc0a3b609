"""A case of a procedure: its events (from the store), the state the policy recognises, the
duties owed, the events allowed next, and the departures from the procedure.

What happened is always recorded. An event that no transition takes from the case's state (a
placement into a home on hold, a step out of order, a review requested before the date
determined in the QPR) is stored, flagged as a departure with its clause and the duties it
creates, and leaves the recognised state as it was. Nothing is edited: a correction is a later
event. The state is the replay of the stored events, the same on every replay.
"""

from __future__ import annotations

import contextlib
import copy
import datetime as dt
import json
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from qpr_rules._suggest import did_you_mean
from qpr_rules.engine.procedure_runtime import Judgement, ProcedureRuntime
from qpr_rules.errors import EventError
from qpr_rules.facts.events import CaseMemory, Event
from qpr_rules.facts.hold import Hold
from qpr_rules.facts.paths import PathError
from qpr_rules.policy.model import Departure as ProcedureDeparture
from qpr_rules.policy.model import Duty
from qpr_rules.policy.procedures import ProcedureSpec, TransitionSpec
from qpr_rules.procedure.memory_store import MemoryStore
from qpr_rules.procedure.store_api import EventStore, StoredEvent, StoreError


@dataclass(frozen=True)
class OpenDuty:
    """A duty owed now: who, what, since when, which step and clause, and why it is owed."""

    who: str
    do: str
    since: dt.date
    clause: str
    step: int | None
    owed_in: str  # the state it is owed in, or "departure N" for a departure's duty
    until: str | None = None  # the event type that discharges a departure's duty

    def as_dict(self) -> dict[str, Any]:
        return {"who": self.who, "do": self.do, "since": self.since.isoformat(), "step": self.step,
                "clause": self.clause, "owed_in": self.owed_in, "until": self.until}


@dataclass(frozen=True)
class Departure:
    """An event the procedure does not allow where it came: stored, said and cited."""

    version: int
    event_type: str
    on: dt.date
    state: str
    text: str
    clause: str
    duties: tuple[OpenDuty, ...]
    consequences: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        return {"version": self.version, "event": self.event_type, "on": self.on.isoformat(),
                "state": self.state, "text": self.text, "clause": self.clause,
                "duties": [d.as_dict() for d in self.duties], "consequences": list(self.consequences)}


@dataclass(frozen=True)
class Check:
    """The answer before acting: whether the procedure allows the event now, and why."""

    allowed: bool
    sentence: str
    clause: str
    to: str | None  # the state the case would be in after it


@dataclass(frozen=True)
class Step:
    """What one stored event did: the transition it took (its index in the procedure's
    `transitions:`), or None for a departure, and the leaf state before and after."""

    version: int
    event_type: str
    on: dt.date
    transition: int | None
    before: str
    after: str
    effective_from: dt.date | None = None  # the policy version the event was judged under


@dataclass
class _Replay:
    leaf: str
    entered_on: dt.date | None
    memory: CaseMemory
    version: int = 0
    last_on: dt.date | None = None
    departures: list[Departure] = field(default_factory=list)
    steps: list[Step] = field(default_factory=list)
    awaited: set[str] = field(default_factory=set)  # the event types a departure's duty waits for


class Case:
    """One case of a procedure over an event store. Read `state`, `duties`, `allowed_next`,
    `departures`; ask `check(event)` before acting; `record(event)` what happened."""

    def __init__(self, runtime: ProcedureRuntime, case_id: str, store: EventStore,
                 roles: Mapping[str, str],
                 runtime_on: Callable[[dt.date], ProcedureRuntime] | None = None, *,
                 history: Iterable[StoredEvent] | None = None, cross_check: bool = True) -> None:
        """runtime_on: the procedure as the policy version in force on a date defines it (each
        event is judged under its own date's version); None judges every event under runtime.
        history: the case's stored events when the caller read them already (Engine.replay reads
        every case in one pass); None reads them from the store. cross_check=False replays them
        on the compiled evaluator alone (they were cross-checked when they were appended); what
        is recorded or checked afterwards is always cross-checked."""
        self._runtime = runtime
        self.spec: ProcedureSpec = runtime.spec
        self.case_id = case_id
        self.store = store
        self._roles = roles
        self._runtime_on = runtime_on
        self._replay = _Replay(self.spec.initial_leaf, None, self.spec.case_model())
        self._cross_check = cross_check
        try:
            for expected, stored in enumerate(store.events(case_id) if history is None else history, 1):
                if stored.procedure_id != self.spec.id:
                    raise EventError(self.spec.id, [f"case {case_id!r} holds an event of procedure "
                                                    f"{stored.procedure_id!r}, not {self.spec.id!r}"])
                if stored.case_id != case_id or stored.version != expected:
                    raise StoreError(f"case {case_id!r}: event {expected} is {stored.case_id!r} version "
                                     f"{stored.version}; the history is not contiguous")
                runtime = self._version_on(stored.occurred_on)
                model = self._stored(stored, runtime.spec)
                self._apply(stored.version, stored.event_type, model,
                            runtime if model.on == stored.occurred_on else None)
        finally:
            self._cross_check = True

    # -- reading -------------------------------------------------------------------------------

    @property
    def procedure_id(self) -> str:
        return self.spec.id

    @property
    def state(self) -> str:
        """The leaf state the policy recognises."""
        return self._replay.leaf

    @property
    def state_path(self) -> tuple[str, ...]:
        return self.spec.states[self._replay.leaf].path

    @property
    def version(self) -> int:
        return self._replay.version

    @property
    def memory(self) -> CaseMemory:
        return self._replay.memory

    @property
    def final(self) -> bool:
        return self.spec.states[self._replay.leaf].state.final

    @property
    def departures(self) -> list[Departure]:
        return list(self._replay.departures)

    @property
    def steps(self) -> list[Step]:
        """Every event replayed, in order, with the transition it took (coverage and traces)."""
        return list(self._replay.steps)

    @property
    def duties(self) -> list[OpenDuty]:
        """The duties owed now: those of the state and its parents (owed since the state was
        entered), and those created by departures and not yet discharged."""
        since = self._replay.entered_on
        out: list[OpenDuty] = []
        if since is not None:
            for s in reversed(self.spec.ancestry(self._replay.leaf)):
                out.extend(self._duty(d, since, s.id, {}) for d in s.state.duties)
        for dep in self._replay.departures:
            out.extend(dep.duties)
        return out

    def allowed_next(self) -> list[str]:
        """The event types some transition takes from the current state (guards permitting)."""
        return list(self._runtime.allowed_next(self._replay.leaf))

    def hold(self) -> Hold | None:
        """The home's hold as the case's events establish it (None when there is none)."""
        m = self._replay.memory
        kind, placed = getattr(m, "hold_kind", None), getattr(m, "hold_placed_on", None)
        if kind is None or placed is None:
            return None
        return Hold(kind=kind, placed_on=placed, review_after=getattr(m, "review_after", None),
                    reinstated_on=getattr(m, "reinstated_on", None))

    def summary(self) -> dict[str, Any]:
        return {"procedure": self.spec.id, "case": self.case_id, "version": self.version,
                "state": self.state, "state_path": list(self.state_path), "final": self.final,
                "since": self._replay.entered_on.isoformat() if self._replay.entered_on else None,
                "memory": self.memory.model_dump(mode="json", exclude_none=True),
                "duties": [d.as_dict() for d in self.duties], "allowed_next": self.allowed_next(),
                "departures": [d.as_dict() for d in self.departures]}

    def fork(self) -> Case:
        """A copy of this case to try events on: the same state, over an in-memory store holding
        the same events (nothing is replayed; this case and its store are left as they are)."""
        twin = copy.copy(self)
        twin.store = MemoryStore.holding(self.case_id, self.store.events(self.case_id))
        twin._replay = copy.deepcopy(self._replay)
        return twin

    # -- acting --------------------------------------------------------------------------------

    def check(self, event: Event | Mapping[str, Any]) -> Check:
        """Whether the procedure allows the event now, said in a sentence (nothing is stored);
        judged under the policy version in force on the event's date."""
        etype, model = self._typed(event)
        with self._judged_under(self._version_on(model.on)):
            return self._check(etype, model)

    def _check(self, etype: str, model: Event) -> Check:
        judged = self._judged(etype, model)
        taken = judged.taken
        state = self._replay.leaf
        if taken is not None:
            to = taken.target or state
            moves = f"the case moves from {state} to {to}" if to != state else f"the case stays in {state}"
            return Check(True, f"{etype} is allowed in {state}: {moves} ({taken.transition.clause})",
                         taken.transition.clause, to)
        text, clause = self._departure_text(etype, model, judged.departure)
        return Check(False, text, clause, None)

    def record(self, event: Event | Mapping[str, Any]) -> StoredEvent:
        """Store what happened (always), then apply it: a transition, or a departure. Raises
        VersionConflict when another writer appended first (nothing is stored then)."""
        etype, model = self._typed(event)
        self._version_on(model.on)  # refused before it is stored: no version judges it
        payload = model.model_dump_json(exclude_none=False)
        payload = json.dumps(json.loads(payload), sort_keys=True, separators=(",", ":"))
        stored = self.store.append(self.case_id, self._replay.version, self.spec.id, etype,
                                   model.on, payload)
        self._apply(stored.version, etype, model)
        return stored

    # -- inside ----------------------------------------------------------------------------------

    def _version_on(self, day: dt.date) -> ProcedureRuntime:
        """The procedure in force on day, which must know the case's state and memory (else
        EventError: the versions cannot be joined, and nothing is guessed)."""
        if self._runtime_on is None:
            return self._runtime
        runtime = self._runtime_on(day)
        if runtime is self._runtime:
            return runtime
        spec, leaf = runtime.spec, self._replay.leaf
        if leaf not in spec.states or not spec.states[leaf].leaf:
            raise EventError(self.spec.id, [
                f"on: {day.isoformat()}: the case is in {leaf!r}, which the procedure of policy "
                f"version {spec.file.policy.effective_from.isoformat()} has no state for; record "
                "the events that move it out first"])
        if spec.case_model is not self.spec.case_model:
            raise EventError(self.spec.id, [
                f"on: {day.isoformat()}: the procedure of policy version "
                f"{spec.file.policy.effective_from.isoformat()} remembers a case as "
                f"{spec.case_model.__name__}, not {self.spec.case_model.__name__}"])
        return runtime

    @contextlib.contextmanager
    def _judged_under(self, runtime: ProcedureRuntime) -> Iterator[None]:
        """Judge under another version's procedure for a moment (check(): nothing changes)."""
        kept = self._runtime
        self._runtime, self.spec = runtime, runtime.spec
        try:
            yield
        finally:
            self._runtime, self.spec = kept, kept.spec

    def _typed(self, event: Event | Mapping[str, Any]) -> tuple[str, Event]:
        if isinstance(event, Event):
            # validated again: an instance made by model_construct() never was, and the guards
            # read the event without validating it (ProcedureRuntime.taken)
            model = self._validated(type(event).__name__, lambda: type(event).model_validate(event))
            spec = self._version_on(model.on).spec
            names = [n for n, m in spec.event_models.items() if type(model) is m]
            if not names:
                raise EventError(self.spec.id, [f"{type(event).__name__} is not an event of procedure "
                                                f"{self.spec.id}; "
                                  f"its events: {', '.join(spec.event_models)}"])
            etype = names[0]
        else:
            data = dict(event)
            etype = data.pop("type", None)
            data.pop("case", None)
            model = self._parse(etype, data, self._spec_for(data.get("on")))
        if model.by not in self._roles:
            raise EventError(self.spec.id, [f"by: {model.by!r} is not a role of the policy; roles: "
                              f"{', '.join(sorted(self._roles))}"])
        return etype, model

    def _spec_for(self, on: Any) -> ProcedureSpec:
        """The procedure that reads an event given as a mapping: its date's version (an event
        whose date is not one is read by the current version, which names what is wrong)."""
        try:
            day = on if isinstance(on, dt.date) else (
                dt.date.fromisoformat(on) if isinstance(on, str) else None)
        except ValueError:
            day = None
        return self._version_on(day).spec if day is not None else self.spec

    def _parse(self, etype: Any, data: Mapping[str, Any], spec: ProcedureSpec | None = None) -> Event:
        model = self._event_model(etype, spec or self.spec)
        return self._validated(etype, lambda: model.model_validate(dict(data)))

    def _stored(self, stored: StoredEvent, spec: ProcedureSpec) -> Event:
        """A stored event's model, validated from its JSON text (pydantic parses and validates the
        text in one step; the same checks as an event given as a mapping)."""
        model = self._event_model(stored.event_type, spec)
        return self._validated(stored.event_type, lambda: model.model_validate_dump_json(stored.payload))

    def _event_model(self, etype: Any, spec: ProcedureSpec) -> type[Event]:
        model = spec.event_models.get(etype) if isinstance(etype, str) else None
        if model is None:
            hint = did_you_mean(str(etype), spec.event_models)
            raise EventError(self.spec.id, [f"type: unknown event {etype!r}{hint}; events of "
                                            f"{self.spec.id}: {', '.join(spec.event_models)}"])
        return model

    def _validated(self, etype: str, validate: Callable[[], Event]) -> Event:
        try:
            return validate()
        except ValidationError as exc:
            raise EventError(self.spec.id, [f"{etype}: {'.'.join(map(str, e['loc']))}: {e['msg']}"
                              for e in exc.errors()]) from None

    def _judged(self, etype: str, model: Event) -> Judgement:
        # the event was validated by _parse, _stored or _typed (an Event given as an instance is
        # validated again there), the memory by the case model (the initial one, or _recorded)
        return self._runtime.judge(self._replay.leaf, etype, model, self._replay.memory,
                                   self._cross_check)

    def _apply(self, version: int, etype: str, model: Event, runtime: ProcedureRuntime | None = None) -> None:
        # the case moves on under the version in force on the event's date (runtime: that
        # version, when the caller has it already)
        runtime = runtime or self._version_on(model.on)
        self._runtime, self.spec = runtime, runtime.spec
        r = self._replay
        judged = self._judged(etype, model)
        taken = judged.taken
        before = r.leaf
        if taken is None:
            spec = judged.departure
            text, clause = self._departure_text(etype, model, spec)
            label = f"departure {version}"
            duties = tuple(self._duty(d, model.on, label, {"event": model})
                           for d in (spec.duties if spec else ()))
            cqs = tuple(c.text for c in spec.consequences) if spec else ()
            r.departures.append(Departure(version, etype, model.on, r.leaf, text, clause, duties, cqs))
            r.awaited.update(d.until for d in duties if d.until is not None)
        else:
            if taken.transition.record:
                r.memory = self._recorded(taken, model)
            if taken.target is not None:
                r.leaf, r.entered_on = taken.target, model.on
        # a departure's duties end when the event they wait for is recorded
        if etype in r.awaited:
            r.departures = [replace_duties(d, etype) for d in r.departures]
            r.awaited = {d.until for dep in r.departures for d in dep.duties if d.until is not None}
        if r.entered_on is None:
            r.entered_on = model.on
        r.version, r.last_on = version, model.on
        r.steps.append(Step(version, etype, model.on, taken.index if taken is not None else None,
                            before, r.leaf, self.spec.file.policy.effective_from))

    def _recorded(self, t: TransitionSpec, model: Event) -> CaseMemory:
        values = self._replay.memory.model_dump()
        for name, value in t.transition.record.items():
            if isinstance(value, Mapping):
                value = _read(model, value["fact"].removeprefix("event."))
            values[name] = value
        return self.spec.case_model.model_validate(values)

    def _departure_text(self, etype: str, model: Event, dep: ProcedureDeparture | None) -> tuple[str, str]:
        ev = self.spec.events.get(etype)
        state = self._replay.leaf
        since = self._replay.entered_on
        where = f"the case is in {state}" + (f" since {since.isoformat()}" if since else "")
        if ev is None:
            return f"{etype} is not an event of {self.spec.id}", self.spec.procedure.clause
        if dep is not None:
            text = _fill(dep.text, {"event": model, "case": self._replay.memory})
            return f"{text}; {where}", dep.clause
        return f"{etype} is not allowed here: {where}{self._runtime.why_not(state, etype)}", ev.clause

    def _duty(self, d: Duty, since: dt.date, owed_in: str, values: Mapping[str, Any]) -> OpenDuty:
        context = {"case": self._replay.memory, **values}
        return OpenDuty(d.who, _fill(d.do, context), since, d.clause, d.step, owed_in, d.until)


def replace_duties(dep: Departure, event_type: str) -> Departure:
    kept = tuple(d for d in dep.duties if d.until != event_type)
    if len(kept) == len(dep.duties):
        return dep
    return Departure(dep.version, dep.event_type, dep.on, dep.state, dep.text, dep.clause, kept,
                     dep.consequences)


def _read(model: Any, path: str) -> Any:
    value = model
    for part in path.split("."):
        value = getattr(value, part, None) if value is not None else None
    return value


_PLACEHOLDER = re.compile(r"\{(event|case)\.([a-z_][a-z0-9_.]*)\}")


def _fill(text: str, context: Mapping[str, Any]) -> str:
    """{event.PATH} and {case.PATH} replaced by their values ("not given" when absent)."""

    def value(m: re.Match[str]) -> str:
        root = context.get(m.group(1))
        try:
            v = _read(root, m.group(2))
        except PathError:
            v = None
        if v is None:
            return f"{m.group(2).split('.')[-1].replace('_', ' ')} not given"
        if isinstance(v, dt.date):
            return v.isoformat()
        if isinstance(v, list):  # genders, actions: named one by one, as a sentence would
            return ", ".join(str(getattr(x, "value", x)) for x in v) or "none"
        return str(getattr(v, "value", v))

    return _PLACEHOLDER.sub(value, text)
