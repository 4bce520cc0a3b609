"""A procedure checked as a transition system, with its guards (not the bare graph).

The states explored are a case's leaf state with its memory. From each, every event a transition
of the state takes is tried with one value of each class of values the transitions tell apart
(flags both ways, each enum member a guard names and one other, lists empty or of one member, an
optional left out) and its dates at every ordering among the state's dates the transitions
compare them with (procedure_dates.py: the guards compare dates only, which is checked, so one
date of each ordering is every date as far as they can tell). States are told apart by the order
of their dates; dates nothing will compare again are left out of that key (kept in the state's
hold). Each event is applied by the procedure's own case (the compiled guards). Checked:

- from every reachable state, a final state is reachable;
- no path leads from a permanent hold to reinstatement (a state whose memory says reinstated);
- in no reachable state does a decision that takes its hold from the case (`hold_from_case`, the
  placement question) allow while that hold is in force: with the state's hold (Case.hold) and
  every other fact unknown, decide_partial must answer a placement dated at every ordering among
  the hold's dates where the hold is in force determined and not allow; with the date unknown
  too, every completion it shows allowed must have no hold in force;
- every duty owed in a state is discharged by a transition out of that state whose event does
  that duty (its clause is the duty's clause), not by a catch-all.

A violation comes with the event sequence that leads to it. `ProcedureProof.bound()` says what
was checked.
"""

from __future__ import annotations

import datetime as dt
import enum
import json
import re
import types
import typing
from collections import deque
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, assert_never

from pydantic import BaseModel, TypeAdapter, ValidationError

from qpr_rules.analysis.procedure_dates import (
    BASE,
    DateComparisons,
    date_comparisons,
    date_key,
    merged,
    tried_dates,
)
from qpr_rules.engine.case import Case
from qpr_rules.engine.engine import Engine
from qpr_rules.engine.procedure_runtime import ProcedureRuntime
from qpr_rules.facts.events import Event
from qpr_rules.facts.hold import Hold, HoldState, hold_state_on
from qpr_rules.policy.condition_nodes import (
    All,
    AnyOf,
    Compare,
    Condition,
    Contains,
    Count,
    InSet,
    Literal_,
    Not,
    Present,
    Quantified,
    fact_paths,
)
from qpr_rules.policy.procedures import ProcedureSpec
from qpr_rules.procedure.memory_store import MemoryStore


@dataclass(frozen=True)
class Violation:
    prop: str
    text: str
    events: tuple[dict[str, Any], ...]  # the event sequence that shows it (empty for a duty)


@dataclass(frozen=True)
class ProcedureProof:
    procedure_id: str
    states: int  # abstract states explored
    violations: tuple[Violation, ...]
    dates: DateComparisons  # how the guards and the placement question compare dates
    events_tried: int = 0

    @property
    def exhaustive(self) -> bool:
        """Every date was covered: no guard or placement rule reads a date other than by
        comparing it (the tried dates are one of each ordering)."""
        return not self.dates.uncovered

    def bound(self) -> str:
        """What was checked, and its bound, in a sentence."""
        d = self.dates
        shifts = ", ".join(f"{s:+d}" for s in sorted(d.shifts) if s) or "none"
        text = (f"every ordering of dates: each event date tried the day before, on and after each "
                f"date of its state its transitions compare it with or keep beside it, as is and "
                f"shifted by {shifts} days, and far before and after them")
        if d.literals:
            written = ", ".join(x.isoformat() for x in sorted(d.literals))
            text += f" and each date the policy writes ({written})"
        text += "; states told apart by the same order of their own dates"
        if d.uncovered:
            text += ("; NOT every date for: " + "; ".join(d.uncovered)
                     + " (a date read other than by comparing it)")
        return text


def _samples(annotation: Any, named: frozenset[Any] = frozenset()) -> list[Any]:
    origin = typing.get_origin(annotation)
    args = [a for a in typing.get_args(annotation)]
    if origin is typing.Annotated:
        return _samples(args[0], named)
    if origin in (typing.Union, types.UnionType):
        return [v for a in args for v in ([None] if a is type(None) else _samples(a, named))]
    if origin is list:
        inner = _samples(args[0], named)
        return [[], *([v] for v in inner if v is not None)]
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        members = [m.value for m in annotation]
        others = [m for m in members if m not in named]
        return [m for m in members if m in named] + others[:1]
    if annotation is bool:
        return [True, False]
    if annotation is int:
        return [1]
    if annotation is dt.date:
        return [_DATE]
    if annotation is str:
        return ["east"]
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        # a nested model (a child placed, a restriction's bounds): one value, each field its
        # first sample; the model's own checks say whether it is one
        return [{n: _samples(f.annotation, named)[0] for n, f in annotation.model_fields.items()}]
    return [None]


