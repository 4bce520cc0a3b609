"""What every reporter shows, computed once: coverage of rules, conditions, clauses and source
sentences per policy file, with the lines of the YAML looked up here and nowhere earlier.

Definitions (docs/audit.md explains them for auditors):
- a rule has two sides: fired at least once, and evaluated without firing at least once;
- an atomic condition has two sides: seen true and seen false (every atom is evaluated, no
  short-circuit); with MC/DC, an atom is covered by a pair of recorded cases that differ in that
  atom alone and give the rule different results;
- a computable clause is covered when a rule that encodes it (cites it, imposes an obligation
  under it, or reads a parameter that cites it) has fired; non-computable clauses are listed with
  their reasons and not counted;
- a source sentence is indexed when a clause quotes it or the policy marks it not normative;
- a procedure's state is covered when a case scenario's case entered it (every case starts in
  the initial state; a compound state is entered with the first of its states), and a
  transition when an event of a case scenario took it;
- with mutants (`coverage run --mutants`), a rule mutant is killed when a scenario that passes
  on the policies fails on it; equivalent mutants (proved by the solver) are not counted.

Every format calls the levels by the same names (LEVELS): rules, conditions, clauses, sentences.
The sentence level was once called `sources`; `--require sources=N` is still read (LEVEL_ALIASES).
Every report names what it is about (About): the policies' directory, digest and revision, when it
was generated and by which command, so that a filed report can be tied to the policies it judged.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from qpr_rules.analysis.source_check import document_path, read_document, sentence_index
from qpr_rules.coverage.data import CoverageData, condition_paths
from qpr_rules.coverage.mutation import MutantResult
from qpr_rules.errors import PolicyError, Problem
from qpr_rules.files import shown_path
from qpr_rules.policy.conditions import raw_mappings, render
from qpr_rules.policy.loader import CompiledRule, LoadedFile, PolicySet
from qpr_rules.policy.sources import read_index, sources_dir

LEVELS = ("rules", "conditions", "clauses", "sentences")
# a procedure's states entered and transitions taken, counted from case scenarios: shown when
# case scenarios ran (`coverage run` on policies with procedures, or data that counted cases)
PROCEDURE_LEVELS = ("states", "transitions")
LEVEL_ALIASES = {"sources": "sentences"}  # the sentence level's old name, still accepted by --require


@dataclass(frozen=True)
class About:
    """What a report is about and where it came from: printed at the top of every format."""

    policies: str  # the policy directories (or files), as resolved
    digest: str
    revision: str
    generated: str  # ISO 8601, UTC
    command: str  # the command line that made the report

    @classmethod
    def now(cls, ps: PolicySet, command: str) -> About:
        when = dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")
        parents = {Path(p).parent for p in ps.paths}  # the policy directory, not its five files
        where = shown_path(parents.pop()) if len(parents) == 1 else ", ".join(map(shown_path, ps.paths))
        return cls(where, ps.digest, ps.revision, when, command)

    def lines(self) -> list[str]:
        """The header as lines of text (the text report, and comments in lcov and Cobertura)."""
        return [f"policies {self.policies} (digest {self.digest[:16]}, revision {self.revision})",
                f"generated {self.generated} by `{self.command}`"]


@dataclass
class AtomCov:
    path: str
    line: int
    text: str
    true: int
    false: int
    pair: tuple[str, str] | None = None  # MC/DC: two atom vectors showing this atom's effect
    probe: tuple[int, int] | None = None  # (true, false) over generated facts, with --probe

    @property
    def covered(self) -> bool:
        return self.true > 0 and self.false > 0


@dataclass
class RuleCov:
    id: str
    title: str
    decision: str
    line: int
    evaluated: int
    fired: int
    atoms: list[AtomCov]
    probe: tuple[int, int] | None = None  # (fired, not fired) over generated facts, with --probe

    @property
    def not_fired(self) -> int:
        return self.evaluated - self.fired

    @property
    def covered(self) -> bool:
        return self.fired > 0 and self.not_fired > 0


@dataclass
class ClauseCov:
    id: str
    line: int
    section: str
    text: str
    computable: bool
    reason: str | None
    rules: list[str]
    covered: bool


@dataclass
class SentenceCov:
    line: int
    text: str
    status: str  # quoted, not-normative, unindexed
    clauses: list[str]
    reason: str | None


@dataclass
class StateCov:
    procedure: str
    id: str
    line: int
    title: str
    entered: int  # times a case scenario's case entered it (starting in it counts)


@dataclass
class TransitionCov:
    procedure: str
    index: int  # 0-based in the procedure's `transitions:`
    line: int
    text: str  # "from --event [guard]--> to"
    clause: str
    taken: int


@dataclass
class Ratio:
    hit: int = 0
    total: int = 0

    @property
    def percent(self) -> float:
        return 100.0 * self.hit / self.total if self.total else 100.0

    def __iadd__(self, other: Ratio) -> Ratio:
        self.hit += other.hit
        self.total += other.total
        return self


@dataclass
class FileCov:
    path: str
    policy: str
    title: str
    document: str
    document_path: str
    document_title: str  # the title sources/index.yaml gives the document (else its file name)
    rules: list[RuleCov]
    clauses: list[ClauseCov]
    sentences: list[SentenceCov]
    mutants: list[MutantResult] = field(default_factory=list)  # with --mutants, this file's rules'
    states: list[StateCov] = field(default_factory=list)  # of this file's procedures
    transitions: list[TransitionCov] = field(default_factory=list)

    def ratio(self, level: str) -> Ratio:
        if level == "rules":
            return Ratio(sum((r.fired > 0) + (r.not_fired > 0) for r in self.rules), 2 * len(self.rules))
        if level == "conditions":
            return Ratio(sum((a.true > 0) + (a.false > 0) for r in self.rules for a in r.atoms),
                         2 * sum(len(r.atoms) for r in self.rules))
        if level == "clauses":
            computable = [c for c in self.clauses if c.computable]
            return Ratio(sum(c.covered for c in computable), len(computable))
        if level == "sentences":
            return Ratio(sum(s.status != "unindexed" for s in self.sentences), len(self.sentences))
        if level == "states":
            return Ratio(sum(st.entered > 0 for st in self.states), len(self.states))
        if level == "transitions":
            return Ratio(sum(t.taken > 0 for t in self.transitions), len(self.transitions))
        if level == "mcdc":
            return Ratio(sum(a.pair is not None for r in self.rules for a in r.atoms),
                         sum(len(r.atoms) for r in self.rules))
        if level == "mutants":  # the score: killed of those a scenario can kill
            return Ratio(sum(m.status == "killed" for m in self.mutants),
                         sum(m.status != "equivalent" for m in self.mutants))
        raise ValueError(f"unknown coverage level {level!r}")

    def equivalent(self) -> list[str]:
        """The mutants no scenario can kill, each with the solver's proof."""
        name = Path(self.path).name
        return [f"{name}:{m.line}: {m.id}: {m.proof}" for m in self.mutants if m.status == "equivalent"]

    def missing(self, level: str) -> list[str]:
        """What is not covered at a level, named (and where), for the reports and --fail-under."""
        name = Path(self.path).name
        if level == "rules":
            return [f"{name}:{r.line}: {r.id} "
                    + ("never fires" if not r.fired else "never evaluated without firing")
                    + _reach(r.probe, not r.fired, not r.not_fired)
                    for r in self.rules if not r.covered]
        if level == "conditions":
            return [f"{name}:{a.line}: {r.id} [{a.path}] {a.text}: never "
                    + ("true" if not a.true else "false")
                    + (" nor false" if not a.true and not a.false else "")
                    + _reach(a.probe, not a.true, not a.false)
                    for r in self.rules for a in r.atoms if not a.covered]
        if level == "clauses":
            return [f"{name}:{c.line}: clause {c.id}: " + (
                "encoded by no rule" if not c.rules else f"no rule encoding it fired ({', '.join(c.rules)})")
                for c in self.clauses if c.computable and not c.covered]
        if level == "sentences":
            return [f"{self.document_title}, line {s.line}: {s.text}" for s in self.sentences
                    if s.status == "unindexed"]
        if level == "states":
            return [f"{name}:{st.line}: {st.procedure} state {st.id} ({st.title}): no case scenario "
                    "reaches it" for st in self.states if not st.entered]
        if level == "transitions":
            return [f"{name}:{t.line}: {t.procedure} transition {t.index + 1} ({t.clause}) {t.text}: "
                    "no case scenario takes it" for t in self.transitions if not t.taken]
        if level == "mcdc":
            return [f"{name}:{a.line}: {r.id} [{a.path}] {a.text}: no pair of cases shows it alone "
                    "changing the rule's result" for r in self.rules for a in r.atoms if a.pair is None]
        if level == "mutants":
            return [f"{name}:{m.line}: {m.id} survives: " + (
                f"add a scenario: {scenario_text(m.scenario)}" if m.scenario else m.proof)
                for m in self.mutants if m.status == "survived"]
        raise ValueError(f"unknown coverage level {level!r}")


