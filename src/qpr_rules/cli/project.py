"""Which policies a command acts on: the project in front of it, never silently the bundled copy.

Every command resolves its policies the same way (docs/cli.md, "Which policies"):

1. `-p/--policies` or the paths given;
2. else a `qpr-rules.toml`, or a `pyproject.toml` with a `[tool.qpr-rules]` table, found in the
   working directory or a directory above it: its `policies` (and `scenarios`, `decision_log`)
   keys, relative to that file, and its `[coverage]` table (`fail_under`, `require`), which the
   coverage commands read when their options are not given;
3. else the bundled policies, except where the working directory holds a `policies/` directory of
   its own: the command then stops and says which line to add, because an analyst editing
   `policies/qpr.yaml` who ran `qpr-rules test` would otherwise check the installed copy and see
   green (issue 20).
"""

from __future__ import annotations

import tomllib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

from qpr_rules.bundled import bundled_policy_dir
from qpr_rules.files import shown_path

CONFIG_FILE = "qpr-rules.toml"
SUGGESTED = '[tool.qpr-rules]\npolicies = "policies"'


@dataclass(frozen=True)
class Project:
    """Where a command's policies and scenarios are, and how that was decided."""

    policies: Path
    scenarios: Path
    found_by: str  # "the bundled policies", or the configuration file that named them
    decision_log: Path | None = None  # where `decide` and `serve` log, unless told otherwise
    decision_log_mask: tuple[str, ...] = ()  # fact paths kept out of that log
    fail_under: float | None = None  # the coverage gates, unless --fail-under/--require are given
    require: tuple[str, ...] = ()


def _table(path: Path) -> dict[str, Any] | None:
    """The qpr-rules settings in a configuration file, or None when it has none."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise click.UsageError(f"{path}: cannot read the qpr-rules settings: {exc}") from None
    if path.name == CONFIG_FILE:
        return data
    table = data.get("tool", {}).get("qpr-rules")
    return table if isinstance(table, dict) else None


def _setting(table: dict[str, Any], key: str, config: Path) -> Path | None:
    value = table.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or not value:
        raise click.UsageError(f"{config}: `{key}` must be a path, relative to {config.parent}, "
                               f"such as \"policies\" (not {value!r})")
    return config.parent / value


def find_project(start: Path | None = None) -> Project | None:
    """The project configured in start (default: the working directory) or a directory above it."""
    here = (start or Path.cwd()).resolve()
    for directory in (here, *here.parents):
        for name in (CONFIG_FILE, "pyproject.toml"):
            config = directory / name
            if not config.is_file():
                continue
            table = _table(config)
            if table is None:
                continue
            policies = _setting(table, "policies", config)
            if policies is None:
                line = SUGGESTED if name != CONFIG_FILE else SUGGESTED.splitlines()[1]
                raise click.UsageError(f"{config}: the qpr-rules settings name no `policies`; add\n{line}")
            scenarios = _setting(table, "scenarios", config) or policies / "tests"
            fail_under, require = _coverage_settings(table, config)
            mask = table.get("decision_log_mask", [])
            if not isinstance(mask, list) or not all(isinstance(m, str) and m for m in mask):
                raise click.UsageError(f"{config}: `decision_log_mask` is a list of fact paths, such as "
                                       f"[\"child.gender\"], not {mask!r}")
            return Project(policies, scenarios, str(config), _setting(table, "decision_log", config),
                           tuple(mask), fail_under, require)
    return None


def _coverage_settings(table: dict[str, Any], config: Path) -> tuple[float | None, tuple[str, ...]]:
    """`[coverage]`: `fail_under = 100` and `require = ["rules=100", "sentences=100"]`."""
    coverage = table.get("coverage", {})
    example = 'fail_under = 100 and require = ["rules=100", "sentences=100"]'
    if not isinstance(coverage, dict) or set(coverage) - {"fail_under", "require"}:
        raise click.UsageError(f"{config}: the qpr-rules `coverage` table holds only {example}")
    fail_under = coverage.get("fail_under")
    if fail_under is not None and (isinstance(fail_under, bool) or not isinstance(fail_under, (int, float))
                                   or not 0 <= fail_under <= 100):
        raise click.UsageError(f"{config}: coverage `fail_under` is a percentage from 0 to 100, "
                               f"not {fail_under!r}")
    require = coverage.get("require", [])
    if not isinstance(require, list) or not all(isinstance(r, str) for r in require):
        raise click.UsageError(f"{config}: coverage `require` is a list of \"LEVEL=PERCENT\" texts, "
                               f"such as [\"rules=100\"], not {require!r}")
    return (float(fail_under) if fail_under is not None else None), tuple(require)


def describe(policies: Sequence[Path], digest: str, with_digest: bool = True) -> str:
    """The line that opens a report: which policies, their digest, and why these (issue 20)."""
    project = find_project()
    given = [p.resolve() for p in policies]
    if project is not None and given == [project.policies.resolve()]:
        why = f"from {shown_path(project.found_by)}"
    elif given == [bundled_policy_dir().resolve()]:
        why = "the bundled policies"
    else:
        why = "as given"
    said = f"digest {digest[:16]}, {why}" if with_digest else why
    return f"policies {', '.join(map(shown_path, policies))} ({said})"



def current_project() -> Project:
    """The project a command without paths acts on (see the module's docstring)."""
    found = find_project()
    if found is not None:
        return found
    bundled = bundled_policy_dir()
    local = Path.cwd() / "policies"
    if local.is_dir() and any(local.glob("*.y*ml")) and local.resolve() != bundled.resolve():
        raise click.UsageError(
            f"{local} holds policies, but no qpr-rules configuration says to use them, and without "
            f"one this command would check the bundled policies ({bundled}) instead. Give "
            f"`-p {local.name}`, or add to pyproject.toml (or write a qpr-rules.toml with the "
            f"second line):\n{SUGGESTED}")
    return Project(bundled, bundled / "tests", "the bundled policies")


def policy_dirs(paths: Sequence[str]) -> list[Path]:
    """The policies a command acts on: the paths given, else the current project's."""
    return [Path(p) for p in paths] if paths else [current_project().policies]


def as_scenario_paths(paths: Sequence[str]) -> list[Path]:
    """Scenario paths as given, except that a policy directory given where scenarios are
    expected means its tests/ (`qpr-rules test policies`); no paths: the project's scenarios."""
    if not paths:
        return [current_project().scenarios]
    out = []
    for p in map(Path, paths):
        holds_policies = p.is_dir() and (p / "tests").is_dir() and any(p.glob("*.y*ml"))
        out.append(p / "tests" if holds_policies else p)
    return out