_DATE = object()  # a date field's sample: the dates tried depend on the state


@dataclass(frozen=True)
class _Reads:
    """What the transitions on each event type read: the event's fields (in a guard or in what
    they record; the others cannot change which transition is taken nor what is remembered), the
    case's dates a new date must be ordered against (those a guard compares, and those a
    transition keeps beside a date it records), and the values guards name (enum members)."""

    fields: dict[str, set[str]]
    against: dict[str, set[str]]
    named: frozenset[Any]


def _reads(spec: ProcedureSpec) -> _Reads:
    fields: dict[str, set[str]] = {e: set() for e in spec.event_models}
    against: dict[str, set[str]] = {e: set() for e in spec.event_models}
    named: set[Any] = set()
    case_dates = {n for n, f in spec.case_model.model_fields.items() if _is_date(f.annotation)}
    for t in spec.transitions:
        e = t.transition.event
        paths = set(fact_paths(t.guard)) if t.guard is not None else set()
        if t.guard is not None:
            named |= _literals(t.guard)
        recorded = {v["fact"] for v in t.transition.record.values() if isinstance(v, Mapping)}
        fields.setdefault(e, set()).update(p.split(".")[1] for p in paths | recorded
                                           if p.startswith("event."))
        against.setdefault(e, set()).update(p.split(".")[1] for p in paths if p.startswith("case.")
                                            and p.split(".")[1] in case_dates)
        if recorded:  # a date it records is ordered against the dates it keeps
            against[e] |= case_dates - set(t.transition.record)
    return _Reads(fields, against, frozenset(named))


def _live_dates(spec: ProcedureSpec) -> dict[str, frozenset[str]]:
    """Per leaf, the case's dates whose order can still matter: a transition reachable from the
    leaf (by the graph, guards aside) without one that records the date first compares it in
    its guard, or records another date beside it (a hold whose dates are then mixed). The others
    are kept in the state (its hold) but not in its key: nothing will compare them again."""
    case_dates = {n for n, f in spec.case_model.model_fields.items() if _is_date(f.annotation)}
    leaves = [s.id for s in spec.states.values() if s.leaf]
    # each guard's compared dates once, not once per leaf, date and step of the search
    compared = {id(t): date_comparisons([t.guard]).compared if t.guard is not None else frozenset()
                for t in spec.transitions}
    live: dict[str, frozenset[str]] = {}
    for leaf in leaves:
        found: set[str] = set()
        for f in case_dates:
            seen, todo = {leaf}, [leaf]
            while todo and f not in found:
                at = todo.pop()
                for t in spec.transitions:
                    if t.transition.from_ not in spec.states[at].path:
                        continue
                    recorded = {k for k, v in t.transition.record.items() if k in case_dates}
                    if f"case.{f}" in compared[id(t)] \
                            or (recorded and f not in recorded):
                        found.add(f)
                        break
                    if f in recorded:
                        continue
                    nxt = t.target or at
                    if nxt not in seen:
                        seen.add(nxt)
                        todo.append(nxt)
        live[leaf] = frozenset(found)
    return live


def _is_date(annotation: Any) -> bool:
    return annotation is dt.date or dt.date in typing.get_args(annotation) or any(
        _is_date(a) for a in typing.get_args(annotation) if a is not type(None))


def _literals(cond: Condition) -> set[Any]:
    match cond:
        case All(items=items) | AnyOf(items=items):
            return set().union(*(_literals(c) for c in items))
        case Not(item=item):
            return _literals(item)
        case Compare(right=right) | Contains(right=right) | Count(right=right):
            return {right.value} if isinstance(right, Literal_) else set()
        case InSet(values=values):
            return set(values)
        case Present():
            return set()
        case Quantified(cond=inner):
            return _literals(inner)
        case _:
            assert_never(cond)


