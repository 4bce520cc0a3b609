"""The CLI fits its ecosystem: help with an example on every command, colour only on a terminal
and never with NO_COLOR or --no-color, whole ids in `list`, `decide --exit-code`, `fmt --diff`,
and the exit codes documented in docs/cli.md."""

from __future__ import annotations

import os
import pty
import re
import subprocess
import sys
from pathlib import Path

import click
import pytest

from qpr_rules.cli.app import EXIT_DENIED, EXIT_FAILED, EXIT_USAGE, cli, main

ROOT = Path(__file__).resolve().parents[1]
CLI = Path(sys.executable).with_name("qpr-rules")
EXAMPLES = ROOT / "examples"
ESC = "\x1b["

pytestmark = pytest.mark.skipif(not CLI.exists(), reason=f"no qpr-rules console script next to {sys.executable}")


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    result = subprocess.run([str(CLI), *args], capture_output=True, text=True, cwd=ROOT, timeout=120,
                            env={**os.environ, **(env or {})})
    assert "Traceback" not in result.stderr + result.stdout, result.stderr[-2000:]
    return result


def run_in_terminal(*args: str, env: dict[str, str] | None = None) -> str:
    """Output of the command with stdout on a pseudo-terminal, as a user at a shell sees it."""
    leader, follower = pty.openpty()
    environ = {k: v for k, v in os.environ.items() if k != "NO_COLOR"}
    environ.update({"TERM": "xterm-256color", "COLUMNS": "100", **(env or {})})
    proc = subprocess.Popen([str(CLI), *args], stdout=follower, stderr=follower, cwd=ROOT, env=environ)
    os.close(follower)
    chunks = []
    while True:
        try:
            data = os.read(leader, 65536)
        except OSError:
            break
        if not data:
            break
        chunks.append(data)
    proc.wait(timeout=120)
    os.close(leader)
    return b"".join(chunks).decode("utf-8", "replace")


def _commands(group: click.Group, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    from qpr_rules.cli import analyst, core  # noqa: F401  (registers the commands)

    found = []
    for name, command in sorted(group.commands.items()):
        found.append((*prefix, name))
        if isinstance(command, click.Group):
            found.extend(_commands(command, (*prefix, name)))
    return found


def test_every_command_is_imported_from_the_module_that_defines_it() -> None:
    """main imports a command's module only when that command runs (COMMAND_MODULES): a command
    missing there, or listed under the wrong module, would not be found."""
    from qpr_rules.cli import analyst, core, coverage, interview, procedure, procedure_audit, prove, serve  # noqa: F401  (registers)
    from qpr_rules.cli.app import COMMAND_MODULES

    assert set(COMMAND_MODULES) == set(cli.commands)
    for name, command in cli.commands.items():
        defined = {c.callback.__module__ for c in [command, *getattr(command, "commands", {}).values()]
                   if c.callback is not None}
        assert defined == {f"qpr_rules.cli.{m}" for m in COMMAND_MODULES[name]}, name


def test_decide_imports_only_what_it_needs() -> None:
    """`qpr-rules decide` answers without importing the analyst and test tools (scenarios,
    coverage, analysis, z3, pytest, hypothesis) or the other commands' modules."""
    code = ("import sys; from qpr_rules.cli.app import main\n"
            "try:\n    main(sys.argv[1:])\nexcept SystemExit:\n    pass\n"
            "print(' '.join(sorted(sys.modules)), file=sys.stderr)")
    out = subprocess.run([sys.executable, "-c", code, "decide", "qpr.placement", "--facts",
                          str(ROOT / "examples" / "placement_home_on_hold.yaml")],
                         capture_output=True, text=True, check=True)
    assert out.stdout.startswith("deny (decided)")
    loaded = set(out.stderr.split())
    assert "qpr_rules.cli.core" in loaded
    never = {"pytest", "_pytest", "hypothesis", "z3", "qpr_rules.pytest_plugin", "qpr_rules.scenarios",
             "qpr_rules.coverage", "qpr_rules.analysis", "qpr_rules.tools", "qpr_rules.cli.analyst",
             "qpr_rules.cli.coverage", "qpr_rules.cli.prove", "qpr_rules.cli.batch", "multiprocessing",
             # the decision service's framework, server and metrics: `serve` alone imports them
             "qpr_rules.cli.serve", "qpr_rules.service", "starlette", "uvicorn", "prometheus_client"}
    assert not {m for m in loaded if m.split(".")[0] in never or ".".join(m.split(".")[:2]) in never
                or ".".join(m.split(".")[:3]) in never}


def test_no_command_module_imports_test_tools() -> None:
    """Every command's module, imported as `qpr-rules` would, brings in neither pytest nor
    hypothesis (the pytest plugin is loaded by pytest alone), nor z3 (imported when prove runs)."""
    from qpr_rules.cli.app import COMMAND_MODULES

    modules = sorted({f"qpr_rules.cli.{m}" for ms in COMMAND_MODULES.values() for m in ms})
    code = f"import sys; import {', '.join(modules)}; print(' '.join(sys.modules))"
    loaded = set(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                                check=True).stdout.split())
    assert set(modules) <= loaded
    assert not {m for m in loaded if m.split(".")[0] in {"pytest", "_pytest", "hypothesis", "z3"}
                or m == "qpr_rules.pytest_plugin"}


