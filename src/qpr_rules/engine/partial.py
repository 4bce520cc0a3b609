"""Decisions on partial facts (`Engine.decide_partial`): proved determined, or still open.

The known facts are pinned in the solver encoding that `qpr-rules prove` uses (analysis/smt_*:
the fact schema with its types, bounds and validators, the rules, the combine strategy), and
the solver is asked, for each outcome, whether some valid completion of the known facts gets it:

- one outcome possible: `determined`, proved for every completion. Asked first over every list
  length (items past the list bound are arbitrary: `proof: proved`); when that leaves more than
  one outcome, again with items past the bound repeating the last one (`proved-bounded`, the
  bound stated, as `prove` states PROVED<=N). The duties of the answer are certain when every
  completion carries them, and depend on unknown facts otherwise.
- more than one: `open`, with one example completion per outcome (replayed through
  Engine.decide, which must give that outcome) and the unknown facts that can change the answer,
  ranked (RANKING below), each with its question: the fact field's description.
- a solver call that runs out of time (or gives up): `unknown`, with the reason; never a guess.

Known facts are a mapping like the facts of Engine.decide: an omitted key is unknown, an
explicit null keeps its meaning (no hold, no restrictions); an object given as {} is there,
its fields unknown; a list is given with all its items, each item an object whose omitted
fields are unknown. Values are checked against their field's type as Engine.decide checks them;
known facts that no valid completion can have (a wrong type, or contradicting the fact models'
checks) give every completion the decision's `on_error` answer, so that is `determined` (a
placement fails closed: deny), with the errors.

The z3 context is shared by the whole process and is not thread-safe, so every solver call here
runs under one lock; an encoding is built once per decision and list bound and reused (pins are
pushed and popped per call).
"""

from __future__ import annotations

import datetime as dt
import itertools
import re
import threading
import time
import typing
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

import z3
from pydantic import TypeAdapter, ValidationError

from qpr_rules._suggest import did_you_mean
from qpr_rules.analysis import smt_eval, smt_solve
from qpr_rules.analysis.smt_decision import DecisionModel, decision_model
from qpr_rules.analysis.smt_facts import (
    DEFAULT_LIST_BOUND,
    Enc,
    ListEnc,
    ObjEnc,
    ScalarEnc,
    enum_index,
    facts_from_model,
    niceness,
)
from qpr_rules.engine.decision import Obligation
from qpr_rules.engine.partial_result import (
    Duty,
    Example,
    PartialDecision,
    Question,
    Settles,
    path_steps,
)
from qpr_rules.facts.paths import FieldType, type_of
from qpr_rules.policy.condition_nodes import fact_paths
from qpr_rules.policy.limits import MAX_FACT_DATE, MIN_FACT_DATE

if TYPE_CHECKING:
    from qpr_rules.engine.engine import Engine
    from qpr_rules.policy.loader import DecisionSpec

#: How the questions of an open answer are ordered (docs/interview.md, "Which question first"):
RANKING = (
    "Only unknown facts that can change the answer are asked: two valid completions that differ in "
    "that fact alone (and what lies under it) get different outcomes. First the facts with an answer "
    "that settles the outcome on its own, those whose tried answers settle it most often first; then "
    "the others; ties in the order of the fact schema."
)
#: seconds each solver call may take by default: a form waits for the answer
DEFAULT_TIMEOUT_S = 2.0
#: milliseconds the check that warms a solver up may take (_Prepared.for_questions)
_WARM_MS = 20
_LOCK = threading.RLock()
_ANSWERS = itertools.count()
_CACHE: OrderedDict[tuple[int, int, float], _Prepared] = OrderedDict()
_CACHE_SIZE = 32
_ANSWERED_SIZE = 4096  # answers put in, per encoding (_Prepared.with_answer)
_PREFIX_A = "a"  # copy a's variables are named a.<path> (analysis/smt_facts.py)


# ------------------------------------------------------------------ the encoding, once per decision


