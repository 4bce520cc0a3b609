"""`qpr-rules diff --against REV[:PATH] [NEW]`: compare across a fact-schema change.

The old side runs from its own revision: REV is checked out in a temporary git worktree and a
subprocess runs analysis/revision_side.py with that worktree's `src/` first on the path, so the
old policies load with the old fact models. It answers its own scenarios and facts generated
for its own schema; the new side answers those facts as they are when they still validate, or
mapped by a documented mapping (facts/mappings.py). The new side's cases go the other way, as
they are or mapped back. What neither can carry is reported as not compared.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import tempfile
import zlib
from collections import Counter
from pathlib import Path
from typing import Any

from qpr_rules.analysis import revision_side
from qpr_rules.analysis.diff import (
    DiffError,
    DiffReport,
    Impact,
    _clauses,
    _compare,
    _conditions,
    _decisions,
    _parameters,
    _rules,
)
from qpr_rules.analysis.generate import sample
from qpr_rules.engine.engine import Engine
from qpr_rules.errors import QprRulesError
from qpr_rules.facts.mappings import mappings_for
from qpr_rules.scenarios.runner import load_scenario_file, scenario_files


def _git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True,
                          text=True).stdout.strip()


def _commit(repo: Path, rev: str) -> str:
    if not rev or rev.startswith("-"):  # git would read it as an option
        raise DiffError(f"{rev!r} is not a git revision (a revision never starts with -)")
    try:
        return _git(repo, "rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}")
    except (subprocess.CalledProcessError, FileNotFoundError):
        raise DiffError(f"{rev!r} is not a git revision of {repo}") from None


_answer = revision_side._answer  # the same answer shape on both sides, through JSON


def _new_corpus(engine: Engine, policies: Path, generated: int) -> dict[str, list[Any]]:
    cases: dict[str, list[Any]] = {d: [] for d in engine.decision_ids}
    tests = policies / "tests"
    for path in scenario_files([tests] if tests.is_dir() else []):
        try:
            for s in load_scenario_file(path):
                if s.decision in cases:
                    cases[s.decision].append(s.scenario.facts)
        except QprRulesError:
            continue
    for d in cases:
        cases[d].extend(sample(engine.fact_model(d), generated, seed=zlib.crc32(d.encode())))
    return cases


def _valid(engine: Engine, decision: str, facts: Any) -> bool:
    try:
        engine.fact_model(decision).model_validate(facts)
    except Exception:  # invalid for this schema (pydantic's error, or a mapping's)
        return False
    return True


def _forward(engine: Engine, decision: str, facts: Any) -> tuple[Any, str] | None:
    """facts (old schema) as the new schema takes them: as given, or by a documented mapping."""
    if _valid(engine, decision, facts):
        return facts, ""
    for m in mappings_for(engine.spec(decision).decision.facts):
        try:
            mapped = m.forward(facts)
        except (ValueError, TypeError, KeyError):
            continue
        if _valid(engine, decision, mapped):
            return mapped, m.name
    return None


def run_old_side(worktree: Path, policies: Path, generated: int,
                 ask: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    src = str(worktree / "src")
    env = {**os.environ, "PYTHONPATH": src + os.pathsep + os.environ.get("PYTHONPATH", "")}
    request = json.dumps({"src": src, "policies": str(policies), "generated": generated, "ask": ask},
                         default=str)
    code = Path(revision_side.__file__).read_text(encoding="utf-8")
    proc = subprocess.run([sys.executable, "-c", code], input=request, capture_output=True, text=True,
                          cwd=str(worktree), env=env)
    if proc.returncode != 0:
        last = (proc.stderr.strip().splitlines() or proc.stdout.strip().splitlines() or ["no output"])[-1]
        raise DiffError(f"the old side ({policies}) could not be run by its own revision: {last}")
    try:
        result: dict[str, Any] = json.loads(proc.stdout)
    except json.JSONDecodeError:
        raise DiffError("the old side's answer was not JSON") from None
    return result


def diff_against(rev_spec: str, new_dir: Path, repo: Path, generated: int = 200) -> DiffReport:
    rev, _, inside = rev_spec.partition(":")
    top = Path(_git(repo, "rev-parse", "--show-toplevel")) if rev else repo
    commit = _commit(repo, rev)
    if not inside:
        try:
            inside = str(new_dir.resolve().relative_to(top.resolve()))
        except ValueError:
            inside = "policies"
    new = Engine.load([new_dir])
    new_cases = _new_corpus(new, new_dir, generated)
    with tempfile.TemporaryDirectory() as tmp:
        worktree = Path(tmp) / "old"
        try:
            _git(repo, "worktree", "add", "--detach", "--quiet", str(worktree), commit)
        except subprocess.CalledProcessError as exc:
            raise DiffError(f"could not check out {rev!r} in a worktree: {exc.stderr.strip()}") from None
        try:
            old_policies = worktree / inside
            if not old_policies.is_dir():
                raise DiffError(f"{rev!r} has no policy directory {inside}")
            ask: dict[str, list[dict[str, Any]]] = {}
            for d, cases in new_cases.items():
                backs = [m.backward for m in mappings_for(new.spec(d).decision.facts) if m.backward]
                ask[d] = []
                for f in cases:
                    candidates = [f]
                    for b in backs:
                        with contextlib.suppress(ValueError, TypeError, KeyError):
                            candidates.append(b(f))
                    ask[d].append({"facts": candidates, "raw": not _valid(new, d, f)})
            old = run_old_side(worktree, old_policies, generated, ask)
        finally:
            subprocess.run(["git", "-C", str(repo), "worktree", "remove", "--force", str(worktree)],
                           capture_output=True)
    return _report(old, new, new_cases)


def _report(old: dict[str, Any], new: Engine, new_cases: dict[str, list[Any]]) -> DiffReport:
    ps = new.policies
    changes = (_compare("decision", {d: v["spec"] for d, v in old["decisions"].items()}, _decisions(new))
               + _compare("rule", old["rules"], _rules(ps)) + _compare("clause", old["clauses"], _clauses(ps))
               + _compare("parameter", old["parameters"], _parameters(ps))
               + _compare("condition", old["conditions"], _conditions(ps)))
    impacts: list[Impact] = []
    notes: list[str] = []
    for d in sorted(set(old["decisions"]) | set(new.decision_ids)):
        if d not in old["decisions"] or d not in new.decision_ids:
            side = "the new" if d in new.decision_ids else "the old"
            notes.append(f"{d}: only in {side} revision, not compared")
            continue
        if old["decisions"][d]["facts"] != new.spec(d).decision.facts:
            notes.append(f"{d}: the fact type changed ({old['decisions'][d]['facts']} -> "
                         f"{new.spec(d).decision.facts}), not compared")
            continue
        impact, moves = Impact(d, 0, 0), Counter[tuple[str, str]]()
        unmapped = unstated = 0
        used: set[str] = set()
        pairs: list[tuple[Any, dict[str, Any], dict[str, Any]]] = []
        for case in old["cases"][d]:
            forward = (case["facts"], "") if not case.get("valid", True) else _forward(new, d, case["facts"])
            if forward is None:
                unmapped += 1
                continue
            facts, mapping = forward
            if mapping:
                used.add(mapping)
            pairs.append((facts, case["answer"], _answer(new.decide(d, facts))))
        for facts, a in zip(new_cases[d], old["answers"][d], strict=True):
            if a is None:
                unstated += 1
                continue
            pairs.append((facts, a, _answer(new.decide(d, facts))))
        for facts, a, b in pairs:
            impact.cases += 1
            if a["outcome"] != b["outcome"]:
                impact.changed += 1
                moves[(a["outcome"], b["outcome"])] += 1
                if impact.example is None:
                    impact.example, impact.old_outcome, impact.new_outcome = facts, a["outcome"], b["outcome"]
            elif a["fired"] != b["fired"] or a["obligations"] != b["obligations"]:
                impact.reasons_changed += 1
        impacts.append(impact)
        for (before, after), n in sorted(moves.items()):
            notes.append(f"{d}: {n} case(s) {before} -> {after}")
        new_fields, old_fields = revision_side.field_paths(new.fact_model(d)), old["decisions"][d]["fields"]
        added = [p for p in new_fields if p not in old_fields]
        removed = [p for p in old_fields if p not in new_fields]
        if used:
            notes.append(f"{d}: old cases mapped by {', '.join(sorted(used))} (facts/mappings.py)")
        if added:
            notes.append(f"{d}: not compared: what the old schema cannot state ({', '.join(added)}); "
                         "old cases leave it unsaid")
        if removed:
            notes.append(f"{d}: fields the new schema dropped: {', '.join(removed)}")
        if unmapped:
            notes.append(f"{d}: not compared: {unmapped} old case(s) invalid in the new schema, "
                         "no documented mapping")
        if unstated:
            notes.append(f"{d}: not compared: {unstated} new case(s) the old schema cannot state")
    report = DiffReport(changes, impacts)
    report.notes = notes
    return report