def _reach(probe: tuple[int, int] | None, first: bool, second: bool) -> str:
    """What generated facts say about the missing sides (with --probe)."""
    if probe is None:
        return ""
    sides = [n for n, missing in zip(probe, (first, second), strict=True) if missing]
    if all(sides):
        return " (reachable: generated facts reach it, so a scenario is missing)"
    return " (not reached by the generated facts either: perhaps unreachable; prove it, or write a case)"


@dataclass
class CoverageReport:
    files: list[FileCov]
    decisions: int
    errors: int
    foreign: dict[str, int]
    malformed: int
    mcdc: bool = False
    about: About | None = None  # None only for reports built without a command (library callers)
    mutation: bool = False  # mutants were run (`coverage run --mutants`)
    procedures: bool = False  # states and transitions are shown (case scenarios ran)
    cases: int = 0  # case scenarios counted

    @property
    def counted_levels(self) -> tuple[str, ...]:
        """The levels the total counts: every level but MC/DC and mutants."""
        return (*LEVELS, *(PROCEDURE_LEVELS if self.procedures else ()))

    @property
    def levels(self) -> tuple[str, ...]:
        return (*self.counted_levels, *(("mcdc",) if self.mcdc else ()),
                *(("mutants",) if self.mutation else ()))

    def equivalent(self) -> list[str]:
        return [e for f in self.files for e in f.equivalent()]

    def ratio(self, level: str) -> Ratio:
        total = Ratio()
        for f in self.files:
            total += f.ratio(level)
        return total

    def total(self) -> Ratio:
        """Every side of every level (MC/DC excluded) together: what `--fail-under` reads."""
        total = Ratio()
        for level in self.counted_levels:
            total += self.ratio(level)
        return total

    def missing(self, level: str) -> list[str]:
        return [m for f in self.files for m in f.missing(level)]


