"""Mutation coverage: run the scenarios on every rule mutant (analysis/mutants.py) and count the
mutants they kill. A mutant is killed when a scenario that passes on the policies fails on it;
a survivor is named with a scenario that would kill it (facts from the solver on which the
mutant answers otherwise, and what the policies answer there); a survivor the solver proves
indistinguishable on every valid fact is an equivalent mutant, listed with the proof and not
counted. The score is killed / (mutants - equivalent).

Mutants run on the compiled evaluator (the same answers as durable_rules, checked by
tests/test_evaluator_paths.py) and, with jobs > 1, spread over a pool of processes.
"""

from __future__ import annotations

import dataclasses
import multiprocessing
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from qpr_rules.analysis.mutants import Mutant, apply, mutants_of
from qpr_rules.coverage.data import condition_paths
from qpr_rules.engine.decision import Decision
from qpr_rules.engine.engine import Engine
from qpr_rules.errors import PolicyError, Problem
from qpr_rules.policy.loader import DecisionSpec, PolicySet, load_policy_set
from qpr_rules.scenarios.model import Scenario
from qpr_rules.scenarios.runner import LoadedScenario, check_references, load_scenario_file, run_scenario

Status = Literal["killed", "survived", "equivalent"]


@dataclass
class MutantResult:
    mutant: Mutant
    file: str  # the policy file of the rule
    line: int  # the line of the mutated atom, or of the rule
    status: Status
    killed_by: str = ""  # the first scenario that failed on it: FILE:LINE: NAME
    proof: str = ""  # equivalent: the solver's proof; survived: why no scenario is given, if none is
    scenario: dict[str, Any] | None = None  # survived: a scenario to add that would kill it

    @property
    def id(self) -> str:
        return self.mutant.id


@dataclass
class MutationRun:
    results: list[MutantResult] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)


def run_mutants(policy_paths: Sequence[Path], scenario_paths: Sequence[Path], jobs: int = 1,
                timeout_s: float = 10.0) -> MutationRun:
    """Every mutant of every rule against the scenario files given (their decisions' scenarios)."""
    ps = load_policy_set(list(policy_paths))
    mutants = [m for did in sorted(ps.decisions) for m in _mutants(ps.decisions[did])]
    args = [(list(policy_paths), list(scenario_paths), mutants[i::jobs], timeout_s) for i in range(jobs)]
    if jobs <= 1:
        done = [_run_chunk(args[0])]
    else:
        context = multiprocessing.get_context("spawn")  # as collect.py: no fork of native state
        with ProcessPoolExecutor(jobs, mp_context=context) as pool:
            done = list(pool.map(_run_chunk, [a for a in args if a[2]]))
    run = MutationRun()
    order = {m: i for i, m in enumerate(mutants)}
    for results, problems in done:
        run.results.extend(results)
        run.problems.extend(problems)
    run.results.sort(key=lambda r: order[r.mutant])
    run.problems = list(dict.fromkeys(run.problems))
    return run


def _mutants(spec: DecisionSpec) -> list[Mutant]:
    return mutants_of(spec, {r.id: [p for p, _ in condition_paths(r)] for r in spec.rules})


def _engine(ps: PolicySet, spec: DecisionSpec) -> Engine:
    """An engine answering only spec's decision, pinned to its version (a scenario dated under
    another version would otherwise be answered by that version's unmutated rules)."""
    engine = Engine(dataclasses.replace(ps, decisions={spec.decision.id: spec}), evaluator="compiled")
    engine.as_of = spec.file.policy.effective_from
    return engine


