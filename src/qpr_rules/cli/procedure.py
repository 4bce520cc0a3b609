"""`qpr-rules case`: apply the events of a file (one JSON object a line) to a procedure's cases
and show each case: its state, the duties owed, the events allowed next, its departures."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from qpr_rules.cli.app import EXIT_FAILED, cli, load_engine
from qpr_rules.cli.core import POLICIES
from qpr_rules.engine.case import Case
from qpr_rules.errors import EventError
from qpr_rules.files import decode_utf8, read_regular_file
from qpr_rules.procedure.memory_store import MemoryStore

MAX_EVENTS_BYTES = 64 * 1024 * 1024


@cli.command(name="case")
@click.argument("procedure")
@click.option("--events", "events_file", required=True, type=click.Path(),
              help="Events, one JSON object a line, with \"type\", \"case\", \"by\" and \"on\".")
@click.option("--case", "case_id", default=None,
              help="Show only this case (default: every case in the file).")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per case.")
@POLICIES
def case_command(procedure: str, events_file: str, case_id: str | None, as_json: bool,
                 policies: tuple[str, ...]) -> None:
    """Apply the events in FILE to PROCEDURE's cases, then show each case.

    An event the procedure does not allow where it comes is still recorded, as a departure; an
    invalid event (unknown type, role or field) stops the command, naming its line.

    \b
    Example:
      qpr-rules case qpr.home --events home-17.jsonl
      qpr-rules case qpr.home --events home-17.jsonl --json
    """
    engine = load_engine(policies)
    store = MemoryStore()
    cases: dict[str, Case] = {}
    text = decode_utf8(read_regular_file(Path(events_file), MAX_EVENTS_BYTES), events_file)
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            event: Any = json.loads(line)
        except ValueError as exc:
            raise click.ClickException(f"{events_file}:{number}: not JSON: {exc}") from None
        if not isinstance(event, dict) or not isinstance(event.get("case"), str):
            raise click.ClickException(f"{events_file}:{number}: an event is a JSON object with "
                                       "\"case\" (the case id) and \"type\"")
        cid = event["case"]
        case = cases.get(cid) or cases.setdefault(cid, engine.case(procedure, cid, store))
        try:
            case.record(event)
        except EventError as exc:
            click.echo(f"{events_file}:{number}: {'; '.join(exc.errors)}", err=True)
            raise SystemExit(EXIT_FAILED) from None
    shown = [cases[c] for c in sorted(cases) if case_id is None or c == case_id]
    if case_id is not None and not shown:
        raise click.ClickException(f"no event of case {case_id!r} in {events_file}; cases: "
                                   f"{', '.join(sorted(cases)) or 'none'}")
    for case in shown:
        if as_json:
            click.echo(json.dumps(case.summary(), sort_keys=True))
        else:
            click.echo(render_case(case))


def render_case(case: Case) -> str:
    s = case.summary()
    lines = [f"case {s['case']} ({s['procedure']}), version {s['version']}",
             f"state: {' > '.join(s['state_path'])}" + (f" since {s['since']}" if s["since"] else "")
             + (" (final)" if s["final"] else "")]
    hold = case.hold()
    if hold is not None:
        parts = [f"{hold.kind.value} since {hold.placed_on}"]
        if hold.review_after:
            parts.append(f"review after {hold.review_after}")
        if hold.reinstated_on:
            parts.append(f"reinstated {hold.reinstated_on}")
        lines.append("hold: " + ", ".join(parts))
    lines.append("duties owed:" if s["duties"] else "duties owed: none")
    for d in s["duties"]:
        step = f"step {d['step']}, " if d["step"] is not None else ""
        lines.append(f"  - {d['who']}: {d['do']} (since {d['since']}; {step}{d['clause']})")
    lines.append("allowed next: " + (", ".join(s["allowed_next"]) or "none"))
    lines.append("departures:" if s["departures"] else "departures: none")
    for dep in s["departures"]:
        lines.append(f"  - event {dep['version']}, {dep['on']}, {dep['event']} in {dep['state']}: "
                     f"{dep['text']} [{dep['clause']}]")
        lines.extend(f"    consequence: {c}" for c in dep["consequences"])
    return "\n".join(lines)
