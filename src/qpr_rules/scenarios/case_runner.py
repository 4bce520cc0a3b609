"""Run case scenario files: replay each case's events through `Engine.case` and compare the state,
duties, departures and next events with what the scenario expects. Shared by `qpr-rules test`,
`qpr-rules coverage run` and the pytest plugin, like the decision scenarios' runner."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from qpr_rules._suggest import did_you_mean
from qpr_rules.engine.case import Case, Departure, OpenDuty, Step
from qpr_rules.engine.engine import Engine
from qpr_rules.errors import EventError, PolicyError, Problem
from qpr_rules.policy.procedures import ProcedureSpec
from qpr_rules.policy.pydantic_errors import problems_from
from qpr_rules.scenarios.case_model import (
    CaseExpect,
    CaseScenario,
    CaseScenarioFile,
    ExpectedDeparture,
    ExpectedDuty,
)
from qpr_rules.yaml_source import SourceMap, load_yaml_file


@dataclass(frozen=True)
class LoadedCase:
    file: Path
    line: int
    index: int
    procedure: str
    scenario: CaseScenario
    smap: SourceMap = field(repr=False, compare=False)

    @property
    def name(self) -> str:
        return self.scenario.name


@dataclass
class CaseResult:
    """What a case scenario got: the replayed case (None when an event was refused) and what
    differed from the expectation. As for decision scenarios (scenarios.runner.ScenarioResult),
    `passed` means as expected: it passes, or it is marked `known_wrong` and the case ended
    exactly as recorded (`known_wrong`, with the mismatches in `wrong_as_recorded`); a mark on a
    case that now passes is `mark_stale`, not a pass, so that the mark is removed with the fix."""

    scenario: LoadedCase
    case: Case | None
    failures: list[str] = field(default_factory=list)
    wrong_as_recorded: list[str] = field(default_factory=list)
    mark_stale: bool = False

    @property
    def passed(self) -> bool:
        return not self.failures and not self.mark_stale

    @property
    def known_wrong(self) -> bool:
        return self.passed and bool(self.wrong_as_recorded)


def load_case_file(path: Path) -> list[LoadedCase]:
    """Parse and check one case scenario file; PolicyError lists every problem with its position."""
    data, smap = load_yaml_file(path)
    try:
        parsed = CaseScenarioFile.model_validate(data)
    except ValidationError as exc:
        raise PolicyError(problems_from(exc, CaseScenarioFile, smap)) from None
    problems: list[Problem] = []
    out = []
    for i, sc in enumerate(parsed.cases):
        procedure = sc.procedure or parsed.procedure
        if procedure is None:
            problems.append(smap.problem(("cases", i), "no procedure: set `procedure:` on the case "
                                         "or at the top of the file"))
            continue
        out.append(LoadedCase(path, smap.at(("cases", i))[0], i, procedure, sc, smap))
    if problems:
        raise PolicyError(problems)
    return out


def check_case_references(engine: Engine, cases: list[LoadedCase]) -> list[Problem]:
    """Problems with what a case scenario names: an unknown procedure, clause, state, event type
    or role, and events the procedure's event models refuse; each at its file:line:column."""
    problems: list[Problem] = []
    for s in cases:
        def bad(loc: tuple[str | int, ...], msg: str, s: LoadedCase = s) -> None:
            problems.append(s.smap.problem(("cases", s.index, *loc), f"case {s.name!r}: {msg}"))

        spec = engine.policies.procedures.get(s.procedure)
        if spec is None:
            known = sorted(engine.policies.procedures)
            bad(("procedure",), f"unknown procedure {s.procedure!r}{did_you_mean(s.procedure, known)}; "
                f"known: {', '.join(known) or 'none'}")
            continue
        clause_ids = [c.id for c in spec.file.policy.clauses]
        roles = [r.id for r in spec.file.policy.roles]
        for j, cid in enumerate(s.scenario.clauses):
            if cid not in clause_ids:
                bad(("clauses", j), f"clause {cid!r} is not in {spec.file.path.name}"
                    f"{did_you_mean(cid, clause_ids)}")
        for j, event in enumerate(s.scenario.events):
            _check_event(spec, event, roles, lambda loc, msg, j=j: bad(("events", j, *loc), msg))
        _check_expect(spec, s, s.scenario.expect, "expect", bad)
        if s.scenario.known_wrong is not None:  # the recorded wrong answer names real things too
            _check_expect(spec, s, s.scenario.known_wrong, "known_wrong", bad)
    return problems


def _check_expect(spec: ProcedureSpec, s: LoadedCase, exp: CaseExpect, key: str, bad: Any) -> None:
    clause_ids = [c.id for c in spec.file.policy.clauses]
    roles = [r.id for r in spec.file.policy.roles]
    events = list(spec.event_models)
    leaves = [sid for sid, st in spec.states.items() if st.leaf]
    if exp.state in spec.states and exp.state not in leaves:  # a case is always in a leaf
        inner = [sid for sid in leaves if exp.state in spec.states[sid].path]
        bad((key, "state"), f"{exp.state!r} is a compound state: name the state the case is in "
            f"within it, one of {', '.join(inner)}")
    elif exp.state not in leaves:
        bad((key, "state"), f"unknown state {exp.state!r}{did_you_mean(exp.state, leaves)}; states "
            f"of {spec.id}: {', '.join(leaves)}")
    for j, duty in enumerate(exp.duties or []):
        if duty.who not in roles:
            bad((key, "duties", j, "who"), f"{duty.who!r} is not a role{did_you_mean(duty.who, roles)}")
    for j, dep in enumerate(exp.departures):
        if dep.type is not None and dep.type not in events:
            bad((key, "departures", j, "type"), f"unknown event {dep.type!r}{did_you_mean(dep.type, events)}")
        if dep.event is not None and dep.event > len(s.scenario.events):
            bad((key, "departures", j, "event"), f"event {dep.event}: the case has "
                f"{len(s.scenario.events)} event(s)")
        if dep.clause is not None and dep.clause not in clause_ids:
            bad((key, "departures", j, "clause"), f"clause {dep.clause!r} is not in "
                f"{spec.file.path.name}{did_you_mean(dep.clause, clause_ids)}")
    for j, etype in enumerate(exp.next or []):
        if etype not in events:
            bad((key, "next", j), f"unknown event {etype!r}{did_you_mean(etype, events)}")


