"""A procedure checked as a transition system, with its guards (not the bare graph).

The states explored are a case's leaf state with the part of its memory the guards read, made
finite (dates kept only as given or not). From each, every event type is tried with every
combination of its fields' values (flags both ways, each enum member, lists empty or of one
member, an optional left out); dates move forward (each event a little over a year after the
last, other dates of an event a year after it), so a date determined in a QPR has passed when
the next event comes. Each event is applied by the procedure's own case (the compiled guards), so
what is explored is what the procedure does. Checked:

- from every reachable state, a final state is reachable;
- no path leads from a permanent hold to reinstatement (a state whose memory says reinstated);
- in no reachable state does a decision that takes its hold from the case (`hold_from_case`, the
  placement question) allow while that hold is in force: with the state's hold (Case.hold) and
  every other fact unknown, decide_partial must answer a placement dated when the hold is in
  force (the day the state was entered, and the date of a next event) determined and not allow;
  with the date unknown too, every completion it shows allowed must have no hold in force;
- every duty owed in a state is discharged by a transition out of that state whose event does
  that duty (its clause is the duty's clause), not by a catch-all.

A violation comes with the event sequence that leads to it.
"""

from __future__ import annotations

import datetime as dt
import enum
import itertools
import json
import types
import typing
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from qpr_rules.engine.engine import Engine
from qpr_rules.errors import EventError
from qpr_rules.facts.hold import Hold, HoldState, hold_state_on
from qpr_rules.policy.procedures import ProcedureSpec

_START = dt.date(2025, 1, 1)
_STEP = dt.timedelta(days=400)
_LATER = dt.timedelta(days=365)


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


def _samples(annotation: Any) -> list[Any]:
    origin = typing.get_origin(annotation)
    args = [a for a in typing.get_args(annotation)]
    if origin is typing.Annotated:
        return _samples(args[0])
    if origin in (typing.Union, types.UnionType):
        return [v for a in args for v in ([None] if a is type(None) else _samples(a))]
    if origin is list:
        inner = _samples(args[0])
        return [[], *([v] for v in inner if v is not None)]
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        return [m.value for m in annotation]
    if annotation is bool:
        return [True, False]
    if annotation is int:
        return [1]
    if annotation is dt.date:
        return ["DATE"]
    if annotation is str:
        return ["east"]
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        # a nested model (a child placed, a restriction's bounds): one value, each field its
        # first sample; the model's own checks say whether it is one
        return [{n: _samples(f.annotation)[0] for n, f in annotation.model_fields.items()}]
    return [None]


def events_of(spec: ProcedureSpec, by: str, on: dt.date) -> Iterator[dict[str, Any]]:
    """Every event the procedure lists, with every combination of its fields' sample values."""
    for etype, model in spec.event_models.items():
        names = [n for n in model.model_fields if n not in ("by", "on")]
        choices = [_samples(model.model_fields[n].annotation) for n in names]
        for combo in itertools.product(*choices):
            values = {n: ((on + _LATER).isoformat() if v == "DATE" else v)
                      for n, v in zip(names, combo, strict=True)}
            yield {"type": etype, "by": by, "on": on.isoformat(), **values}


def _key(case: Any) -> tuple[Any, ...]:
    memory = case.memory.model_dump(mode="json")

    def part(v: Any) -> Any:
        if isinstance(v, (dict, list)):  # a nested value (a restriction): hashable, compared whole
            return json.dumps(v, sort_keys=True)
        return v if not isinstance(v, str) or not v[:4].isdigit() else "date"

    return (case.state, tuple(sorted((k, part(v)) for k, v in memory.items())))


