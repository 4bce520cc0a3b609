"""Commands for policy analysts: test, check, diff, fmt, and the format schemas."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, Protocol

import click

from qpr_rules._truncate import printable
from qpr_rules.cli.app import EXIT_FAILED, EXIT_USAGE, cli
from qpr_rules.cli.core import schema
from qpr_rules.cli.project import as_scenario_paths, current_project, describe
from qpr_rules.engine.decision import Decision
from qpr_rules.engine.engine import Engine
from qpr_rules.engine.explain import render_trace
from qpr_rules.errors import PolicyError, Problem
from qpr_rules.files import UNREADABLE
from qpr_rules.scenarios.case_runner import (
    LoadedCase,
    check_case_references,
    load_case_file,
    render_history,
    run_case,
)
from qpr_rules.scenarios.runner import (
    STALE_MARK,
    LoadedScenario,
    all_scenario_files,
    check_references,
    is_case_file,
    load_scenario_file,
    policies_for,
    run_scenario,
    scenario_files,
)
from qpr_rules.schemas import case_scenario_schema, policy_schema, render, scenario_schema


@cli.command()
@click.argument("paths", nargs=-1, type=click.Path())
@click.option("--policies", "-p", default=None, type=click.Path(),
              help="Policies to test (default: the directory holding each file's tests/).")
@click.option("--quiet", "-q", is_flag=True, help="Only failures and the summary.")
@click.option("--watch", is_flag=True,
              help="Run again on every save of a policy or scenario file (needs the watch extra).")
def test(paths: tuple[str, ...], policies: str | None, quiet: bool, watch: bool) -> None:
    """Run YAML scenario files: a line per scenario, a summary, exit 1 on any failure.

    A scenario marked `known_wrong` that gets exactly its recorded wrong answer is reported as
    KNOWN-WRONG (not a pass, not a failure); one that now passes is FIXED, a failure until the
    mark is removed.

    \b
    Example:
      qpr-rules test                          # the project's scenarios (docs/cli.md, "Which policies")
      qpr-rules test policies                 # a policy directory means its tests/
      qpr-rules test policies/tests/qpr -q
      qpr-rules test --watch -q               # again on every save, until Ctrl-C
    """
    scenario_paths = as_scenario_paths(paths)
    if watch:
        from qpr_rules.cli.project import current_project
        from qpr_rules.cli.watch import watch as watching

        policy_dirs = [Path(policies)] if policies else [
            policies_for(f, None) for f in scenario_files(scenario_paths)] or [current_project().policies]
        watching([*scenario_paths, *policy_dirs], lambda: _run_tests(scenario_paths, policies, quiet))
        return
    _run_tests(scenario_paths, policies, quiet)


def _run_tests(scenario_paths: list[Path], policies: str | None, quiet: bool) -> None:
    tally = _Tally(quiet)
    engines: dict[Path, Engine] = {}
    for f in all_scenario_files(scenario_paths):
        try:
            cases = is_case_file(f)
            scenarios = load_case_file(f) if cases else load_scenario_file(f)
            pdir = policies_for(f, policies)
            if pdir not in engines:
                engines[pdir] = Engine.load([pdir])
                # the first line names the policies tested: a green run says what it was of
                click.echo(printable(describe([pdir], engines[pdir].digest)))
        except PolicyError as exc:
            tally.problems.extend(exc.problems)
            continue
        engine = engines[pdir]
        if cases:
            _run_cases(engine, f, [s for s in scenarios if isinstance(s, LoadedCase)], tally)
        else:
            _run_decisions(engine, f, [s for s in scenarios if isinstance(s, LoadedScenario)], tally)
    problems = tally.problems
    for p in problems:
        click.echo(str(p), err=True)
    passed, failed, known_wrong = tally.passed, tally.failed, tally.known_wrong
    click.echo(f"{passed} passed, {failed} failed" + (f", {known_wrong} known wrong" if known_wrong else "")
               + (f", {len(problems)} problem(s) in files"
                                                       if problems else ""))
    if problems and not passed and not failed and all(p.code == UNREADABLE for p in problems):
        raise SystemExit(EXIT_USAGE)  # only paths that are not readable files: wrong usage
    if failed or problems:
        raise SystemExit(EXIT_FAILED)


@dataclass
class _Tally:
    quiet: bool
    passed: int = 0
    failed: int = 0
    known_wrong: int = 0
    problems: list[Problem] = field(default_factory=list)

    def fail(self, f: Path, line: int, name: str, failures: list[str], trace: str) -> None:
        self.failed += 1
        click.echo(printable(f"FAIL {f}:{line} {name}"))
        for text in failures:
            click.echo(printable(f"     {text}"))
        if trace.strip():
            click.echo("\n".join(printable(f"     {t}") for t in trace.rstrip().split("\n")))

    def passes(self, f: Path, line: int, name: str) -> None:
        self.passed += 1
        if not self.quiet:
            click.echo(printable(f"PASS {f}:{line} {name}"))


def _run_decisions(engine: Engine, f: Path, scenarios: list[LoadedScenario], tally: _Tally) -> None:
    for s in scenarios:
        refs = check_references(engine, [s])
        if refs:  # this scenario names something that does not exist: report it, run the others
            tally.problems.extend(refs)
            continue
        result = run_scenario(engine, s)
        _tell(tally, f, s.line, s.name, s.scenario.known_wrong, result,
              partial(_decision_trace, engine, result.decision))


def _run_cases(engine: Engine, f: Path, cases: list[LoadedCase], tally: _Tally) -> None:
    for s in cases:
        refs = check_case_references(engine, [s])
        if refs:
            tally.problems.extend(refs)
            continue
        result = run_case(engine, s)
        _tell(tally, f, s.line, s.name, s.scenario.known_wrong, result, partial(render_history, result))


def _decision_trace(engine: Engine, decision: Decision | None) -> str:
    return render_trace(engine, decision) if decision is not None else ""


class _Outcome(Protocol):
    """What a scenario's or a case's result says, as `test` reports it."""

    @property
    def known_wrong(self) -> bool: ...
    @property
    def mark_stale(self) -> bool: ...
    @property
    def passed(self) -> bool: ...
    @property
    def failures(self) -> list[str]: ...
    @property
    def wrong_as_recorded(self) -> list[str]: ...


def _tell(tally: _Tally, f: Path, line: int, name: str, mark: Any, result: _Outcome,
          trace: Callable[[], str]) -> None:
    """One scenario's or case's line: known wrong (reported, never counted as a pass), fixed
    while still marked (a failure), passed, or failed with its trace (built only then)."""
    if result.known_wrong:
        tally.known_wrong += 1
        click.echo(printable(f"KNOWN-WRONG {f}:{line} {name}"))
        if not tally.quiet:
            click.echo(printable(f"     {mark.reason}" if mark else ""))
            for wrong in result.wrong_as_recorded:
                click.echo(printable(f"     {wrong}"))
    elif result.mark_stale:
        tally.failed += 1
        click.echo(printable(f"FIXED {f}:{line} {name}: {STALE_MARK}"))
    elif result.passed:
        tally.passes(f, line, name)
    else:
        tally.fail(f, line, name, result.failures, trace())


@schema.command(name="policy")
def schema_policy() -> None:
    """JSON Schema of the policy file format (committed as schemas/policy.schema.json).

    \b
    Example:
      qpr-rules schema policy > policy.schema.json
    """
    click.echo(render(policy_schema()), nl=False)


@schema.command(name="scenario")
def schema_scenario() -> None:
    """JSON Schema of the scenario file format (committed as schemas/scenario.schema.json).

    \b
    Example:
      qpr-rules schema scenario > scenario.schema.json
    """
    click.echo(render(scenario_schema()), nl=False)


@schema.command(name="case-scenarios")
def schema_case_scenarios() -> None:
    """JSON Schema of the case scenario file format (committed as schemas/case-scenarios.schema.json).

    \b
    Example:
      qpr-rules schema case-scenarios > case-scenarios.schema.json
    """
    click.echo(render(case_scenario_schema()), nl=False)


@cli.command()
@click.argument("paths", nargs=-1, type=click.Path())
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text")
@click.option("--sources", type=click.Path(file_okay=False), default=None,
              help="Directory of the source documents (default: sources/ beside each policy file).")
@click.option("--strict", is_flag=True, help="Exit 1 on warnings too.")
@click.option("--watch", is_flag=True,
              help="Run again on every save of a policy, scenario or source file (needs the watch extra).")
def check(paths: tuple[str, ...], fmt: str, sources: str | None, strict: bool, watch: bool) -> None:
    """validate, then lint: traceability, source quotes, scenario coverage (a pre-commit hook).

    \b
    Example:
      qpr-rules check --strict policies
      qpr-rules check --format json | jq '.problems[] | select(.severity == "error")'
      qpr-rules check --strict --watch        # again on every save, until Ctrl-C
    """
    from qpr_rules.cli.app import policy_paths

    targets = policy_paths(paths)
    if watch:
        from qpr_rules.cli.watch import watch as watching

        watching([*targets, *([Path(sources)] if sources else [])],
                 lambda: _run_check(targets, fmt, sources, strict))
        return
    _run_check(targets, fmt, sources, strict)


def _run_check(targets: list[Path], fmt: str, sources: str | None, strict: bool) -> None:
    from qpr_rules.analysis.lint import check as run_check

    report = run_check(targets, Path(sources) if sources else None)
    if fmt == "json":
        click.echo(json.dumps({"policies": [str(p) for p in targets], "digest": report.digest,
                               "errors": len(report.errors), "warnings": len(report.warnings),
                               "infos": len(report.infos),
                               "scenarios_run": report.scenarios_run,
                               "problems": [p.to_json() for p in report.problems]}, indent=2))
    else:
        if report.digest is not None:
            click.echo(describe(targets, report.digest))
        for p in report.problems:
            click.echo(p.labelled())
        click.echo(f"{len(report.errors)} error(s), {len(report.warnings)} warning(s), "
                   f"{len(report.infos)} note(s), {report.scenarios_run} scenario(s) run")
    if report.errors and all(p.code == UNREADABLE for p in report.errors):
        raise SystemExit(EXIT_USAGE)
    if report.errors or (strict and report.warnings):
        raise SystemExit(EXIT_FAILED)


@cli.command()
@click.argument("sides", nargs=-1, metavar="OLD [NEW]")
@click.option("--against", "against", default=None, metavar="REV[:PATH]",
              help="The old side is the policies of git revision REV (PATH inside it; default: NEW's "
                   "path, else policies), run by REV's own code in a worktree and a subprocess, so "
                   "answers compare across a fact-schema change (facts mapped where a documented "
                   "mapping exists; what cannot be compared is listed).")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text")
@click.option("--generated", default=200, show_default=True, help="Generated fact sets per decision.")
@click.option("--prove", "prove_", is_flag=True,
              help="Also prove, per decision, that both give the same answer for every valid fact, "
                   "or show a fact on which they differ.")
@click.option("--jobs", type=click.IntRange(min=1), default=1, show_default=True,
              help="Worker processes per side for the impact.")
@click.option("--evaluator", type=click.Choice(["durable", "compiled"]), default="durable",
              show_default=True, help="How the impact cases are decided (same answers; compiled: faster).")
def diff(sides: tuple[str, ...], against: str | None, fmt: str, generated: int, prove_: bool, jobs: int,
         evaluator: str) -> None:
    """What changed between two policy sets (directories or git revisions), and its impact.

    NEW defaults to the project's policies (docs/cli.md, "Which policies"); a git revision's
    policies are read from the same folder of the repository as the project's.

    \b
    Example:
      qpr-rules diff HEAD~1                  # the last commit against the files being edited
      qpr-rules diff old-policies/ policies/
      qpr-rules diff HEAD~1 HEAD --format json
      qpr-rules diff HEAD~1 HEAD --prove
      qpr-rules diff --against main policies    # main run by main's code: across a fact-schema change
    """
    from contextlib import ExitStack

    from qpr_rules.analysis.diff import diff as run_diff
    from qpr_rules.analysis.diff import render_text
    from qpr_rules.cli.batch import progress_bar
    from qpr_rules.cli.project import find_project

    if against is not None:
        if len(sides) > 1 or prove_:
            click.echo("usage: qpr-rules diff --against REV[:PATH] [NEW] (one policy directory; no --prove)",
                       err=True)
            raise SystemExit(EXIT_USAGE)
        from qpr_rules.analysis.diff_revision import diff_against

        new_dir = Path(sides[0]) if sides else current_project().policies
        report = diff_against(against, new_dir, Path.cwd(), generated)
    else:
        if not 1 <= len(sides) <= 2:
            click.echo("usage: qpr-rules diff OLD [NEW], or qpr-rules diff --against REV[:PATH] [NEW]",
                       err=True)
            raise SystemExit(EXIT_USAGE)
        old, new = sides[0], (sides[1] if len(sides) == 2 else None)
        # NEW: the project's policies; git revisions: the project's folder (both given outside a
        # project: the working directory's repository and its policies/, as before)
        project = current_project() if new is None else find_project()
        repo, folder = _repository_folder(project.policies) if project else (Path.cwd(), "policies")
        with ExitStack() as stack:
            report = run_diff(old, new or str(project.policies if project else ""), repo, generated,
                              evaluator="compiled" if evaluator == "compiled" else "durable", jobs=jobs,
                              progress=progress_bar(stack, "impact"), prove=prove_, folder=folder)
    click.echo(report.to_json() if fmt == "json" else render_text(report), nl=fmt == "json")


def _repository_folder(policies: Path) -> tuple[Path, str]:
    """The git repository holding the project's policies and their folder in it, so that a
    revision is read from the folder being edited; else the working directory and `policies`."""
    import subprocess

    try:
        top = subprocess.run(["git", "-C", str(policies.resolve()), "rev-parse", "--show-toplevel"],
                             capture_output=True, text=True, check=True).stdout.strip()
        return Path(top), policies.resolve().relative_to(Path(top).resolve()).as_posix()
    except (OSError, subprocess.CalledProcessError, ValueError):
        return Path.cwd(), "policies"


@cli.command(name="fmt")
@click.argument("paths", nargs=-1, type=click.Path())
@click.option("--check", "check_only", is_flag=True,
              help="Change nothing; exit 1 if a file is not canonical.")
@click.option("--diff", "show_diff", is_flag=True,
              help="Change nothing; print a unified diff of what would change (exit 1 if any).")
def fmt_(paths: tuple[str, ...], check_only: bool, show_diff: bool) -> None:
    """Canonical layout of policy and scenario files, comments kept; lines are never re-wrapped.

    \b
    Example:
      qpr-rules fmt --check policies    # exit 1 if a file would change
      qpr-rules fmt --diff policies     # show what would change, change nothing
      qpr-rules fmt policies            # rewrite in place (atomically)
    """
    from qpr_rules.analysis.fmt import format_file

    targets: list[Path] = []
    for p in map(Path, paths or [str(current_project().policies)]):
        targets.extend(sorted(p.rglob("*.yaml")) if p.is_dir() else [p])
    if show_diff:
        _print_fmt_diff(targets)
        return
    changed = [t for t in targets if format_file(t, check_only=check_only)]
    for t in changed:
        click.echo(f"{'would reformat' if check_only else 'reformatted'} {t}")
    click.echo(f"{len(changed)} of {len(targets)} file(s) {'need' if check_only else 'got'} formatting")
    if check_only and changed:
        raise SystemExit(EXIT_FAILED)


def _print_fmt_diff(targets: list[Path]) -> None:
    import difflib

    from qpr_rules.analysis.fmt import format_text
    from qpr_rules.yaml_source import load_yaml_file

    changed = 0
    for t in targets:
        load_yaml_file(t)  # the same refusals, with positions, as formatting in place
        original = t.read_text(encoding="utf-8")
        formatted = format_text(original, str(t))
        if formatted != original:
            changed += 1
            click.echo("".join(difflib.unified_diff(original.splitlines(keepends=True),
                                                    formatted.splitlines(keepends=True),
                                                    f"a/{t}", f"b/{t}")), nl=False)
    click.echo(f"{changed} of {len(targets)} file(s) would be reformatted", err=True)
    if changed:
        raise SystemExit(EXIT_FAILED)
