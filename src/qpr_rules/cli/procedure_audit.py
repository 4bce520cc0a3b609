"""`qpr-rules procedure`: an auditor's tools over a procedure.

`procedure check` replays cases (from a file of events, one JSON object a line, or from an event
store) and reports every departure from the procedure, with its clause; `procedure graph` draws a
procedure's statechart (Mermaid or Graphviz dot).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click

from qpr_rules._suggest import did_you_mean
from qpr_rules.cli.app import EXIT_FAILED, cli, command_line, load_engine
from qpr_rules.cli.core import POLICIES
from qpr_rules.engine.case import Case
from qpr_rules.engine.case_check import CaseReport, check_case, total
from qpr_rules.engine.engine import Engine
from qpr_rules.errors import EventError
from qpr_rules.files import OutputError, decode_utf8, read_regular_file, write_atomic
from qpr_rules.procedure.memory_store import MemoryStore
from qpr_rules.procedure.store_api import StoreError, open_store

MAX_EVENTS_BYTES = 64 * 1024 * 1024
_STORE_SCHEMES = ("sqlite:", "postgresql://", "postgres://", "memory:")
_SQLITE_HEADER = b"SQLite format 3\x00"


@cli.group(name="procedure")
def procedure_group() -> None:
    """An auditor's tools over procedures: check what happened, draw the statechart.

    \b
    Example:
      qpr-rules procedure check examples/procedure/home-17.jsonl
      qpr-rules procedure graph qpr.home --format dot
    """


@procedure_group.command(name="check")
@click.argument("source")
@click.option("--as-of", "as_of", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
              help="Check the cases as they stood on this date: later events are left out, and "
                   "every duty still owed then is reported as not discharged.")
@click.option("--format", "fmt", type=click.Choice(["text", "json", "html"]), default="text",
              show_default=True,
              help="html: one self-contained page to file (no scripts, no network), with the "
                   "statechart drawn for each case.")
@click.option("-o", "--output", "output", type=click.Path(dir_okay=False), default=None,
              help="Write the report to this file (replaced atomically) instead of standard output.")
@POLICIES
def check_command(source: str, as_of: dt.datetime | None, fmt: str, output: str | None,
                  policies: tuple[str, ...]) -> None:
    """Report, per case, every departure from the procedure in SOURCE, with its clause.

    SOURCE is a file of events (one JSON object a line, with "case", "type", "by" and "on") or
    an event store (a SQLite file, sqlite:PATH, postgresql://...). Found: an event not allowed
    where it came (a step skipped or out of order, a placement while a hold was in force, a
    request for reinstatement before the date), a duty a departure created and nothing
    discharged (a notice not given), and with --as-of every duty still owed on that date.
    Exits 1 when anything is found, and when SOURCE holds no event (so that an audit of
    nothing does not pass).

    \b
    Example:
      qpr-rules procedure check examples/procedure/home-17.jsonl
      qpr-rules procedure check qpr-cases.db --as-of 2026-06-30 --format json
      qpr-rules procedure check qpr-cases.db --format html -o audit.html
    """
    engine = load_engine(policies)
    day = as_of.date() if as_of is not None else None
    try:
        cases = list(_store_cases(engine, source, day) if _is_store(source)
                     else _file_cases(engine, source, day))
    except StoreError as exc:
        raise click.ClickException(str(exc)) from None
    if not cases:
        when = f" on or before {day.isoformat()}" if day else ""
        click.echo(f"error: {source}: no event{when}, so no case to check; no report written, so that "
                   "an audit of nothing does not pass", err=True)
        raise SystemExit(EXIT_FAILED)
    cases.sort(key=lambda c: c.case_id)
    reports = [check_case(c, day) for c in cases]
    if fmt == "json":
        text = json.dumps({"as_of": day.isoformat() if day else None, "findings": total(reports),
                           "cases": [r.as_dict() for r in reports]}, sort_keys=True, indent=2)
    elif fmt == "html":
        from qpr_rules.coverage.procedure_html import render_html

        text = render_html(engine.policies, list(zip(cases, reports, strict=True)), day, command_line())
    else:
        text = render_reports(reports, day)
    if output is None:
        click.echo(text)
    else:
        try:
            write_atomic(Path(output), text + "\n")
        except OutputError as exc:
            raise click.UsageError(f"-o {output}: {exc}") from None
        click.echo(f"wrote {output}: {len(reports)} case(s), {total(reports)} finding(s)", err=True)
    if total(reports):
        raise SystemExit(EXIT_FAILED)


def render_reports(reports: list[CaseReport], as_of: dt.date | None) -> str:
    lines: list[str] = []
    for r in reports:
        head = f"case {r.case_id} ({r.procedure_id}), version {r.version}, state {r.state}"
        lines.append(f"{head}: " + (f"{len(r.findings)} finding(s)" if r.findings else "no departure"))
        for f in r.findings:
            if f.kind == "departure":
                where = f"event {f.version}, {f.on}, {f.event} in {f.state}"
            elif (f.state or "").startswith("departure "):
                where = f"duty created by {f.state}"
            else:
                where = f"duty owed in {f.state}"
            lines.append(f"  - {f.kind}: {where}: {f.text} [{f.clause}]")
    n = total(reports)
    when = f" as of {as_of.isoformat()}" if as_of else ""
    lines.append(f"{len(reports)} case(s), {n} finding(s){when}")
    return "\n".join(lines)


def _is_store(source: str) -> bool:
    if source.startswith(_STORE_SCHEMES):
        return True
    path = Path(source)
    if not path.is_file():
        return False  # reading it as events names the problem
    with path.open("rb") as fh:
        return fh.read(len(_SQLITE_HEADER)) == _SQLITE_HEADER


def _procedure_of(engine: Engine, event_type: Any, where: str) -> str:
    """The procedure whose events include event_type (events in a file name no procedure)."""
    found = [p for p, spec in engine.policies.procedures.items() if event_type in spec.events]
    if len(found) == 1:
        return found[0]
    known = sorted({e for spec in engine.policies.procedures.values() for e in spec.events})
    if not found:
        raise click.ClickException(f"{where}: type: {event_type!r} is not an event of any procedure; "
                                   f"events: {', '.join(known)}")
    raise click.ClickException(f"{where}: type: {event_type!r} is an event of several procedures "
                               f"({', '.join(found)})")


def _file_cases(engine: Engine, source: str, as_of: dt.date | None) -> Iterator[Case]:
    store = MemoryStore()
    cases: dict[str, Case] = {}
    text = decode_utf8(read_regular_file(Path(source), MAX_EVENTS_BYTES), source)
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        where = f"{source}:{number}"
        try:
            event: Any = json.loads(line)
        except ValueError as exc:
            raise click.ClickException(f"{where}: not JSON: {exc}") from None
        if not isinstance(event, dict) or not isinstance(event.get("case"), str):
            raise click.ClickException(f"{where}: an event is a JSON object with \"case\" (the case "
                                       "id) and \"type\"")
        if as_of is not None and isinstance(event.get("on"), str) and event["on"] > as_of.isoformat():
            continue  # after the date checked (ISO dates compare as text)
        cid = event["case"]
        case = cases.get(cid)
        if case is None:
            case = cases[cid] = engine.case(_procedure_of(engine, event.get("type"), where), cid, store)
        try:
            case.record(event)
        except EventError as exc:
            raise click.ClickException(f"{where}: {'; '.join(exc.errors)}") from None
    yield from cases.values()


def _store_cases(engine: Engine, source: str, as_of: dt.date | None) -> Iterator[Case]:
    store = open_store(source)
    try:
        for history in store.histories():
            kept = [e for e in history if as_of is None or e.occurred_on <= as_of]
            if not kept:
                continue
            copy = MemoryStore()  # the case as it stood on as_of: its events up to that date
            for version, e in enumerate(kept):
                copy.append(e.case_id, version, e.procedure_id, e.event_type, e.occurred_on, e.payload)
            try:
                yield engine.case(kept[0].procedure_id, kept[0].case_id, copy)
            except EventError as exc:
                raise click.ClickException(f"{source}: case {kept[0].case_id!r}: "
                                           f"{'; '.join(exc.errors)}") from None
    finally:
        store.close()


@procedure_group.command(name="graph")
@click.argument("procedure")
@click.option("--format", "fmt", type=click.Choice(["mermaid", "dot"]), default="mermaid", show_default=True,
              help="Mermaid (stateDiagram-v2) or Graphviz dot.")
@POLICIES
def graph_command(procedure: str, fmt: str, policies: tuple[str, ...]) -> None:
    """Draw PROCEDURE's statechart: nested states as composites (clusters in dot), each
    transition labelled with its event and guard.

    \b
    Example:
      qpr-rules procedure graph qpr.home
      qpr-rules procedure graph qpr.home --format dot | dot -Tsvg > qpr-home.svg
    """
    from qpr_rules.analysis.procedure_graph import draw

    engine = load_engine(policies)
    spec = engine.policies.procedures.get(procedure)
    if spec is None:
        known = sorted(engine.policies.procedures)
        raise click.ClickException(f"unknown procedure {procedure!r}{did_you_mean(procedure, known)}; "
                                   f"procedures: {', '.join(known) or 'none'}")
    click.echo(draw(spec, fmt), nl=False)


@procedure_group.command(name="prove")
@click.argument("procedure")
@POLICIES
def prove_command(procedure: str, policies: tuple[str, ...]) -> None:
    """Check PROCEDURE as a transition system, with its guards: a final state is reachable from
    every reachable state, no path leads from a permanent hold to reinstatement, in no reachable
    state does the placement question allow while the hold the state derives is in force, and
    every duty is ended by a transition out of its state on an event of its own. Dates are tried
    at every ordering among the dates the guards compare them with (the guards compare dates
    only: checked); the first line says what was checked and its bound. A violation is printed
    with the event sequence that shows it (one event a line, as `case` reads them). Exits 1 on
    a violation.

    \b
    Example:
      qpr-rules procedure prove qpr.home
    """
    from qpr_rules.analysis.procedure_check import check_procedure

    engine = load_engine(policies)
    if procedure not in engine.policies.procedures:
        known = sorted(engine.policies.procedures)
        raise click.ClickException(f"unknown procedure {procedure!r}{did_you_mean(procedure, known)}; "
                                   f"procedures: {', '.join(known) or 'none'}")
    proof = check_procedure(engine, procedure)
    for v in proof.violations:
        click.echo(f"VIOLATED {v.prop}: {v.text}")
        for e in v.events:
            click.echo("  " + json.dumps({"case": "proof", **e}))
    click.echo(f"checked: {proof.bound()}")
    click.echo(f"{procedure}: {proof.states} state(s) explored, {proof.events_tried} event(s) tried, "
               f"{len(proof.violations)} violation(s)")
    if proof.violations:
        raise SystemExit(EXIT_FAILED)
