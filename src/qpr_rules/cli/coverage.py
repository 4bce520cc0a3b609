"""`qpr-rules coverage run|log|report`: coverage of rules, conditions, clauses and source text."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from qpr_rules.cli.app import EXIT_FAILED, cli, policy_paths
from qpr_rules.coverage.collect import expand_logs, probe, read_logs, run_scenarios
from qpr_rules.coverage.data import CoverageData
from qpr_rules.coverage.report_core import LEVELS, CoverageReport, build_report, percent
from qpr_rules.engine.engine import Engine

FORMATS = ["text", "json", "lcov", "xml", "html"]


@cli.group()
def coverage() -> None:
    """Coverage of rules, atomic conditions, source clauses and source sentences."""


def _report_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    options = [
        click.option("--policies", "-p", "policies", multiple=True, type=click.Path(),
                     help="Policy file or directory (default: the bundled policies)."),
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
                     help="Exit 1 when the total (every side of every level) is under N percent."),
        click.option("--require", "require", multiple=True, metavar="LEVEL=N",
                     help=f"Exit 1 when a level ({', '.join((*LEVELS, 'mcdc'))}) is under N percent; "
                          "repeat for several."),
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
@_report_options
def run_(paths: tuple[str, ...], jobs: int, log: str | None, **opts: Any) -> None:
    """Run scenario files (default: tests/ beside the policies) and report coverage."""
    if log and Path(log).exists() and Path(log).stat().st_size:
        raise click.UsageError(f"--log {log}: the file exists; give a new file (the run's coverage is "
                               "read back from it, so it must hold this run's decisions only)")
    run = run_scenarios(policy_paths(opts["policies"]), [Path(p) for p in paths], jobs=jobs,
                        log=Path(log) if log else None)
    for p in run.problems:
        click.echo(f"{p.file}:{p.line}:{p.column}: {p.severity} {p.code}: {p.message}", err=True)
    click.echo(f"{len(run.results)} scenario(s) run, {sum(not r.passed for r in run.results)} failed",
               err=True)
    code = _report(run.engine, run.data, opts)
    if any(p.severity == "error" for p in run.problems):
        code = EXIT_FAILED
    sys.exit(code)


@coverage.command(name="log")
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False))
@click.option("--verify", is_flag=True, help="Check the hash chain: a removed, reordered or edited "
                                             "line is an error.")
@click.option("--progress/--no-progress", default=None, help="A progress bar (default: on a terminal).")
@_report_options
def log_(files: tuple[str, ...], verify: bool, progress: bool | None, **opts: Any) -> None:
    """Coverage from decision logs (their rotated parts are read too, oldest first)."""
    engine = Engine.load(policy_paths(opts["policies"]))
    data = CoverageData.for_policies(engine.policies)
    paths = expand_logs(Path(f) for f in files)
    show = sys.stderr.isatty() if progress is None else progress
    total = sum(p.stat().st_size for p in paths)
    with click.progressbar(length=total, label="reading", file=sys.stderr) if show else _NoBar() as bar:
        read = read_logs(paths, data, verify=verify, progress=bar.update)
    for p in read.problems:
        click.echo(f"{p.file}:{p.line}:{p.column}: {p.severity} {p.code}: {p.message}", err=True)
    click.echo(f"{read.lines} line(s) in {len(paths)} file(s), {read.counted} counted; "
               f"last line's hash {read.head}", err=True)
    code = _report(engine, data, opts)
    if any(p.severity == "error" for p in read.problems) and verify:
        click.echo("the decision log does not verify", err=True)
        code = EXIT_FAILED
    sys.exit(code)


@coverage.command(name="report")
@click.argument("data_files", nargs=-1, type=click.Path(exists=True, dir_okay=False))
@_report_options
def report_(data_files: tuple[str, ...], **opts: Any) -> None:
    """Report coverage data saved by `pytest --qpr-cov` (default: .qpr-coverage.json)."""
    engine = Engine.load(policy_paths(opts["policies"]))
    data = CoverageData.for_policies(engine.policies)
    for f in data_files or (".qpr-coverage.json",):
        try:
            saved = json.loads(Path(f).read_text(encoding="utf-8"))
            data.merge_json(saved)
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise click.UsageError(f"cannot read coverage data {f}: {exc}") from None
    sys.exit(_report(engine, data, opts))


class _NoBar:
    def __enter__(self) -> _NoBar:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def update(self, n: int) -> None:
        return None


def _report(engine: Engine, data: CoverageData, opts: dict[str, Any]) -> int:
    probed = probe(engine, opts["probe"]) if opts["probe"] else None
    report = build_report(engine.policies, data, mcdc=opts["mcdc"] or _requires_mcdc(opts["require"]),
                          probe=probed)
    _write(report, opts)
    return _gate(report, opts["fail_under"], opts["require"])


def _requires_mcdc(require: tuple[str, ...]) -> bool:
    return any(r.split("=", 1)[0].strip() == "mcdc" for r in require)


def _write(report: CoverageReport, opts: dict[str, Any]) -> None:
    fmt, output = opts["fmt"], opts["output"]
    if fmt == "html":
        from qpr_rules.coverage.htmlreport import write_html

        index = write_html(report, Path(output or "qpr-coverage-html"))
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
        Path(output).write_text(text, encoding="utf-8")
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
        if level not in (*LEVELS, "mcdc"):
            raise click.UsageError(f"--require {item!r}: unknown level {level!r}; "
                                   f"levels: {', '.join((*LEVELS, 'mcdc'))}")
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
