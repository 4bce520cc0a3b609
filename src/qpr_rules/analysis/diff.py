"""`qpr-rules diff OLD NEW`: what a revision of the policy set changes, and which answers move.

OLD and NEW are directories of policy files, or git revisions (`git:REV`, or any name that is
not a path), whose policy folder (`policies/`, or the project's, relative to the repository) is
exported to a temporary directory.
"""

from __future__ import annotations

import json
import subprocess
import tarfile
import tempfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from io import BytesIO
from pathlib import Path
from typing import Any

from qpr_rules.analysis.generate import sample
from qpr_rules.engine.batch import decide_pairs
from qpr_rules.engine.engine import Engine, Evaluator
from qpr_rules.errors import QprRulesError
from qpr_rules.policy.loader import PolicySet
from qpr_rules.scenarios.runner import load_scenario_file, scenario_files


class DiffError(QprRulesError):
    """A side of the diff could not be read."""


@dataclass
class Change:
    kind: str  # "decision", "rule", "clause", "parameter" or "condition"
    id: str
    change: str  # "added", "removed", "changed"
    details: list[str] = field(default_factory=list)


@dataclass
class Impact:
    decision: str
    cases: int
    changed: int  # cases whose outcome changes
    reasons_changed: int = 0  # cases with the same outcome but other rules fired or other duties
    example: dict[str, Any] | None = None
    old_outcome: str = ""
    new_outcome: str = ""


@dataclass(frozen=True)
class Side:
    """One side of a diff as the report names it: as given, the policies read, their digest."""

    given: str
    policies: str
    digest: str
    revision: str


@dataclass
class DiffReport:
    changes: list[Change]
    impacts: list[Impact]
    proofs: list[Any] = field(default_factory=list)  # semantic_diff.DecisionComparison, with --prove
    sides: tuple[Side, ...] = ()  # what was compared: old, then new
    notes: list[str] = field(default_factory=list)  # with --against: moves, mappings, what is not compared

    def to_json(self) -> str:
        from dataclasses import asdict

        return json.dumps({"old": asdict(self.sides[0]) if self.sides else None,
                           "new": asdict(self.sides[1]) if self.sides else None,
                           "changes": [asdict(c) for c in self.changes],
                           "impacts": [asdict(i) for i in self.impacts],
                           "proofs": [asdict(p) for p in self.proofs], "notes": self.notes},
                          indent=2, default=str)


def materialise(side: str, workdir: Path, repo: Path, folder: str = "policies") -> Path:
    """A directory holding the policies of side (a path, or a git revision of repo, whose
    policies are in folder, relative to the repository's top)."""
    path = Path(side)
    if not side.startswith("git:") and path.exists():
        return path
    rev = side.removeprefix("git:")
    if not rev or rev.startswith("-"):  # git would read it as an option (--output=FILE writes FILE)
        raise DiffError(f"{side!r} is neither a directory nor a git revision (a revision never "
                        "starts with -)")
    try:
        # the revision resolved to a commit first, then only its hash reaches `git archive`, and
        # the path after `--`: nothing given can be read as an option or a path outside policies/
        commit = subprocess.run(["git", "-C", str(repo), "rev-parse", "--verify", "--quiet",
                                 f"{rev}^{{commit}}"], check=True, capture_output=True,
                                text=True).stdout.strip()
        blob = subprocess.run(["git", "-C", str(repo), "archive", "--format=tar", commit, "--", folder],
                              check=True, capture_output=True).stdout
    except (subprocess.CalledProcessError, FileNotFoundError) as exc:
        stderr = getattr(exc, "stderr", b"") or b""
        stderr = stderr.decode(errors="replace") if isinstance(stderr, bytes) else stderr
        raise DiffError(f"{side!r} is neither a directory nor a git revision with {folder}/: "
                        f"{stderr.strip() or 'not a git revision'}") from None
    target = workdir / commit
    with tarfile.open(fileobj=BytesIO(blob)) as tar:
        tar.extractall(target, filter="data")
    return target / folder


def _decisions(engine: Engine) -> dict[str, dict[str, Any]]:
    return {d: engine.spec(d).decision.model_dump(mode="json") for d in engine.decision_ids}


def _rules(ps: PolicySet) -> dict[str, dict[str, Any]]:
    return {r.id: r.rule.model_dump(mode="json") for r in ps.rules()}


def _clauses(ps: PolicySet) -> dict[str, dict[str, Any]]:
    return {f"{f.policy.id}:{c.id}": c.model_dump(mode="json") for f in ps.files for c in f.policy.clauses}


def _parameters(ps: PolicySet) -> dict[str, dict[str, Any]]:
    return {f"{f.policy.id}:{name}": p.model_dump(mode="json")
            for f in ps.files for name, p in f.policy.parameters.items()}


def _conditions(ps: PolicySet) -> dict[str, dict[str, Any]]:
    return {f"{f.policy.id}:{name}": {"when": body}
            for f in ps.files for name, body in f.policy.conditions.items()}


def _compare(kind: str, old: dict[str, dict[str, Any]], new: dict[str, dict[str, Any]]) -> list[Change]:
    out = [Change(kind, k, "removed") for k in sorted(old.keys() - new.keys())]
    out += [Change(kind, k, "added") for k in sorted(new.keys() - old.keys())]
    for k in sorted(old.keys() & new.keys()):
        fields = [f"{name}: {json.dumps(old[k].get(name))} -> {json.dumps(new[k].get(name))}"
                  for name in sorted(set(old[k]) | set(new[k])) if old[k].get(name) != new[k].get(name)]
        if fields:
            out.append(Change(kind, k, "changed", fields))
    return out


