"""The wheel carries the policies: Engine.from_bundled() works from an install, not only a checkout.

The wheel is built without build isolation (no download); when hatchling is not installed in
this environment the wheel tests are skipped, and the install layout is still checked by
copying the package the way pyproject's force-include maps it.
"""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DECIDE = (
    "import sys; sys.path.insert(0, sys.argv[1]);"
    "import qpr_rules; from qpr_rules import Engine;"
    "assert qpr_rules.__file__.startswith(sys.argv[1]), qpr_rules.__file__;"
    "from qpr_rules.bundled import bundled_policy_dir;"
    "assert bundled_policy_dir().name == '_bundled_policies', bundled_policy_dir();"
    "e = Engine.from_bundled();"
    "d = e.decide('qpr.placement', {'placement': {'date': '2024-05-01', 'cleared_with_pco': True},"
    " 'child': {'age': 7, 'gender': 'female'}, 'home': {'id': 'H', 'approval': 'rfa',"
    " 'approval_status': 'active', 'hold': {'kind': 'permanent', 'placed_on': '2024-01-01'}}});"
    "print(d.outcome, d.status, 'qpr.placement' in e.decision_ids)"
)
needs_hatchling = pytest.mark.skipif(
    importlib.util.find_spec("hatchling") is None,
    reason="hatchling is not installed in this environment, and the wheel is built without build "
           "isolation (no downloads in tests); `pip install hatchling` to run these")


def decide_from(site: Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", DECIDE, str(site)], capture_output=True, text=True,
                          cwd=cwd, timeout=120)


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    result = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                             "-w", str(out), str(ROOT)], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, f"building the wheel failed:\n{result.stderr[-2000:]}"
    (path,) = out.glob("qpr_rules-*.whl")
    return path


@needs_hatchling
def test_wheel_contains_policies_and_marker(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    assert {"qpr_rules/_bundled_policies/qpr.yaml", "qpr_rules/py.typed", "qpr_rules/__init__.py"} <= names
    sources = {f"qpr_rules/_bundled_policies/sources/{p.name}" for p in (ROOT / "policies" / "sources").iterdir()}
    assert len(sources) == 6 and sources <= names  # the five documents and their index
    templates = {f"qpr_rules/coverage/templates/{n}" for n in ("index.html.j2", "policy.html.j2", "style.css.j2")}
    assert templates <= names  # the HTML coverage report works from an install
    assert not any(n.startswith("qpr_rules/_bundled_policies/tests/") and n.endswith(".py") for n in names)
    assert any(n.endswith(".dist-info/entry_points.txt") for n in names)


@needs_hatchling
def test_installed_wheel_decides_from_bundled(wheel: Path, tmp_path: Path) -> None:
    target = tmp_path / "site"
    install = subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(target),
                              str(wheel)], capture_output=True, text=True, timeout=300)
    assert install.returncode == 0, install.stderr[-2000:]
    result = decide_from(target, tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.split() == ["deny", "decided", "True"]


def test_pyproject_bundles_the_policies_and_the_type_marker() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    wheel = config["tool"]["hatch"]["build"]["targets"]["wheel"]
    assert wheel["packages"] == ["src/qpr_rules"]
    assert wheel["force-include"] == {"policies": "qpr_rules/_bundled_policies"}
    assert config["project"]["scripts"] == {"qpr-rules": "qpr_rules.cli:main"}
    assert (ROOT / "src" / "qpr_rules" / "py.typed").is_file()
    assert (ROOT / "policies" / "qpr.yaml").is_file()


def test_install_layout_decides_from_bundled(tmp_path: Path) -> None:
    """Without a wheel: the package copied as the wheel lays it out (force-include above)."""
    site = tmp_path / "site"
    shutil.copytree(ROOT / "src" / "qpr_rules", site / "qpr_rules",
                    ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(ROOT / "policies", site / "qpr_rules" / "_bundled_policies")
    result = decide_from(site, tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.split() == ["deny", "decided", "True"]
