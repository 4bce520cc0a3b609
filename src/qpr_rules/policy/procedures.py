"""Procedures in policy files, checked and resolved: states (nested), events (registered pydantic
models), transitions with guards in the condition language, and the duties owed in each state.

A transition's guard is a condition over two facts: `event` (the event model) and `case` (the
procedure's case memory). Every state, transition, event and duty cites a clause of its file.
Problems are reported with file:line:column and a did-you-mean, like rules'.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pydantic import create_model

from qpr_rules._suggest import did_you_mean
from qpr_rules.errors import Problem
from qpr_rules.facts.base import FactModel
from qpr_rules.facts.events import CaseMemory, Event, registered_case_models, registered_event_types
from qpr_rules.facts.paths import PathError, resolve
from qpr_rules.policy.conditions import Condition, Loc, ParseContext, parse_condition
from qpr_rules.policy.model import Departure, Duty, Procedure, ProcedureEvent, ProcedureState, Transition

if TYPE_CHECKING:  # the loader imports this module
    from qpr_rules.policy.loader import LoadedFile


@dataclass(frozen=True)
class StateSpec:
    state: ProcedureState
    path: tuple[str, ...]  # the ids from the top-level state down to this one
    loc: Loc

    @property
    def id(self) -> str:
        return self.state.id

    @property
    def qualified(self) -> str:
        """The name durable_rules' statechart construction gives a nested state (parent.child)."""
        return ".".join(self.path)

    @property
    def leaf(self) -> bool:
        return not self.state.states


@dataclass(frozen=True)
class TransitionSpec:
    transition: Transition
    index: int
    guard: Condition | None
    target: str | None  # the leaf state entered (a compound `to` enters its initial leaf)

    @property
    def loc(self) -> Loc:
        return ("transitions", self.index)


@dataclass(frozen=True)
class ProcedureSpec:
    """A procedure ready to run: its states by id, its transitions, its event and guard models."""

    procedure: Procedure
    file: LoadedFile = field(repr=False)
    index: int
    case_model: type[CaseMemory]
    events: dict[str, ProcedureEvent]
    event_models: dict[str, type[Event]]
    guard_models: dict[str, type[FactModel]]
    states: dict[str, StateSpec]
    transitions: tuple[TransitionSpec, ...]
    initial_leaf: str
    # (state id, event type): the guard of that state's departure for the event, where it has one
    departure_guards: Mapping[tuple[str, str], Condition] = field(default_factory=dict)

    @property
    def id(self) -> str:
        return self.procedure.id

    def ancestry(self, state_id: str) -> list[StateSpec]:
        """The state and its parents, innermost first."""
        return [self.states[s] for s in reversed(self.states[state_id].path)]

    def candidates(self, leaf: str, event_type: str) -> list[TransitionSpec]:
        """Transitions that may take event_type in leaf: its own, then its parents' (durable_rules'
        statechart construction gives a nested state its parent's triggers), each in file order."""
        out: list[TransitionSpec] = []
        for state in self.ancestry(leaf):
            out.extend(t for t in self.transitions
                       if t.transition.from_ == state.id and t.transition.event == event_type)
        return out

    def departures(self, leaf: str, event_type: str) -> list[tuple[str | None, Departure, Condition | None]]:
        """What event_type may mean where no transition takes it, in the order they are tried:
        the innermost state's word on it first, then its parents', then the event's own (state
        None); each with its guard (None: it applies always, and nothing after it is tried). The
        first whose guard holds is the departure."""
        out: list[tuple[str | None, Departure, Condition | None]] = []
        for state in self.ancestry(leaf):
            if event_type in state.state.departures:
                guard = self.departure_guards.get((state.id, event_type))
                out.append((state.id, state.state.departures[event_type], guard))
                if guard is None:
                    return out
        event = self.events.get(event_type)
        if event is not None and event.departure is not None:
            out.append((None, event.departure, None))
        return out

    def enter(self, state_id: str) -> str:
        """The leaf entered when state_id is entered."""
        state = self.states[state_id].state
        while state.states:
            state = self.states[state.initial or state.states[0].id].state
        return state.id


def _walk(states: list[ProcedureState], at: Loc, path: tuple[str, ...]) -> Iterator[StateSpec]:
    for i, s in enumerate(states):
        loc = (*at, i)
        yield StateSpec(s, (*path, s.id), loc)
        yield from _walk(s.states, (*loc, "states"), (*path, s.id))


def written_guards(proc: Procedure) -> Iterator[Any]:
    """Every guard the procedure writes, as written: its transitions' and its states' departures'."""
    yield from (t.when for t in proc.transitions if t.when is not None)
    for s in _walk(proc.states, (), ()):
        yield from (d.when for d in s.state.departures.values() if d.when is not None)


def guard_model(event_name: str, event: type[Event], case: type[CaseMemory]) -> type[FactModel]:
    """The facts a guard reads: the event and the case memory."""
    name = "Guard_" + "".join(c if c.isalnum() else "_" for c in event_name)
    return create_model(name, __base__=FactModel, event=(event, ...), case=(case, ...))


