"""Which policies a command acts on: the project in front of it, never silently the bundled copy.

Every command resolves its policies the same way (docs/cli.md, "Which policies"):

1. `-p/--policies` or the paths given;
2. else a `qpr-rules.toml`, or a `pyproject.toml` with a `[tool.qpr-rules]` table, found in the
   working directory or a directory above it: its `policies` (and `scenarios`) keys, relative to
   that file;
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

CONFIG_FILE = "qpr-rules.toml"
SUGGESTED = '[tool.qpr-rules]\npolicies = "policies"'


@dataclass(frozen=True)
class Project:
    """Where a command's policies and scenarios are, and how that was decided."""

    policies: Path
    scenarios: Path
    found_by: str  # "the bundled policies", or the configuration file that named them


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
            return Project(policies, scenarios, str(config))
    return None


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
