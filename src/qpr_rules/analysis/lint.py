"""`qpr-rules check`: everything `validate` does, plus lint findings an analyst should see.

Errors: the policy does not load, a scenario file is invalid or fails, a clause does not quote
its source, the source document is missing. Warnings: a source sentence no clause quotes and
that is not marked as not normative, a rule citing no clause, a computable clause no rule encodes, a rule that
no scenario makes fire (or that fires in every scenario, so its "not fired" side is untested), a
named condition no rule uses. Information: fact fields that no rule of a decision reads.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from qpr_rules.analysis.source_check import source_problems
from qpr_rules.engine.engine import Engine
from qpr_rules.errors import PolicyError, Problem
from qpr_rules.facts.paths import field_types
from qpr_rules.policy.conditions import fact_paths, raw_mappings
from qpr_rules.policy.fail_closed import decision_problems
from qpr_rules.policy.loader import LoadedFile, PolicySet
from qpr_rules.policy.procedures import dead_ends, unreachable_states, written_guards
from qpr_rules.scenarios.case_runner import check_case_references, load_case_file, run_case
from qpr_rules.scenarios.runner import (
    STALE_MARK,
    case_scenario_files,
    check_references,
    load_scenario_file,
    run_scenario,
    scenario_files,
)
from qpr_rules.yaml_source import Loc


@dataclass
class CheckReport:
    problems: list[Problem] = field(default_factory=list)
    scenarios_run: int = 0
    digest: str | None = None  # the checked policies' digest (None when they did not load)

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "warning"]

    @property
    def infos(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "info"]


def _warn(file: LoadedFile, loc: Loc, code: str, message: str) -> Problem:
    line, col = file.smap.at(loc)
    return Problem(file.smap.file, line, col, message, code, "warning")


def check(paths: Sequence[Path], sources: Path | None = None) -> CheckReport:
    """Load the policies in paths, run their scenarios (<dir>/tests), and lint them."""
    report = CheckReport()
    try:
        engine = Engine.load(list(paths))
    except PolicyError as exc:
        report.problems.extend(exc.problems)
        return report
    ps = engine.policies
    report.digest = ps.digest
    _lint_traceability(ps, report)
    _lint_fail_closed(ps, report)
    _lint_unread_facts(ps, report)
    _lint_sources(ps, sources, report)
    _lint_scenarios(engine, paths, report)
    _lint_static(ps, report)
    _lint_procedures(ps, report)
    report.problems.sort(key=lambda p: (p.file, p.line, p.column, p.code))
    return report


def _lint_procedures(ps: PolicySet, report: CheckReport) -> None:
    """A procedure's states that no event can reach, and states with no way out that are not
    final (a case would stay there for ever, owing its duties)."""
    for spec in ps.procedures.values():
        for state in unreachable_states(spec):
            report.problems.append(_warn(spec.file, (*state.loc, "id"), "state-unreachable",
                                         f"state {state.id} of {spec.id} is reached by no transition "
                                         f"from {spec.procedure.initial}; add a transition into it or "
                                         "remove it"))
        for state in dead_ends(spec):
            report.problems.append(_warn(spec.file, (*state.loc, "id"), "state-without-exit",
                                         f"state {state.id} of {spec.id} has no transition out and is "
                                         "not final; add the transitions that leave it, or mark it "
                                         "`final: true`"))


def _lint_fail_closed(ps: PolicySet, report: CheckReport) -> None:
    """Warnings of policy/fail_closed.py (its errors already stop the load)."""
    for spec in ps.decisions.values():
        index = spec.file.policy.decisions.index(spec.decision)
        for where, message, severity in decision_problems(spec.decision, spec.fact_model, spec.rules):
            if severity == "warning":
                report.problems.append(_warn(spec.file, ("decisions", index, where), "decision-without-rules",
                                             message))


def _lint_traceability(ps: PolicySet, report: CheckReport) -> None:
    for f in ps.files:
        cited = {c for r in f.policy.rules for c in r.clauses}
        cited |= {ob.clause for r in f.policy.rules for ob in r.obligations if ob.clause}
        cited |= {c for p in f.policy.parameters.values() for c in p.clauses}
        for i, rule in enumerate(f.policy.rules):
            if not rule.clauses:
                report.problems.append(_warn(f, ("rules", i, "id"), "rule-without-clause",
                                             f"rule {rule.id} cites no clause; add `clauses: [...]` naming "
                                             "the sentences it encodes"))
        used = _used_conditions([*(r.when for r in f.policy.rules),
                                 *(c for i in f.policy.invariants for c in (i.when, i.then)),
                                 *(g for proc in f.policy.procedures for g in written_guards(proc))],
                                f.policy.conditions)
        for name in f.policy.conditions:
            if name not in used:
                message = (f"condition {name} is used by no rule (and so not type-checked); "
                           f"use it with `{{use: {name}}}` or remove it")
                report.problems.append(_warn(f, ("conditions", name, "__key__"), "condition-unused",
                                             message))
        for i, clause in enumerate(f.policy.clauses):
            if clause.computable and clause.id not in cited:
                report.problems.append(_warn(f, ("clauses", i, "id"), "clause-not-encoded",
                                             f"computable clause {clause.id} is encoded by no rule; write a "
                                             "rule citing it, or set `computable: false` with a `reason`"))


def _leaf_paths(model: type[BaseModel], prefix: str = "") -> list[str]:
    out: list[str] = []
    for name, (ft, _) in field_types(model).items():
        if ft.kind == "object" and ft.model is not None:
            out.extend(_leaf_paths(ft.model, f"{prefix}{name}."))
        else:
            out.append(f"{prefix}{name}")
    return out


def _lint_unread_facts(ps: PolicySet, report: CheckReport) -> None:
    """Info: fact fields no rule of a decision reads (for a crosswalk such as the practice
    model's, an indicator that no belief maps to)."""
    for spec in ps.decisions.values():
        read = set().union(*(fact_paths(r.condition) for r in spec.rules)) if spec.rules else set()
        unread = [p for p in _leaf_paths(spec.fact_model)
                  if not any(p == q or p.startswith(q + ".") or q.startswith(p + ".") for q in read)]
        if unread:
            i = spec.file.policy.decisions.index(spec.decision)
            line, col = spec.file.smap.at(("decisions", i, "id"))
            report.problems.append(Problem(
                spec.file.smap.file, line, col,
                f"no rule of {spec.decision.id} reads: {', '.join(unread)}", "fact-field-unread", "info"))


def _lint_static(ps: PolicySet, report: CheckReport) -> None:
    """The solver's static checks (analysis/static_checks.py): dead and shadowed rules are warnings;
    conflicts (one note per decision, with the count), the default's region and disabling
    defaults are notes."""
    from qpr_rules.analysis.static_checks import Finding, check_all

    findings = check_all(ps.decisions, examples="first")  # one note per decision: its first pair
    conflicts: dict[str, list[Finding]] = {}
    for finding in findings:
        if finding.kind == "conflict":
            conflicts.setdefault(finding.decision, []).append(finding)
    for finding in findings:
        message = finding.message
        if finding.kind == "conflict":
            pairs = conflicts[finding.decision]
            if finding is not pairs[0]:
                continue
            message = (f"{len(pairs)} pair(s) of rules with different outcomes fire together, e.g. "
                       f"{message} (`qpr-rules prove --conflicts` lists them with examples)")
        spec = ps.decisions[finding.decision]
        if finding.rules:
            rule = finding.rules[0]
            file, loc = rule.file, ("rules", rule.index, "id")
        else:
            file, loc = spec.file, ("decisions", spec.file.policy.decisions.index(spec.decision), "id")
        line, col = file.smap.at(loc)
        report.problems.append(Problem(file.smap.file, line, col, message, finding.kind, finding.severity))


def _used_conditions(bodies: Sequence[Any], named: dict[str, Any]) -> set[str]:
    """Names reachable through `{use: NAME}` from the rules' (and invariants') conditions."""
    return {name for node in raw_mappings(bodies, named)
            if isinstance(name := node.get("use"), str) and name in named}


def _lint_sources(ps: PolicySet, sources: Path | None, report: CheckReport) -> None:
    for f in ps.files:
        report.problems.extend(source_problems(f, sources))


def _lint_cases(engine: Engine, dirs: Sequence[Path], report: CheckReport) -> None:
    """Case scenario files: a file that does not load, a name that does not exist or a case that
    fails is an error, as for the decision scenarios (docs/procedure.md)."""
    for path in case_scenario_files(dirs):
        try:
            cases = load_case_file(path)
        except PolicyError as exc:
            report.problems.extend(exc.problems)
            continue
        for s in cases:
            refs = check_case_references(engine, [s])
            report.problems.extend(refs)
            result = None if refs else run_case(engine, s)
            if result is None:
                continue
            if result.mark_stale:  # a warning: `check --strict` refuses it, like a strict xfail
                report.problems.append(Problem(str(path), s.line, 1, f"case {s.name!r} {STALE_MARK}",
                                               "known-wrong-passes", "warning"))
            elif result.known_wrong:
                mark = s.scenario.known_wrong
                report.problems.append(Problem(
                    str(path), s.line, 1, f"case {s.name!r} is known wrong"
                    + (f" ({mark.reason})" if mark else "") + ": " + "; ".join(result.wrong_as_recorded),
                    "scenario-known-wrong", "info"))
            elif not result.passed:
                report.problems.append(Problem(str(path), s.line, 1, f"case {s.name!r} fails: "
                                               + "; ".join(result.failures), "scenario-failed"))


def _lint_scenarios(engine: Engine, paths: Sequence[Path], report: CheckReport) -> None:
    dirs = {(p if p.is_dir() else p.parent) / "tests" for p in paths}
    files = scenario_files([d for d in sorted(dirs) if d.is_dir()])
    fired: set[str] = set()
    not_fired: set[str] = set()
    for path in files:
        try:
            scenarios = load_scenario_file(path)
        except PolicyError as exc:
            report.problems.extend(exc.problems)
            continue
        for s in scenarios:
            refs = check_references(engine, [s])
            if refs:
                report.problems.extend(refs)
                continue
            result = run_scenario(engine, s)
            report.scenarios_run += 1
            if result.mark_stale:  # a warning: `check --strict` refuses it, like a strict xfail
                report.problems.append(Problem(str(path), s.line, 1, f"scenario {s.name!r} {STALE_MARK}",
                                               "known-wrong-passes", "warning"))
            elif result.known_wrong:
                mark = s.scenario.known_wrong
                report.problems.append(Problem(
                    str(path), s.line, 1, f"scenario {s.name!r} is known wrong"
                    + (f" ({mark.reason})" if mark else "") + ": " + "; ".join(result.wrong_as_recorded),
                    "scenario-known-wrong", "info"))
            elif not result.passed:
                report.problems.append(Problem(str(path), s.line, 1, f"scenario {s.name!r} fails: "
                                               + "; ".join(result.failures), "scenario-failed"))
            if result.decision is not None and result.decision.status != "error":
                fired |= {r.id for r in result.decision.fired}
                not_fired |= {r.id for r in result.decision.not_fired}
    _lint_cases(engine, [d for d in sorted(dirs) if d.is_dir()], report)
    for rule in engine.policies.rules():
        loc = ("rules", rule.index, "id")
        if rule.id not in fired:
            report.problems.append(_warn(rule.file, loc, "rule-never-fires",
                                         f"no scenario makes rule {rule.id} fire; add one under tests/"))
        elif rule.id not in not_fired:
            report.problems.append(_warn(rule.file, loc, "rule-always-fires",
                                         f"rule {rule.id} fires in every scenario of its decision; add one "
                                         "where it does not"))
