"""A parameter a scenario depends on is pinned by that scenario: changing any parameter of a
bundled policy by one unit (a number by one either way, a date by one day either way, a text by
one character, a flag flipped) must make some scenario of that policy fail. So `qpr-rules test`
catches a 365 -> 364 change, not only `qpr-rules diff`."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path
from typing import Any

import pytest

from qpr_rules import Engine
from qpr_rules.scenarios.runner import check_references, load_scenario_file, run_scenario, scenario_files
from qpr_rules.yaml_source import load_yaml_file

ROOT = Path(__file__).resolve().parents[1]
POLICIES = ROOT / "policies"


def _mutations(value: Any) -> list[tuple[str, Any]]:
    match value:
        case bool():
            return [("flipped", not value)]
        case int() | float():
            return [("+1", value + 1), ("-1", value - 1)]
        case dt.date():
            return [("+1 day", value + dt.timedelta(days=1)), ("-1 day", value - dt.timedelta(days=1))]
        case str():
            return [("one character more", value + "x")]
    raise AssertionError(f"a parameter of a type this test does not mutate: {value!r}")


def _cases() -> list[Any]:
    out = []
    for path in sorted(POLICIES.glob("*.yaml")):
        data, _ = load_yaml_file(path)
        for name, param in (data.get("parameters") or {}).items():
            for label, new in _mutations(param["value"]):
                out.append(pytest.param(path.name, name, new, id=f"{path.stem}.{name} {label}"))
    return out


def _rewrite_value(path: Path, name: str, new: Any) -> None:
    """Replace the parameter's value in the file's text at the position the loader reports."""
    data, smap = load_yaml_file(path)
    old = data["parameters"][name]["value"]
    line, col = smap.at(("parameters", name, "value"))
    lines = path.read_text(encoding="utf-8").split("\n")
    text = lines[line - 1]
    old_text = old.isoformat() if isinstance(old, dt.date) else (
        str(old).lower() if isinstance(old, bool) else str(old))
    new_text = new.isoformat() if isinstance(new, dt.date) else (
        str(new).lower() if isinstance(new, bool) else str(new))
    at = text.index(old_text, col - 1)
    lines[line - 1] = text[:at] + new_text + text[at + len(old_text):]
    path.write_text("\n".join(lines), encoding="utf-8")
    assert load_yaml_file(path)[0]["parameters"][name]["value"] == new


@pytest.mark.parametrize(("policy_file", "name", "new"), _cases())
def test_changing_a_parameter_by_one_unit_fails_a_scenario(tmp_path: Path, policy_file: str, name: str,
                                                          new: Any) -> None:
    work = tmp_path / "policies"
    shutil.copytree(POLICIES, work, ignore=shutil.ignore_patterns("__pycache__"))
    _rewrite_value(work / policy_file, name, new)
    engine = Engine.load([work])
    policy_id = load_yaml_file(work / policy_file)[0]["id"]
    ran = 0
    failed = []
    for f in scenario_files([work / "tests"]):
        for s in load_scenario_file(f):
            if not s.decision.startswith(f"{policy_id}."):
                continue
            assert not check_references(engine, [s])
            ran += 1
            if not run_scenario(engine, s).passed:
                failed.append(s.name)
    assert ran, f"no scenario of {policy_id}"
    assert failed, (f"{policy_file}: {name} changed to {new!r} and all {ran} scenarios still pass; add a "
                    "scenario at the boundary this parameter sets")


def test_every_bundled_parameter_is_mutated() -> None:
    names = {c.values[1] for c in _cases()}
    declared = {n for p in POLICIES.glob("*.yaml") for n in (load_yaml_file(p)[0].get("parameters") or {})}
    assert names == declared and declared
