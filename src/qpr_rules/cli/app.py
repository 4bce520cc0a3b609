"""Entry point and shared helpers: errors go to stderr with a non-zero exit, never a traceback."""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import click

from qpr_rules.bundled import bundled_policy_dir
from qpr_rules.cli.output import disable_color
from qpr_rules.engine.engine import Engine
from qpr_rules.errors import PolicyError, Problem, QprRulesError
from qpr_rules.yaml_source import load_yaml_file, load_yaml_text

EXIT_FAILED = 1  # a check or test failed, or a policy is invalid
EXIT_USAGE = 2  # the command was used wrongly (click's own convention)
EXIT_DENIED = 3  # `decide --exit-code`: the outcome is the decision's denying outcome


def policy_paths(paths: Sequence[str]) -> list[Path]:
    return [Path(p) for p in paths] if paths else [bundled_policy_dir()]


def load_engine(paths: Sequence[str], as_of: Any = None) -> Engine:
    return Engine.load(policy_paths(paths), as_of=as_of)


def read_facts(source: str) -> Any:
    """Facts from a JSON or YAML file, or from standard input with `-`."""
    if source == "-":
        text = sys.stdin.read()
        try:
            return json.loads(text)
        except (json.JSONDecodeError, RecursionError):
            data, _ = load_yaml_text(text, "<stdin>")
            return data
    path = Path(source)
    if path.suffix == ".json":
        try:
            return json.loads(path.read_text(encoding="utf-8"))
        except OSError as exc:
            raise click.UsageError(f"cannot read {source}: {exc.strerror}") from None
        except json.JSONDecodeError as exc:
            raise PolicyError([_json_problem(source, exc)]) from None
        except RecursionError:
            raise PolicyError([Problem(source, 1, 1, "JSON nested too deeply")]) from None
    data, _ = load_yaml_file(path)
    return data


def _json_problem(source: str, exc: json.JSONDecodeError) -> Problem:
    return Problem(source, exc.lineno, exc.colno, f"invalid JSON: {exc.msg}")


class _Group(click.Group):
    """Turns library errors into a message on stderr and exit code 1."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except PolicyError as exc:
            for p in exc.problems:
                click.echo(str(p), err=True)
            click.echo(f"{len(exc.problems)} problem(s)", err=True)
            ctx.exit(EXIT_FAILED)
        except (QprRulesError, FileNotFoundError) as exc:
            click.echo(f"error: {exc}", err=True)
            ctx.exit(EXIT_FAILED)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="qpr-rules")
@click.option("--no-color", is_flag=True, help="No colour (also when NO_COLOR is set or output is piped).")
def cli(no_color: bool) -> None:
    """Quality-parenting policy as rules: validate, decide, explain, test and audit.

    \b
    Example:
      qpr-rules validate && qpr-rules decide qpr.placement --facts facts.yaml
    Exit codes of every command: docs/cli.md. Shell completion: docs/cli.md.
    """
    if no_color:
        disable_color()


def main(argv: Sequence[str] | None = None) -> None:
    from qpr_rules.cli import analyst, core, coverage, prove  # noqa: F401  (registers the commands)

    cli.main(args=list(argv) if argv is not None else None, prog_name="qpr-rules")
