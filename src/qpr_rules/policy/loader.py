"""Load policy files: parse safely, validate shape, then check every cross-reference.

All problems of all files are collected and raised together as one PolicyError.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import ValidationError

from qpr_rules._suggest import did_you_mean
from qpr_rules.errors import PolicyError, Problem
from qpr_rules.facts.base import FactModel, registered_fact_types
from qpr_rules.facts.paths import PathError, resolve
from qpr_rules.policy.conditions import Condition, Loc, ParseContext, parse_condition
from qpr_rules.policy.fail_closed import decision_problems
from qpr_rules.policy.invariants import CompiledInvariant, compile_invariants
from qpr_rules.policy.limits import MAX_DAY_OFFSET, expansion_problem, rule_limit_problems, value_problem
from qpr_rules.policy.model import Clause, Decision, Obligation, PolicyFile, Rule
from qpr_rules.policy.procedures import ProcedureSpec, check_procedures
from qpr_rules.policy.pydantic_errors import problems_from
from qpr_rules.yaml_source import SourceMap, load_yaml_file


@dataclass(frozen=True)
class LoadedFile:
    path: Path
    policy: PolicyFile
    smap: SourceMap = field(compare=False, repr=False)

    def clause(self, clause_id: str) -> Clause:
        return next(c for c in self.policy.clauses if c.id == clause_id)


@dataclass(frozen=True)
class CompiledRule:
    """A rule with its parsed condition and the file it came from."""

    rule: Rule
    condition: Condition
    file: LoadedFile = field(repr=False)
    index: int  # position of the rule in its file, for ties and for coverage

    @property
    def id(self) -> str:
        return self.rule.id

    @property
    def line(self) -> int:
        return self.file.smap.at(("rules", self.index))[0]

    @property
    def order(self) -> tuple[int, str, int]:
        """Where the rule is evaluated among its decision's rules: priority, then file order."""
        return (self.rule.priority, str(self.file.path), self.index)


@dataclass(frozen=True)
class DecisionSpec:
    decision: Decision
    file: LoadedFile = field(repr=False)
    fact_model: type[FactModel]
    rules: tuple[CompiledRule, ...]


@dataclass(frozen=True)
class PolicySet:
    """Every loaded file, decisions with their rules, and the digest of the whole set."""

    files: tuple[LoadedFile, ...]
    decisions: dict[str, DecisionSpec]
    digest: str
    revision: str
    invariants: tuple[CompiledInvariant, ...] = ()  # guarantees for `qpr-rules prove`
    #: every version found of each policy id (effective_from dates, ascending), the ones left out
    #: by as_of included: the engine applies the version in force on a decision's own date
    versions: dict[str, tuple[dt.date, ...]] = field(default_factory=dict)
    #: every policy file read, versions left out by as_of included (what a worker process or an
    #: engine for another version loads again)
    paths: tuple[Path, ...] = ()
    #: procedures (statecharts) by id
    procedures: dict[str, ProcedureSpec] = field(default_factory=dict)

    def rules(self) -> list[CompiledRule]:
        return [r for d in self.decisions.values() for r in d.rules]


def policy_files(paths: Iterable[Path | str]) -> list[Path]:
    """Expand directories to their *.yaml / *.yml files (not hidden ones; not recursing into tests/)."""
    out: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            # hidden files (editors' and tools' temporary copies) are never policies
            out.extend(sorted(q for q in p.iterdir() if q.suffix in (".yaml", ".yml") and q.is_file()
                              and not q.name.startswith(".")))
        else:
            out.append(p)
    return out


def parse_policy_file(path: Path) -> LoadedFile:
    """Parse and shape-check one file (no cross-file checks)."""
    data, smap = load_yaml_file(path)
    if not isinstance(data, dict):
        raise PolicyError([smap.problem((), "a policy file must be a mapping at the top level")])
    if data.get("format") == "qpr-rules/scenarios-v1":
        raise PolicyError([smap.problem(("format",), "this is a scenario file, not a policy; run it with "
                                                     f"`qpr-rules test {path}`, and keep it under tests/")])
    try:
        policy = PolicyFile.model_validate(data)
    except ValidationError as exc:
        raise PolicyError(problems_from(exc, PolicyFile, smap)) from None
    return LoadedFile(path, policy, smap)


