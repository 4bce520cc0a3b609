"""`qpr-rules prove`: invariants proved for every valid fact, or counterexamples as scenarios;
and the static checks (dead and shadowed rules, conflicts, the default's region). z3 is
imported only here, when the command runs."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from typing import Any

import click

from qpr_rules.cli.app import EXIT_FAILED, cli, load_engine

# z3 is imported only when the command runs: these mirror analysis/smt_facts and smt_solve
# (tests/test_prove_honest.py checks that they agree)
DEFAULT_LIST_BOUND, MAX_LIST_BOUND = 3, 16
DEFAULT_TIMEOUT_S, MAX_TIMEOUT_S = 10.0, 3600.0
EXIT_UNKNOWN = 4  # some question was not answered in time: nothing is claimed for it


def _json_default(value: Any) -> Any:
    return value.isoformat() if hasattr(value, "isoformat") else str(value)


@cli.command()
@click.argument("paths", nargs=-1, type=click.Path())
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text")
@click.option("--list-bound", default=DEFAULT_LIST_BOUND, show_default=True,
              type=click.IntRange(1, MAX_LIST_BOUND),
              help=f"Different items a list holds in the solver's model (1 to {MAX_LIST_BOUND}; lists of "
                   "enum values hold every value once). Counts are exact for any length; a verdict "
                   "that depends on the bound says 'proved for lists of up to N items'.")
@click.option("--timeout", "timeout_s", default=DEFAULT_TIMEOUT_S, show_default=True,
              type=click.FloatRange(0, MAX_TIMEOUT_S, min_open=True),
              help="Seconds each solver call may take; a call that runs out answers UNKNOWN with "
                   "the reason (exit code 4).")
@click.option("--beyond-range", is_flag=True,
              help="Also cover values beyond the engine's range (dates before 1800 or after 2399, "
                   "whole numbers past 2**63 - 1, text over 65,535 bytes), which it answers with "
                   "the decision's on_error outcome.")
@click.option("--no-static", is_flag=True, help="Only the invariants, not the static checks.")
@click.option("--conflicts", is_flag=True, help="List every conflicting pair with its example.")
def prove(paths: tuple[str, ...], fmt: str, list_bound: int, timeout_s: float, beyond_range: bool,
          no_static: bool, conflicts: bool) -> None:
    """Prove each invariant for every valid fact, or print a counterexample scenario file; report
    dead, shadowed and conflicting rules and where the default decides (docs/prove.md).

    Exit codes: 0 every invariant proved and no rule dead or shadowed; 1 a counterexample, an
    error, or a dead or shadowed rule; 4 otherwise, when a solver call ran out of time (UNKNOWN).

    \b
    Example:
      qpr-rules prove
      qpr-rules prove policies/qpr.yaml --format json
      qpr-rules prove --conflicts --list-bound 4
    """
    from qpr_rules.analysis.prove import prove_all
    from qpr_rules.analysis.static_checks import check_all

    engine = load_engine(paths)
    report = prove_all(engine, list_bound, timeout_s, beyond_range)
    findings = [] if no_static else check_all(engine.policies.decisions, list_bound, timeout_s,
                                              _terminal_progress())
    if sys.stderr.isatty():
        click.echo("\r\x1b[K", err=True, nl=False)  # the progress line, cleared
    unknown = report.unknown or any(f.kind == "unknown" for f in findings)
    failed = any(r.status not in ("proved", "proved-bounded", "unknown") for r in report.results) or \
        any(f.kind in ("dead-rule", "shadowed-rule") for f in findings)
    if fmt == "json":
        click.echo(json.dumps({
            "invariants": [{"id": r.invariant.id, "clause": r.invariant.invariant.clause,
                            "file": str(r.invariant.file.path), "line": r.invariant.line,
                            "status": r.status, "message": r.message, "unmodelled": r.unmodelled,
                            "list_bound": r.list_bound, "seconds": round(r.seconds, 4),
                            "counterexample": [s.__dict__ for s in r.sides] or None}
                           for r in report.results],
            "static": [{"kind": f.kind, "severity": f.severity, "decision": f.decision,
                        "rules": [r.id for r in f.rules], "message": f.message, "example": f.example}
                       for f in findings],
            "list_bound": list_bound, "timeout_seconds": timeout_s,
            "seconds": round(report.seconds, 3)}, indent=2, default=_json_default))
    else:
        _text(report, findings, conflicts, list_bound)
    if failed:
        raise SystemExit(EXIT_FAILED)
    if unknown:
        raise SystemExit(EXIT_UNKNOWN)


def _text(report: Any, findings: list[Any], show_conflicts: bool, list_bound: int) -> None:
    for r in report.results:
        inv = r.invariant
        where = f"{inv.file.path}:{inv.line}"
        status = f"PROVED<={r.list_bound}" if r.status == "proved-bounded" else r.status.upper()
        click.echo(f"{status:15} {inv.id}  [{inv.invariant.clause}]  {where}")
        click.echo(f"{'':15} {inv.invariant.title}")
        if r.message:
            click.echo(f"{'':15} {r.message}")
        if r.status == "counterexample":
            click.echo("")
            click.echo("    " + r.scenario_yaml().rstrip().replace("\n", "\n    "))
            click.echo("")
    by_status: dict[str, int] = {}
    for r in report.results:
        by_status[r.status] = by_status.get(r.status, 0) + 1
    bounded = by_status.get("proved-bounded", 0)
    click.echo(f"{len(report.results)} invariant(s): "
               + ", ".join(f"{n} {s}" for s, n in sorted(by_status.items()))
               + (f"; {bounded} proved only for lists of up to {list_bound} items (PROVED<={list_bound})"
                  if bounded else ""))
    if findings:
        click.echo("")
        click.echo("Static checks:")
    conflicts: dict[str, list[Any]] = {}
    for f in findings:
        if f.kind == "conflict" and not show_conflicts:
            conflicts.setdefault(f.decision, []).append(f)
            continue
        click.echo(f"  {f.severity} {f.kind} {f.decision}: {f.message}")
        if f.example is not None:
            click.echo(f"      e.g. {json.dumps(f.example, default=_json_default)}")
    for did, pairs in conflicts.items():
        click.echo(f"  info conflict {did}: {len(pairs)} pair(s) of rules with different outcomes fire "
                   f"together, e.g. {pairs[0].message} (--conflicts lists them)")
    click.echo(f"proved in {report.seconds:.2f} s")


def _terminal_progress() -> Callable[[str], None]:
    """Where the static checks stand, on one line of a terminal's standard error, rewritten at most
    twice a second once they have run 3 seconds (nothing when stderr is not a terminal: a log or a
    pipe gets only the results)."""
    if not sys.stderr.isatty():
        return lambda _: None
    started = time.monotonic()
    last = [0.0]

    def show(text: str) -> None:
        now = time.monotonic()
        if now - started < 3 or now - last[0] < 0.5:
            return
        last[0] = now
        click.echo(f"\r\x1b[K  {text} ({now - started:,.0f} s)", err=True, nl=False)

    return show