def events_of(spec: ProcedureSpec, by: str, memory: Mapping[str, Any], dates: DateComparisons,
              reads: _Reads, leaf: str) -> Iterator[tuple[str, Event]]:
    """Every event the procedure lists, as one of each class of events its transitions tell
    apart: each field a transition reads with every value of its kind (flags both ways, each enum
    member, lists empty or of one member, an optional left out; a date at every ordering among
    the state's dates and the event's earlier dates), the other fields with one valid value.
    Only the events some transition takes from the leaf (the others are departures), and of an
    enum only the members a guard names and one other (the guards cannot tell the others apart)."""
    for etype, model in spec.event_models.items():
        if not spec.candidates(leaf, etype):
            continue
        names = [n for n in model.model_fields if n != "by"]
        names.sort(key=lambda n: n != "on")  # the event's date first: its other dates follow it
        known = [v for k, v in memory.items() if k in reads.against[etype] and isinstance(v, dt.date)]
        for combo in _values(model, names, reads.fields[etype], known, dates, 0, {}, reads.named):
            try:
                yield etype, model.model_validate({"by": by, **combo})
            except ValidationError:  # a combination the event's model refuses
                continue


def _values(model: type[Event], names: list[str], read: set[str], known: list[dt.date],
            dates: DateComparisons, i: int, chosen: dict[str, Any],
            named: frozenset[Any]) -> Iterator[dict[str, Any]]:
    if i == len(names):
        yield chosen
        return
    n = names[i]
    samples = [_DATE] if n == "on" else _samples(model.model_fields[n].annotation, named)
    options: list[Any] = []
    for v in samples:
        if v is not _DATE:
            options.append(v)
        elif n in read:
            earlier = [x for x in chosen.values() if isinstance(x, dt.date)]
            options.extend(tried_dates([*known, *earlier], dates))
        else:  # a date nothing reads: any date will do
            options.append(max(known) if known else BASE)
    if n not in read:  # one value the model takes (the first that validates)
        for v in options:
            if _field_ok(model, n, v):
                yield from _values(model, names, read, known, dates, i + 1, {**chosen, n: v}, named)
                return
        return
    for v in options:
        yield from _values(model, names, read, known, dates, i + 1, {**chosen, n: v}, named)


def _field_ok(model: type[Event], name: str, value: Any) -> bool:
    info = model.model_fields[name]
    try:  # the field's type with its constraints (a list's min_length, ...)
        form: Any = typing.Annotated[info.annotation, info]
        TypeAdapter(form).validate_python(value)
    except ValidationError:
        return False
    return True


def _as_json(etype: str, model: Event) -> dict[str, Any]:
    return {"type": etype, **model.model_dump(mode="json")}


def check_procedure(engine: Engine, procedure_id: str, max_states: int = 20000) -> ProcedureProof:
    spec = engine.policies.procedures[procedure_id]
    by = spec.file.policy.roles[0].id
    decisions = [d for d, s in engine.policies.decisions.items()
                 if s.decision.hold_from_case and "allow" in s.decision.outcomes]
    guards = date_comparisons(t.guard for t in spec.transitions if t.guard is not None)
    placing = date_comparisons(r.condition for d in decisions for r in engine.policies.decisions[d].rules)
    dates = merged(guards, placing)
    reads = _reads(spec)
    # the compiled guards: what the procedure's case takes (durable_rules is held to the same
    # transitions on every event a case records, and a disagreement fails closed)
    runtime = ProcedureRuntime(spec, durable=False)
    roles = {r.id: r.title for r in spec.file.policy.roles}
    start = Case(runtime, "proof", MemoryStore(), roles)

    live = _live_dates(spec)

    def key(case: Case) -> tuple[Any, ...]:
        memory = case.memory.model_dump()
        kept = {k: (v if k in live[case.state] or not isinstance(v, dt.date) else "given")
                for k, v in memory.items()}
        return (case.state, date_key(kept, dates))

    # every state reached (merged in the key or not) with a hold of its own shape: the placement
    # check asks about each (the dates left out of the key are still the hold's)
    held: dict[tuple[Any, ...], tuple[Case, tuple[dict[str, Any], ...]]] = {}

    def note_hold(case: Case, path: tuple[dict[str, Any], ...]) -> None:
        held.setdefault((case.state, date_key(case.memory.model_dump(), placing)), (case, path))

    note_hold(start, ())

    cases: dict[tuple[Any, ...], Case] = {key(start): start}
    paths: dict[tuple[Any, ...], tuple[dict[str, Any], ...]] = {key(start): ()}
    edges: dict[tuple[Any, ...], dict[tuple[Any, ...], dict[str, Any]]] = {}  # to: by which event
    queue = deque([key(start)])
    tried = 0
    while queue:
        k = queue.popleft()
        case, path = cases[k], paths[k]
        edges[k] = {}
        for etype, event in events_of(spec, by, case.memory.model_dump(), dates, reads, case.state):
            tried += 1
            if not case.check(event).allowed:
                continue
            nxt = case.fork()
            nxt.record(event)
            nk = key(nxt)
            note_hold(nxt, (*path, _as_json(etype, event)))
            edges[k].setdefault(nk, _as_json(etype, event))
            if nk not in paths:
                if len(paths) >= max_states:
                    raise ValueError(f"{procedure_id}: more than {max_states} states; the proof stops "
                                     "rather than claim what it did not explore")
                paths[nk], cases[nk] = (*path, _as_json(etype, event)), nxt
                queue.append(nk)
    violations: list[Violation] = []
    finals = {k for k in paths if spec.states[k[0]].state.final}
    # backwards from the final states: who can reach one
    reaches = set(finals)
    changed = True
    while changed:
        changed = False
        for k, outs in edges.items():
            if k not in reaches and outs.keys() & reaches:
                reaches.add(k)
                changed = True
    for k in paths:
        if k not in reaches and k in edges:
            violations.append(Violation("final-reachable", f"no final state is reachable from {k[0]} "
                                        f"(memory {cases[k].memory.model_dump(mode='json')})", paths[k]))
    for k in paths:
        if k[0] != "permanent-hold":
            continue
        # every path from the permanent hold, with the events that take it (from its own path)
        seen, todo = {k}, [(k, paths[k])]
        while todo:
            cur, trail = todo.pop()
            memory = cases[cur].memory.model_dump(mode="json") if cur in cases else {}
            if memory.get("reinstated_on") is not None or memory.get("hold_kind") != "permanent":
                violations.append(Violation("permanent-hold-no-reinstatement",
                                            f"from a permanent hold the case reaches {cur[0]} with "
                                            f"hold {memory.get('hold_kind')!r}", trail))
                break
            for after, taken in edges.get(cur, {}).items():
                if after not in seen:
                    seen.add(after)
                    todo.append((after, (*trail, taken)))
    violations.extend(_placements_on_hold(engine, decisions, held, placing))
    violations.extend(_duties(spec))
    if not dates.literals:  # the guards compare dates only with each other: a shift keeps them
        violations = [_from_base(spec, v) for v in violations]
    return ProcedureProof(procedure_id, len(paths), tuple(violations), dates, tried)


