"""Which tests the main run leaves to CI's second step: the `slow` marker.

`bash scripts/test.sh` runs `pytest -m "not slow"`; `bash scripts/test.sh --slow` (the second step
of .ci/run) runs the rest. Only soaks and exhaustive sweeps are slow, and every feature keeps a
test in the main run: a sweep (a parametrized test over every rule, parameter or limit) keeps its
first case there, and a whole test is slow only when its file has other tests
(tests/test_selection.py checks both)."""

from __future__ import annotations

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


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "slow: a soak or an exhaustive sweep; left out of scripts/test.sh's main run, "
                   "run by scripts/test.sh --slow (CI's second step)")


@pytest.hookimpl(tryfirst=True)  # before -m deselects: the marks must be there to select on
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    first_case_seen: set[str] = set()
    for item in items:
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
    import os

    path = os.environ.get("QPR_TEST_TIMES")
    if path and "PYTEST_XDIST_WORKER" not in os.environ and (report.when == "call" or report.outcome != "passed"):
        with open(path, "a", encoding="utf-8") as out:
            out.write(f"{report.duration:9.2f} {report.when:8} {report.outcome:7} {report.nodeid}\n")