def check_procedures(files: list[LoadedFile], problems: list[Problem]) -> dict[str, ProcedureSpec]:
    """Resolve every file's procedures; append a problem for each wrong reference."""
    out: dict[str, ProcedureSpec] = {}
    for f in files:
        clause_ids = {c.id for c in f.policy.clauses}
        role_ids = {r.id for r in f.policy.roles}
        params = {k: p.value for k, p in f.policy.parameters.items()}
        named = {n: (body, ("conditions", n)) for n, body in f.policy.conditions.items()}
        for i, proc in enumerate(f.policy.procedures):
            loc: Loc = ("procedures", i)
            if proc.id in out:
                problems.append(f.smap.problem((*loc, "id"), f"duplicate procedure id {proc.id!r} (also in "
                                               f"{out[proc.id].file.path}); procedure ids are unique"))
                continue
            spec = _check_one(f, i, proc, clause_ids, role_ids, params, named, problems)
            if spec is not None:
                out[proc.id] = spec
    return out


def _unknown(kind: str, name: str, known: Collection[str], hint: str = "") -> str:
    shown = sorted(known)
    listed = ", ".join(shown[:12]) + (", ..." if len(shown) > 12 else "")
    extra = f"; {hint}" if hint else ""
    return f"unknown {kind} {name!r}{did_you_mean(name, shown)}{extra}; known: {listed or 'none'}"


def _check_one(f: LoadedFile, index: int, proc: Procedure, clause_ids: set[str], role_ids: set[str],
               params: Mapping[str, Any], named: Mapping[str, tuple[Any, Loc]],
               problems: list[Problem]) -> ProcedureSpec | None:
    at: Loc = ("procedures", index)
    before = len(problems)

    def problem(loc: Loc, message: str, code: str = "error") -> None:
        problems.append(f.smap.problem((*at, *loc), message, code))

    def clause(loc: Loc, cid: str) -> None:
        if cid not in clause_ids:
            problem(loc, _unknown("clause", cid, clause_ids))

    def duties(loc: Loc, items: list[Duty], event_ids: Collection[str]) -> None:
        for j, d in enumerate(items):
            if d.who not in role_ids:
                problem((*loc, j, "who"), _unknown("role", d.who, role_ids, "declare it under `roles:`"))
            clause((*loc, j, "clause"), d.clause)
            if d.until is not None and d.until not in event_ids:
                problem((*loc, j, "until"), _unknown("event", d.until, event_ids,
                                                     "list it under the procedure's `events:`"))

    clause(("clause",), proc.clause)
    cases = registered_case_models()
    case = cases.get(proc.case)
    if case is None:
        problem(("case",), _unknown("case model", proc.case, cases))
    known_events = registered_event_types()
    events: dict[str, ProcedureEvent] = {}
    models: dict[str, type[Event]] = {}
    for j, ev in enumerate(proc.events):
        if ev.type in events:
            problem(("events", j, "type"), f"event {ev.type!r} is listed twice; list each event type once")
            continue
        events[ev.type] = ev
        model = known_events.get(ev.type)
        if model is None:
            problem(("events", j, "type"), _unknown("event type", ev.type, known_events))
        else:
            models[ev.type] = model
        clause(("events", j, "clause"), ev.clause)
    for j, ev in enumerate(proc.events):
        if ev.departure is not None:
            if ev.departure.when is not None:
                problem(("events", j, "departure", "when"),
                        "an event's own departure is what it means wherever no state says otherwise, "
                        "so it takes no `when:`; give the states where it differs a departure of "
                        "their own (`departures:` of the state, with `when:`)")
            clause(("events", j, "departure", "clause"), ev.departure.clause)
            duties(("events", j, "departure", "duties"), ev.departure.duties, events)
            for k, cq in enumerate(ev.departure.consequences):
                clause(("events", j, "departure", "consequences", k, "clause"), cq.clause)

    states: dict[str, StateSpec] = {}
    for s in _walk(proc.states, ("states",), ()):
        loc = s.loc
        if s.id in states:
            problem((*loc, "id"), f"duplicate state id {s.id!r}; state ids are unique within a "
                                  "procedure, nested states too")
            continue
        states[s.id] = StateSpec(s.state, s.path, (*at, *s.loc))
        clause((*loc, "clause"), s.state.clause)
        duties((*loc, "duties"), s.state.duties, events)
        for ev_name, dep in s.state.departures.items():
            if ev_name not in events:
                problem((*loc, "departures", ev_name), _unknown("event", ev_name, events,
                                                                "list it under the procedure's `events:`"))
            clause((*loc, "departures", ev_name, "clause"), dep.clause)
            duties((*loc, "departures", ev_name, "duties"), dep.duties, events)
        children = [c.id for c in s.state.states]
        if s.state.initial is not None and s.state.initial not in children:
            problem((*loc, "initial"), _unknown("nested state", s.state.initial, children,
                                                f"name one of the states nested in {s.id}"))
        if s.state.final and s.state.states:
            problem((*loc, "final"), f"state {s.id!r} has nested states, so it cannot be final; "
                                     "mark the nested state where the procedure ends")
    if proc.initial not in states:
        problem(("initial",), _unknown("state", proc.initial, states))

    transitions: list[TransitionSpec] = []
    for j, t in enumerate(proc.transitions):
        loc = ("transitions", j)
        ok = True
        for key, sid in (("from", t.from_), ("to", t.to)):
            if sid is not None and sid not in states:
                problem((*loc, key), _unknown("state", sid, states))
                ok = False
        if t.event not in events:
            problem((*loc, "event"), _unknown("event", t.event, events,
                                              "list it under the procedure's `events:`"))
            ok = False
        clause((*loc, "clause"), t.clause)
        if ok and states[t.from_].state.final and t.to is not None:
            problem((*loc, "to"), f"state {t.from_!r} is final: no transition leaves it (a transition "
                                  "without `to:` may record what happened there)")
        if not ok or case is None or t.event not in models:
            continue
        gm = guard_model(t.event, models[t.event], case)
        guard = None
        if t.when is not None:
            ctx = ParseContext(gm, params, [], named=named)
            guard = parse_condition(t.when, (*at, *loc, "when"), ctx)
            for eloc, msg in ctx.errors:
                problems.append(f.smap.problem(eloc, msg, "condition"))
        for field_name, value in t.record.items():
            _record_problem(f, (*at, *loc, "record", field_name), field_name, value, case, gm, problems)
        target = _enter(proc, states, t.to) if t.to is not None else None
        transitions.append(TransitionSpec(t, j, guard, target))
    departure_guards: dict[tuple[str, str], Condition] = {}
    for s in states.values():
        for ev_name, dep in s.state.departures.items():
            if dep.when is None or case is None or ev_name not in models:
                continue
            ctx = ParseContext(guard_model(ev_name, models[ev_name], case), params, [], named=named)
            parsed = parse_condition(dep.when, (*s.loc, "departures", ev_name, "when"), ctx)
            if parsed is not None:
                departure_guards[(s.id, ev_name)] = parsed
            for eloc, msg in ctx.errors:
                problems.append(f.smap.problem(eloc, msg, "condition"))
    if len(problems) > before or case is None:
        return None
    guards = {name: guard_model(name, m, case) for name, m in models.items()}
    return ProcedureSpec(proc, f, index, case, events, models, guards, states, tuple(transitions),
                         _enter(proc, states, proc.initial), departure_guards)


