"""The wheel carries the policies: Engine.from_bundled() works from an install, not only a checkout."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    result = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(out), str(ROOT)],
                            capture_output=True, text=True, timeout=600)
    if result.returncode != 0:
        pytest.fail(f"building the wheel failed:\n{result.stderr[-2000:]}")
    (path,) = out.glob("qpr_rules-*.whl")
    return path


def test_wheel_contains_policies_and_marker(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    assert "qpr_rules/_bundled_policies/qpr.yaml" in names
    assert "qpr_rules/py.typed" in names
    assert any(n.endswith("entry_points.txt") for n in names)


def test_installed_wheel_decides_from_bundled(wheel: Path, tmp_path: Path) -> None:
    target = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(target), str(wheel)],
                   check=True, timeout=300)
    code = (
        "import sys; sys.path.insert(0, sys.argv[1]);"
        "import qpr_rules; from qpr_rules import Engine;"
        "assert qpr_rules.__file__.startswith(sys.argv[1]), qpr_rules.__file__;"
        "e = Engine.from_bundled();"
        "d = e.decide('qpr.records', {'record': 'qpr_referral', 'action': 'upload_to_cws_cms'});"
        "print(d.outcome, len(e.decision_ids))"
    )
    result = subprocess.run([sys.executable, "-c", code, str(target)], capture_output=True, text=True,
                            cwd=tmp_path, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.split()[0] == "deny"
