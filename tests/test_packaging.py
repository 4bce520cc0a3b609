"""What users install: the wheel, in a fresh virtual environment, without test extras,
used from outside the checkout, on whichever Python runs this test (.ci/run runs it under
each supported version).

The wheel is built without build isolation (setuptools and wheel come with the test extras);
installing it pulls the runtime dependencies from the package index, as `pip install` would
for a user. Every CLI command and both shipped pre-commit hook entries are run.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
import venv
import zipfile
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"

DECIDE = (
    "import sys; import qpr_rules; from qpr_rules import Engine;"
    "assert 'site-packages' in qpr_rules.__file__, qpr_rules.__file__;"
    "from qpr_rules.bundled import bundled_policy_dir;"
    "assert bundled_policy_dir().name == '_bundled_policies', bundled_policy_dir();"
    "e = Engine.from_bundled();"
    "import yaml; facts = yaml.safe_load(open(sys.argv[1]));"
    "d = e.decide('qpr.placement', facts);"
    "print(d.outcome, d.status, 'qpr.placement' in e.decision_ids);"
    "test_tools = sorted(m for m in ('pytest', 'hypothesis', '_pytest') if m in sys.modules);"
    "assert not test_tools, test_tools"
)


def _run(cmd: list[str], cwd: Path, timeout: int = 600, **kw: object) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV"))}
    env["NO_COLOR"] = "1"
    return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=timeout, env=env, **kw)  # type: ignore[call-overload]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    result = _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                   "-w", str(out), str(ROOT)], cwd=out)
    assert result.returncode == 0, f"building the wheel failed:\n{result.stderr[-3000:]}"
    (path,) = out.glob("qpr_rules-*.whl")
    return path


@pytest.fixture(scope="module")
def installed(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv with the wheel and its runtime dependencies only; returns its bin/."""
    env_dir = tmp_path_factory.mktemp("user-venv")
    venv.EnvBuilder(with_pip=True, clear=True).create(env_dir)
    bin_dir = env_dir / "bin"
    result = _run([str(bin_dir / "python"), "-m", "pip", "install", "-q", str(wheel)], cwd=env_dir, timeout=900)
    assert result.returncode == 0, f"installing the wheel failed:\n{result.stderr[-3000:]}"
    return bin_dir


