"""Entry point and shared helpers: errors go to stderr with a non-zero exit, never a traceback."""

from __future__ import annotations

import gc
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import click

from qpr_rules._truncate import truncate
from qpr_rules.cli.output import disable_color
from qpr_rules.engine.decision import Decision
from qpr_rules.engine.engine import Engine
from qpr_rules.errors import FactsError, PolicyError, QprRulesError
from qpr_rules.facts_input import MAX_FACTS_BYTES, document_errors, load_facts_bytes, load_facts_file
from qpr_rules.files import UNREADABLE
from qpr_rules.yaml_source import SourceMap

EXIT_FAILED = 1  # a check or test failed, or a policy is invalid
EXIT_USAGE = 2  # the command was used wrongly (click's own convention)
EXIT_DENIED = 3  # `decide --exit-code`: the outcome is the decision's denying outcome


def policy_paths(paths: Sequence[str]) -> list[Path]:
    """The policies a command acts on: the paths given, else the project's (cli/project.py)."""
    from qpr_rules.cli.project import policy_dirs

    return policy_dirs(paths)


def load_engine(paths: Sequence[str], as_of: Any = None) -> Engine:
    resolved = policy_paths(paths)
    engine = Engine.load(resolved, as_of=as_of)
    announce(resolved, engine.digest)
    return engine


_verbose = False


def announce(policies: Sequence[Path], digest: str) -> None:
    """With --verbose: which policies the command acts on, their digest and why those, on stderr
    (reports print the same line first on their own)."""
    if _verbose:
        from qpr_rules.cli.project import describe

        click.echo(describe(policies, digest), err=True)


def read_facts(source: str) -> tuple[Any, SourceMap | None]:
    """Facts from a JSON or YAML file, or from standard input with `-` (see facts_input.py), and
    the positions of their values in a facts file (None for standard input)."""
    if source == "-":
        return load_facts_bytes(sys.stdin.buffer.read(MAX_FACTS_BYTES + 1)), None
    return load_facts_file(Path(source))


def decide_source(engine: Engine, decision: str, source: str,
                  reference: str | None = None) -> tuple[Decision, Any, SourceMap | None]:
    """The decision for the facts in source (a file, or - for stdin), the facts read and their
    positions. A document that cannot be read as facts (malformed JSON or YAML, a duplicate key,
    not UTF-8) is answered like any invalid facts, with the decision's error answer (deny for a
    placement) and the same words `Engine.decide` gives for that text; its problems are printed
    as file:line:column on stderr. A path that is not a readable file is wrong usage (exit 2)."""
    engine.spec(decision)  # an unknown decision is refused before reading anything
    try:
        facts, where = read_facts(source)
    except PolicyError as exc:
        if all(p.code == UNREADABLE for p in exc.problems):
            raise
        for p in exc.problems:
            click.echo(str(p), err=True)
        return engine.refuse(decision, document_errors(exc), reference=reference), None, None
    return engine.decide(decision, facts, reference=reference), facts, where


def report_fact_positions(engine: Engine, decision: str, facts: Any, where: SourceMap | None) -> None:
    """For invalid facts read from a file: each problem as file:line:column on stderr, pointing at
    the value (or, for an unknown field, its key; for a missing one, the mapping it belongs in)."""
    if where is None:
        return
    try:
        engine.validate_facts(decision, facts)
    except FactsError as exc:
        for loc, message in zip(exc.locations, exc.errors, strict=True):
            click.echo(str(where.problem(loc, message)), err=True)


#: The module that defines each command (importing it registers the command): a command's
#: module is imported when that command runs, so `decide` does not import coverage, scenarios,
#: the analysis tools or z3. tests/test_cli_ecosystem.py checks that this lists every command.
COMMAND_MODULES: dict[str, tuple[str, ...]] = {
    **dict.fromkeys(["validate", "decide", "explain", "list"], ("core",)),
    "schema": ("core", "analyst"),  # analyst adds `schema policy` and `schema scenario`
    **dict.fromkeys(["test", "check", "diff", "fmt"], ("analyst",)),
    "coverage": ("coverage",),
    "case": ("procedure",),
    "procedure": ("procedure_audit",),  # procedure check, procedure graph
    "prove": ("prove",),
    "serve": ("serve",),  # the decision service: its Starlette/uvicorn imports only when it runs
    "interview": ("interview",),  # decisions on partial facts: z3 is imported when it runs
}


