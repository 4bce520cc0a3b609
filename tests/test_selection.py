"""The main run (`pytest -m "not slow"`) keeps a test of every feature; the slow step runs the rest."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from tests.conftest import SLOW_SWEEPS, SLOW_TESTS, TIME_BUDGET_S, measured_times, over_budget

ROOT = Path(__file__).resolve().parents[1]


def _tests_in(file: str) -> set[str]:
    text = (ROOT / file).read_text(encoding="utf-8")
    return {f"{file}::{name}" for name in re.findall(r"^(?:async )?def (test_\w+)", text, re.M)}


def test_every_slow_entry_names_a_test_that_exists() -> None:
    for test in [*SLOW_TESTS, *SLOW_SWEEPS]:
        assert test in _tests_in(test.split("::")[0]), f"{test}: no such test (renamed?)"


def test_a_slow_test_leaves_other_tests_of_its_file_in_the_main_run() -> None:
    for test in SLOW_TESTS:
        others = _tests_in(test.split("::")[0]) - set(SLOW_TESTS)
        assert others, f"{test}: every test of its file would leave the main run"


def test_a_sweep_keeps_its_first_case_in_the_main_run() -> None:
    files = sorted({t.split("::")[0] for t in SLOW_SWEEPS})
    out = subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-q", "-o", "addopts=",
                          "-p", "no:cacheprovider",
                          "-m", "not slow", *files], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    kept = [line.split("[", 1)[0] for line in out.splitlines() if "::" in line]
    for sweep in SLOW_SWEEPS:
        # its first case, or none when that case is over the time budget (the file's quickest
        # test then keeps the file in the main run: test_every_file_keeps_a_test_in_the_main_run)
        assert kept.count(sweep) <= 1, f"{sweep}: {kept.count(sweep)} case(s) in the main run"
    out = subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-q", "-o", "addopts=",
                          "-p", "no:cacheprovider",
                          "-m", "slow", *files], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    slow = [line.split("[", 1)[0] for line in out.splitlines() if "::" in line]
    assert set(SLOW_SWEEPS) <= set(slow)  # the other cases of each sweep run in the slow step


def test_every_file_keeps_a_test_in_the_main_run() -> None:
    times = measured_times()
    assert times, "tests/test_times.json is missing: bash scripts/test-times.sh writes it"
    too_long = over_budget(list(times), times)
    files = {n.split("::", 1)[0] for n in times}
    for file in files:
        kept = [n for n in times if n.split("::", 1)[0] == file and n not in too_long
                and n.split("[", 1)[0] not in SLOW_TESTS]
        assert kept, f"{file}: no test left in the main run"


def test_the_budget_keeps_the_quickest_test_of_a_file_however_slow() -> None:
    times = {"tests/a.py::t1": 9.0, "tests/a.py::t2": 5.0, "tests/b.py::t": 0.1,
             "tests/b.py::u": TIME_BUDGET_S + 0.01, "tests/c.py::new": 0.0}
    assert over_budget([*times, "tests/c.py::unmeasured"], times) == {"tests/a.py::t1", "tests/b.py::u"}