@pytest.fixture(scope="module")
def outside(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A working directory outside the checkout, holding a copy of the policies and examples."""
    work = tmp_path_factory.mktemp("outside")
    shutil.copytree(ROOT / "policies", work / "policies", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(EXAMPLES, work / "examples")
    facts = yaml.safe_load((EXAMPLES / "placement_home_on_hold.yaml").read_text(encoding="utf-8"))
    (work / "cases.jsonl").write_text(json.dumps(facts, default=str) + "\n", encoding="utf-8")
    # a project: the commands act on its policies/ (docs/cli.md, "Which policies")
    (work / "qpr-rules.toml").write_text('policies = "policies"\n', encoding="utf-8")
    return work


def test_wheel_contains_policies_shim_and_marker(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    assert {"qpr_rules/_bundled_policies/qpr.yaml", "qpr_rules/py.typed", "qpr_rules/__init__.py"} <= names
    assert any(n.startswith("qpr_rules/_compat/_pyeval_shim.") and n.endswith(".so") for n in names)
    sources = {f"qpr_rules/_bundled_policies/sources/{p.name}" for p in (ROOT / "policies" / "sources").iterdir()}
    assert len(sources) == 6 and sources <= names  # the five documents and their index
    templates = {f"qpr_rules/coverage/templates/{n}" for n in ("index.html.j2", "policy.html.j2", "style.css.j2")}
    assert templates <= names  # the HTML coverage report works from an install
    assert not any(n.startswith("qpr_rules/_bundled_policies/tests/") and n.endswith(".py") for n in names)
    assert any(n.endswith(".dist-info/entry_points.txt") for n in names)


def test_installed_wheel_has_no_test_tools_and_decides(installed: Path, outside: Path) -> None:
    python = str(installed / "python")
    probe = _run([python, "-c", "import importlib.util as u; print(u.find_spec('pytest') is None)"], cwd=outside)
    assert probe.stdout.strip() == "True", "the user venv must not have pytest: " + probe.stdout + probe.stderr
    result = _run([python, "-c", DECIDE, str(outside / "examples" / "placement_home_on_hold.yaml")], cwd=outside)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.split() == ["deny", "decided", "True"]


def _cli_cases(work: Path) -> list[tuple[list[str], int, str]]:
    """(arguments, expected exit code, text the output must contain) for every command."""
    hold = str(work / "examples" / "placement_home_on_hold.yaml")
    return [
        (["--version"], 0, "qpr-rules, version"),
        (["--help"], 0, "Usage"),
        (["validate"], 0, "ok"),
        (["validate", "policies"], 0, "ok"),
        (["list", "--decisions"], 0, "qpr.placement"),
        (["list", "--rules", "--format", "json"], 0, "qpr.placement"),
        (["list", "--clauses"], 0, "hold"),
        (["decide", "qpr.placement", "--facts", hold], 0, "deny"),
        (["decide", "qpr.placement", "--facts", hold, "--format", "json"], 0, '"outcome": "deny"'),
        (["explain", "qpr.placement", "--facts", hold], 0, "Homes on hold are not to receive placements"),
        (["schema", "facts", "qpr.placement"], 0, '"properties"'),
        (["schema", "policy"], 0, '"properties"'),
        (["schema", "scenario"], 0, '"properties"'),
        (["test", "-q", "policies/tests"], 0, "0 failed"),
        (["check", "policies"], 0, "0 error(s)"),
        (["diff", "policies", "policies"], 0, "qpr"),
        (["fmt", "--check", "policies"], 0, "0 of"),
        (["prove", "policies", "--no-static"], 0, "proved"),
        (["interview", "qpr.placement", "--facts",
          str(work / "examples" / "partial" / "placement_permanent_hold.yaml")], 0, "DENY, determined"),
        (["case", "qpr.home", "--events", str(work / "examples" / "procedure" / "home-17.jsonl")], 0,
         "case home-17 (qpr.home)"),
        (["procedure", "check", str(work / "examples" / "procedure" / "home-17-to-hold.jsonl")], 1,
         "departure: event"),
        (["procedure", "graph", "qpr.home"], 0, "stateDiagram-v2"),
        (["procedure", "prove", "qpr.home"], 0, "0 violation(s)"),
        (["coverage", "run", "-p", "policies", "--require", "rules=100"], 0, "TOTAL"),
        (["coverage", "run", "-p", "policies", "--format", "html", "-o", str(work / "html")], 0, ""),
        (["decide", "qpr.placement", "--batch", str(work / "cases.jsonl")], 0, '"outcome":"deny"'),
        # the wheel without extras: the service says which extra to install
        (["serve"], 2, "pip install 'qpr-rules[serve]'"),
    ]


def test_every_cli_command_runs_from_the_installed_wheel(installed: Path, outside: Path) -> None:
    cli = str(installed / "qpr-rules")
    failures = []
    for args, code, expected in _cli_cases(outside):
        result = _run([cli, *args], cwd=outside)
        out = result.stdout + result.stderr
        if result.returncode != code or expected not in out or "Traceback" in out:
            failures.append(f"qpr-rules {shlex.join(args)}: exit {result.returncode}, expected {code} "
                            f"and {expected!r} in:\n{out[-1500:]}")
    assert not failures, "\n\n".join(failures)


def test_the_installed_cli_cases_name_every_command(outside: Path) -> None:
    from qpr_rules.cli import analyst, core, coverage, interview, procedure, procedure_audit, prove, serve  # noqa: F401  (registers them)
    from qpr_rules.cli.app import cli

    assert set(cli.commands) <= {args[0] for args, _, _ in _cli_cases(outside)}


def test_shipped_pre_commit_hooks_run_from_the_installed_wheel(installed: Path, outside: Path) -> None:
    hooks = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text(encoding="utf-8"))
    assert {h["id"] for h in hooks} == {"qpr-rules-check", "qpr-rules-fmt"}
    for hook in hooks:
        program, *args = shlex.split(hook["entry"])
        assert program == "qpr-rules", hook
        result = _run([str(installed / program), *args], cwd=outside)
        out = result.stdout + result.stderr
        assert result.returncode == 0 and "Traceback" not in out, f"hook {hook['id']}: {out[-2000:]}"


@pytest.mark.parametrize("config", [True, False])
def test_the_installed_cli_never_checks_its_own_copy_instead_of_the_files_edited(
        installed: Path, tmp_path: Path, config: bool) -> None:
    """Issue 20: in a checkout with a broken policies/qpr.yaml, the wheel's analyst commands used
    to check the installed policies and exit 0. Configured, they check the files and fail; not
    configured, they refuse to guess (exit 2)."""
    work = tmp_path / "checkout"
    shutil.copytree(ROOT / "policies", work / "policies", ignore=shutil.ignore_patterns("__pycache__"))
    broken = work / "policies" / "qpr.yaml"
    broken.write_text(broken.read_text(encoding="utf-8").replace("combine: deny-overrides",
                                                                  "combine: deny-overides", 1), encoding="utf-8")
    if config:
        (work / "pyproject.toml").write_text('[tool.qpr-rules]\npolicies = "policies"\n', encoding="utf-8")
    for args in (["validate"], ["test", "-q"], ["check"], ["coverage", "run"], ["prove", "--no-static"]):
        result = _run([str(installed / "qpr-rules"), *args], cwd=work)
        out = result.stdout + result.stderr
        assert result.returncode == (1 if config else 2), (args, out[-800:])
        assert "Traceback" not in out
        assert ("deny-overides" in out or "qpr.yaml" in out) if config else "no qpr-rules configuration" in out


def test_json_output_of_the_installed_cli_parses(installed: Path, outside: Path) -> None:
    result = _run([str(installed / "qpr-rules"), "decide", "qpr.placement", "--facts",
                   str(outside / "examples" / "placement_home_on_hold.yaml"), "--format", "json"], cwd=outside)
    assert json.loads(result.stdout)["outcome"] == "deny"
