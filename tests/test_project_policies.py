"""Commands act on the project in front of them (issue 20, item 1).

Reproduction from the issue: with a broken `policies/qpr.yaml` in the working directory and no
path given, `test`, `validate`, `check`, `coverage run`, `prove` and `fmt --check` exited 0,
because they checked the bundled (installed) policies instead. Now each either acts on the
configured project (and fails on the broken file) or, with no configuration, refuses to guess.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CLI = Path(sys.executable).with_name("qpr-rules")
ANALYST = [["validate"], ["test"], ["check"], ["coverage", "run"], ["prove", "--no-static"], ["fmt", "--check"]]


def _checkout(tmp_path: Path, broken: bool = True) -> Path:
    """A project directory holding a copy of the bundled policies, qpr.yaml broken: a misspelt
    combine (every loading command fails) and a trailing space on its first line (fmt --check)."""
    project = tmp_path / "project"
    shutil.copytree(ROOT / "policies", project / "policies")
    if broken:
        path = project / "policies" / "qpr.yaml"
        first, rest = path.read_text(encoding="utf-8").split("\n", 1)
        path.write_text(first + "   \n" + rest.replace("combine: deny-overrides", "combine: deny-overides", 1),
                        encoding="utf-8")
    return project


def _run(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(CLI), *args], capture_output=True, text=True, cwd=cwd, timeout=600)


@pytest.mark.parametrize("args", ANALYST, ids=lambda a: " ".join(a))
def test_without_configuration_a_local_policies_directory_is_never_skipped(tmp_path: Path, args: list[str]) -> None:
    result = _run(args, _checkout(tmp_path))
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert "holds policies, but no qpr-rules configuration" in result.stderr
    assert '[tool.qpr-rules]\npolicies = "policies"' in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("config", ["pyproject", "qpr-rules.toml"])
@pytest.mark.parametrize("args", ANALYST, ids=lambda a: " ".join(a))
def test_configured_commands_check_the_files_being_edited(tmp_path: Path, args: list[str], config: str) -> None:
    project = _checkout(tmp_path)
    if config == "pyproject":
        (project / "pyproject.toml").write_text('[project]\nname = "x"\n\n[tool.qpr-rules]\npolicies = "policies"\n')
    else:
        (project / "qpr-rules.toml").write_text('policies = "policies"\n')
    sub = project / "policies" / "tests"  # found from a directory below, too
    result = _run(args, sub)
    assert result.returncode != 0, (args, result.stdout[-500:], result.stderr[-500:])
    assert "deny-overides" in result.stdout + result.stderr or "qpr.yaml" in result.stdout + result.stderr


def test_a_policy_directory_given_as_scenarios_means_its_tests(tmp_path: Path) -> None:
    project = _checkout(tmp_path, broken=False)
    result = _run(["test", "policies", "-q"], project)
    assert result.returncode == 0, result.stdout[-800:] + result.stderr[-800:]
    assert "this is a policy file, not scenarios" not in result.stdout + result.stderr
    assert " passed" in result.stdout


def test_a_configuration_without_policies_says_what_to_add(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("[tool.qpr-rules]\nscenarios = \"tests\"\n")
    result = _run(["validate"], tmp_path)
    assert result.returncode == 2 and "name no `policies`" in result.stderr


def test_elsewhere_the_bundled_policies_are_used(tmp_path: Path) -> None:
    result = _run(["validate"], tmp_path)
    assert result.returncode == 0 and "ok: 5 file(s)" in result.stdout
