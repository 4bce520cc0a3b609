"""Run scenario files against an engine; shared by `qpr-rules test` and the pytest plugin."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import ValidationError

from qpr_rules._suggest import did_you_mean
from qpr_rules.engine.decision import Decision
from qpr_rules.engine.engine import Engine
from qpr_rules.errors import PolicyError, Problem
from qpr_rules.policy.pydantic_errors import problems_from
from qpr_rules.scenarios.case_model import CASE_SCENARIO_FORMAT
from qpr_rules.scenarios.model import Expect, ExpectedObligation, Scenario, ScenarioFile
from qpr_rules.yaml_source import SourceMap, load_yaml_file


@dataclass(frozen=True)
class LoadedScenario:
    file: Path
    line: int
    index: int
    decision: str
    scenario: Scenario

    @property
    def name(self) -> str:
        return self.scenario.name


@dataclass
class ScenarioResult:
    """What a scenario got. `passed` means as expected: it passes, or it is marked `known_wrong`
    and the decision answered exactly the recorded wrong answer (`known_wrong`, with the
    mismatches in `wrong_as_recorded`). A mark on a scenario that now passes is `mark_stale`:
    not a pass, so that the mark is removed with the fix."""

    scenario: LoadedScenario
    decision: Decision | None
    failures: list[str] = field(default_factory=list)
    wrong_as_recorded: list[str] = field(default_factory=list)
    mark_stale: bool = False

    @property
    def passed(self) -> bool:
        return not self.failures and not self.mark_stale

    @property
    def known_wrong(self) -> bool:
        return self.passed and bool(self.wrong_as_recorded)


def policies_for(path: Path, override: str | None) -> Path:
    """The policy directory of a scenario file: the parent of its `tests/` ancestor."""
    if override:
        return Path(override)
    for parent in path.resolve().parents:
        if parent.name == "tests":
            return parent.parent
    return path.resolve().parent


def _yaml_files(paths: Iterable[Path | str]) -> list[Path]:
    out: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            out.extend(sorted(q for q in p.rglob("*.y*ml") if q.suffix in (".yaml", ".yml")))
        else:
            out.append(p)
    return out


_CASE_FORMAT_LINE = re.compile(r"^format:\s*[\"']?" + re.escape(CASE_SCENARIO_FORMAT), re.MULTILINE)


def is_case_file(path: Path) -> bool:
    """Whether a file declares the case scenario format (read from its head; a file that cannot
    be read is left to the decision scenarios' loader, which says why)."""
    try:
        with path.open(encoding="utf-8", errors="replace") as fh:
            head = fh.read(4000)
    except OSError:
        return False
    return _CASE_FORMAT_LINE.search(head) is not None


def scenario_files(paths: Iterable[Path | str]) -> list[Path]:
    """Decision scenario YAML files under paths (directories searched recursively); case
    scenario files (`case_scenario_files`) are left out."""
    return [p for p in _yaml_files(paths) if not is_case_file(p)]


def all_scenario_files(paths: Iterable[Path | str]) -> list[Path]:
    """Every scenario file under paths, decision and case scenarios alike, in path order."""
    return _yaml_files(paths)


def case_scenario_files(paths: Iterable[Path | str]) -> list[Path]:
    """Case scenario files (format qpr-rules/case-scenarios-v1) under paths."""
    return [p for p in _yaml_files(paths) if is_case_file(p)]


def load_scenario_file(path: Path) -> list[LoadedScenario]:
    """Parse and check one scenario file; PolicyError lists every problem with its position."""
    data, smap = load_yaml_file(path)
    if isinstance(data, dict) and data.get("format") == "qpr-rules/v1":
        raise PolicyError([smap.problem(("format",), "this is a policy file, not scenarios; check it with "
                                                     f"`qpr-rules validate {path}`")])
    if isinstance(data, dict) and data.get("format") == CASE_SCENARIO_FORMAT:
        raise PolicyError([smap.problem(("format",), "this is a case scenario file; load it with "
                                        "scenarios.case_runner.load_case_file")])
    try:
        parsed = ScenarioFile.model_validate(data)
    except ValidationError as exc:
        raise PolicyError(problems_from(exc, ScenarioFile, smap)) from None
    problems: list[Problem] = []
    out = []
    for i, sc in enumerate(parsed.scenarios):
        decision = sc.decision or parsed.decision
        if decision is None:
            problems.append(smap.problem(("scenarios", i), "no decision: set `decision:` on the "
                                         "scenario or at the top of the file"))
            continue
        out.append(LoadedScenario(path, smap.at(("scenarios", i))[0], i, decision, sc))
    if problems:
        raise PolicyError(problems)
    return out


def check_references(engine: Engine, scenarios: list[LoadedScenario],
                     smaps: dict[Path, SourceMap] | None = None) -> list[Problem]:
    """Problems with names a scenario uses: unknown decisions, rules, outcomes, roles."""
    problems = []
    for s in scenarios:
        def bad(msg: str, s: LoadedScenario = s) -> None:
            problems.append(Problem(str(s.file), s.line, 1, f"scenario {s.name!r}: {msg}"))

        if s.decision not in engine.decision_ids:
            bad(f"unknown decision {s.decision!r}{did_you_mean(s.decision, engine.decision_ids)}; "
                f"known: {', '.join(engine.decision_ids)}")
            continue
        spec = engine.spec(s.decision)
        rule_ids = [r.id for r in spec.rules]
        for rid in [*s.scenario.expect.fired, *s.scenario.expect.not_fired]:
            if rid not in rule_ids:
                bad(f"rule {rid!r} is not a rule of {s.decision}{did_you_mean(rid, rule_ids)}")
        wrong = s.scenario.known_wrong
        if wrong is not None and wrong.outcome not in spec.decision.outcomes:
            bad(f"known_wrong outcome {wrong.outcome!r} is not one of {spec.decision.outcomes}"
                f"{did_you_mean(wrong.outcome, spec.decision.outcomes)}")
        if s.scenario.expect.outcome not in spec.decision.outcomes:
            bad(f"outcome {s.scenario.expect.outcome!r} is not one of {spec.decision.outcomes}"
                f"{did_you_mean(s.scenario.expect.outcome, spec.decision.outcomes)}")
        clause_ids = [c.id for c in spec.file.policy.clauses]
        for cid in s.scenario.clauses:
            if cid not in clause_ids:
                bad(f"clause {cid!r} is not in {spec.file.path.name}{did_you_mean(cid, clause_ids)}")
    return problems


STALE_MARK = "passes now: remove the known_wrong mark"


def run_scenario(engine: Engine, s: LoadedScenario) -> ScenarioResult:
    """Decide the scenario's facts and compare with what it expects (and with its known_wrong
    mark: failing as expected only when the decision answers the recorded wrong answer)."""
    decision = engine.decide(s.decision, s.scenario.facts)
    failures = _mismatches(decision, s.scenario.expect)
    wrong = s.scenario.known_wrong
    if wrong is None:
        return ScenarioResult(s, decision, failures)
    if decision.status == "error":  # a facts or engine error is never the known wrong answer
        return ScenarioResult(s, decision, [
            f"marked known_wrong ({wrong.reason}) but the decision did not answer: "
            + "; ".join(decision.errors), *failures])
    if not failures:
        return ScenarioResult(s, decision, mark_stale=True)
    if decision.outcome != wrong.outcome:
        return ScenarioResult(s, decision, [
            f"outcome {decision.outcome!r} is neither the expected {s.scenario.expect.outcome!r} nor the "
            f"recorded wrong answer {wrong.outcome!r}", *failures])
    absent = [ob for ob in wrong.obligations if not _has_obligation(decision, ob)]
    if absent:  # the answer went wrong another way than the one recorded
        return ScenarioResult(s, decision, [
            "the recorded wrong answer " + repr(wrong.outcome) + " carries "
            + ", ".join(f"{ob.who}: {ob.do or '(any)'}" for ob in absent) + "; this answer does not",
            *failures])
    return ScenarioResult(s, decision, wrong_as_recorded=failures)


def _has_obligation(decision: Decision, ob: ExpectedObligation) -> bool:
    return any(o.who == ob.who and (ob.do is None or ob.do.lower() in o.do.lower())
               for o in decision.obligations)


def _mismatches(decision: Decision, exp: Expect) -> list[str]:
    failures = []
    if decision.outcome != exp.outcome:
        failures.append(f"outcome: expected {exp.outcome!r}, got {decision.outcome!r}")
    if exp.status and decision.status != exp.status:
        failures.append(f"status: expected {exp.status!r}, got {decision.status!r}")
    if exp.status != "error" and decision.status == "error":
        failures.append("the decision failed: " + "; ".join(decision.errors))
    fired = {r.id for r in decision.fired}
    for rid in exp.fired:
        if rid not in fired:
            failures.append(f"rule {rid} was expected to fire but did not")
    for rid in exp.not_fired:
        if rid in fired:
            failures.append(f"rule {rid} was expected not to fire but fired")
    for ob in exp.obligations or []:
        if not _has_obligation(decision, ob):
            failures.append(f"expected an obligation for {ob.who}"
                            + (f" containing {ob.do!r}" if ob.do else "") + ", got "
                            + (", ".join(f"{o.who}: {o.do}" for o in decision.obligations) or "none"))
    for text in exp.consequences or []:
        if not any(text.lower() in c.text.lower() for c in decision.consequences):
            failures.append(f"expected a consequence containing {text!r}, got "
                            + (", ".join(c.text for c in decision.consequences) or "none"))
    if exp.no_obligations and decision.obligations:
        failures.append("expected no obligations, got "
                        + ", ".join(f"{o.who}: {o.do}" for o in decision.obligations))
    return failures
