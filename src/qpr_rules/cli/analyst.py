"""Commands for policy analysts: test (scenario files)."""

from __future__ import annotations

from pathlib import Path

import click

from qpr_rules.bundled import bundled_policy_dir
from qpr_rules.cli.app import EXIT_FAILED, cli
from qpr_rules.engine.engine import Engine
from qpr_rules.engine.explain import render_trace
from qpr_rules.errors import PolicyError, Problem
from qpr_rules.pytest_plugin import policies_for
from qpr_rules.scenarios.runner import (
    check_references,
    load_scenario_file,
    run_scenario,
    scenario_files,
)


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
                    click.echo(render_trace(engine, result.decision).replace("\n", "\n     "))
    for p in problems:
        click.echo(str(p), err=True)
    click.echo(f"{passed} passed, {failed} failed" + (f", {len(problems)} problem(s) in files"
                                                       if problems else ""))
    if failed or problems:
        raise SystemExit(EXIT_FAILED)
