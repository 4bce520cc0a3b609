"""Commands for policy analysts: test, check, diff, fmt, and the format schemas."""

from __future__ import annotations

import json
from pathlib import Path

import click

from qpr_rules.bundled import bundled_policy_dir
from qpr_rules.cli.app import EXIT_FAILED, EXIT_USAGE, cli
from qpr_rules.cli.core import schema
from qpr_rules.engine.engine import Engine
from qpr_rules.engine.explain import render_trace
from qpr_rules.errors import PolicyError, Problem
from qpr_rules.files import UNREADABLE
from qpr_rules.pytest_plugin import policies_for
from qpr_rules.scenarios.runner import (
    check_references,
    load_scenario_file,
    run_scenario,
    scenario_files,
)
from qpr_rules.schemas import policy_schema, render, scenario_schema


@cli.command()
@click.argument("paths", nargs=-1, type=click.Path())
@click.option("--policies", "-p", default=None, type=click.Path(),
              help="Policies to test (default: the directory holding each file's tests/).")
@click.option("--quiet", "-q", is_flag=True, help="Only failures and the summary.")
def test(paths: tuple[str, ...], policies: str | None, quiet: bool) -> None:
    """Run YAML scenario files: a line per scenario, a summary, exit 1 on any failure."""
    files = scenario_files(paths or [bundled_policy_dir() / "tests"])
    problems: list[Problem] = []
    engines: dict[Path, Engine] = {}
    passed = failed = 0
    for f in files:
        try:
            scenarios = load_scenario_file(f)
            pdir = policies_for(f, policies)
            if pdir not in engines:
                engines[pdir] = Engine.load([pdir])
        except PolicyError as exc:
            problems.extend(exc.problems)
            continue
        engine = engines[pdir]
        refs = check_references(engine, scenarios)
        if refs:
            problems.extend(refs)
            continue
        for s in scenarios:
            result = run_scenario(engine, s)
            if result.passed:
                passed += 1
                if not quiet:
                    click.echo(f"PASS {f}:{s.line} {s.name}")
            else:
                failed += 1
                click.echo(f"FAIL {f}:{s.line} {s.name}")
                for line in result.failures:
                    click.echo(f"     {line}")
                if result.decision is not None:
                    trace = render_trace(engine, result.decision).rstrip()
                    click.echo("     " + trace.replace("\n", "\n     "))
    for p in problems:
        click.echo(str(p), err=True)
    click.echo(f"{passed} passed, {failed} failed" + (f", {len(problems)} problem(s) in files"
                                                       if problems else ""))
    if problems and not passed and not failed and all(p.code == UNREADABLE for p in problems):
        raise SystemExit(EXIT_USAGE)  # only paths that are not readable files: wrong usage
    if failed or problems:
        raise SystemExit(EXIT_FAILED)


@schema.command(name="policy")
def schema_policy() -> None:
    """JSON Schema of the policy file format (committed as schemas/policy.schema.json)."""
    click.echo(render(policy_schema()), nl=False)


@schema.command(name="scenario")
def schema_scenario() -> None:
    """JSON Schema of the scenario file format (committed as schemas/scenario.schema.json)."""
    click.echo(render(scenario_schema()), nl=False)


@cli.command()
@click.argument("paths", nargs=-1, type=click.Path())
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text")
@click.option("--sources", type=click.Path(file_okay=False), default=None,
              help="Directory of the source documents (default: ../shared/seeds beside the checkout).")
@click.option("--strict", is_flag=True, help="Exit 1 on warnings too.")
def check(paths: tuple[str, ...], fmt: str, sources: str | None, strict: bool) -> None:
    """validate, then lint: traceability, source quotes, scenario coverage (a pre-commit hook)."""
    from qpr_rules.analysis.lint import check as run_check
    from qpr_rules.cli.app import policy_paths

    report = run_check(policy_paths(paths), Path(sources) if sources else None)
    if fmt == "json":
        click.echo(json.dumps({"errors": len(report.errors), "warnings": len(report.warnings),
                               "infos": len(report.infos),
                               "scenarios_run": report.scenarios_run,
                               "problems": [p.to_json() for p in report.problems]}, indent=2))
    else:
        for p in report.problems:
            # "error error:" said nothing twice: a problem without a code of its own shows none
            kind = p.severity if p.code in ("error", p.severity) else f"{p.severity} {p.code}"
            click.echo(f"{str(p).removesuffix(p.message)}{kind}: {p.message}")
        click.echo(f"{len(report.errors)} error(s), {len(report.warnings)} warning(s), "
                   f"{len(report.infos)} note(s), {report.scenarios_run} scenario(s) run")
    if report.errors and all(p.code == UNREADABLE for p in report.errors):
        raise SystemExit(EXIT_USAGE)
    if report.errors or (strict and report.warnings):
        raise SystemExit(EXIT_FAILED)


@cli.command()
@click.argument("old")
@click.argument("new")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text")
@click.option("--generated", default=200, show_default=True, help="Generated fact sets per decision.")
def diff(old: str, new: str, fmt: str, generated: int) -> None:
    """What changed between two policy sets (directories or git revisions), and its impact."""
    from qpr_rules.analysis.diff import diff as run_diff
    from qpr_rules.analysis.diff import render_text

    report = run_diff(old, new, Path.cwd(), generated)
    click.echo(report.to_json() if fmt == "json" else render_text(report), nl=fmt == "json")


@cli.command(name="fmt")
@click.argument("paths", nargs=-1, type=click.Path())
@click.option("--check", "check_only", is_flag=True,
              help="Change nothing; exit 1 if a file is not canonical.")
def fmt_(paths: tuple[str, ...], check_only: bool) -> None:
    """Canonical layout of policy and scenario files, comments kept."""
    from qpr_rules.analysis.fmt import format_file

    targets: list[Path] = []
    for p in map(Path, paths or [str(bundled_policy_dir())]):
        targets.extend(sorted(p.rglob("*.yaml")) if p.is_dir() else [p])
    changed = [t for t in targets if format_file(t, check_only=check_only)]
    for t in changed:
        click.echo(f"{'would reformat' if check_only else 'reformatted'} {t}")
    click.echo(f"{len(changed)} of {len(targets)} file(s) {'need' if check_only else 'got'} formatting")
    if check_only and changed:
        raise SystemExit(EXIT_FAILED)