def load_policy_set(paths: Sequence[Path | str], as_of: dt.date | None = None) -> PolicySet:
    """Load and check a set of policy files; raise PolicyError with every problem found."""
    files = policy_files(paths)
    if not files:
        raise PolicyError([Problem(str(p), 1, 1, "no policy files (*.yaml) found here") for p in paths]
                          or [Problem("<none>", 1, 1, "no policy paths given")])
    problems: list[Problem] = []
    loaded: list[LoadedFile] = []
    for path in files:
        try:
            loaded.append(parse_policy_file(path))
        except PolicyError as exc:
            problems.extend(exc.problems)
    versions: dict[str, set[dt.date]] = {}
    for f in loaded:
        versions.setdefault(f.policy.id, set()).add(f.policy.effective_from)
    loaded = _select_versions(loaded, as_of, problems)
    decisions = _check_set(loaded, problems)
    invariants = compile_invariants(loaded, decisions, problems)
    procedures = check_procedures(loaded, problems)
    if problems:
        raise PolicyError(problems)
    digest = _digest(loaded)
    revision = ",".join(f"{f.policy.id}@{f.policy.revision.isoformat()}" for f in loaded)
    return PolicySet(tuple(loaded), decisions, digest, revision, invariants,
                     {pid: tuple(sorted(dates)) for pid, dates in sorted(versions.items())},
                     tuple(files), procedures)


def _select_versions(files: list[LoadedFile], as_of: dt.date | None,
                     problems: list[Problem]) -> list[LoadedFile]:
    """Keep, per policy id, the version in force on as_of (latest effective_from <= as_of)."""
    by_id: dict[str, list[LoadedFile]] = {}
    for f in files:
        by_id.setdefault(f.policy.id, []).append(f)
    chosen: list[LoadedFile] = []
    for pid, versions in by_id.items():
        seen: dict[dt.date, LoadedFile] = {}
        for v in versions:
            if v.policy.effective_from in seen:
                other = seen[v.policy.effective_from]
                problems.append(v.smap.problem(("id",), f"policy id {pid!r} with effective_from "
                                f"{v.policy.effective_from} is also defined in {other.path}; give "
                                "each version its own effective_from date"))
            seen[v.policy.effective_from] = v
        in_force = [v for v in versions if as_of is None or v.policy.effective_from <= as_of]
        if in_force:  # a policy not yet in force on as_of is left out, with its decisions
            chosen.append(max(in_force, key=lambda v: v.policy.effective_from))
    if files and not chosen and not problems:
        first = min(files, key=lambda v: v.policy.effective_from)
        problems.append(first.smap.problem(("effective_from",), f"no policy is in force on {as_of}; the "
                        f"earliest starts {first.policy.effective_from} ({first.path.name})"))
    return sorted(chosen, key=lambda f: str(f.path))