def _run_chunk(args: tuple[list[Path], list[Path], list[Mutant], float]
               ) -> tuple[list[MutantResult], list[Problem]]:
    policy_paths, scenario_files, mutants, timeout_s = args
    ps = load_policy_set(policy_paths)
    problems: list[Problem] = []
    scenarios: dict[str, list[LoadedScenario]] = {}
    probe = Engine(ps, evaluator="compiled")
    for path in scenario_files:
        try:
            loaded = load_scenario_file(path)
        except PolicyError as exc:
            problems.extend(exc.problems)
            continue
        for s in loaded:
            refs = check_references(probe, [s])
            if refs:
                problems.extend(refs)
            else:
                scenarios.setdefault(s.decision, []).append(s)
    baselines: dict[str, list[LoadedScenario]] = {}
    for did, spec in ps.decisions.items():
        engine = _engine(ps, spec)
        # only scenarios passing on the policies can kill: a failing one says nothing of a mutant
        baselines[did] = [s for s in scenarios.get(did, []) if run_scenario(engine, s).passed]
    return [_run_one(ps, m, baselines[m.decision], timeout_s) for m in mutants], problems


def _run_one(ps: PolicySet, m: Mutant, scenarios: list[LoadedScenario], timeout_s: float) -> MutantResult:
    spec = ps.decisions[m.decision]
    rule = next(r for r in spec.rules if r.id == m.rule)
    line = rule.line
    if m.atom >= 0:
        line = rule.file.smap.at(condition_paths(rule)[m.atom][1].loc)[0]
    result = MutantResult(m, str(rule.file.path), line, "survived")
    mutated = apply(spec, m)
    engine = _engine(ps, mutated)
    for s in scenarios:
        if not run_scenario(engine, s).passed:
            result.status = "killed"
            result.killed_by = f"{s.file}:{s.line}: {s.name}"
            return result
    # the solver (z3) is imported only for a mutant no scenario killed: `coverage` without
    # --mutants, and every command's import, stay free of it
    from qpr_rules.analysis.mutant_equivalence import prove_equivalent

    verdict = prove_equivalent(spec, mutated, timeout_s=timeout_s)
    if verdict.status == "equivalent":
        result.status = "equivalent"
        result.proof = verdict.proof
    elif verdict.facts is None:
        result.proof = f"no scenario found: {verdict.proof}"
    else:
        original = _engine(ps, spec).decide(m.decision, verdict.facts)
        changed = engine.decide(m.decision, verdict.facts)
        expect = expectation(original, changed)
        scenario = None if expect is None else {
            "name": f"{rule.rule.title} (kills mutant: {m.id})", "decision": m.decision,
            "facts": verdict.facts, "expect": expect}
        if scenario is not None and _kills(scenario, spec, _engine(ps, spec), engine):
            result.scenario = scenario
        else:
            result.proof = ("the solver's facts give answers that differ only in which rule carries the "
                            "same duty text, or in duties added beside the expected ones: no scenario "
                            "can tell them apart there")
    return result


def _kills(scenario: dict[str, Any], spec: DecisionSpec, original: Engine, mutant: Engine) -> bool:
    """The scenario passes on the policies and fails on the mutant (checked, not assumed)."""
    loaded = LoadedScenario(spec.file.path, 0, 0, spec.decision.id, Scenario.model_validate(scenario))
    return run_scenario(original, loaded).passed and not run_scenario(mutant, loaded).passed


def expectation(original: Decision, mutant: Decision) -> dict[str, Any] | None:
    """The `expect:` of a scenario that passes on original and fails on mutant (None when a
    scenario can tell them apart in nothing)."""
    out: dict[str, Any] = {"outcome": original.outcome}
    fired, fired_m = {r.id for r in original.fired}, {r.id for r in mutant.fired}
    if fired - fired_m:
        out["fired"] = sorted(fired - fired_m)
    if fired_m - fired:
        out["not_fired"] = sorted(fired_m - fired)
    if len(out) > 1:  # the rules fired tell them apart: the shortest scenario that kills
        return out
    duties = [(o.who, o.do) for o in original.obligations]
    if sorted(duties) != sorted((o.who, o.do) for o in mutant.obligations):
        if duties:
            out["obligations"] = [{"who": who, "do": do} for who, do in duties]
        else:
            out["no_obligations"] = True
    texts = [c.text for c in original.consequences]
    if sorted(texts) != sorted(c.text for c in mutant.consequences) and texts:
        out["consequences"] = texts
    if original.status != mutant.status:
        out["status"] = original.status
    same = (original.outcome == mutant.outcome and len(out) == 1)
    return None if same else out