def _enter(proc: Procedure, states: Mapping[str, StateSpec], sid: str) -> str:
    state = states[sid].state
    while state.states:
        state = states[state.initial or state.states[0].id].state
    return state.id


def _record_problem(f: LoadedFile, loc: Loc, name: str, value: Any, case: type[CaseMemory],
                    gm: type[FactModel], problems: list[Problem]) -> None:
    """`record: {FIELD: VALUE}` sets a case memory field: a literal, null, or {fact: event.PATH}."""
    fields = case.model_fields
    if name not in fields:
        problems.append(f.smap.problem(loc, _unknown(f"field of the case model {case.__name__}", name,
                                                     fields)))
        return
    if isinstance(value, Mapping):
        path = value.get("fact")
        if set(value) != {"fact"} or not isinstance(path, str) or not path.startswith("event."):
            problems.append(f.smap.problem(loc, "a recorded value is a literal, null, or "
                                                "{fact: event.PATH}"))
            return
        try:
            resolve(gm, path)
        except PathError as exc:
            problems.append(f.smap.problem(loc, str(exc)))
        return
    try:  # a literal must be a value of the field
        case.model_validate({name: value})
    except Exception as exc:  # pydantic's message is the answer
        problems.append(f.smap.problem(loc, f"{value!r} is not a value of {name}: "
                                            f"{str(exc).splitlines()[-1].strip()}"))


def unreachable_states(spec: ProcedureSpec) -> list[StateSpec]:
    """States no transition can reach from the initial state (a lint of `qpr-rules check`)."""
    reached = {spec.initial_leaf}
    frontier = [spec.initial_leaf]
    while frontier:
        leaf = frontier.pop()
        for t in spec.transitions:
            if t.target is not None and t.target not in reached and \
                    t.transition.from_ in spec.states[leaf].path:
                reached.add(t.target)
                frontier.append(t.target)
    inside = {s for leaf in reached for s in spec.states[leaf].path}
    return [s for s in spec.states.values() if s.id not in inside]


def dead_ends(spec: ProcedureSpec) -> list[StateSpec]:
    """Leaf states that are not final and that no transition leaves."""
    out = []
    for s in spec.states.values():
        if not s.leaf or s.state.final:
            continue
        if not any(t.target is not None and t.transition.from_ in s.path for t in spec.transitions):
            out.append(s)
    return out