def _check_set(files: list[LoadedFile], problems: list[Problem]) -> dict[str, DecisionSpec]:
    fact_types = registered_fact_types()
    decisions: dict[str, tuple[Decision, LoadedFile, type[FactModel] | None]] = {}
    for f in files:
        for i, d in enumerate(f.policy.decisions):
            loc = ("decisions", i)
            if d.id in decisions:
                problems.append(f.smap.problem((*loc, "id"), f"duplicate decision id {d.id!r} "
                                f"(also in {decisions[d.id][1].path}); decision ids are unique"))
                continue
            model = fact_types.get(d.facts)
            if model is None:
                problems.append(f.smap.problem((*loc, "facts"), f"unknown fact type {d.facts!r}"
                                f"{did_you_mean(d.facts, fact_types)}; known: {', '.join(fact_types)}"))
            else:
                problems.extend(log_fact_problems(f, i, model))
                problems.extend(_dated_by_problems(f, i, model))
                problems.extend(_hold_from_case_problems(f, i, model))
            decisions[d.id] = (d, f, model)

    rules_by_decision: dict[str, list[CompiledRule]] = {d: [] for d in decisions}
    rule_ids: dict[str, LoadedFile] = {}
    for f in files:
        clause_ids = _unique_ids(f, "clauses", [c.id for c in f.policy.clauses], problems)
        role_ids = _unique_ids(f, "roles", [r.id for r in f.policy.roles], problems)
        for name, param in f.policy.parameters.items():
            for j, cid in enumerate(param.clauses):
                if cid not in clause_ids:
                    problems.append(f.smap.problem(("parameters", name, "clauses", j),
                                    _unknown("clause", cid, clause_ids)))
        params = {k: p.value for k, p in f.policy.parameters.items()}
        for name, value in params.items():
            if (why := value_problem(value)) is not None:
                problems.append(f.smap.problem(("parameters", name, "value"), why, "limit"))
        for i, d in enumerate(f.policy.decisions):
            at_duties = ("decisions", i, "on_error_obligations")
            problems.extend(_obligation_problems(f, at_duties, d.on_error_obligations, role_ids, clause_ids))
            for j, ob in enumerate(d.on_error_obligations):
                at = (*at_duties, j)
                if ob.for_each is not None:  # an error answer has no facts to repeat over
                    problems.append(f.smap.problem((*at, "for_each"), "an error answer's duty cannot "
                                    "repeat over facts (they are invalid): remove for_each"))
        named = {n: (body, ("conditions", n)) for n, body in f.policy.conditions.items()}
        for i, rule in enumerate(f.policy.rules):
            loc = ("rules", i)
            if rule.id in rule_ids:
                problems.append(f.smap.problem((*loc, "id"), f"duplicate rule id {rule.id!r} "
                                f"(also in {rule_ids[rule.id].path}); rule ids are unique"))
                continue
            rule_ids[rule.id] = f
            for j, cid in enumerate(rule.clauses):
                if cid not in clause_ids:
                    problems.append(f.smap.problem((*loc, "clauses", j), _unknown("clause", cid, clause_ids)))
            problems.extend(_obligation_problems(f, (*loc, "obligations"), rule.obligations,
                                                 role_ids, clause_ids))
            for j, cq in enumerate(rule.consequences):
                if cq.clause not in clause_ids:
                    problems.append(f.smap.problem((*loc, "consequences", j, "clause"),
                                    _unknown("clause", cq.clause, clause_ids)))
            if rule.decision not in decisions:
                problems.append(f.smap.problem((*loc, "decision"),
                                _unknown("decision", rule.decision, decisions)))
                continue
            decision, _, model = decisions[rule.decision]
            if rule.outcome not in decision.outcomes:
                hint = did_you_mean(rule.outcome, decision.outcomes)
                problems.append(f.smap.problem((*loc, "outcome"), f"outcome {rule.outcome!r} is not "
                                f"an outcome of {decision.id}{hint}; "
                                f"allowed: {', '.join(decision.outcomes)}"))
            if model is None:
                continue
            for j, ob in enumerate(rule.obligations):
                if ob.for_each is not None:
                    why = _for_each_problem(model, ob.for_each)
                    if why:
                        problems.append(f.smap.problem((*loc, "obligations", j, "for_each"), why))
            cond = _parse_rule(rule, (*loc, "when"), ParseContext(model, params, [], named=named),
                               f, problems)
            if cond is not None:
                rules_by_decision[rule.decision].append(CompiledRule(rule, cond, f, i))

    for did, (d, f, model) in decisions.items():
        if d.combine == "first-applicable":
            problems.extend(_ambiguous_first_applicable(rules_by_decision[did]))
        index = f.policy.decisions.index(d)
        for where, message, severity in decision_problems(d, model, rules_by_decision[did]):
            if severity == "error":
                problems.append(f.smap.problem(("decisions", index, where), message, "fail-closed"))
    return {
        did: DecisionSpec(d, f, model, tuple(rules_by_decision[did]))
        for did, (d, f, model) in decisions.items()
        if model is not None
    }


def _for_each_problem(model: type[FactModel], path: str) -> str | None:
    """Why path cannot drive for_each (None when it can): it must be a list of text or enum values."""
    try:
        ft = resolve(model, path)
    except PathError as exc:
        return str(exc)
    if ft.kind != "list" or ft.item is None or ft.item.kind not in ("string", "enum"):
        return f"for_each needs a list of text or enum values; {path} is {ft.describe()}"
    return None


def _ambiguous_first_applicable(rules: list[CompiledRule]) -> list[Problem]:
    """first-applicable needs one order of its rules. Within a file, equal priorities keep file
    order; across files the order of the files is not part of the policy, so two rules of equal
    priority in different files that give different outcomes cannot be honoured."""
    problems = []
    first_at: dict[int, CompiledRule] = {}
    for r in rules:
        other = first_at.setdefault(r.rule.priority, r)
        if other.file is not r.file and other.rule.outcome != r.rule.outcome:
            problems.append(r.file.smap.problem(
                ("rules", r.index, "priority"),
                f"first-applicable decision {r.rule.decision}: rule {r.id!r} and rule {other.id!r} "
                f"({other.file.path}) have the same priority {r.rule.priority} but different outcomes, "
                "and the order of files is not part of the policy; give them different priorities"))
    return problems


_LOGGABLE_KINDS = ("bool", "int", "number", "enum", "date")


def _obligation_problems(f: LoadedFile, at: Loc, obligations: Sequence[Obligation], role_ids: Collection[str],
                         clause_ids: Collection[str]) -> list[Problem]:
    """Duties (a rule's, or a decision's error answer's) naming a role or clause the file lacks."""
    out = []
    for j, ob in enumerate(obligations):
        if ob.who not in role_ids:
            out.append(f.smap.problem((*at, j, "who"),
                                      _unknown("role", ob.who, role_ids, "declare it under `roles:`")))
        if ob.clause is not None and ob.clause not in clause_ids:
            out.append(f.smap.problem((*at, j, "clause"), _unknown("clause", ob.clause, clause_ids)))
    return out


