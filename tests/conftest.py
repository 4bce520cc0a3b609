"""Which tests the main run leaves to CI's second step: the `slow` marker.

`bash scripts/test.sh` runs `pytest -m "not slow"`; `bash scripts/test.sh --slow` (the second step
of .ci/run) runs the rest. Only soaks and exhaustive sweeps are slow, and every feature keeps a
test in the main run: a sweep (a parametrized test over every rule, parameter or limit) keeps its
first case there, and a whole test is slow only when its file has other tests
(tests/test_selection.py checks both)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

# test -> why it is slow; every case of it runs only in the slow step
SLOW_TESTS = {
    "tests/test_soak.py::test_ten_thousand_cases_per_bundled_decision_agree":
        "10,000 generated cases per bundled decision through both evaluators",
    "tests/test_durable_registration.py::test_a_5000_rule_policy_registers_in_20_fresh_processes":
        "a 5,000-rule policy loaded, then its 600 rulesets registered in 20 fresh processes",
}
# parametrized test -> why; its first case runs in the main run, the others in the slow step
SLOW_SWEEPS = {
    "tests/test_prove_mutations.py::test_breaking_a_cited_rule_is_caught":
        "a proof per rule cited by an invariant, with that rule broken",
    "tests/test_parameter_mutations.py::test_changing_a_parameter_by_one_unit_fails_a_scenario":
        "every scenario run again per bundled parameter moved by one unit",
    "tests/test_fuzz.py::test_fuzz_class_finds_nothing":
        "a fuzzing round per target and class",
    "tests/test_durable_limits.py::test_each_recorded_limit_holds_exactly":
        "durable_rules driven to each recorded limit and one past it",
    "tests/test_durable_limits.py::test_policies_near_every_limit_are_refused_or_run":
        "a policy at and beyond every limit, loaded and run",
}


# The main run's budget (issue 20: `bash scripts/test.sh` in minutes): a test measured slower than
# this on the 2-core machine runs in the slow step, but for the quickest test of its file, so
# that every file (a feature each) keeps a test in the main run. tests/test_times.json holds the
# measurements (`bash scripts/test-times.sh` writes it); a test not yet measured stays in the
# main run until it is.
TIME_BUDGET_S = 1.0
TIMES_FILE = Path(__file__).with_name("test_times.json")


def measured_times() -> dict[str, float]:
    return json.loads(TIMES_FILE.read_text(encoding="utf-8")) if TIMES_FILE.exists() else {}


def over_budget(nodeids: list[str], times: dict[str, float]) -> set[str]:
    """The tests the main run leaves to the slow step for their measured time."""
    quickest: dict[str, str] = {}
    for nodeid in nodeids:
        file = nodeid.split("::", 1)[0]
        if file not in quickest or times.get(nodeid, 0.0) < times.get(quickest[file], 0.0):
            quickest[file] = nodeid
    kept = set(quickest.values())
    return {n for n in nodeids if times.get(n, 0.0) > TIME_BUDGET_S and n not in kept}


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "slow: a soak or an exhaustive sweep; left out of scripts/test.sh's main run, "
                   "run by scripts/test.sh --slow (CI's second step)")


@pytest.hookimpl(tryfirst=True)  # before -m deselects: the marks must be there to select on
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    first_case_seen: set[str] = set()
    # measuring (scripts/test-times.sh), or the wheel under the other Pythons (test-pythons.sh,
    # which the slow step does not repeat): the budget is not applied, only soaks and sweeps are slow
    too_long = set() if os.environ.get("QPR_IGNORE_TIME_BUDGET") else \
        over_budget([item.nodeid for item in items], measured_times())
    for item in items:
        if item.nodeid in too_long:
            item.add_marker(pytest.mark.slow)
            continue
        test = item.nodeid.split("[", 1)[0]
        if test in SLOW_TESTS:
            item.add_marker(pytest.mark.slow)
        elif test in SLOW_SWEEPS:
            if test in first_case_seen:
                item.add_marker(pytest.mark.slow)
            first_case_seen.add(test)


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    """With QPR_TEST_TIMES=FILE, each test's outcome and seconds are appended to FILE as it ends
    (under xdist, by the controlling process): the durations of a run stopped before its end,
    and the tests to move to the slow step (`--durations` prints only at the end)."""
    path = os.environ.get("QPR_TEST_TIMES")
    if path and "PYTEST_XDIST_WORKER" not in os.environ:
        with open(path, "a", encoding="utf-8") as out:
            out.write(f"{report.duration:9.2f} {report.when:8} {report.outcome:7} {report.nodeid}\n")
