"""pytest plugin: collects YAML scenario files (policies/tests/**/*.yaml) as tests.

Each scenario is one test item; a failure shows the YAML file and line, expected vs
actual, and the explanation trace. The policies are those of the directory that holds
the `tests/` folder, or `--qpr-policies PATH`.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from qpr_rules.coverage.collect import DataSink
from qpr_rules.coverage.data import CoverageData
from qpr_rules.engine.engine import Engine
from qpr_rules.engine.explain import render_trace
from qpr_rules.errors import PolicyError
from qpr_rules.scenarios.case_model import CASE_SCENARIO_FORMAT
from qpr_rules.scenarios.case_runner import (
    LoadedCase,
    check_case_references,
    load_case_file,
    render_history,
    run_case,
)
from qpr_rules.scenarios.model import SCENARIO_FORMAT
from qpr_rules.scenarios.runner import (
    STALE_MARK,
    LoadedScenario,
    check_references,
    load_scenario_file,
    policies_for,
    run_scenario,
)

if TYPE_CHECKING:
    from _pytest._code.code import TerminalRepr


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--qpr-policies", default=None,
                     help="policy files or directory that YAML scenarios run against")
    parser.addoption("--qpr-cov", action="store_true", default=False,
                     help="collect policy coverage from the YAML scenarios (as pytest-cov does for code); "
                          "saved to --qpr-cov-data, reported with `qpr-rules coverage report`")
    parser.addoption("--qpr-cov-data", default=".qpr-coverage.json",
                     help="where --qpr-cov saves its data (default: .qpr-coverage.json)")


@lru_cache(maxsize=8)
def _engine(policies: str) -> Engine:
    return Engine.load([policies])


_COVERAGE: dict[str, tuple[Engine, CoverageData]] = {}  # policies -> engine counting into data


def _engine_for(config: pytest.Config, policies: str) -> Engine:
    if not config.getoption("--qpr-cov"):
        return _engine(policies)
    if policies not in _COVERAGE:
        plain = _engine(policies)
        data = CoverageData.for_policies(plain.policies)
        _COVERAGE[policies] = (Engine(plain.policies, decision_log=DataSink(data)), data)
    return _COVERAGE[policies][0]


def _coverage_data(config: pytest.Config, policies: str) -> CoverageData:
    _engine_for(config, policies)
    return _COVERAGE[policies][1]


def pytest_sessionfinish(session: pytest.Session) -> None:
    if not session.config.getoption("--qpr-cov") or not _COVERAGE:
        return
    target = Path(session.config.getoption("--qpr-cov-data"))
    (_, data), *rest = _COVERAGE.values()
    for _, more in rest:  # several policy sets: each is counted; the first one's digest is kept
        data.merge_json(more.to_json())
    data.save(target)
    _COVERAGE.clear()


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    if config.getoption("--qpr-cov"):
        terminalreporter.write_line(f"qpr-rules coverage data saved to {config.getoption('--qpr-cov-data')}; "
                                    "`qpr-rules coverage report` shows it")


def pytest_collect_file(parent: pytest.Collector, file_path: Path) -> pytest.Collector | None:
    if file_path.suffix not in (".yaml", ".yml") or "tests" not in file_path.parts:
        return None
    try:
        head = file_path.read_text(encoding="utf-8", errors="replace")[:2000]
    except OSError:
        return None
    if CASE_SCENARIO_FORMAT in head:
        return CaseYamlFile.from_parent(parent, path=file_path)
    if SCENARIO_FORMAT not in head:
        return None
    return ScenarioYamlFile.from_parent(parent, path=file_path)


class ScenarioYamlFile(pytest.File):
    def collect(self) -> Iterator[pytest.Item]:
        try:
            scenarios = load_scenario_file(self.path)
        except PolicyError as exc:
            yield ScenarioProblemItem.from_parent(self, name="(file)", problems=str(exc))
            return
        policies = policies_for(self.path, self.config.getoption("--qpr-policies"))
        for s in scenarios:
            yield ScenarioItem.from_parent(self, name=s.name, scenario=s, policies=str(policies))


class ScenarioProblemItem(pytest.Item):
    def __init__(self, *, problems: str, **kw: Any) -> None:
        super().__init__(**kw)
        self.problems = problems

    def runtest(self) -> None:
        raise ScenarioFailure(self.problems)

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str:
        return str(excinfo.value)

    def reportinfo(self) -> tuple[Path, int, str]:
        return self.path, 0, f"{self.path.name}: scenario file"


class ScenarioFailure(Exception):
    pass


class ScenarioItem(pytest.Item):
    def __init__(self, *, scenario: LoadedScenario, policies: str, **kw: Any) -> None:
        super().__init__(**kw)
        self.scenario = scenario
        self.policies = policies

    def runtest(self) -> None:
        try:
            engine = _engine_for(self.config, self.policies)
        except PolicyError as exc:
            raise ScenarioFailure(f"the policies in {self.policies} do not load:\n{exc}") from None
        problems = check_references(engine, [self.scenario])
        if problems:
            raise ScenarioFailure("\n".join(map(str, problems)))
        result = run_scenario(engine, self.scenario)
        if result.mark_stale:
            raise ScenarioFailure(f"{self.scenario.file}:{self.scenario.line}: scenario "
                                  f"{self.scenario.name!r} {STALE_MARK}")
        if result.known_wrong:
            mark = self.scenario.scenario.known_wrong
            pytest.xfail(mark.reason if mark else "known wrong")
        if not result.passed:
            trace = render_trace(engine, result.decision) if result.decision else ""
            raise ScenarioFailure(
                f"{self.scenario.file}:{self.scenario.line}: scenario {self.scenario.name!r}\n  "
                + "\n  ".join(result.failures) + "\n\n" + trace
            )

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException],
                     style: Any = None) -> str | TerminalRepr:
        if isinstance(excinfo.value, ScenarioFailure):
            return str(excinfo.value)
        return super().repr_failure(excinfo)

    def reportinfo(self) -> tuple[Path, int, str]:
        return self.path, self.scenario.line - 1, f"scenario: {self.scenario.name}"


class CaseYamlFile(pytest.File):
    """A case scenario file (format qpr-rules/case-scenarios-v1): one item per case."""

    def collect(self) -> Iterator[pytest.Item]:
        try:
            cases = load_case_file(self.path)
        except PolicyError as exc:
            yield ScenarioProblemItem.from_parent(self, name="(file)", problems=str(exc))
            return
        policies = policies_for(self.path, self.config.getoption("--qpr-policies"))
        for s in cases:
            yield CaseItem.from_parent(self, name=s.name, case=s, policies=str(policies))


class CaseItem(pytest.Item):
    def __init__(self, *, case: LoadedCase, policies: str, **kw: Any) -> None:
        super().__init__(**kw)
        self.case = case
        self.policies = policies

    def runtest(self) -> None:
        try:
            engine = _engine(self.policies)
        except PolicyError as exc:
            raise ScenarioFailure(f"the policies in {self.policies} do not load:\n{exc}") from None
        problems = check_case_references(engine, [self.case])
        if problems:
            raise ScenarioFailure("\n".join(map(str, problems)))
        result = run_case(engine, self.case)
        if self.config.getoption("--qpr-cov") and result.case is not None:
            _coverage_data(self.config, self.policies).add_case(result.case)
        if result.mark_stale:
            raise ScenarioFailure(f"{self.case.file}:{self.case.line}: case {self.case.name!r} {STALE_MARK}")
        if result.known_wrong:
            mark = self.case.scenario.known_wrong
            pytest.xfail(mark.reason if mark else "known wrong")
        if not result.passed:
            raise ScenarioFailure(
                f"{self.case.file}:{self.case.line}: case {self.case.name!r}\n  "
                + "\n  ".join(result.failures) + "\n\n" + render_history(result))

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException],
                     style: Any = None) -> str | TerminalRepr:
        if isinstance(excinfo.value, ScenarioFailure):
            return str(excinfo.value)
        return super().repr_failure(excinfo)

    def reportinfo(self) -> tuple[Path, int, str]:
        return self.path, self.case.line - 1, f"case: {self.case.name}"