def _dated_by_problems(f: LoadedFile, index: int, model: type[FactModel]) -> list[Problem]:
    """`dated_by:` names a date fact of the decision's facts."""
    path = f.policy.decisions[index].dated_by
    if path is None:
        return []
    loc = ("decisions", index, "dated_by")
    try:
        ftype = resolve(model, path)
    except PathError as exc:
        return [f.smap.problem(loc, f"unknown fact path {path!r}: {exc}")]
    if ftype.kind != "date":
        return [f.smap.problem(loc, f"dated_by names the decision's own date, but {path} is "
                                    f"{ftype.describe()}; name a date fact")]
    return []


def _hold_from_case_problems(f: LoadedFile, index: int, model: type[FactModel]) -> list[Problem]:
    """`hold_from_case:` names a fact path holding a Hold."""
    from qpr_rules.facts.hold import Hold

    path = f.policy.decisions[index].hold_from_case
    if path is None:
        return []
    loc = ("decisions", index, "hold_from_case")
    try:
        ftype = resolve(model, path)
    except PathError as exc:
        return [f.smap.problem(loc, f"unknown fact path {path!r}: {exc}")]
    if ftype.model is not Hold:
        return [f.smap.problem(loc, f"hold_from_case names where a case's hold goes, but {path} is "
                                    f"{ftype.describe()}; name a hold (a Hold fact)")]
    return []


def log_fact_problems(f: LoadedFile, index: int, model: type[FactModel]) -> list[Problem]:
    """`log_facts:` names fact paths of kinds that cannot carry a name or free text."""
    out = []
    for j, path in enumerate(f.policy.decisions[index].log_facts):
        loc = ("decisions", index, "log_facts", j)
        try:
            ftype = resolve(model, path)
        except PathError as exc:
            out.append(f.smap.problem(loc, f"unknown fact path {path!r}: {exc}"))
            continue
        if ftype.kind not in _LOGGABLE_KINDS:
            out.append(f.smap.problem(loc, f"{path} is {ftype.describe()}; the decision log records "
                                           "only yes/no, numbers, dates and enum values (never names or "
                                           "free text)"))
    return out


def _parse_rule(rule: Rule, loc: tuple[str | int, ...], ctx: ParseContext, f: LoadedFile,
                problems: list[Problem]) -> Condition | None:
    """The rule's condition, parsed and checked against the limits of durable_rules; None (with
    the problems recorded) when it cannot be evaluated."""
    expansion = expansion_problem(rule.when, ctx.named)
    if expansion is not None:  # refused before parsing, which would expand it
        problems.append(f.smap.problem(loc, expansion, "limit"))
        return None
    try:
        cond = parse_condition(rule.when, loc, ctx)
    except OverflowError:  # e.g. within_days far outside the calendar
        problems.append(f.smap.problem(loc, "a day count in this condition leaves the calendar: day offsets "
                                            f"are at most {MAX_DAY_OFFSET:,} days (a century) either way",
                                       "limit"))
        return None
    except RecursionError:
        problems.append(f.smap.problem(loc, "this condition is nested too deeply to read; flatten it",
                                       "limit"))
        return None
    for eloc, msg in ctx.errors:
        problems.append(f.smap.problem(eloc, msg, "condition"))
    if cond is None or ctx.errors:
        return None
    limits = rule_limit_problems(cond, loc)
    for eloc, msg in limits:
        problems.append(f.smap.problem(eloc, msg, "limit"))
    return None if limits else cond


def _unique_ids(f: LoadedFile, section: str, ids: list[str], problems: list[Problem]) -> set[str]:
    seen: dict[str, int] = {}
    for i, cid in enumerate(ids):
        if cid in seen:
            line = f.smap.at((section, seen[cid]))[0]
            problems.append(f.smap.problem((section, i, "id"), f"duplicate {section[:-1]} id {cid!r} "
                            f"(first at line {line}); ids within a file are unique"))
        else:
            seen[cid] = i
    return set(seen)


def _unknown(kind: str, name: str, known: Iterable[str], hint: str = "") -> str:
    known = sorted(known)
    shown = ", ".join(known[:12]) + (", ..." if len(known) > 12 else "")
    extra = f"; {hint}" if hint else ""
    return f"unknown {kind} {name!r}{did_you_mean(name, known)}{extra}; known: {shown or 'none'}"


def _digest(files: list[LoadedFile]) -> str:
    """sha256 over the canonical JSON of the loaded policies (positions and comments excluded)."""
    canon = [f.policy.model_dump(mode="json") for f in files]
    blob = json.dumps(sorted(canon, key=lambda p: (p["id"], p["effective_from"])),
                      sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()