def _check_event(spec: ProcedureSpec, event: dict[str, Any], roles: list[str], bad: Any) -> None:
    etype = event.get("type")
    model = spec.event_models.get(etype) if isinstance(etype, str) else None
    if model is None:
        bad(("type",), f"unknown event {etype!r}{did_you_mean(str(etype), spec.event_models)}; events of "
            f"{spec.id}: {', '.join(spec.event_models)}")
        return
    data = {k: v for k, v in event.items() if k not in ("type", "case")}
    try:
        model.model_validate(data)
    except ValidationError as exc:
        for e in exc.errors():
            bad(tuple(e["loc"][:1]), f"{etype}: {'.'.join(map(str, e['loc']))}: {e['msg']}")
    by = event.get("by")
    if isinstance(by, str) and by not in roles:
        bad(("by",), f"{by!r} is not a role{did_you_mean(by, roles)}")


def run_case(engine: Engine, s: LoadedCase) -> CaseResult:
    """Record the scenario's events into a new case (in memory) and compare with its expectation
    (and with its known_wrong mark: failing as expected only when the case ends as recorded)."""
    case = engine.case(s.procedure, f"scenario {s.index + 1}")
    wrong = s.scenario.known_wrong
    for j, event in enumerate(s.scenario.events, 1):
        try:
            case.record(event)
        except EventError as exc:  # a refused event is never the known wrong answer
            marked = f"marked known_wrong ({wrong.reason}) but " if wrong is not None else ""
            return CaseResult(s, None, [f"{marked}event {j} was refused: " + "; ".join(exc.errors)])
    failures = _mismatches(case, s.scenario.expect)
    if wrong is None:
        return CaseResult(s, case, failures)
    if not failures:
        return CaseResult(s, case, mark_stale=True)
    differs = _mismatches(case, wrong)
    if differs:  # wrong another way than the one recorded
        return CaseResult(s, case, [*failures, *(f"not the recorded wrong answer: {d}" for d in differs)])
    return CaseResult(s, case, wrong_as_recorded=failures)


def _has_duty(case: Case, d: ExpectedDuty) -> bool:
    return any(o.who == d.who and (d.do is None or d.do.lower() in o.do.lower()) for o in case.duties)


def _duty_text(d: OpenDuty) -> str:
    return f"{d.who}: {d.do}"


def _departure_text(d: Departure) -> str:
    return f"event {d.version} {d.event_type} in {d.state} ({d.clause})"


def _matches(want: ExpectedDeparture, got: Departure) -> bool:
    return ((want.event is None or want.event == got.version)
            and (want.type is None or want.type == got.event_type)
            and (want.clause is None or want.clause == got.clause))


def _mismatches(case: Case, exp: CaseExpect) -> list[str]:
    failures = []
    if case.state != exp.state:
        failures.append(f"state: expected {exp.state!r}, got {case.state!r} ({' > '.join(case.state_path)})")
    owed = ", ".join(map(_duty_text, case.duties)) or "none"
    for want_duty in exp.duties or []:
        if not _has_duty(case, want_duty):
            failures.append(f"expected a duty for {want_duty.who}"
                            + (f" containing {want_duty.do!r}" if want_duty.do else "")
                            + f", got {owed}")
    if exp.no_duties and case.duties:
        failures.append(f"expected no duties, got {owed}")
    unmatched = list(case.departures)
    for want in exp.departures:
        found = next((d for d in unmatched if _matches(want, d)), None)
        if found is None:
            named = " ".join(x for x in (f"event {want.event}" if want.event else "", want.type or "",
                                         f"({want.clause})" if want.clause else "") if x)
            failures.append(f"expected a departure {named}, got "
                            + (", ".join(map(_departure_text, case.departures)) or "none"))
        else:
            unmatched.remove(found)
    for d in unmatched:
        failures.append(f"unexpected departure: {_departure_text(d)}: {d.text}")
    if exp.next is not None and set(exp.next) != set(case.allowed_next()):
        failures.append(f"next: expected {', '.join(sorted(exp.next)) or 'none'}, got "
                        f"{', '.join(sorted(case.allowed_next())) or 'none'}")
    return failures


def render_history(result: CaseResult) -> str:
    """The trace of a case scenario: every event, the transition it took or the departure it was."""
    if result.case is None:
        return ""
    spec = result.case.spec
    lines = ["history:"]
    for step in result.case.steps:
        lines.append("  " + step_text(spec, step))
    lines.append(f"now in {' > '.join(result.case.state_path)}; duties owed: "
                 + (", ".join(map(_duty_text, result.case.duties)) or "none"))
    return "\n".join(lines) + "\n"


def step_text(spec: ProcedureSpec, step: Step) -> str:
    head = f"{step.version}. {step.on.isoformat()} {step.event_type}: "
    if step.transition is None:
        return head + f"departure in {step.before}"
    t = spec.transitions[step.transition].transition
    moved = f"{step.before} -> {step.after}" if step.after != step.before else f"stays in {step.before}"
    return head + f"{moved} (transition {step.transition + 1}, {t.clause})"