_ISO = re.compile(r"\b\d{4}-\d{2}-\d{2}\b")


def _from_base(spec: ProcedureSpec, v: Violation) -> Violation:
    """The violation with every date moved so that none is before BASE (an event tried before
    the state's dates can be years before them): the same orderings, so the same violation, on
    dates the policy is in force, so that `qpr-rules case` replays the scenario."""
    found = [dt.date.fromisoformat(m) for e in v.events for m in _ISO.findall(json.dumps(e))]
    if not found or min(found) >= BASE:
        return v
    delta = BASE - min(found)

    def moved(text: str) -> str:
        return _ISO.sub(lambda m: (dt.date.fromisoformat(m.group()) + delta).isoformat(), text)

    events = tuple(json.loads(moved(json.dumps(e))) for e in v.events)
    return Violation(v.prop, moved(v.text), events)


def _placements_on_hold(engine: Engine, decisions: list[str],
                        held: Mapping[tuple[Any, ...], tuple[Case, tuple[dict[str, Any], ...]]],
                        dates: DateComparisons) -> Iterator[Violation]:
    """"Homes on hold are not to receive placements under any circumstances", checked against
    the hold each reachable state derives (Case.hold), not against the state's name: for each
    decision that takes its hold from the case, and each state with a hold, the decision is
    asked with that hold known and every other fact unknown (decide_partial, proved with z3), on
    one date of each ordering among the hold's dates where the hold is in force (the placement
    rules compare dates only, like the guards: `dates`), and with the date unknown too."""
    asked: dict[str, Any] = {}  # the same known facts asked once (many states share a hold)
    # one violation per state and kind of hold, on the shortest path (paths are found breadth
    # first): the states the memory splits further would repeat it with longer event lists
    shown: set[tuple[str, str, str]] = set()
    # the answers depend on the dates' differences only (no policy date, one version): asked once
    # per shape of hold and date
    shift_free = not dates.literals and all(
        len(engine.policies.versions.get(engine.policies.decisions[d].file.policy.id, ())) <= 1
        for d in decisions)

    def ask(decision: str, case: Case, hold: Hold, date: dt.date | None) -> Any:
        origin = hold.placed_on if shift_free else BASE
        shape = [decision, hold.kind.value] + [
            None if x is None else (x - origin).days
            for x in (hold.placed_on, hold.review_after, hold.reinstated_on, date)]
        key = json.dumps(shape if shift_free else [shape, origin.isoformat(), hold.placed_on.isoformat()])
        if key not in asked:
            known = {} if date is None else _at_path(engine, decision, date.isoformat())
            asked[key] = engine.decide_partial(decision, known, case=case, questions=False)
        return asked[key]

    for k, (case, path) in held.items():
        try:
            hold: Hold | None = case.hold()
        except ValueError:
            # the state's memory is no hold at all (a permanent hold reinstated, a review date
            # before the hold): the placement question refuses it and fails closed
            continue
        if hold is None:
            continue  # no hold derived: nothing forbids a placement (the procedure's own guards agree)
        hold_dates = [x for x in (hold.placed_on, hold.review_after, hold.reinstated_on) if x is not None]
        in_force = [d for d in tried_dates(hold_dates, dates) if hold_state_on(hold, d) is HoldState.IN_FORCE]
        for decision in decisions:
            for on in in_force:
                answer = ask(decision, case, hold, on)
                if (answer.status != "determined" or answer.outcome == "allow") \
                        and (k[0], hold.kind.value, "dated") not in shown:
                    shown.add((k[0], hold.kind.value, "dated"))
                    yield Violation("placement-denied-on-hold",
                                    f"in {k[0]} the hold ({_hold_text(hold)}) is in force on {on}, but "
                                    f"{decision} on that date is {answer.status} "
                                    f"({', '.join(answer.outcomes) or answer.outcome}): "
                                    f"{answer.reason}", path)
                    break
            if (k[0], hold.kind.value, "dated") in shown:
                continue  # shown already, dated; the completions would say it again
            answer = ask(decision, case, hold, None)
            for example in answer.examples:
                if example.outcome != "allow":
                    continue
                facts = engine.validate_facts(decision, example.facts)
                if getattr(facts, "hold_state", None) is HoldState.IN_FORCE \
                        and (k[0], hold.kind.value, "completion") not in shown:
                    shown.add((k[0], hold.kind.value, "completion"))
                    yield Violation("placement-denied-on-hold",
                                    f"in {k[0]} the hold ({_hold_text(hold)}) is in force in a "
                                    f"completion {decision} allows: "
                                    f"{json.dumps(example.facts, default=str)}", path)


