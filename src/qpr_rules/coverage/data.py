"""The coverage data: hit counts keyed on rule ids and condition paths, never on lines.

Every collector (scenario runs, the pytest plugin, decision logs) turns decisions into the same
records (`engine.decision_log.decision_record`) and adds them here. A condition path is where
an atomic condition sits in its rule's YAML, as keys and list indexes (`when.any.2`, or
`conditions.home-on-hold.all.0` for one reached through `{use: ...}`), so `qpr-rules fmt` and
any reflowing of a file leave it unchanged; lines are looked up only when a report is written.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from qpr_rules.engine.case import Case
from qpr_rules.engine.decision_log import READ_FORMATS
from qpr_rules.files import write_atomic
from qpr_rules.policy.conditions import Condition, atoms
from qpr_rules.policy.loader import CompiledRule, PolicySet

DATA_FORMAT = "qpr-rules/coverage-v1"


def condition_paths(rule: CompiledRule) -> list[tuple[str, Condition]]:
    """(path, atom) for each atomic condition of a rule, in the order the log records them."""
    out: list[tuple[str, Condition]] = []
    seen: Counter[str] = Counter()
    for atom in atoms(rule.condition):
        loc = atom.loc
        if len(loc) >= 2 and loc[0] == "rules" and loc[1] == rule.index:
            loc = loc[2:]
        path = ".".join(str(part) for part in loc)
        seen[path] += 1  # `within_days` gives two comparisons at one place; a named condition
        out.append((path if seen[path] == 1 else f"{path}#{seen[path]}", atom))  # may be used twice
    return out


@dataclass
class RuleHits:
    """A rule's counts. Each distinct combination of atom results seen ("0110") is counted once
    per decision, with the rule's result for it: one dictionary update per rule per decision,
    memory bounded by the combinations that occur (not by the decisions), and the per-atom true
    and false counts and the MC/DC pairs all follow from it."""

    paths: list[str]
    evaluated: int = 0
    fired: int = 0
    vectors: Counter[str] = field(default_factory=Counter)  # atom results -> decisions seen with them
    results: dict[str, bool] = field(default_factory=dict)  # atom results -> the rule's result

    def _count(self, value: str) -> Counter[str]:
        out: Counter[str] = Counter({p: 0 for p in self.paths})
        for b, n in self.vectors.items():
            for path, bit in zip(self.paths, b, strict=True):
                if bit == value:
                    out[path] += n
        return out

    @property
    def true(self) -> Counter[str]:
        """Condition path -> decisions in which that atom was true."""
        return self._count("1")

    @property
    def false(self) -> Counter[str]:
        """Condition path -> decisions in which that atom was false (an `x`, an atom that could
        not be evaluated, is neither)."""
        return self._count("0")


@dataclass
class CoverageData:
    """Hit counts for one policy set (its digest); records of another digest are counted apart."""

    digest: str
    paths: dict[str, list[str]]  # rule id -> condition paths, in atom order
    rules: dict[str, RuleHits] = field(default_factory=dict)
    decisions: Counter[str] = field(default_factory=Counter)  # decision id -> decisions seen
    errors: Counter[str] = field(default_factory=Counter)  # decision id -> answered with an error
    foreign: Counter[str] = field(default_factory=Counter)  # other policy digest -> records
    malformed: int = 0  # records that do not fit this policy set although their digest does
    # procedures (case scenarios): cases replayed, and per procedure the states entered (a leaf
    # and the parents it was not already in) and the transitions taken (by index in `transitions:`)
    cases: Counter[str] = field(default_factory=Counter)
    states: dict[str, Counter[str]] = field(default_factory=dict)
    transitions: dict[str, Counter[str]] = field(default_factory=dict)

    @classmethod
    def for_policies(cls, ps: PolicySet) -> CoverageData:
        paths = {r.id: [p for p, _ in condition_paths(r)] for r in ps.rules()}
        return cls(ps.digest, paths, {rid: RuleHits(p) for rid, p in paths.items()})

    def __post_init__(self) -> None:
        self._lengths = {rid: len(p) for rid, p in self.paths.items()}

    def add(self, record: Mapping[str, Any]) -> bool:
        """Count one decision record; False when it was counted apart (another digest, or a
        record that does not fit the policies)."""
        if record.get("digest") != self.digest:
            self.foreign[str(record.get("digest"))] += 1
            return False
        atoms_seen = record.get("atoms")
        fired = record.get("fired")
        version = record.get("v")
        if version not in READ_FORMATS or type(atoms_seen) is not dict or type(fired) is not list:
            self.malformed += 1
            return False
        allowed = "01" if version == 1 else "01x"  # v2 records an atom that could not be evaluated
        if not all(type(rid) is str for rid in fired):
            self.malformed += 1
            return False
        fired_set = set(fired)
        lengths = self._lengths
        for rid, b in atoms_seen.items():  # all checked before anything is counted
            if type(b) is not str or lengths.get(rid) != len(b) or b.strip(allowed):
                self.malformed += 1
                return False
        decision = str(record.get("decision"))
        self.decisions[decision] += 1
        if record.get("status") == "error":
            self.errors[decision] += 1
        rules = self.rules
        for rid, b in atoms_seen.items():
            hits = rules[rid]
            hits.evaluated += 1
            hits.vectors[b] += 1
            if b not in hits.results:  # a function of the atoms: the same every time
                hits.results[b] = rid in fired_set
        for rid in fired_set:
            if rid in atoms_seen:
                rules[rid].fired += 1
        return True

    def add_case(self, case: Case) -> None:
        """Count the states a replayed case entered (its initial state, and those a transition
        entered) and the transitions its events took; a departure takes none."""
        spec = case.spec
        states = self.states.setdefault(spec.id, Counter())
        taken = self.transitions.setdefault(spec.id, Counter())
        self.cases[spec.id] += 1
        states.update(spec.states[spec.initial_leaf].path)
        for step in case.steps:
            if step.transition is not None:
                taken[str(step.transition)] += 1
                # entered: the states the case is in now and was not in before (none on a stay)
                left = set(spec.states[step.before].path)
                states.update(sid for sid in spec.states[step.after].path if sid not in left)

    def add_all(self, records: Iterable[Mapping[str, Any]]) -> None:
        for r in records:
            self.add(r)

    # ------------------------------------------------------------ saved form (pytest --qpr-cov)

    def to_json(self) -> dict[str, Any]:
        return {
            "format": DATA_FORMAT, "digest": self.digest, "decisions": dict(self.decisions),
            "errors": dict(self.errors), "foreign": dict(self.foreign), "malformed": self.malformed,
            "rules": {rid: {"evaluated": h.evaluated, "fired": h.fired, "paths": h.paths,
                            "vectors": {b: [n, h.results[b]] for b, n in sorted(h.vectors.items())}}
                      for rid, h in sorted(self.rules.items())},
            "cases": dict(self.cases),
            "states": {p: dict(c) for p, c in sorted(self.states.items())},
            "transitions": {p: dict(c) for p, c in sorted(self.transitions.items())},
        }

    def merge_json(self, data: Any) -> None:
        """Add counts saved by to_json (of the same digest; another digest is counted apart).
        The whole file is checked before anything is added (ValueError naming the first thing
        wrong): a count is a whole number, never negative, and a vector has one 0, 1 or x per
        condition of its rule."""
        if not isinstance(data, dict) or data.get("format") != DATA_FORMAT:
            found = data.get("format") if isinstance(data, dict) else type(data).__name__
            raise ValueError(f"not a qpr-rules coverage data file (format {found!r})")
        _check_saved(data)
        if data["digest"] != self.digest:
            self.foreign[data["digest"]] += sum(data["decisions"].values())
            return
        self.decisions.update(data["decisions"])
        self.errors.update(data["errors"])
        self.foreign.update(data["foreign"])
        self.malformed += data["malformed"]
        self.cases.update(data.get("cases", {}))
        for key, mine_by in (("states", self.states), ("transitions", self.transitions)):
            for proc, counts in data.get(key, {}).items():
                mine_by.setdefault(proc, Counter()).update(counts)
        for rid, h in data["rules"].items():
            mine = self.rules.get(rid)
            if mine is None or h["paths"] != mine.paths:
                self.malformed += h["evaluated"]
                continue
            mine.evaluated += h["evaluated"]
            mine.fired += h["fired"]
            for b, (n, result) in h["vectors"].items():
                mine.vectors[b] += n
                mine.results.setdefault(b, result)

    def save(self, path: Path) -> None:
        write_atomic(path, json.dumps(self.to_json(), sort_keys=True))


def _count(value: Any, where: str) -> int:
    if type(value) is not int or value < 0:
        raise ValueError(f"{where}: {value!r} is not a count (a whole number, 0 or more)")
    return value


def _counts(value: Any, where: str) -> None:
    if not isinstance(value, dict):
        raise ValueError(f"{where}: expected an object of counts, got {type(value).__name__}")
    for key, n in value.items():
        _count(n, f"{where}.{key}")


def _check_saved(data: dict[str, Any]) -> None:
    """Raise ValueError unless data has the shape to_json gives (see merge_json)."""
    missing = [k for k in ("digest", "decisions", "errors", "foreign", "malformed", "rules") if k not in data]
    if missing:
        raise ValueError(f"missing {', '.join(missing)}")
    if type(data["digest"]) is not str:
        raise ValueError("digest: expected text")
    for key in ("decisions", "errors", "foreign"):
        _counts(data[key], key)
    _counts(data.get("cases", {}), "cases")  # absent from files saved before procedures were counted
    for key in ("states", "transitions"):
        by_procedure = data.get(key, {})
        if not isinstance(by_procedure, dict):
            raise ValueError(f"{key}: expected an object of procedures")
        for proc, counts in by_procedure.items():
            _counts(counts, f"{key}.{proc}")
    _count(data["malformed"], "malformed")
    if not isinstance(data["rules"], dict):
        raise ValueError("rules: expected an object")
    for rid, h in data["rules"].items():
        where = f"rules.{rid}"
        if not isinstance(h, dict) or set(h) != {"evaluated", "fired", "paths", "vectors"}:
            raise ValueError(f"{where}: expected evaluated, fired, paths and vectors")
        evaluated = _count(h["evaluated"], f"{where}.evaluated")
        if _count(h["fired"], f"{where}.fired") > evaluated:
            raise ValueError(f"{where}: fired more often than evaluated")
        paths = h["paths"]
        if not isinstance(paths, list) or not all(type(p) is str for p in paths):
            raise ValueError(f"{where}.paths: expected a list of condition paths")
        if not isinstance(h["vectors"], dict):
            raise ValueError(f"{where}.vectors: expected an object")
        total = 0
        for b, entry in h["vectors"].items():
            if len(b) != len(paths) or b.strip("01x"):
                raise ValueError(f"{where}.vectors: {b[:80]!r} is not one 0, 1 or x for each of the rule's "
                                 f"{len(paths)} condition(s)")
            if not isinstance(entry, list) or len(entry) != 2 or type(entry[1]) is not bool:
                raise ValueError(f"{where}.vectors.{b}: expected [count, result]")
            total += _count(entry[0], f"{where}.vectors.{b}")
        if total != evaluated:
            raise ValueError(f"{where}: the vectors count {total} decisions, evaluated says {evaluated}")