@dataclass
class _Prepared:
    """The decision encoded twice (copies a and b, for "can this fact change the answer"), with
    a solver over copy a and one over both, each holding its constraints, and per given fact a
    witness solver (witness_solver: copy a and a copy of what that fact reaches), built on the
    first call that ranks questions (for_questions). Each question is asked
    with assumption literals (about three times faster than push and pop): `is_[o]` stands for
    "the outcome is o", `exact` for "items past the list bound repeat the last one", `carries`
    for "the answer carries this rule's duties"; the known facts are pushed once per call."""

    spec: DecisionSpec
    bound: int
    timeout_s: float
    a: DecisionModel
    solver: z3.Solver
    is_: dict[str, z3.BoolRef]
    exact: z3.BoolRef
    nice: z3.BoolRef
    raises: z3.BoolRef
    carries: dict[tuple[str, str], z3.BoolRef]  # (rule id, outcome) -> literal
    # copy a's constraints and exactness as formulas, to evaluate in a model (_Variants)
    constraints: list[z3.BoolRef]
    exact_formula: z3.BoolRef
    _pair: tuple[DecisionModel, z3.Solver, dict[str, z3.BoolRef]] | None = None
    _reads: list[frozenset[str]] | None = None
    _definitions: list[tuple[str, z3.ExprRef, z3.ExprRef, frozenset[str]]] | None = None
    _outcome_term: z3.ArithRef | None = None
    finite_answers: dict[str, list[tuple[Any, z3.BoolRef]]] = field(default_factory=dict)
    _answered: dict[tuple[str, str, str], tuple[z3.BoolRef, z3.ArithRef, z3.BoolRef]] = field(
        default_factory=dict)
    _on: dict[frozenset[str], z3.BoolRef] = field(default_factory=dict)
    _codes: dict[tuple[str, str, str], z3.ArithRef] = field(default_factory=dict)
    _witness: dict[str, smt_solve.AssumingSolver] = field(default_factory=dict)
    _questions_ready: bool = False
    _functional: bool | None = None
    _base: tuple[list[frozenset[str]], dict[str, z3.ExprRef], set[str]] | None = None

    def pair(self) -> tuple[DecisionModel, z3.Solver, dict[str, z3.BoolRef]]:
        """Copy b, and a solver over both copies that asks for different outcomes (items past the
        list bound repeating, so that every pair found is a pair of real facts), with one
        selector literal per fact (on: the fact is the same in both copies)."""
        if self._pair is None:
            b = decision_model(self.spec, prefix="b", list_bound=self.bound)
            solver = smt_solve.assuming_solver(self.timeout_s)
            solver.add(*self.a.constraints, *b.constraints, self.a.encoder.exact(), b.encoder.exact())
            selectors: dict[str, z3.BoolRef] = {}
            for path, ea, eb in _pairs(self.a.facts, b.facts, ""):
                sel = z3.Bool(f"same!{path}")
                selectors[path] = sel
                solver.add(z3.Implies(sel, _same(ea, eb)))
            names = self.spec.decision.outcomes
            solver.add(z3.Or(*[z3.And(self.a.outcome_is[o], z3.Not(b.outcome_is[o])) for o in names]))
            self._pair = (b, solver, selectors)
        return self._pair

    def for_questions(self) -> None:
        """Build what ranking the questions uses, once, on the first call that ranks them: the
        pair, and the witness solver of every given fact a rule reads (what a call would
        otherwise build the first time it meets that fact), each checked once."""
        if self._questions_ready:
            return
        _, pair, _ = self.pair()
        self.outcome_is_function()
        read = _read_paths(self.spec)
        solvers = [pair] + [self.witness_solver(path) for path, _, _ in _pairs(self.a.facts, self.a.facts, "")
                            if read is None or _is_read(path, read)]
        # z3 takes a solver's assertions into its incremental core on the first check inside a
        # push: done here, once, rather than by the first call to meet each fact (5-20 ms each);
        # the answer is not used, so the check may stop early (_WARM_MS: a search over every
        # completion can take seconds on the larger decisions). A check outside a push would run
        # z3's other, non-incremental solver: seconds, and no help.
        for solver in solvers:
            solver.set("timeout", _WARM_MS)
            solver.push()
            solver.check()
            solver.pop()
            solver.set("timeout", max(1, int(self.timeout_s * 1000)))
        self._questions_ready = True

    def outcome_is_function(self) -> bool:
        """Whether the outcome is proved a function of the given facts: no two valid
        completions, both real facts (exact), agree on every given fact and get different outcomes
        (the pair, every selector assumed: unsat). Asked once per encoding (by for_questions, at
        load). When it is, a witness solver's "no" is a proof too (witness_solver): no pair of
        completions differing in that unit alone gets different outcomes. False when the solver
        finds such completions or cannot tell in time (then the pair proves what the witness
        solvers do not find)."""
        if self._functional is None:
            _, pair, selectors = self.pair()
            try:
                self._functional = not _check(pair, *selectors.values(), timeout_s=self.timeout_s)
            except _OutOfTime:
                self._functional = False
        return self._functional

    def _witness_base(self) -> tuple[list[frozenset[str]], dict[str, z3.ExprRef], set[str]]:
        """What every witness solver reads (once per encoding): the variables each constraint and
        each exactness condition reads, every variable by name, and the given facts' own."""
        if self._base is None:
            formulas = [*self.constraints, *self.a.encoder.exactness]
            every: dict[str, z3.ExprRef] = {}
            reads = []
            for f in formulas:
                names = smt_eval.variables([f])
                every.update(names)
                reads.append(frozenset(names))
            every.update(smt_eval.variables([self.outcome_term]))
            self._base = (reads, every, _given_names(self.a.facts))
        return self._base

    def witness_solver(self, path: str) -> smt_solve.AssumingSolver:
        """A solver that finds two valid completions, both real facts, that differ in the unit
        at path alone (and what lies under it) and get different outcomes, cheaper than the pair:
        copy a, and a copy of only the variables a change of the unit can reach (the unit's own,
        and through the constraints what is derived from them, never another given fact). A model
        is completion a and, with those variables replaced by their copies, completion b: every
        constraint that reads none of them holds as in a, the others hold by construction.

        Its "no" is a proof when the outcome is a function of the given facts
        (outcome_is_function): take any two valid exact completions a and b that differ in the
        unit alone with different outcomes, and b' = a with the moved variables set to b's. A
        constraint (or exactness condition) that reads a moved variable reads no other variable
        but given facts outside the unit (the closure below), equal in a and b, so it holds in b'
        as in b; every other holds in b' as in a. So b' is a valid exact completion with b's given
        facts, hence b's outcome, and (a, b') is a model of this solver. Otherwise its "no"
        proves nothing (a derived variable it shares might differ too): the pair proves it.
        Built once per unit path, then reused."""
        hit = self._witness.get(path)
        if hit is not None:
            return hit
        reads, every, shared_names = self._witness_base()
        own = {n for n in every if _names_under(n, path)}
        shared = shared_names - own
        moved = set(own)
        grown = True
        while grown:  # what the moved variables determine moves with them (not given facts)
            grown = False
            for r in reads:
                if r & moved:
                    more = r - moved - shared
                    if more:
                        moved |= more
                        grown = True
        rename = smt_eval.Substitution([(every[n], z3.Const(f"w!{n}", every[n].sort()))
                                        for n in sorted(moved) if n in every])
        solver = smt_solve.assuming_solver(self.timeout_s)
        formulas = [*self.constraints, *self.a.encoder.exactness]
        smt_eval.assert_all(solver, [
            *self.constraints, self.exact_formula,
            *[typing.cast(z3.BoolRef, rename(f)) for f, r in zip(formulas, reads, strict=True) if r & moved],
            self.outcome_term != rename(self.outcome_term)])
        self._witness[path] = solver
        return solver

    @property
    def outcome_term(self) -> z3.ArithRef:
        """The outcome as an index into outcome_names, one term to evaluate."""
        if self._outcome_term is None:
            self._outcome_term = self.a.outcome_term()
        return self._outcome_term

    @property
    def outcome_names(self) -> list[str]:
        return sorted(self.spec.decision.outcomes)

    def with_answer(self, unit: _Unit, answer: Any) -> tuple[z3.BoolRef, z3.ArithRef, z3.BoolRef]:
        """With the unit's variables set to the answer (_assignment): the constraints that read
        them, the outcome term and exactness (cached: the same for every call)."""
        key = (unit.path, type(answer).__name__, repr(answer))
        hit = self._answered.get(key)
        if hit is None:
            assignment = self.derived(_assignment(unit, answer))
            names = frozenset(var.decl().name() for var, _ in assignment)
            put = smt_eval.Substitution(assignment)
            hit = (typing.cast(z3.BoolRef, put(self.constraints_on(names))),
                   typing.cast(z3.ArithRef, put(self.outcome_term)),
                   typing.cast(z3.BoolRef, put(self.exact_formula)))
            if len(self._answered) < _ANSWERED_SIZE:
                self._answered[key] = hit
        return hit

    def derived(self, assignment: list[tuple[z3.ExprRef, z3.ExprRef]]) -> list[tuple[z3.ExprRef, z3.ExprRef]]:
        """The assignment, and each derived variable defined by a constraint `v == term` whose
        term reads an assigned variable, set to its term with the assignment put in (in the order
        of the constraints, each definition with the ones before it put in too). Without them, an
        answer to a fact a derived fact is computed from (the hold state from the placement date
        and the hold) leaves the derived value as it was, and the variant fails the definition."""
        if self._definitions is None:
            given = self._witness_base()[2]
            definitions = []
            for c in self.constraints:
                if not z3.is_eq(c):
                    continue
                lhs, rhs = c.arg(0), c.arg(1)
                name = lhs.decl().name() if z3.is_const(lhs) else None
                if name is None or lhs.decl().kind() != z3.Z3_OP_UNINTERPRETED or name in given:
                    continue
                reads = frozenset(smt_eval.variables([rhs]))
                if name not in reads:
                    definitions.append((name, lhs, rhs, reads))
            counts: dict[str, int] = {}
            for name, *_ in definitions:
                counts[name] = counts.get(name, 0) + 1
            self._definitions = [d for d in definitions if counts[d[0]] == 1]
        names = {var.decl().name() for var, _ in assignment}
        out = list(assignment)
        for name, var, term, reads in self._definitions:
            if reads & names and name not in names:
                out.append((var, smt_eval.Substitution(out)(term)))
                names.add(name)
        return out

    def code(self, unit: _Unit, answer: Any) -> z3.ArithRef:
        """with_answer as one small number: 1 when the variant is valid, 2 when exact, plus 4
        times its outcome (cached)."""
        key = (unit.path, type(answer).__name__, repr(answer))
        hit = self._codes.get(key)
        if hit is None:
            valid, outcome, exact = self.with_answer(unit, answer)
            hit = smt_eval.code_of(valid, exact, outcome)
            if len(self._codes) < _ANSWERED_SIZE:
                self._codes[key] = hit
        return hit

    def constraints_on(self, names: frozenset[str]) -> z3.BoolRef:
        """The constraints that read any of these variables (by name), as one formula: the only
        ones a change of those variables alone can break."""
        if self._reads is None:
            self._reads = [frozenset(smt_eval.variables([c])) for c in self.constraints]
        hit = self._on.get(names)
        if hit is None:
            hit = self._on[names] = smt_eval.conjunction([c for c, reads in zip(self.constraints, self._reads,
                                                                                  strict=True)
                                             if reads & names])
        return hit


