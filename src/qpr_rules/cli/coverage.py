"""`qpr-rules coverage run|log|report`: coverage of rules, conditions, clauses and source text."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from qpr_rules._truncate import truncate
from qpr_rules.cli.app import EXIT_FAILED, announce, cli, command_line, policy_paths
from qpr_rules.cli.project import as_scenario_paths, find_project
from qpr_rules.coverage.collect import expand_logs, parse_checkpoint, probe, read_logs, run_scenarios
from qpr_rules.coverage.data import CoverageData
from qpr_rules.coverage.report_core import LEVEL_ALIASES, LEVELS, CoverageReport, build_report, percent
from qpr_rules.engine.engine import Engine
from qpr_rules.files import OutputError, read_regular_file, regular_file, write_atomic
from qpr_rules.scenarios.runner import scenario_files

FORMATS = ["text", "json", "lcov", "xml", "html"]
MAX_DATA_BYTES = 256 * 1024 * 1024  # saved coverage data grows with combinations seen, not decisions


@cli.group()
def coverage() -> None:
    """Coverage of rules, atomic conditions, source clauses and source sentences.

    \b
    Example:
      qpr-rules coverage run -m                       # the bundled scenarios, missing items named
      qpr-rules coverage run --format html -o cov/    # a self-contained HTML report
    """


def _report_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    options = [
        click.option("--policies", "-p", "policies", multiple=True, type=click.Path(),
                     help="Policy file or directory (default: the project's, docs/cli.md)."),
        click.option("--format", "fmt", type=click.Choice(FORMATS), default="text", show_default=True),
        click.option("--output", "-o", type=click.Path(), default=None,
                     help="File to write (a directory for html; default: standard output, or "
                          "qpr-coverage-html/ for html)."),
        click.option("--show-missing", "-m", is_flag=True, help="Name everything not covered (text)."),
        click.option("--mcdc", is_flag=True, help="Also find, per atomic condition, a pair of cases "
                                                  "showing it alone changing its rule's result."),
        click.option("--probe", type=click.IntRange(0, 100_000), default=0, metavar="N",
                     help="Also decide N generated fact sets per decision, and say of each missing side "
                          "whether generated facts reach it (a scenario is missing) or not."),
        click.option("--fail-under", type=click.FloatRange(0, 100), default=None,
                     help="Exit 1 when the total (every side of every level) is under N percent "
                          "(default: the project's `fail_under`)."),
        click.option("--require", "require", multiple=True, metavar="LEVEL=N",
                     help=f"Exit 1 when a level ({', '.join((*LEVELS, 'mcdc', 'mutants'))}) is under N "
                          "percent; repeat for several (default: the project's `require`)."),
    ]
    for option in reversed(options):
        fn = option(fn)
    return fn


@coverage.command(name="run")
@click.argument("paths", nargs=-1, type=click.Path(exists=True))
@click.option("--jobs", "-j", type=click.IntRange(1, 64), default=1, show_default=True,
              help="Processes running the scenario files, all appending to one decision log.")
@click.option("--log", "log", type=click.Path(dir_okay=False), default=None,
              help="Keep the decision log of the run in this new file (its chain is verified).")
@click.option("--mutants", is_flag=True,
              help="Also run the scenarios on every rule mutant (a condition stuck true or false, "
                   "negated, a boundary moved by one, the outcome flipped, the rule deleted) and "
                   "count those killed; name each survivor with a scenario that would kill it "
                   "(--jobs processes; docs/audit.md).")
@_report_options
def run_(paths: tuple[str, ...], jobs: int, log: str | None, mutants: bool, **opts: Any) -> None:
    """Run scenario files (default: tests/ beside the policies) and report coverage.

    \b
    Example:
      qpr-rules coverage run --show-missing --fail-under 95
      qpr-rules coverage run --format lcov > policies.lcov
      qpr-rules coverage run --mutants -j 2 -m --require mutants=100
    """
    if log:
        _check_new_log(Path(log))
    scenarios = as_scenario_paths(paths) if paths or not opts["policies"] else []
    run = run_scenarios(policy_paths(opts["policies"]), scenarios, jobs=jobs,
                        log=Path(log) if log else None)
    if mutants or _requires(opts["require"], "mutants"):
        from qpr_rules.coverage.mutation import run_mutants

        files = scenario_files(scenarios or _default_scenarios(policy_paths(opts["policies"])))
        opts["mutants"] = run_mutants(policy_paths(opts["policies"]), files, jobs=jobs).results
    for p in run.problems:
        click.echo(p.labelled(), err=True)
    click.echo(f"{len(run.results)} scenario(s) run, {sum(not r.passed for r in run.results)} failed",
               err=True)
    code = _report(run.engine, run.data, opts)
    if any(p.severity == "error" for p in run.problems):
        code = EXIT_FAILED
    sys.exit(code)


def _check_new_log(log: Path) -> None:
    """--log must name a new file (or an empty regular file) in an existing directory: the run's
    coverage is read back from it, so it must hold this run's decisions only, and /dev/null or a
    FIFO would make the read-back empty or block."""
    why = None
    if log.is_symlink() or (log.exists() and not log.is_file()):
        why = "is not a regular file"
    elif log.exists() and log.stat().st_size:
        why = "the file exists"
    elif not log.parent.is_dir():
        why = f"no such directory {log.parent}"
    if why:
        raise click.UsageError(f"--log {log}: {why}; give a new file (the run's coverage is read back from "
                               "it, so it must hold this run's decisions only)")


def _checkpoint(ctx: click.Context, param: click.Parameter, value: str | None) -> tuple[int, str] | None:
    if value is None:
        return None
    try:
        return parse_checkpoint(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


@coverage.command(name="log")
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False))
@click.option("--verify", is_flag=True, help="Check the hash chain: a removed, reordered or edited "
                                             "line, or a removed first file or first lines, is an error.")
@click.option("--checkpoint", callback=_checkpoint, metavar="LINES:HASH", default=None,
              help="Also check the log against a checkpoint printed by an earlier `coverage log` (kept "
                   "elsewhere): fewer lines, or another line at LINES, is an error. Implies --verify.")
@click.option("--progress/--no-progress", default=None, help="A progress bar (default: on a terminal).")
@_report_options
def log_(files: tuple[str, ...], verify: bool, checkpoint: tuple[int, str] | None, progress: bool | None,
         **opts: Any) -> None:
    """Coverage from decision logs (their rotated parts are read too, oldest first).

    \b
    Example:
      qpr-rules coverage log decisions.jsonl --verify    # also check the hash chain
      qpr-rules coverage log decisions.jsonl --checkpoint 1200:3f5a...   # and that no tail was cut
    """
    verify = verify or checkpoint is not None
    paths = expand_logs(Path(f) for f in files)
    sizes = [regular_file(p).st_size for p in paths]  # a device or FIFO is refused before reading
    engine = Engine.load(policy_paths(opts["policies"]))
    data = CoverageData.for_policies(engine.policies)
    show = sys.stderr.isatty() if progress is None else progress
    with click.progressbar(length=sum(sizes), label="reading", file=sys.stderr) if show else _NoBar() as bar:
        read = read_logs(paths, data, verify=verify, progress=bar.update, checkpoint=checkpoint)
    for p in read.problems:
        click.echo(p.labelled(), err=True)
    click.echo(f"{read.lines} line(s) in {len(paths)} file(s), {read.counted} counted; "
               f"checkpoint {read.lines}:{read.head} (keep it apart from the log; give it to "
               "--checkpoint later to find a removed tail)", err=True)
    code = _report(engine, data, opts)
    if any(p.severity == "error" for p in read.problems) and verify:
        click.echo("the decision log does not verify", err=True)
        code = EXIT_FAILED
    sys.exit(code)


@coverage.command(name="report")
@click.argument("data_files", nargs=-1, type=click.Path(exists=True, dir_okay=False))
@_report_options
def report_(data_files: tuple[str, ...], **opts: Any) -> None:
    """Report coverage data saved by `pytest --qpr-cov` (default: .qpr-coverage.json).

    \b
    Example:
      pytest --qpr-cov policies/tests && qpr-rules coverage report -m
    """
    engine = Engine.load(policy_paths(opts["policies"]))
    data = CoverageData.for_policies(engine.policies)
    for f in data_files or (".qpr-coverage.json",):
        raw = read_regular_file(Path(f), MAX_DATA_BYTES)  # a device or FIFO: refused, not read
        try:
            data.merge_json(json.loads(raw))
        except (ValueError, RecursionError) as exc:  # UnicodeDecodeError and JSONDecodeError too
            raise click.UsageError(f"cannot read coverage data {f}: {truncate(str(exc))}") from None
    sys.exit(_report(engine, data, opts))


class _NoBar:
    def __enter__(self) -> _NoBar:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def update(self, n: int) -> None:
        return None


def _report(engine: Engine, data: CoverageData, opts: dict[str, Any]) -> int:
    announce(list(engine.policies.paths), engine.digest)
    fail_under, require = _gate_settings(opts)
    # a usage error is said first: no data would make this command able to count mutants
    if _requires(require, "mutants") and opts.get("mutants") is None:
        raise click.UsageError("--require mutants=N: mutants are counted only by `qpr-rules coverage run` "
                               "(they need the scenarios); run it there")
    _empty_refused(data)
    probed = probe(engine, opts["probe"]) if opts["probe"] else None
    report = build_report(engine.policies, data, mcdc=opts["mcdc"] or _requires(require, "mcdc"),
                          probe=probed, command=command_line(), mutants=opts.get("mutants"))
    _write(report, opts)
    return _gate(report, fail_under, require)


def _empty_refused(data: CoverageData) -> None:
    """No report of nothing: a report with no decision counted says 100% of the sentence level and
    0% elsewhere, and a gate downstream (diff-cover on the lcov or Cobertura file) would pass on
    it. Refused, saying why, before any file is written."""
    if sum(data.decisions.values()):
        return
    why = "no decision was counted"
    if data.foreign:
        why += (f" for these policies ({sum(data.foreign.values())} record(s) were made under another "
                "policy digest: give the policies they were made with, -p)")
    elif data.malformed:
        why += f" ({data.malformed} record(s) do not fit these policies)"
    else:
        why += " (no scenario ran, or the logs or data hold no decision)"
    click.echo(f"error: {why}; no coverage report written, so that no gate passes on an empty one",
               err=True)
    sys.exit(EXIT_FAILED)


def _gate_settings(opts: dict[str, Any]) -> tuple[float | None, tuple[str, ...]]:
    """--fail-under and --require as given, else the project's [coverage] settings
    (`fail_under`, `require` in qpr-rules.toml or [tool.qpr-rules.coverage])."""
    fail_under, require = opts["fail_under"], tuple(opts["require"])
    project = find_project()
    if project is not None:
        if fail_under is None:
            fail_under = project.fail_under
        if not require:
            require = project.require
    return fail_under, require


def _requires(require: tuple[str, ...], level: str) -> bool:
    return any(r.split("=", 1)[0].strip() == level for r in require)


def _default_scenarios(paths: list[Path]) -> list[Path]:
    """tests/ beside each policy directory, as run_scenarios finds them."""
    dirs = {(p if p.is_dir() else p.parent) / "tests" for p in paths}
    return [d for d in sorted(dirs) if d.is_dir()]


def _write(report: CoverageReport, opts: dict[str, Any]) -> None:
    fmt, output = opts["fmt"], opts["output"]
    if fmt == "html":
        from qpr_rules.coverage.htmlreport import write_html

        try:
            index = write_html(report, Path(output or "qpr-coverage-html"))
        except OutputError as exc:
            raise click.BadParameter(str(exc), param_hint="'--output'") from None
        click.echo(f"wrote {index}", err=True)
        return
    if fmt == "text":
        from qpr_rules.coverage.textreport import render_text

        text = render_text(report, opts["show_missing"])
    elif fmt == "json":
        from qpr_rules.coverage.jsonreport import render_json

        text = render_json(report)
    elif fmt == "lcov":
        from qpr_rules.coverage.lcovreport import render_lcov

        text = render_lcov(report)
    else:
        from qpr_rules.coverage.xmlreport import render_cobertura

        text = render_cobertura(report)
    if output:
        try:
            write_atomic(Path(output), text)
        except OutputError as exc:
            raise click.BadParameter(str(exc), param_hint="'--output'") from None
        click.echo(f"wrote {output}", err=True)
    else:
        click.echo(text, nl=False)


def _gate(report: CoverageReport, fail_under: float | None, require: tuple[str, ...]) -> int:
    """0, or EXIT_FAILED naming every level under its threshold and what it misses."""
    checks: list[tuple[str, float]] = []
    if fail_under is not None:
        checks.append(("total", fail_under))
    for item in require:
        level, _, value = item.partition("=")
        level = level.strip()
        if level in LEVEL_ALIASES:
            click.echo(f"note: --require {level}= is now called {LEVEL_ALIASES[level]}= (read as that)",
                       err=True)
            level = LEVEL_ALIASES[level]
        if level not in (*LEVELS, "mcdc", "mutants"):
            raise click.UsageError(f"--require {item!r}: unknown level {level!r}; "
                                   f"levels: {', '.join((*LEVELS, 'mcdc', 'mutants'))}")
        try:
            checks.append((level, float(value)))
        except ValueError:
            raise click.UsageError(f"--require {item!r}: write LEVEL=PERCENT, e.g. rules=100") from None
    failed = False
    for level, threshold in checks:
        ratio = report.total() if level == "total" else report.ratio(level)
        if ratio.percent + 1e-9 < threshold:
            failed = True
            click.echo(f"FAIL: {level} coverage {percent(ratio.percent)} ({ratio.hit}/{ratio.total}) is "
                       f"under {threshold:g}%; missing:", err=True)
            for lv in (LEVELS if level == "total" else (level,)):
                for m in report.missing(lv):
                    click.echo(f"  {lv}: {m}", err=True)
    return EXIT_FAILED if failed else 0