def _at_path(engine: Engine, decision: str, date: str) -> dict[str, Any]:
    """Known facts giving the date the decision judges the hold on ({placement: {date: ...}}
    for qpr.placement): the given fact its hold_state is computed from beside the hold."""
    from qpr_rules.engine.partial import COMPUTED_READS

    spec = engine.spec(decision)
    reads = COMPUTED_READS.get(f"{spec.fact_model.__qualname__}.hold_state", ())
    dates = [r for r in reads if r != spec.decision.hold_from_case]
    if len(dates) != 1:
        raise ValueError(f"{decision}: the date its hold is judged on is not known "
                         f"(hold_state reads {reads})")
    out: dict[str, Any] = {}
    *parents, last = dates[0].split(".")
    node = out
    for part in parents:
        node = node.setdefault(part, {})
    node[last] = date
    return out


def _hold_text(hold: Hold) -> str:
    parts = [f"{hold.kind.value}, placed on {hold.placed_on}"]
    if hold.review_after is not None:
        parts.append(f"review after {hold.review_after}")
    if hold.reinstated_on is not None:
        parts.append(f"reinstated on {hold.reinstated_on}")
    return "; ".join(parts)


def discharging(spec: ProcedureSpec, state_id: str) -> list[str]:
    """The events that end the duties of a state: a transition from it (or from a state it is
    nested in) to a state outside it, on an event that is not a catch-all (taken from every
    top-level state, like a further concern or a notice)."""
    tops = [sid for sid, st in spec.states.items() if len(st.path) == 1]
    catch_all = {e for e in spec.events
                 if all(any(t.transition.from_ == top and t.transition.event == e for t in spec.transitions)
                        for top in tops)}
    within = {sid for sid, st in spec.states.items() if state_id in st.path}
    ancestry = set(spec.states[state_id].path)
    out: dict[str, None] = {}
    for t in spec.transitions:
        if t.transition.from_ in ancestry and t.target is not None and t.target not in within \
                and t.transition.event not in catch_all:
            out.setdefault(t.transition.event, None)
    return list(out)


def _duties(spec: ProcedureSpec) -> Iterator[Violation]:
    for s in spec.states.values():
        if s.state.duties and not discharging(spec, s.id):
            for d in s.state.duties:
                yield Violation("duty-discharged", f"{s.id}: the duty of {d.who} ({d.clause}: {d.do}) is "
                                "ended by no transition out of the state on an event of its own (only "
                                "catch-all events, or none, leave it)", ())