def _prepared(spec: DecisionSpec, bound: int, timeout_s: float) -> _Prepared:
    key = (id(spec), bound, timeout_s)
    hit = _CACHE.get(key)
    if hit is not None and hit.spec is spec:
        _CACHE.move_to_end(key)
        return hit
    a = decision_model(spec, prefix=_PREFIX_A, list_bound=bound)
    constraints = a.constraints
    solver = smt_solve.assuming_solver(timeout_s)
    solver.add(*constraints)

    def literal(name: str, formula: z3.BoolRef) -> z3.BoolRef:
        lit = z3.Bool(f"lit!{name}")
        solver.add(lit == formula)
        return lit

    is_ = {o: literal(f"is!{o}", v) for o, v in a.outcome_is.items()}
    carries = {(rid, o): literal(f"carries!{rid}!{o}", formula)
               for o in spec.decision.outcomes for rid, formula in _duty_rules(a, spec, o)}
    # readable examples: dates in 2020-2030, short text, and lists no longer than their slots
    # (every item shown, none repeated past them)
    short = [enc.length <= len(enc.items) for enc in _lists(a.facts)]
    prepared = _Prepared(spec, bound, timeout_s, a, solver, is_, literal("exact", a.encoder.exact()),
                         literal("nice", z3.And(*niceness(a.facts), *short)), literal("raises", a.raises),
                         carries, constraints, a.encoder.exact())
    _CACHE[key] = prepared
    while len(_CACHE) > _CACHE_SIZE:
        _CACHE.popitem(last=False)
    return prepared


def _names_under(name: str, path: str) -> bool:
    """Whether the variable name is of the given fact at path or of one under it (its value,
    presence flag `?`, length `#len`, arbitrary flag `#any`, fields, items)."""
    full = f"{_PREFIX_A}.{path}"
    return name.startswith(full) and (len(name) == len(full) or name[len(full)] in ".[?#")


def _given_names(facts: ObjEnc) -> set[str]:
    """The names of the variables that are given facts' own (presence, value, length, arbitrary),
    at every depth of copy a: what the pair compares."""
    names: set[str] = set()
    for path, enc, _ in _pairs(facts, facts, ""):
        names.update(n for n in smt_eval.variables([_same(enc, enc)]) if n.startswith(f"{_PREFIX_A}.{path}"))
    return names


def _lists(enc: Enc) -> list[ListEnc]:
    """The given lists of an encoding, at every depth."""
    match enc:
        case ObjEnc(fields=fields):
            return [inner for e in fields.values() for inner in _lists(e)]
        case ListEnc(given=True, items=items):
            return [enc, *(inner for _, e in items for inner in _lists(e))]
        case ListEnc() | ScalarEnc():
            return []
        case _:
            typing.assert_never(enc)


def _pairs(a: Enc, b: Enc, path: str) -> list[tuple[str, Enc, Enc]]:
    """Every given fact of the encoding (objects, lists, scalars, list slots), in both copies."""
    out: list[tuple[str, Enc, Enc]] = []
    match a:
        case ObjEnc(fields=fields):
            assert isinstance(b, ObjEnc) and a.model is not None
            if path:
                out.append((path, a, b))
            for name, ea in fields.items():
                if name in a.model.model_computed_fields:
                    continue
                out += _pairs(ea, b.fields[name], f"{path}.{name}" if path else name)
        case ListEnc(given=True):
            assert isinstance(b, ListEnc)
            out.append((path, a, b))
            for i, ((_, ea), (_, eb)) in enumerate(zip(a.items, b.items, strict=True)):
                out += _pairs(ea, eb, f"{path}[{i}]")
        case ScalarEnc(given=True):
            out.append((path, a, b))
        case ListEnc() | ScalarEnc():
            pass
        case _:
            typing.assert_never(a)
    return out


def _same(a: Enc, b: Enc) -> z3.BoolRef:
    """The node itself is the same in both copies (its presence, value or length; what lies
    under it has selectors of its own)."""
    match a:
        case ObjEnc():
            return a.present == b.present
        case ListEnc():
            assert isinstance(b, ListEnc)
            return z3.And(a.present == b.present, a.length == b.length, a.arbitrary == b.arbitrary)
        case ScalarEnc():
            assert isinstance(b, ScalarEnc)
            return z3.And(a.present == b.present, z3.Implies(a.present, a.value == b.value))
        case _:
            typing.assert_never(a)


# ------------------------------------------------------------------ known facts -> pins and questions


@dataclass
class _Unit:
    """An unknown fact: a scalar, an optional object (is there one?), or a list (its items)."""

    path: str
    ft: FieldType
    nullable: bool
    text: str
    enc: Enc  # in copy a
    order: int


@dataclass
class _Known:
    pins: list[z3.BoolRef] = field(default_factory=list)
    units: list[_Unit] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    values: dict[str, Any] = field(default_factory=dict)  # scalar path -> validated value
    original: Any = None  # the known facts as given (copy b pins them too)


_ADAPTERS: dict[int, tuple[Any, TypeAdapter[Any]]] = {}


def _adapter(annotation: Any) -> TypeAdapter[Any]:
    hit = _ADAPTERS.get(id(annotation))
    if hit is None or hit[0] is not annotation:
        hit = _ADAPTERS[id(annotation)] = (annotation, TypeAdapter(annotation))
    return hit[1]


def _item_annotation(annotation: Any) -> Any:
    stack = [annotation]
    while stack:
        current = stack.pop()
        if typing.get_origin(current) in (list, tuple):
            return typing.get_args(current)[0]
        stack.extend(typing.get_args(current))
    return None


def longest_list(known: Any) -> int:
    """The most items of any list in the known facts (the encoding needs that many slots)."""
    if isinstance(known, Mapping):
        return max([0, *(longest_list(v) for v in known.values())])
    if isinstance(known, list):
        return max([len(known), *(longest_list(v) for v in known)])
    return 0


