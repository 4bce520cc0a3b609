"""`qpr-rules prove`: invariants proved for every valid fact, or counterexamples as scenarios;
and the static checks (dead and shadowed rules, conflicts, the default's region). z3 is
imported only here, when the command runs."""

from __future__ import annotations

import json
from typing import Any

import click

from qpr_rules.cli.app import EXIT_FAILED, cli, load_engine


def _json_default(value: Any) -> Any:
    return value.isoformat() if hasattr(value, "isoformat") else str(value)


@cli.command()
@click.argument("paths", nargs=-1, type=click.Path())
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text")
@click.option("--list-bound", default=3, show_default=True,
              help="Most items a list of objects may hold in the proof (lists of enum values hold "
                   "at least every value once).")
@click.option("--no-static", is_flag=True, help="Only the invariants, not the static checks.")
@click.option("--conflicts", is_flag=True, help="List every conflicting pair with its example.")
def prove(paths: tuple[str, ...], fmt: str, list_bound: int, no_static: bool, conflicts: bool) -> None:
    """Prove each invariant for every valid fact, or print a counterexample scenario file; report
    dead, shadowed and conflicting rules and where the default decides (docs/prove.md).

    \b
    Example:
      qpr-rules prove
      qpr-rules prove policies/qpr.yaml --format json
      qpr-rules prove --conflicts --list-bound 4
    """
    from qpr_rules.analysis.prove import prove_all
    from qpr_rules.analysis.static_checks import check_all

    if list_bound < 1:
        raise click.UsageError("--list-bound must be at least 1")
    engine = load_engine(paths)
    report = prove_all(engine, list_bound)
    findings = [] if no_static else check_all(engine.policies.decisions, list_bound)
    warnings = [f for f in findings if f.severity == "warning"]
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
            "seconds": round(report.seconds, 3)}, indent=2, default=_json_default))
    else:
        _text(report, findings, conflicts, list_bound)
    if not report.ok or warnings:
        raise SystemExit(EXIT_FAILED)


def _text(report: Any, findings: list[Any], show_conflicts: bool, list_bound: int) -> None:
    for r in report.results:
        inv = r.invariant
        where = f"{inv.file.path}:{inv.line}"
        click.echo(f"{r.status.upper():15} {inv.id}  [{inv.invariant.clause}]  {where}")
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
    bounded = any(r.list_bound for r in report.results)
    click.echo(f"{len(report.results)} invariant(s): "
               + ", ".join(f"{n} {s}" for s, n in sorted(by_status.items()))
               + (f"; lists of objects hold at most {list_bound} items, lists of enum values "
                  "every value" if bounded else ""))
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