def test_main_leaves_a_callers_garbage_collector_alone(capsys: pytest.CaptureFixture[str]) -> None:
    """The collector is tuned for the `qpr-rules` process only (main() without argv)."""
    import gc

    before = gc.get_threshold(), gc.get_freeze_count()
    with pytest.raises(SystemExit):
        main(["list", "--decisions"])
    assert "qpr.placement" in capsys.readouterr().out
    assert (gc.get_threshold(), gc.get_freeze_count()) == before


def test_every_command_help_has_an_example(capsys: pytest.CaptureFixture[str]) -> None:
    commands = _commands(cli)
    assert {("decide",), ("list",), ("fmt",), ("schema", "facts")} <= set(commands)
    missing = []
    for path in [(), *commands]:
        with pytest.raises(SystemExit) as info:
            main([*path, "--help"])
        assert info.value.code == 0
        if "Example" not in capsys.readouterr().out:
            missing.append(" ".join(path) or "(qpr-rules)")
    assert not missing, f"--help without an example: {missing}"


def test_colour_only_on_a_terminal_and_never_with_no_color() -> None:
    assert ESC in run_in_terminal("list", "--decisions", "--format", "table")
    assert ESC not in run_in_terminal("list", "--decisions", "--format", "table", env={"NO_COLOR": "1"})
    assert ESC not in run_in_terminal("--no-color", "list", "--decisions", "--format", "table")
    piped = run("list", "--decisions", "--format", "table")
    assert piped.returncode == 0 and ESC not in piped.stdout


def test_list_shows_whole_ids_piped_and_on_a_narrow_terminal() -> None:
    import json

    ids = [r["id"] for r in json.loads(run("list", "--rules", "--format", "json").stdout)["rules"]]
    assert len(ids) > 50
    plain = run("list", "--rules").stdout.splitlines()  # piped: plain, one rule per line
    assert [line.split("\t")[0] for line in plain] == ids
    narrow = run_in_terminal("--no-color", "list", "--rules", env={"COLUMNS": "60"})
    assert "…" not in narrow  # wrapped, never cut with an ellipsis


def test_decide_exit_code_for_a_denial_is_its_own() -> None:
    hold = str(EXAMPLES / "placement_home_on_hold.yaml")
    cleared = str(EXAMPLES / "placement_cleared_home.yaml")
    assert run("decide", "qpr.placement", "--facts", hold).returncode == 0
    assert run("decide", "qpr.placement", "--facts", hold, "--exit-code").returncode == EXIT_DENIED
    allowed = run("decide", "qpr.placement", "--facts", cleared, "--exit-code")
    assert (allowed.returncode, allowed.stdout.split()[0]) == (0, "allow")
    invalid = run("decide", "qpr.placement", "--facts", "-", "--exit-code")
    assert invalid.returncode == EXIT_FAILED
    assert run("decide", "--exit-code").returncode == EXIT_USAGE
    assert len({EXIT_DENIED, EXIT_FAILED, EXIT_USAGE, 0}) == 4


def test_fmt_diff_shows_and_changes_nothing(tmp_path: Path) -> None:
    policy = tmp_path / "p.yaml"
    canonical = (ROOT / "policies" / "pqcr.yaml").read_text(encoding="utf-8")
    first, rest = canonical.split("\n", 1)
    original = f"{first}   \n{rest}"  # trailing blanks: not canonical
    policy.write_text(original, encoding="utf-8")
    result = run("fmt", "--diff", str(policy))
    assert result.returncode == EXIT_FAILED
    assert re.search(r"^@@ .* @@", result.stdout, re.M) and f"-{first}   \n+{first}\n" in result.stdout
    assert policy.read_text(encoding="utf-8") == original
    assert run("fmt", "--diff", str(ROOT / "policies" / "pqcr.yaml")).returncode == 0


def test_docs_list_every_command_and_its_exit_codes() -> None:
    text = (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
    table = {m.group(1) for m in re.finditer(r"^\| `qpr-rules ([a-z ]+?)[` ]", text, re.M)}
    top_level = {c[0] for c in _commands(cli)}
    assert top_level <= {t.split()[0] for t in table}, top_level - {t.split()[0] for t in table}
    for code in (0, EXIT_FAILED, EXIT_USAGE, EXIT_DENIED):
        assert f"| {code} |" in text or f" {code} " in text
    assert "_QPR_RULES_COMPLETE" in text  # shell completion documented


def test_invalid_facts_in_a_file_are_reported_at_their_line_and_column(tmp_path: Path) -> None:
    text = (EXAMPLES / "placement_home_on_hold.yaml").read_text(encoding="utf-8")
    line_no = next(i for i, line in enumerate(text.splitlines(), 1) if line.startswith("child:"))
    bad = tmp_path / "facts.yaml"
    bad.write_text(text.replace("age: ", "agee: ", 1), encoding="utf-8")
    column = bad.read_text(encoding="utf-8").splitlines()[line_no - 1].index("agee") + 1
    result = run("decide", "qpr.placement", "--facts", str(bad))
    assert result.returncode == EXIT_FAILED and result.stdout.startswith("deny (error)")
    assert (f"{bad}:{line_no}:{column}: child.agee: unknown field (did you mean 'child.age'?)"
            in result.stderr), result.stderr
    explained = run("explain", "qpr.placement", "--facts", str(bad))
    assert f"{bad}:{line_no}:{column}: child.agee" in explained.stderr