_FIELDS: dict[type, list[tuple[str, Any, FieldType, bool]]] = {}


def _fields(model: type[Any]) -> list[tuple[str, Any, FieldType, bool]]:
    """A fact model's given fields: name, pydantic field info, type, and whether it may be null
    (read once per model: _read reads them on every call)."""
    hit = _FIELDS.get(model)
    if hit is None:
        hit = []
        for name, info in model.model_fields.items():
            ft = type_of(info.annotation)
            hit.append((name, info, ft, ft.optional or (not info.is_required() and info.default is None)))
        _FIELDS[model] = hit
    return hit


def _read(obj: ObjEnc, known: Any, path: str, out: _Known) -> None:
    """Pin the known facts under obj, and collect the unknown ones as units."""
    model = obj.model
    assert model is not None
    where = path or "the facts"
    if not isinstance(known, Mapping):
        out.errors.append(f"{where}: give an object (a mapping of its fields), not {type(known).__name__}")
        return
    for key in known:
        if key in model.model_computed_fields:
            out.errors.append(f"{path + '.' if path else ''}{key}: a derived fact, computed from the "
                              "others: leave it out")
        elif key not in model.model_fields:
            out.errors.append(f"{where}: unknown field {key!r}{did_you_mean(str(key), model.model_fields)}; "
                              f"fields are: {', '.join(model.model_fields)}")
    for name, info, ft, nullable in _fields(model):
        enc = obj.fields[name]
        fpath = f"{path}.{name}" if path else name
        if name not in known:
            if isinstance(enc, ObjEnc) and not nullable:
                _read(enc, {}, fpath, out)  # always there: its fields are the unknowns
            else:
                out.units.append(_Unit(fpath, ft, nullable, info.description or "", enc, len(out.units)))
            continue
        value = known[name]
        if value is None:
            if not nullable:
                out.errors.append(f"{fpath}: null is not allowed here; give {ft.describe()}, or leave "
                                  "it out when it is not known")
            else:
                out.pins.append(z3.Not(enc.present))
            continue
        out.pins.append(enc.present)
        match enc:
            case ObjEnc():
                _read(enc, value, fpath, out)
            case ListEnc():
                _read_list(enc, info.annotation, value, fpath, out)
            case ScalarEnc():
                _read_scalar(enc, info.annotation, value, fpath, out)
            case _:
                typing.assert_never(enc)


def _read_list(enc: ListEnc, annotation: Any, value: Any, path: str, out: _Known) -> None:
    if not isinstance(value, list):
        out.errors.append(f"{path}: give a list (every item; an item's unknown fields left out), "
                          f"not {type(value).__name__}")
        return
    assert len(value) <= len(enc.items), "the list bound covers the known lists (longest_list)"
    out.pins += [enc.length == len(value), z3.Not(enc.arbitrary)]
    item_annotation = _item_annotation(annotation)
    for i, item in enumerate(value):
        _, slot = enc.items[i]
        ipath = f"{path}[{i}]"
        match slot:
            case ObjEnc():
                _read(slot, item, ipath, out)
            case ScalarEnc():
                _read_scalar(slot, item_annotation, item, ipath, out)
            case ListEnc():
                out.errors.append(f"{ipath}: lists of lists are not supported")
            case _:
                typing.assert_never(slot)


def _read_scalar(enc: ScalarEnc, annotation: Any, value: Any, path: str, out: _Known) -> None:
    try:
        checked = _adapter(annotation).validate_python(value)
    except ValidationError as exc:
        out.errors += [f"{path}: {err['msg']}" for err in exc.errors()]
        return
    if checked is None:  # an optional scalar given as null
        out.pins.append(z3.Not(enc.present))
        return
    out.values[path] = checked
    key = (id(enc), type(checked), checked)
    hit = _PINS.get(key)
    if hit is None or hit[0] is not enc:
        if len(_PINS) >= _PINS_SIZE:
            _PINS.clear()
        hit = _PINS[key] = (enc, _equals(enc, checked))
    out.pins.append(hit[1])


#: enc.value == value, per encoding node and value (the same known values come back call after
#: call; building the formula through z3py costs more than reading the rest of the facts)
_PINS: dict[tuple[int, type, Any], tuple[ScalarEnc, z3.BoolRef]] = {}
_PINS_SIZE = 8192


def _equals(enc: ScalarEnc, value: Any) -> z3.BoolRef:
    ft = enc.ft
    match ft.kind:
        case "enum":
            return enc.value == enum_index(ft, str(getattr(value, "value", value)))
        case "date":
            return enc.value == value.toordinal()
        case "string":
            return enc.value == z3.StringVal(value)
        case "bool":
            return enc.value == z3.BoolVal(bool(value))
        case "number":
            return enc.value == z3.RealVal(value)
        case "int":
            return enc.value == int(value)
        case _:
            raise AssertionError(ft.kind)


# ------------------------------------------------------------------ deciding