def _register(modules: Sequence[str]) -> None:
    import importlib

    for module in modules:
        importlib.import_module(f"qpr_rules.cli.{module}")


_ARGV = "qpr_rules.argv"


def command_line() -> str:
    """The command line being run, as a shell would take it (`qpr-rules coverage run -m`), for
    the reports that name what made them; outside a command, the process's own arguments."""
    import shlex

    ctx = click.get_current_context(silent=True)
    argv = ctx.find_root().meta.get(_ARGV) if ctx is not None else None
    return shlex.join(["qpr-rules", *(argv if argv is not None else sys.argv[1:])])


class _Group(click.Group):
    """Imports a command's module when the command is asked for, and turns library errors into
    a message on stderr and exit code 1."""

    def make_context(self, info_name: str | None, args: list[str], parent: click.Context | None = None,
                     **extra: Any) -> click.Context:
        argv = list(args)  # before click consumes them: reports name the command that made them
        ctx = super().make_context(info_name, args, parent, **extra)
        ctx.meta[_ARGV] = argv
        return ctx

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        _register(COMMAND_MODULES.get(cmd_name, ()))
        return super().get_command(ctx, cmd_name)

    def list_commands(self, ctx: click.Context) -> list[str]:
        _register(sorted({m for modules in COMMAND_MODULES.values() for m in modules}))
        return super().list_commands(ctx)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except PolicyError as exc:
            for p in exc.problems:
                click.echo(str(p), err=True)
            if all(p.code == UNREADABLE for p in exc.problems):
                ctx.exit(EXIT_USAGE)  # a path that is not a readable file: wrong usage
            click.echo(f"{len(exc.problems)} problem(s)", err=True)
            ctx.exit(EXIT_FAILED)
        except (QprRulesError, FileNotFoundError) as exc:
            click.echo(f"error: {exc}", err=True)
            ctx.exit(EXIT_FAILED)
        except OSError as exc:  # a path the system refuses (too long, a loop): wrong usage
            where = truncate(str(exc.filename)) if exc.filename is not None else "a path"
            click.echo(f"error: {where}: {exc.strerror or exc}", err=True)
            ctx.exit(EXIT_USAGE)
        except ValueError as exc:
            if "null byte" not in str(exc):
                raise
            click.echo("error: a path holds a NUL byte, which no file name can hold", err=True)
            ctx.exit(EXIT_USAGE)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="qpr-rules")
@click.option("--no-color", is_flag=True, help="No colour (also when NO_COLOR is set or output is piped).")
@click.option("--verbose", "-v", is_flag=True,
              help="Also say on stderr which policies the command acts on, their digest and why those.")
def cli(no_color: bool, verbose: bool) -> None:
    """Quality-parenting policy as rules: validate, decide, explain, test and audit.

    \b
    Example:
      qpr-rules validate && qpr-rules decide qpr.placement --facts facts.yaml
    Exit codes of every command: docs/cli.md. Shell completion: docs/cli.md.
    """
    if no_color:
        disable_color()
    global _verbose
    _verbose = verbose


def main(argv: Sequence[str] | None = None) -> None:
    """The `qpr-rules` command (argv None: the process's own, as the installed script runs it)."""
    if argv is None:
        # Start-up makes some 47,000 objects the cyclic garbage collector tracks, nearly all
        # living as long as the process (pydantic's schemas, the fact models, the loaded
        # policies); the collector, run every 700 allocations, walks them again and again while
        # they are made, and once more at exit: 45 ms of a 340 ms `decide`. Collections are
        # rarer here (cycles are still collected, later), and at exit what is left is frozen,
        # so the final collection skips it. Only for the process's own command line: a
        # caller's process (argv given) keeps its collector as it is.
        gc.set_threshold(50_000, *gc.get_threshold()[1:])
    try:
        cli.main(args=list(argv) if argv is not None else None, prog_name="qpr-rules")
    finally:
        if argv is None:
            gc.freeze()
