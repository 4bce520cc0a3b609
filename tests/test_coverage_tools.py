"""The Cobertura report as a standard tool reads it: diff-cover gates the policy lines a change
touches (covered with every scenario, named as missing when no scenario reaches them)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DIFF_COVER = shutil.which("diff-cover", path=str(Path(sys.executable).parent)) or shutil.which("diff-cover")
QPR = str(Path(sys.executable).parent / "qpr-rules")


def _git(repo: Path, *args: str) -> None:
    subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@example.org", *args], cwd=repo,
                   check=True, capture_output=True, timeout=60)


@pytest.mark.skipif(DIFF_COVER is None or shutil.which("git") is None,
                    reason="diff-cover (in the test extras) or git is not installed")
def test_diff_cover_gates_the_policy_lines_a_change_touches(tmp_path: Path) -> None:
    assert DIFF_COVER is not None
    repo = tmp_path / "repo"
    shutil.copytree(ROOT / "policies", repo / "policies")
    _git(repo, "init", "-q", "-b", "main")
    _git(repo, "add", ".")
    _git(repo, "commit", "-q", "-m", "base")
    _git(repo, "checkout", "-q", "-b", "change")
    qpr = repo / "policies" / "qpr.yaml"
    line = "  - id: qpr.placement.hold-pending-qpr\n"
    text = qpr.read_text()
    assert text.count(line) == 1
    qpr.write_text(text.replace(line, "  - id: qpr.placement.hold-pending-qpr  # reviewed\n"))
    _git(repo, "commit", "-q", "-am", "a reviewed rule")
    number = text[: text.index(line)].count("\n") + 1

    def gate(*scenarios: str) -> subprocess.CompletedProcess[str]:
        subprocess.run([QPR, "coverage", "run", "-p", "policies", *scenarios, "--format", "xml", "-o",
                        "coverage.xml"], cwd=repo, check=True, capture_output=True, timeout=300)
        return subprocess.run([DIFF_COVER, "coverage.xml", "--compare-branch=main", "--fail-under", "100"],
                              cwd=repo, capture_output=True, text=True, timeout=120)

    covered = gate()
    assert covered.returncode == 0, covered.stdout + covered.stderr
    assert "policies/qpr.yaml (100%)" in covered.stdout
    missed = gate("policies/tests/pqcr")  # no QPR scenario: the changed rule is never evaluated
    assert missed.returncode == 1
    assert f"policies/qpr.yaml (0.0%): Missing lines {number}" in missed.stdout