def build_report(ps: PolicySet, data: CoverageData, mcdc: bool = False,
                 sources: Path | None = None, probe: CoverageData | None = None,
                 command: str = "qpr_rules.coverage.report_core.build_report",
                 mutants: list[MutantResult] | None = None,
                 procedures: bool | None = None) -> CoverageReport:
    """The report of data over ps; command names what made it (the command line, for the CLI).
    procedures: show the states and transitions levels (default: when the data counted cases);
    they are shown only for policies that have procedures."""
    by_file: dict[Path, list[CompiledRule]] = {}
    for rule in ps.rules():
        by_file.setdefault(rule.file.path, []).append(rule)
    files = []
    for f in ps.files:
        rules = sorted(by_file.get(f.path, []), key=lambda r: r.index)
        rule_covs = [_rule(r, data, mcdc, probe) for r in rules]
        document = f.policy.source.document
        files.append(FileCov(str(f.path), f.policy.id, f.policy.title, document,
                             str(document_path(f, sources)), document_title(f, sources), rule_covs,
                             _clauses(f, rules, data), _sentences(f, sources),
                             [m for m in mutants or [] if m.file == str(f.path)],
                             *_procedure_covs(ps, f, data)))
    cases = sum(data.cases.values())
    shown = bool(ps.procedures) and (bool(cases) if procedures is None else procedures)
    return CoverageReport(files, sum(data.decisions.values()), sum(data.errors.values()),
                          dict(data.foreign), data.malformed, mcdc, About.now(ps, command),
                          mutation=mutants is not None, procedures=shown, cases=cases)


