"""`qpr-rules test --watch` and `check --watch`: a save reruns the command; without the watch extra,
a message that names it."""

from __future__ import annotations

import os
import queue
import re
import shutil
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from click.testing import CliRunner

from qpr_rules.cli.app import cli as cli_main
from qpr_rules.cli.watch import watched_dirs

ROOT = Path(__file__).resolve().parents[1]
QPR_RULES = str(Path(sys.executable).parent / "qpr-rules")
WAIT = 120  # seconds to wait for a line before failing (a loaded machine is slow; no speed is tested)


class Watcher:
    """A `qpr-rules ... --watch` process and its output, read line by line as it comes."""

    def __init__(self, args: list[str], cwd: Path) -> None:
        env = {**os.environ, "NO_COLOR": "1"}
        self.proc = subprocess.Popen([QPR_RULES, *args], cwd=cwd, env=env, text=True,
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL)
        self.lines: queue.Queue[str | None] = queue.Queue()
        self.seen: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(line.rstrip("\n"))
        self.lines.put(None)

    def until(self, text: str) -> list[str]:
        """The lines up to the first one holding text."""
        got: list[str] = []
        while True:
            try:
                line = self.lines.get(timeout=WAIT)
            except queue.Empty:
                raise AssertionError(f"no line with {text!r} in {WAIT} s; saw:\n" + "\n".join(self.seen)) from None
            if line is None:
                raise AssertionError(f"the watcher ended before {text!r}; saw:\n" + "\n".join(self.seen))
            got.append(line)
            self.seen.append(line)
            if text in line:
                return got

    def stop(self) -> int:
        """Stop it by its own PID, as a terminal's Ctrl-C or a supervisor's SIGTERM would."""
        os.kill(self.proc.pid, signal.SIGTERM)
        return self.proc.wait(timeout=WAIT)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    shutil.copytree(ROOT / "policies", tmp_path / "policies")
    (tmp_path / "pyproject.toml").write_text('[tool.qpr-rules]\npolicies = "policies"\n')
    return tmp_path


def test_test_watch_reruns_on_save_and_stops_by_its_pid(project: Path) -> None:
    scenarios = project / "policies" / "tests" / "qpr" / "records.yaml"
    w = Watcher(["test", "-q", "--watch", "policies/tests/qpr/records.yaml"], project)
    try:
        first = w.until("[watch] exit 0; watching")
        passed = [int(m.group(1)) for line in first if (m := re.fullmatch(r"(\d+) passed, 0 failed", line))]
        assert passed and passed[0] >= 4, first
        text = scenarios.read_text()
        assert "outcome: deny" in text
        scenarios.write_text(text.replace("outcome: deny", "outcome: allow", 1))  # a save
        rerun = w.until("[watch] exit 1; watching")
        assert any("changed: policies/tests/qpr/records.yaml; running again" in line for line in rerun)
        assert any(line.startswith("FAIL policies/tests/qpr/records.yaml:") for line in rerun)
        assert f"{passed[0] - 1} passed, 1 failed" in rerun
    finally:
        code = w.stop()
    assert code == 0
    assert w.until("[watch] stopped")


def test_check_watch_reruns_when_a_policy_is_saved(project: Path) -> None:
    # one policy of the five, so that each of the three checks is quick
    for other in ("qpr", "practice_model", "qpi_commitment", "qpi_site"):
        (project / "policies" / f"{other}.yaml").unlink()
        shutil.rmtree(project / "policies" / "tests" / other)
    policy = project / "policies" / "pqcr.yaml"
    w = Watcher(["check", "--watch"], project)
    try:
        w.until("[watch] exit 0; watching")
        text = policy.read_text()
        assert "    outcome: incomplete" in text
        policy.write_text(text.replace("    outcome: incomplete", "    outcome: incompelte", 1))  # a typo saved
        rerun = w.until("[watch] exit 1; watching")
        assert any("changed: policies/pqcr.yaml" in line for line in rerun)
        assert any("'incompelte' is not an outcome" in line for line in rerun), rerun
        policy.write_text(text)  # fixed
        w.until("[watch] exit 0; watching")
    finally:
        assert w.stop() == 0


def test_without_the_extra_watch_names_it(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "watchfiles", None)  # import watchfiles -> ImportError
    monkeypatch.chdir(project)
    for args in (["test", "--watch"], ["check", "--watch"]):
        result = CliRunner().invoke(cli_main, args)
        assert result.exit_code == 2, result.output
        assert "--watch needs the watch extra: pip install 'qpr-rules[watch]'" in result.output
        assert "Traceback" not in result.output


def test_watched_directories_are_those_read_without_nesting(tmp_path: Path) -> None:
    (tmp_path / "policies" / "tests" / "qpr").mkdir(parents=True)
    scenario = tmp_path / "policies" / "tests" / "qpr" / "a.yaml"
    scenario.write_text("")
    other = tmp_path / "elsewhere"
    other.mkdir()
    assert watched_dirs([scenario, tmp_path / "policies", other, tmp_path / "missing"]) == [
        other.resolve(), (tmp_path / "policies").resolve()]
