"""The typed facts API as an application sees it: tests/typed_app/ passes `mypy --strict`, runs,
and a misspelt fact field in the same code is a type error, not a runtime surprise."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import qpr_rules
from qpr_rules.facts.base import registered_fact_types

ROOT = Path(__file__).resolve().parents[1]
APP = ROOT / "tests" / "typed_app" / "placement_app.py"


def _mypy(path: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "MYPYPATH": str(ROOT / "src")}
    return subprocess.run([sys.executable, "-m", "mypy", "--strict", "--no-incremental", "--no-error-summary",
                           "--config-file", os.devnull, str(path)],
                          capture_output=True, text=True, cwd=ROOT, env=env, timeout=600)


def test_the_typed_app_passes_mypy_strict_and_runs() -> None:
    checked = _mypy(APP)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    ran = subprocess.run([sys.executable, str(APP)], capture_output=True, text=True, timeout=120)
    assert ran.returncode == 0, ran.stdout + ran.stderr


def test_a_misspelt_fact_field_is_a_type_error(tmp_path: Path) -> None:
    broken = tmp_path / "broken_app.py"
    broken.write_text(APP.read_text(encoding="utf-8").replace("facts.child.age", "facts.child.agee"),
                      encoding="utf-8")
    checked = _mypy(broken)
    assert checked.returncode != 0 and '"Child" has no attribute "agee"' in checked.stdout, checked.stdout


def test_every_registered_fact_model_is_exported_by_name() -> None:
    for name, model in registered_fact_types().items():
        assert getattr(qpr_rules, model.__name__, None) is model, f"{name}: {model.__name__} is not exported"
        assert model.__name__ in qpr_rules.__all__