def _procedure_covs(ps: PolicySet, f: LoadedFile, data: CoverageData
                    ) -> tuple[list[StateCov], list[TransitionCov]]:
    """The states and transitions of the procedures in file f, with their counts and lines."""
    states: list[StateCov] = []
    transitions: list[TransitionCov] = []
    for spec in ps.procedures.values():
        if spec.file.path != f.path:
            continue
        at = ("procedures", spec.index)
        entered: Mapping[str, int] = data.states.get(spec.id, {})
        taken: Mapping[str, int] = data.transitions.get(spec.id, {})
        for st in spec.states.values():
            line = f.smap.at(st.loc)[0]  # a state's loc starts at its procedure already
            states.append(StateCov(spec.id, st.id, line, st.state.title, entered.get(st.id, 0)))
        for t in spec.transitions:
            tr = t.transition
            guard = f" [{render(t.guard)}]" if t.guard is not None else ""
            to = f" --> {tr.to}" if tr.to else " (stays)"
            text = f"{tr.from_} --{tr.event}{guard}{to}"
            transitions.append(TransitionCov(spec.id, t.index, f.smap.at((*at, *t.loc))[0], text, tr.clause,
                                             taken.get(str(t.index), 0)))
    return states, transitions


def document_title(f: LoadedFile, sources: Path | None) -> str:
    """The document's title in sources/index.yaml: reports name `Quality Parenting Review
    (QPR)`, not `000_4b5b4e0ce51b2960.txt`. A directory without an index (or a document it does
    not list) keeps the file name: `check` is where a missing index is an error."""
    directory = sources or sources_dir(f.path)
    if not (directory / "index.yaml").is_file():
        return f.policy.source.document
    titles = {d.file: d.title for d in read_index(directory)}
    return titles.get(f.policy.source.document, f.policy.source.document)


def _rule(rule: CompiledRule, data: CoverageData, mcdc: bool, probe: CoverageData | None) -> RuleCov:
    hits = data.rules[rule.id]
    true, false = hits.true, hits.false
    seen = probe.rules[rule.id] if probe is not None else None
    seen_true, seen_false = (seen.true, seen.false) if seen is not None else ({}, {})
    atoms = []
    for i, (path, atom) in enumerate(condition_paths(rule)):
        line = rule.file.smap.at(atom.loc)[0]
        pair = _mcdc_pair(hits.results, i) if mcdc else None
        reach = (seen_true[path], seen_false[path]) if seen is not None else None
        atoms.append(AtomCov(path, line, render(atom), true[path], false[path], pair, reach))
    reach_rule = (seen.fired, seen.evaluated - seen.fired) if seen is not None else None
    return RuleCov(rule.id, rule.rule.title, rule.rule.decision, rule.line, hits.evaluated, hits.fired, atoms,
                   reach_rule)


def _mcdc_pair(vectors: dict[str, bool], i: int) -> tuple[str, str] | None:
    """Unique-cause MC/DC: two recorded cases equal in every atom but i, with different results."""
    for b, result in sorted(vectors.items()):
        if b[i] != "0" or "x" in b:  # an atom not evaluated might differ too: no pair with it
            continue
        flipped = f"{b[:i]}1{b[i + 1:]}"
        other = vectors.get(flipped)
        if other is not None and other != result:
            return b, flipped
    return None