class _OutOfTime(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def decide_partial(engine: Engine, decision_id: str, known: Mapping[str, Any], *,
                   list_bound: int = DEFAULT_LIST_BOUND, timeout_s: float = DEFAULT_TIMEOUT_S,
                   questions: bool = True) -> PartialDecision:
    """Engine.decide_partial (see the module docstring). questions=False skips ranking the
    questions of an open answer (the outcomes and examples only: faster)."""
    started = time.perf_counter()
    spec = engine.spec(decision_id)
    runtime = engine._runtime(decision_id)
    bound = max(list_bound, longest_list(known))
    with _LOCK:
        prepared = _prepared(spec, bound, timeout_s)
        facts = _Known(original=known)
        _read(prepared.a.facts, known, "", facts)
        if not facts.errors:
            other = _other_version(engine, spec, facts)
            if isinstance(other, PartialDecision):
                return _timed(other, started)
            if other is not None:  # an earlier version of the policy answers questions of that date
                return other.decide_partial(decision_id, known, list_bound=list_bound, timeout_s=timeout_s)
        if facts.errors:
            return refused(engine, spec, runtime.error_duties, "the known facts are invalid", facts.errors,
                            started)
        solver = prepared.solver
        solver.push()
        try:
            smt_eval.assert_all(solver, facts.pins)
            return _decide(engine, prepared, facts, runtime, questions, started)
        except _OutOfTime as exc:
            return PartialDecision(decision_id, "unknown", None, exc.reason, tuple(spec.decision.outcomes),
                                   bounds=_bounds(prepared, None), seconds=time.perf_counter() - started)
        finally:
            solver.pop()


def refuse_partial(engine: Engine, decision_id: str, errors: list[str],
                   what: str = "the known facts could not be read") -> PartialDecision:
    """The answer for known facts that could not even be read (a body that is not JSON): every
    completion of them is refused, so the decision's on_error outcome, determined, with errors."""
    spec = engine.spec(decision_id)
    return refused(engine, spec, engine._runtime(decision_id).error_duties, what, errors,
                    time.perf_counter())


def _timed(result: PartialDecision, started: float) -> PartialDecision:
    return replace(result, seconds=time.perf_counter() - started)


def _other_version(engine: Engine, spec: DecisionSpec, facts: _Known) -> Engine | PartialDecision | None:
    """When the known facts date the question (`dated_by`) before this version took effect: the
    engine of the version in force then, or every completion's answer when none is."""
    dated_by = spec.decision.dated_by
    day = facts.values.get(dated_by) if dated_by else None
    policy = spec.file.policy
    if not isinstance(day, dt.date) or day >= policy.effective_from:
        return None
    versions = engine.policies.versions.get(policy.id, (policy.effective_from,))
    if engine.as_of is not None or not any(v <= day for v in versions):
        error = (f"no version of policy {policy.id!r} is in force on {day.isoformat()}; the earliest starts "
                 f"{versions[0].isoformat()}" if engine.as_of is None else
                 f"the question is dated {day.isoformat()}, before this version of policy {policy.id!r} "
                 f"took effect ({policy.effective_from.isoformat()}): the solver covers questions dated "
                 "on or after it")
        if engine.as_of is not None:
            return PartialDecision(spec.decision.id, "unknown", None, error, tuple(spec.decision.outcomes))
        runtime = engine._runtime(spec.decision.id)
        return refused(engine, spec, runtime.error_duties, "no version of the policy applies", [error],
                        time.perf_counter())
    holder = SimpleNamespace()
    here = holder
    steps = str(dated_by).split(".")
    for step in steps[:-1]:
        setattr(here, step, SimpleNamespace())
        here = getattr(here, step)
    setattr(here, steps[-1], day)
    return engine._engine_in_force(engine._runtime(spec.decision.id), holder, None)  # type: ignore[arg-type]


def refused(engine: Engine, spec: DecisionSpec, duties: tuple[Obligation, ...], what: str,
             errors: list[str], started: float) -> PartialDecision:
    """Known facts no valid completion has: every completion is refused, with on_error."""
    on_error = spec.decision.on_error
    return PartialDecision(
        spec.decision.id, "determined", on_error,
        f"{what}; every completion of them is refused, failing closed with {on_error!r}: "
        + "; ".join(errors),
        (on_error,), duties=tuple(Duty(d, True) for d in duties), proof="proved",
        bounds=("every completion of the known facts: none is valid",), errors=tuple(errors),
        seconds=time.perf_counter() - started)


def _check(solver: z3.Solver, *assumptions: z3.BoolRef, timeout_s: float) -> bool:
    """Whether the solver's constraints can hold with these literals; _OutOfTime when the solver
    cannot tell."""
    verdict = solver.check(*assumptions)
    if verdict == z3.unknown:
        raise _OutOfTime(smt_solve.why_unknown(solver, timeout_s))
    return verdict == z3.sat


def _decide(engine: Engine, prepared: _Prepared, facts: _Known, runtime: Any, questions: bool,
            started: float) -> PartialDecision:
    spec, dm, solver, t = prepared.spec, prepared.a, prepared.solver, prepared.timeout_s
    did = spec.decision.id
    unmodelled = sorted(set(dm.encoder.unmodelled))
    if unmodelled:
        return PartialDecision(did, "unknown", None, "the solver does not model " + "; ".join(unmodelled),
                               tuple(spec.decision.outcomes), seconds=time.perf_counter() - started)
    # Per outcome: possible over every list length (unsat: impossible, proved for all lengths)?
    # then with items past the bound repeating (real facts), readable when it can be: that
    # model is the example. One solver call per outcome when the first model already is one.
    possible: list[str] = []
    found: dict[str, z3.ModelRef] = {}
    for o in spec.decision.outcomes:
        if _check(solver, prepared.nice, prepared.exact, prepared.is_[o], timeout_s=t):
            found[o] = solver.model()  # a readable example: the outcome is possible
        elif _check(solver, prepared.exact, prepared.is_[o], timeout_s=t):
            found[o] = solver.model()
        elif not _check(solver, prepared.is_[o], timeout_s=t):
            continue
        possible.append(o)
    if not possible:  # exactly one outcome holds for every valid fact: so there is none
        return refused(engine, spec, runtime.error_duties, "the known facts contradict the fact model's "
                        "checks (facts/: a hold's dates, a restriction's ages, ...)",
                        ["no valid facts complete them"], started)
    if len(possible) == 1:
        return _determined(prepared, facts, runtime, possible[0], None, started)
    exact = [o for o in possible if o in found]
    if len(exact) == 1:
        return _determined(prepared, facts, runtime, exact[0], prepared.bound, started)
    if not exact:
        raise _OutOfTime(f"no completion with lists of up to {prepared.bound} different items was found "
                         "although longer lists might have one: a larger list bound looks further")
    examples = tuple(_example(engine, prepared, o, found[o]) for o in exact)
    cache = [(o, found[o]) for o in exact]
    asked = tuple(_questions(prepared, facts, possible, examples, cache)) if questions else ()
    return PartialDecision(
        did, "open", None,
        f"{len(exact)} outcomes are still possible: " + ", ".join(exact)
        + (f"; {len(asked)} unknown fact(s) can change the answer" if questions else ""),
        tuple(exact), examples, asked, proof=None, bounds=_bounds(prepared, prepared.bound, still_open=True),
        seconds=time.perf_counter() - started)


def _holds(model: z3.ModelRef, *literals: z3.BoolRef) -> bool:
    return all(smt_eval.holds(model, lit) for lit in literals)


def _first_model(solver: z3.Solver, *tries: list[z3.BoolRef], timeout_s: float) -> z3.ModelRef | None:
    """The model of the first assumptions that hold (None when none does)."""
    for assumptions in tries:
        if _check(solver, *assumptions, timeout_s=timeout_s):
            return solver.model()
    return None


def _example(engine: Engine, prepared: _Prepared, outcome: str, model: z3.ModelRef) -> Example:
    """The completion a model stands for, replayed through Engine.decide, which must agree."""
    facts = facts_from_model(prepared.a.facts, model)
    answer = engine.decide(prepared.spec.decision.id, facts)
    if answer.outcome != outcome:
        raise _OutOfTime(f"the solver's completion for {outcome!r} is answered {answer.outcome!r} by the "
                         f"engine (a bug in the translation: report it); facts: {facts}")
    return Example(outcome, _plain(facts))


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _determined(prepared: _Prepared, facts: _Known, runtime: Any, outcome: str, list_bound: int | None,
                started: float) -> PartialDecision:
    spec, solver, t = prepared.spec, prepared.solver, prepared.timeout_s
    scope = [prepared.exact] if list_bound is not None else []
    duties: list[Duty] = []
    for (rule, o), carries in prepared.carries.items():
        if o != outcome or not _check(solver, *scope, carries, timeout_s=t):
            continue
        certain = not _check(solver, *scope, z3.Not(carries), timeout_s=t)
        duties += [Duty(ob, certain) for ob in runtime.by_id[rule].obligations]
    if outcome == spec.decision.on_error and _check(solver, *scope, prepared.raises, timeout_s=t):
        certain = not _check(solver, *scope, z3.Not(prepared.raises), timeout_s=t)
        duties += [Duty(ob, certain) for ob in runtime.error_duties]
    bounded = list_bound is not None
    return PartialDecision(
        spec.decision.id, "determined", outcome,
        f"every valid completion of the known facts gets {outcome!r}"
        + (f" (proved for lists of up to {list_bound} items)" if bounded
           else " (proved for lists of any length)"),
        (outcome,), duties=tuple(duties), proof="proved-bounded" if bounded else "proved",
        list_bound=list_bound, bounds=_bounds(prepared, list_bound), seconds=time.perf_counter() - started)


def _duty_rules(dm: DecisionModel, spec: DecisionSpec, outcome: str) -> list[tuple[str, z3.BoolRef]]:
    """Per rule with duties: when an answer of outcome carries them (engine/combine.py: the
    winners' duties; every fired rule's under collect-all; the first fired rule's under
    first-applicable), and the evaluation did not fail."""
    d = spec.decision
    out: list[tuple[str, z3.BoolRef]] = []
    earlier: z3.BoolRef = z3.BoolVal(False)
    for r in dm.rules:
        fires = dm.fires[r.id]
        match d.combine:
            case "collect-all":
                carries = fires
            case "first-applicable":
                carries = z3.And(fires, z3.Not(earlier))
            case "deny-overrides" | "precedence":
                carries = fires if r.rule.outcome == outcome else z3.BoolVal(False)
            case _:
                typing.assert_never(d.combine)
        earlier = z3.Or(earlier, fires)
        if r.rule.obligations:
            out.append((r.id, z3.And(carries, dm.outcome_is[outcome], z3.Not(dm.raises))))
    return out


def _bounds(prepared: _Prepared, list_bound: int | None, still_open: bool = False) -> tuple[str, ...]:
    """What a claim covers, in the words of docs/prove.md. For an open answer, the outcomes still
    possible are shown by real examples; which facts cannot change the answer is found with
    lists of up to the bound."""
    spec = prepared.spec
    lists = sorted({p.split("!", 1)[-1].split(".", 1)[-1] for p in prepared.a.encoder.bounded_lists
                    if "[" not in p})
    out = [f"the facts the engine accepts: dates from {MIN_FACT_DATE.isoformat()} to "
           f"{MAX_FACT_DATE.isoformat()}, "
           "whole numbers up to 2**63 - 1 either way, text up to 65,535 UTF-8 bytes (docs/prove.md, "
           "\"The engine's range\")"]
    if lists and still_open:
        out.append(f"the facts that cannot change the answer (not asked): proved for lists of up to "
                   f"{list_bound} items ({', '.join(lists)}); the outcomes still possible: shown by the "
                   "examples, real facts")
    elif lists:
        out.append(f"proved for lists of up to {list_bound} items ({', '.join(lists)})"
                   if list_bound is not None else f"lists of any length ({', '.join(lists)})")
    if spec.decision.dated_by is not None:
        out.append(f"questions dated ({spec.decision.dated_by}) on or after "
                   f"{spec.file.policy.effective_from.isoformat()}, the date this version of policy "
                   f"{spec.file.policy.id!r} took effect; an earlier question is answered by an earlier "
                   "version, or with on_error when none is loaded")
    return tuple(out)


# ------------------------------------------------------------------ the questions


def _questions(prepared: _Prepared, facts: _Known, possible: list[str],
               examples: tuple[Example, ...], cache: list[tuple[str, z3.ModelRef]]) -> list[Question]:
    """The unknown facts that can change the answer, ranked (RANKING). possible: the outcomes
    possible over every list length (an answer settles the outcome only if it leaves one of them).

    A fact can change the answer when two valid completions differing in it alone get different
    outcomes. A fact no rule reads is never asked. Most facts are seen to matter without a solver
    call: the example completions with the fact's answers put in (_Variants), checked by
    evaluating the encoding, often give two valid completions differing in it alone with
    different outcomes. For the others, the witness solver of the fact (_Prepared.witness_solver,
    one copy of the decision and a copy of what the fact reaches) looks for such a pair. When the
    outcome is proved a function of the given facts (_Prepared.outcome_is_function, once per
    encoding), its "no" proves the fact cannot change the answer; otherwise (or when it runs out
    of time) the facts it finds none for are asked of the solver over two copies of the decision
    at once ("can one of these change the answer?"): no proves that none of them can, each yes
    shows one that can, and is asked again without it. Each completion found is kept with the
    models found before (cache), so that most answers tried for settling are seen possible
    without a call."""
    prepared.for_questions()
    read = _read_paths(prepared.spec)
    variants = _Variants(prepared, [model for _, model in cache])
    units = [u for u in facts.units if read is None or _is_read(u.path, read)]
    tried = {u.path: _answers(u, examples, prepared.finite_answers) for u in units}
    seen = _seen(variants, units, tried, latest=False)
    changes = {u.path for u in units if any(c for _, c in seen[u.path])}
    uncertain: set[str] = set()

    def found(model: z3.ModelRef, skip: set[str]) -> None:
        """A real completion (copy a of a pair): kept for settling, and its variants may show
        that more facts can change the answer."""
        got = next((o for o in possible if _holds(model, prepared.a.outcome_is[o])), None)
        if got is None:
            return
        cache.append((got, model))
        if variants.add(model):
            # every unit, not only those still open: the packed term is the first call's, built
            # once (_Variants.table), and the outcomes seen help settling
            for path, more in _seen(variants, units, tried, latest=True).items():
                seen[path] = [(old | new, c or c2)
                              for (old, c), (new, c2) in zip(seen[path], more, strict=True)]
                if any(c for _, c in more):
                    changes.add(path)

    pins = smt_eval.conjunction(facts.pins)
    rest: list[_Unit] = []
    for unit in units:
        if unit.path in changes:
            continue
        witness = prepared.witness_solver(unit.path)
        witness.push()
        try:
            smt_eval.assert_all(witness, [pins])
            if _check(witness, timeout_s=prepared.timeout_s):
                changes.add(unit.path)
                found(witness.model(), set())
                continue
            if prepared.outcome_is_function():
                continue  # proved: it cannot change the answer (witness_solver)
        except _OutOfTime:
            pass  # no claim: the pair asks
        finally:
            witness.pop()
        rest.append(unit)
    rest = [u for u in rest if u.path not in changes]
    if rest:
        _pair_proofs(prepared, facts, rest, changes, uncertain, found)
    ranked: list[tuple[tuple[int, float, int], Question]] = []
    for unit in units:
        if unit.path not in changes and unit.path not in uncertain:
            continue
        settles = []
        for (answer, pin), (outcomes, _) in zip(tried[unit.path], seen[unit.path], strict=True):
            outcome = _settled_by(prepared, pin, possible, cache, outcomes)
            if outcome is not None:
                settles.append(Settles(answer, outcome))
        share = len(settles) / len(tried[unit.path]) if tried[unit.path] else 0.0
        key = (0 if settles else 1, -share, unit.order)
        ranked.append((key, _question(unit, tuple(settles), len(tried[unit.path]), unit.path in uncertain)))
    return [q for _, q in sorted(ranked, key=lambda kq: kq[0])]


def _seen(variants: _Variants, units: list[_Unit], tried: dict[str, list[tuple[Any, z3.BoolRef]]],
          latest: bool) -> dict[str, list[tuple[set[str], bool]]]:
    """Per unit, per answer tried: the outcomes its variants get, and whether they show the unit
    can change the answer (_Variants.table, all at once)."""
    asks = [(u, answer) for u in units for answer, _ in tried[u.path]]
    rows = iter(variants.table(asks, latest))
    return {u.path: [next(rows) for _ in tried[u.path]] for u in units}


def _pair_proofs(prepared: _Prepared, facts: _Known, rest: list[_Unit], changes: set[str],
                 uncertain: set[str], found: typing.Callable[[z3.ModelRef, set[str]], None]) -> None:
    """Which of these units can change the answer, over two copies of the decision (adds them to
    changes): asked for all of them at once, each pair found naming one (it differs in that unit
    alone), until the solver proves that none of the others can. A unit the solver cannot tell
    about in time is uncertain (asked, and marked so)."""
    t = prepared.timeout_s
    b, pair, selectors = prepared.pair()
    pins_b = _Known()
    _read(b.facts, facts.original, "", pins_b)
    keep = {u.path: smt_eval.conjunction([s for p, s in selectors.items() if not _under(p, u.path)])
            for u in rest}
    pair.push()
    try:
        smt_eval.assert_all(pair, [smt_eval.conjunction([*pins_b.pins, *facts.pins])])
        left = list(rest)
        while left:
            ask = z3.Bool(f"some!{next(_ANSWERS)}")
            pair.add(z3.Implies(ask, z3.Or(*[keep[u.path] for u in left])))
            try:
                if not _check(pair, ask, timeout_s=t):
                    return  # proved: none of those left can change the answer
            except _OutOfTime:
                break
            model = pair.model()
            hit = [u for u in left if smt_eval.holds(model, keep[u.path])]
            if not hit:
                break  # the model does not say which (it should): each alone, below
            changes.update(u.path for u in hit)
            left = [u for u in left if u.path not in changes]
            found(model, {u.path for u in left})
        # out of time over several at once: each alone, as the rule reads
        for unit in left:
            try:
                if _check(pair, keep[unit.path], timeout_s=t):
                    changes.add(unit.path)
            except _OutOfTime:
                uncertain.add(unit.path)
    finally:
        pair.pop()


class _Variants:
    """Completions found without the solver, by evaluating the encoding in a model: a valid
    completion of the known facts (an example's model) with one unknown fact set to an answer
    tried for it. The variant is valid when the constraints that read that fact hold with the
    answer put in (the others hold as in the model, and the known facts do not read an unknown
    fact): its outcome is then possible with that answer. A model and its variant, both exact
    (real facts), with different outcomes, are two valid completions that differ in that fact
    alone: it can change the answer. A variant that fails proves nothing (the solver is asked)."""

    def __init__(self, prepared: _Prepared, models: list[z3.ModelRef]) -> None:
        self.prepared = prepared
        # (model, its outcome, exact): each a valid completion of the known facts
        self.bases: list[tuple[z3.ModelRef, str, bool]] = []
        # the packed term of table(), per list of asks (by identity: the same lists of units
        # and answers come back within a call); the asks are kept alive with it
        self._terms: dict[tuple[tuple[int, int], ...], tuple[list[tuple[_Unit, Any]], z3.ArithRef]] = {}
        for model in models:
            self.add(model)

    def add(self, model: z3.ModelRef) -> bool:
        """Make variants of this model too (unless there are already _VARIANT_BASES: each costs
        an evaluation). Whether it was added. The model is a valid completion of the known facts:
        every caller's model is one of a solver that holds copy a's constraints and the known
        facts' pins, and z3's models satisfy their solver's assertions."""
        if len(self.bases) < _VARIANT_BASES:
            self.bases.append((model, self._outcome(model, self.prepared.outcome_term),
                               _holds(model, self.prepared.exact_formula)))
            return True
        return False

    def _outcome(self, model: z3.ModelRef, term: z3.ArithRef) -> str:
        return self.prepared.outcome_names[smt_eval.int_value(model, term)]

    def table(self, asks: list[tuple[_Unit, Any]], latest: bool = False) -> list[tuple[set[str], bool]]:
        """outcomes() of each (unit, answer), read with one evaluation per model (_Prepared.code,
        packed into one number: the parts that do not depend on the answer are evaluated once);
        an answer the model does not reduce to numbers is evaluated alone, as outcomes() does."""
        out: list[tuple[set[str], bool]] = [(set(), False) for _ in asks]
        names = self.prepared.outcome_names
        if not asks or not self.bases or 4 * len(names) > 256:
            return [self.outcomes(unit, answer, latest) for unit, answer in asks] if asks else out
        key = tuple((id(unit), id(answer)) for unit, answer in asks)
        hit = self._terms.get(key)
        if hit is None:
            hit = self._terms[key] = (list(asks), smt_eval.packed([self.prepared.code(unit, answer)
                                                                   for unit, answer in asks]))
        term = hit[1]
        for model, base_outcome, base_exact in self.bases[-1:] if latest else self.bases:
            value = smt_eval.int_or_none(model, term)
            if value is None:
                return [self.outcomes(unit, answer, latest) for unit, answer in asks]
            for i, (found, _) in enumerate(out):
                code = (value >> (smt_eval.PACKED_BITS * i)) & 255
                if not code & 1:
                    continue  # the variant is not valid: proves nothing
                got = names[code >> 2]
                found.add(got)
                if got != base_outcome and base_exact and code & 2:
                    out[i] = (found, True)
        return out

    def outcomes(self, unit: _Unit, answer: Any, latest: bool = False) -> tuple[set[str], bool]:
        """The outcomes of the valid variants with this answer, and whether one of them, exact,
        has another outcome than its exact model (then the unit can change the answer).
        latest: of the base added last only."""
        if not self.bases:
            return set(), False
        valid, outcome, exact = self.prepared.with_answer(unit, answer)
        found: set[str] = set()
        changes = False
        for model, base_outcome, base_exact in self.bases[-1:] if latest else self.bases:
            if not _holds(model, valid):
                continue
            got = self._outcome(model, outcome)
            found.add(got)
            changes = changes or (got != base_outcome and base_exact and _holds(model, exact))
        return found, changes


#: how many models the variants are made of: the examples, then models the pair solver found
_VARIANT_BASES = 8


def _assignment(unit: _Unit, answer: Any) -> list[tuple[z3.ExprRef, z3.ExprRef]]:
    """The variables of the unit's own node set to an answer (its presence flag when it may be
    absent, and its value or length): what _answers' pin says, as values a model can take."""
    enc, ft = unit.enc, unit.ft
    own: list[tuple[z3.ExprRef, z3.ExprRef]] = []
    if unit.nullable:
        flag = z3.Bool(f"{_PREFIX_A}.{unit.path}?")
        if answer is None:
            return [(flag, z3.BoolVal(False))]
        own.append((flag, z3.BoolVal(True)))
    match enc:
        case ObjEnc():
            return own
        case ListEnc():
            return [*own, (enc.length, z3.IntVal(0)), (enc.arbitrary, z3.BoolVal(False))]
        case ScalarEnc():
            match ft.kind:
                case "enum":
                    value: z3.ExprRef = z3.IntVal(enum_index(ft, str(getattr(answer, "value", answer))))
                case "date":
                    value = z3.IntVal(answer.toordinal())
                case "string":
                    value = z3.StringVal(answer)
                case "bool":
                    value = z3.BoolVal(bool(answer))
                case "number":
                    value = z3.RealVal(answer)
                case _:
                    value = z3.IntVal(int(answer))
            return [*own, (enc.value, value)]
        case _:
            typing.assert_never(enc)


#: The given facts each derived (computed) fact is computed from, relative to its object, as
#: facts/*.py computes them. A derived fact missing here counts as reading its whole object.
COMPUTED_READS: dict[str, tuple[str, ...]] = {
    "PlacementRequest.hold_state": ("home.hold", "placement.date"),
    "PlacementRequest.children_after_placement": ("home.children_placed", "placement.siblings"),
    "Placement.youngest_sibling_age": ("siblings",),
    "Placement.oldest_sibling_age": ("siblings",),
    "Placement.sibling_genders": ("siblings",),
    "Reinstatement.hold_state": ("hold", "request.date"),
    "Home.youngest_placed_age": ("children_placed",),
    "Home.oldest_placed_age": ("children_placed",),
    "Home.genders_placed": ("children_placed",),
    "HoldPlaced.regions_to_notify": ("children_in_home",),
    "InterviewPlan.focus_area_is_topic_chosen": ("focus_areas", "template.focus_area"),
}


def _read_paths(spec: DecisionSpec) -> set[str] | None:
    """The given facts the decision's rules read (through derived facts too); None: all of them.
    A fact no rule reads cannot change the answer: the outcome is a function of the others.
    Cached per decision (the rules are read once)."""
    hit = _READ_PATHS.get(id(spec))
    if hit is None or hit[0] is not spec:
        hit = _READ_PATHS[id(spec)] = (spec, _rules_read(spec))
    return hit[1]


_READ_PATHS: dict[int, tuple[DecisionSpec, set[str] | None]] = {}


def _rules_read(spec: DecisionSpec) -> set[str] | None:
    out: set[str] = set()
    for rule in spec.rules:
        for path in fact_paths(rule.condition):
            model: Any = spec.fact_model
            prefix: list[str] = []
            for part in path.split("."):
                if model is None:
                    break
                if part in model.model_computed_fields:
                    reads = COMPUTED_READS.get(f"{model.__qualname__}.{part}")
                    if reads is None and not prefix:
                        return None
                    out.update(".".join([*prefix, r]) for r in (reads or ("",)))
                    break
                info = model.model_fields.get(part)
                ft = type_of(info.annotation) if info is not None else None
                prefix.append(part)
                model = ft.model if ft is not None and ft.kind == "object" else None
            else:
                out.add(path)
                continue
            if model is None and prefix:
                out.add(".".join(prefix))
    return {p.rstrip(".") for p in out}


def _is_read(unit: str, read: set[str]) -> bool:
    plain = re.sub(r"\[\d+\]", "", unit)
    return any(r == "" or _under(plain, r) or _under(r, plain) for r in read)


def _under(path: str, unit: str) -> bool:
    return path == unit or path.startswith(unit + ".") or path.startswith(unit + "[")


def _answers(unit: _Unit, examples: tuple[Example, ...],
             finite: dict[str, list[tuple[Any, z3.BoolRef]]] | None = None) -> list[tuple[Any, z3.BoolRef]]:
    """The answers tried for settling: the finite domain (null, yes/no, an enum's values, an object
    given, no items), or the values the example completions hold. finite: the finite domains
    built before for this encoding, by path (the same for every call)."""
    if finite is not None:
        hit = finite.get(unit.path)
        if hit is None:
            hit = _answers(unit, ())
            if unit.enc.__class__ is not ScalarEnc or unit.ft.kind in ("bool", "enum"):
                finite[unit.path] = hit
            else:
                hit = _answers(unit, examples)
        return hit
    enc, ft = unit.enc, unit.ft
    out: list[tuple[Any, z3.BoolRef]] = []
    if unit.nullable:
        out.append((None, z3.Not(enc.present)))
    match enc:
        case ObjEnc():
            out.append(({}, enc.present))
        case ListEnc():
            out.append(([], z3.And(enc.present, enc.length == 0)))
        case ScalarEnc() if ft.kind == "bool":
            out += [(v, z3.And(enc.present, enc.value == z3.BoolVal(v))) for v in (True, False)]
        case ScalarEnc() if ft.kind == "enum":
            out += [(v, z3.And(enc.present, enc.value == enum_index(ft, v))) for v in ft.enum_values]
        case ScalarEnc():
            seen: list[Any] = []
            for ex in examples:
                value = _at(ex.facts, unit.path)
                if value is not None and value not in seen:
                    seen.append(value)
                    out.append((value, z3.And(enc.present, _equals(enc, value))))
        case _:
            typing.assert_never(enc)
    return out


def _at(facts: Any, path: str) -> Any:
    here = facts
    for step in path_steps(path):
        if isinstance(step, int):
            here = here[step] if isinstance(here, list) and step < len(here) else None
        else:
            here = here.get(step) if isinstance(here, Mapping) else None
        if here is None:
            return None
    return here


def _settled_by(prepared: _Prepared, pin: z3.BoolRef, possible: list[str],
                cache: list[tuple[str, z3.ModelRef]], seen: set[str]) -> str | None:
    """The one outcome every completion with this answer gets (over every list length), if any.
    cache: models found so far, with their outcome; one that has this answer shows its outcome
    possible without asking the solver (each new model is added); seen: outcomes of valid
    completions with this answer found otherwise (_Variants)."""
    solver, t = prepared.solver, prepared.timeout_s
    found = set(seen)
    if len(found) > 1:
        return None
    found |= {o for o, model in cache if smt_eval.holds(model, pin)}
    if len(found) > 1:
        return None
    answer = z3.Bool(f"answer!{next(_ANSWERS)}")
    smt_eval.assert_all(solver, [smt_eval.iff(answer, pin)])  # inside the call's push: gone with its pop
    for o in possible:
        if o in found:
            continue
        try:
            if not _check(solver, answer, prepared.is_[o], timeout_s=t):
                continue
        except _OutOfTime:
            return None  # no claim
        found.add(o)
        cache.append((o, solver.model()))
        if len(found) > 1:
            return None
    # an outcome outside `possible` is impossible with less known, so with this answer too
    return next(iter(found)) if len(found) == 1 else None


def _question(unit: _Unit, settles: tuple[Settles, ...], tried: int, uncertain: bool) -> Question:
    ft = unit.ft
    choices = ft.enum_values if ft.kind == "enum" else (
        ft.item.enum_values if ft.kind == "list" and ft.item is not None else ())
    return Question(unit.path, unit.text, ft.kind, unit.nullable, tuple(choices), settles, tried, uncertain)