def _corpus(engine: Engine, policy_dirs: list[Path], generated: int) -> dict[str, list[Any]]:
    cases: dict[str, list[Any]] = {d: [] for d in engine.decision_ids}
    for directory in policy_dirs:
        for path in scenario_files([directory / "tests"] if (directory / "tests").is_dir() else []):
            try:
                for s in load_scenario_file(path):
                    if s.decision in cases:
                        cases[s.decision].append(s.scenario.facts)
            except QprRulesError:
                continue
    for decision in cases:
        seed = zlib.crc32(decision.encode())  # stable across runs, unlike hash()
        cases[decision].extend(sample(engine.fact_model(decision), generated, seed=seed))
    return cases


def diff(old_side: str, new_side: str, repo: Path, generated: int = 200, prove: bool = False,
         evaluator: Evaluator = "durable", jobs: int = 1,
         progress: Callable[[int, int], None] | None = None, folder: str = "policies") -> DiffReport:
    """progress(cases done, cases in all) is called as the impact is computed; each side's
    answers come from the batch path (jobs worker processes per side). folder: where a git
    revision holds its policies, relative to the repository's top."""
    with tempfile.TemporaryDirectory() as tmp:
        old_dir = materialise(old_side, Path(tmp), repo, folder)
        new_dir = materialise(new_side, Path(tmp), repo, folder)
        old = Engine.load([old_dir], evaluator=evaluator)
        new = Engine.load([new_dir], evaluator=evaluator)
        changes = (_compare("decision", _decisions(old), _decisions(new))
                   + _compare("rule", _rules(old.policies), _rules(new.policies))
                   + _compare("clause", _clauses(old.policies), _clauses(new.policies))
                   + _compare("parameter", _parameters(old.policies), _parameters(new.policies))
                   + _compare("condition", _conditions(old.policies), _conditions(new.policies)))
        shared = sorted(set(old.decision_ids) & set(new.decision_ids))
        corpus = _corpus(new, [old_dir, new_dir], generated)
        pairs = [(decision, facts) for decision in shared for facts in corpus[decision]]
        by_decision = {decision: Impact(decision, 0, 0) for decision in shared}
        # both sides through the batch path: one pool of workers per side serves every decision
        answers = zip(decide_pairs(old, pairs, jobs), decide_pairs(new, pairs, jobs), strict=True)
        for done, ((decision, facts), (a, b)) in enumerate(zip(pairs, answers, strict=True), 1):
            if progress is not None and (done % 256 == 0 or done == len(pairs)):
                progress(done, len(pairs))
            impact = by_decision[decision]
            impact.cases += 1
            if a.outcome == b.outcome and (
                    {r.id for r in a.fired} != {r.id for r in b.fired} or a.obligations != b.obligations):
                impact.reasons_changed += 1
            if a.outcome != b.outcome:
                impact.changed += 1
                if impact.example is None:
                    impact.example, impact.old_outcome, impact.new_outcome = facts, a.outcome, b.outcome
        impacts = list(by_decision.values())
        proofs: list[Any] = []
        if prove:  # z3 only when asked
            from qpr_rules.analysis.semantic_diff import compare_sets

            proofs = list(compare_sets(old.policies, new.policies))
        sides = tuple(Side(given, str(d) if not given.startswith("git:") and Path(given).exists()
                           else f"{folder}/ at {given.removeprefix('git:')}", e.digest, e.policies.revision)
                      for given, d, e in ((old_side, old_dir, old), (new_side, new_dir, new)))
    return DiffReport(changes, impacts, proofs, sides)


def render_text(report: DiffReport) -> str:
    lines = [f"{name} policies {s.policies} (digest {s.digest[:16]})"
             for name, s in zip(("old", "new"), report.sides, strict=False)]
    if not report.changes:
        lines.append("no rule, clause or decision changed")
    for c in report.changes:
        sign = {"added": "+", "removed": "-", "changed": "~"}[c.change]
        lines.append(f"{sign} {c.kind} {c.id} ({c.change})")
        lines += [f"    {d}" for d in c.details]
    lines.append("")
    lines.append("impact (outcomes that change, over scenario facts and generated facts):")
    for i in report.impacts:
        if i.changed:
            lines.append(f"  {i.decision}: {i.changed} of {i.cases} cases change, e.g. {i.old_outcome} -> "
                         f"{i.new_outcome} for {json.dumps(i.example, default=str)}")
        else:
            lines.append(f"  {i.decision}: no outcome changes over {i.cases} cases")
        if i.reasons_changed:
            if i.reasons_changed == 1:
                what = "1 case keeps its outcome but fires other rules or carries"
            else:
                what = f"{i.reasons_changed} cases keep their outcome but fire other rules or carry"
            lines.append(f"    ({what} other obligations)")
    if report.notes:
        lines.append("")
        lines.append("across the revisions (each side run by its own code):")
        lines += [f"  {n}" for n in report.notes]
    if report.proofs:
        lines.append("")
        lines.append("proved by the solver, for every valid fact (outcomes only; lists of any length):")
    for p in report.proofs:
        if p.verdict == "same":
            lines.append(f"  {p.decision}: same answer for every valid fact")
        elif p.verdict == "different":
            lines.append(f"  {p.decision}: DIFFERENT, {p.message}, for {json.dumps(p.example, default=str)}")
        else:
            lines.append(f"  {p.decision}: {p.verdict}: {p.message}")
    return "\n".join(lines) + "\n"