def _clauses(f: LoadedFile, rules: list[CompiledRule], data: CoverageData) -> list[ClauseCov]:
    encoders: dict[str, list[str]] = {}
    params = {name: p.clauses for name, p in f.policy.parameters.items()}
    for rule in rules:
        cited = [*rule.rule.clauses, *(ob.clause for ob in rule.rule.obligations if ob.clause)]
        for name in _params_read(rule.rule.when, f.policy.conditions):
            cited.extend(params.get(name, []))
        for cid in dict.fromkeys(cited):
            encoders.setdefault(cid, []).append(rule.id)
    out = []
    for i, c in enumerate(f.policy.clauses):
        rule_ids = encoders.get(c.id, [])
        covered = any(data.rules[r].fired for r in rule_ids)
        out.append(ClauseCov(c.id, f.smap.at(("clauses", i, "id"))[0], c.section, c.text, c.computable,
                             c.reason, rule_ids, covered))
    return out


def _params_read(when: Any, named: dict[str, Any]) -> set[str]:
    """Parameters a condition reads (`{param: NAME}`), through `{use: ...}` too."""
    return {node["param"] for node in raw_mappings([when], named) if isinstance(node.get("param"), str)}


def _sentences(f: LoadedFile, sources: Path | None) -> list[SentenceCov]:
    text = read_document(f, sources)
    if isinstance(text, Problem):  # never a silent 100%: the same error as `check` gives
        raise PolicyError([text])
    return [SentenceCov(i.sentence.line, i.sentence.normalised, i.status, list(i.clauses), i.marked)
            for i in sentence_index(f, text)]


def scenario_text(scenario: dict[str, Any] | None) -> str:
    """A scenario to add, on one line (as JSON, which a YAML scenario file also reads)."""
    return json.dumps(scenario, default=str, ensure_ascii=False)


def percent(value: float) -> str:
    """A percentage as reports print it: never rounded up to 100 when something is missing."""
    if 99.9 < value < 100.0:
        return "99.9%"
    return f"{value:.1f}%"


def iter_levels(report: CoverageReport) -> Iterable[tuple[str, Ratio]]:
    for level in report.levels:
        yield level, report.ratio(level)


@dataclass
class LineCov:
    """What lcov and Cobertura say about one line of a policy file: covered only when every
    side of everything on it (a rule fired and not fired, an atom true and false, a clause
    covered) was seen; branches are those sides."""

    hits: int = 0
    covered: bool = True
    branches: list[int] = field(default_factory=list)  # the count of each side


def line_table(f: FileCov, procedures: bool = False) -> dict[int, LineCov]:
    lines: dict[int, LineCov] = {}

    def add(line: int, sides: list[int]) -> None:
        entry = lines.setdefault(line, LineCov())
        entry.branches.extend(sides)
        entry.covered = entry.covered and all(sides)
        entry.hits += sum(sides)

    for r in f.rules:
        add(r.line, [r.fired, r.not_fired])
        for a in r.atoms:
            add(a.line, [a.true, a.false])
    for c in f.clauses:
        if c.computable:
            add(c.line, [int(c.covered)])
    if procedures:  # a state's line is covered when a case was in it, a transition's when taken
        for st in f.states:
            add(st.line, [st.entered])
        for t in f.transitions:
            add(t.line, [t.taken])
    for entry in lines.values():
        if not entry.covered:
            entry.hits = 0  # a line with a side never seen is a missed line
    return dict(sorted(lines.items()))


def display_path(path: str) -> str:
    """The path relative to the working directory when under it (as CI tools and diff-cover
    expect), else as given."""
    p = Path(path).resolve()
    try:
        return str(p.relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(p)