def check_procedure(engine: Engine, procedure_id: str, max_states: int = 2000) -> ProcedureProof:
    spec = engine.policies.procedures[procedure_id]
    by = spec.file.policy.roles[0].id

    def replay(path: tuple[dict[str, Any], ...]) -> Any:
        case = engine.case(procedure_id, "proof")
        for e in path:
            case.record(e)
        return case

    start = replay(())
    paths: dict[tuple[Any, ...], tuple[dict[str, Any], ...]] = {_key(start): ()}
    edges: dict[tuple[Any, ...], dict[tuple[Any, ...], dict[str, Any]]] = {}  # to: by which event
    queue = deque([_key(start)])
    while queue and len(paths) < max_states:
        key = queue.popleft()
        path = paths[key]
        case = replay(path)
        on = _START + _STEP * (len(path) + 1)
        edges[key] = {}
        for event in events_of(spec, by, on):
            try:
                answer = case.check(event)
            except EventError:  # a combination the event's model refuses (an empty list, ...)
                continue
            if not answer.allowed:
                continue
            nxt = replay(path)
            nxt.record(event)
            k = _key(nxt)
            edges[key].setdefault(k, event)
            if k not in paths:
                paths[k] = (*path, event)
                queue.append(k)
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
                                        f"(memory {dict(k[1])})", paths[k]))
    for k in paths:
        if k[0] != "permanent-hold":
            continue
        # every path from the permanent hold, with the events that take it (from its own path)
        seen, todo = {k}, [(k, paths[k])]
        while todo:
            cur, events = todo.pop()
            memory = dict(cur[1])
            if memory.get("reinstated_on") is not None or memory.get("hold_kind") != "permanent":
                violations.append(Violation("permanent-hold-no-reinstatement",
                                            f"from a permanent hold the case reaches {cur[0]} with "
                                            f"hold {memory.get('hold_kind')!r}", events))
                break
            for nxt, event in edges.get(cur, {}).items():
                if nxt not in seen:
                    seen.add(nxt)
                    todo.append((nxt, (*events, event)))
    violations.extend(_placements_on_hold(engine, paths, replay))
    violations.extend(_duties(spec))
    return ProcedureProof(procedure_id, len(paths), tuple(violations))


def _placements_on_hold(engine: Engine, paths: dict[tuple[Any, ...], tuple[dict[str, Any], ...]],
                        replay: Any) -> Iterator[Violation]:
    """"Homes on hold are not to receive placements under any circumstances", checked against
    the hold each reachable state derives (Case.hold), not against the state's name: for each
    decision that takes its hold from the case, and each state with a hold, the decision is
    asked with that hold known and every other fact unknown (decide_partial, proved with z3)."""
    decisions = [d for d, spec in engine.policies.decisions.items()
                 if spec.decision.hold_from_case and "allow" in spec.decision.outcomes]
    asked: dict[str, Any] = {}  # the same known facts asked once (many states share a hold)
    # one violation per state and kind of hold, on the shortest path (paths are found breadth
    # first): the states the memory splits further would repeat it with longer event lists
    shown: set[tuple[str, str, str]] = set()

    def ask(decision: str, case: Any, date: str | None) -> Any:
        hold: Hold = case.hold()
        key = json.dumps([decision, date, hold.model_dump(mode="json")])
        if key not in asked:
            known = {} if date is None else _at_path(engine, decision, date)
            asked[key] = engine.decide_partial(decision, known, case=case, questions=False)
        return asked[key]

    for k, path in paths.items():
        case = replay(path)
        try:
            hold: Hold | None = case.hold()
        except ValueError:
            # the state's memory is no hold at all (a permanent hold reinstated): the placement
            # question refuses it and fails closed; the reinstatement property reports the path
            continue
        if hold is None:
            continue  # no hold derived: nothing forbids a placement (the procedure's own guards agree)
        entered = dt.date.fromisoformat(path[-1]["on"]) if path else _START
        for decision in decisions:
            for on in (entered, entered + _STEP):
                if hold_state_on(hold, on) is not HoldState.IN_FORCE:
                    continue
                answer = ask(decision, case, on.isoformat())
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
            answer = ask(decision, case, None)
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
