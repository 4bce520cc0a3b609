"""The static checks by parts: whether rules fire (alone, or two together) decided per part of the
facts they read, most parts by a real fact, the rest by the solver over that part alone.

The fact encoding falls apart into components that share no variable: the home's id, the
child's age, the hold with the dates its validator ties together, the children placed, ...
(`Parts` finds them from the constraints). A rule's condition is the conjunction of its top-level
conjuncts; group them by the components they read (two conjuncts reading one component, or one
conjunct reading two, join a group). Then, because separate components never meet in any
constraint, "some valid fact fires these rules" holds exactly when, in each group, some
assignment of that group's components meets the constraints there and every conjunct of the
group: the groups' assignments put together, with any valid values elsewhere, are one valid fact.
For two rules, the groups are formed over both rules' conjuncts, so only the groups where they
read the same components ask anything new.

Each group is decided, in order:

1. by the pool of real facts: when every conjunct of the group is true on one fact of the pool
   (each fact evaluated on every conjunct by the compiled evaluator as it joins; a bit set per
   conjunct over the pool, one AND per group), the group holds;
2. else by the solver, over that group's components only (their few constraints, not the whole
   decision): unsat is final; sat holds, and the model's values for those components, put into
   the pool's first fact, make a new fact of the pool (validated by the fact model).

The exact encoding here has text as codes (`exact_model`, smt_facts `text_codes`): no
question needs the string solver. A shadowed-rule question is split by the rule's key values
(`fires_without`).

Every answer is the solver's answer to the whole question (tests/test_static_parts.py checks
the findings against asking about every pair with the whole encoding); none is a time limit's.
The decision must be one on which no valid fact raises (`Parts` is not used otherwise: "the
engine decides without an error" reads every rule at once).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import typing
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import z3
from pydantic import BaseModel, ValidationError

from qpr_rules.analysis import smt_eval
from qpr_rules.analysis.smt_conditions import translate
from qpr_rules.analysis.smt_decision import DecisionModel, decision_model
from qpr_rules.analysis.smt_facts import (
    Enc,
    FactEncoder,
    ListEnc,
    ObjEnc,
    ScalarEnc,
    facts_from_model,
    field_value,
    lookup,
    pin_value,
)
from qpr_rules.analysis.smt_solve import TimedSolver, why_unknown
from qpr_rules.analysis.smt_solve import solver as new_solver
from qpr_rules.engine.compiled import compile_decision
from qpr_rules.engine.reference import compile_condition
from qpr_rules.policy.condition_nodes import (
    All,
    AnyOf,
    Compare,
    Condition,
    Contains,
    Count,
    FactRef,
    InSet,
    Literal_,
    Not,
    Present,
    Quantified,
)
from qpr_rules.policy.loader import CompiledRule, DecisionSpec


class Unknown(Exception):
    """The solver ran out of time (or gave up) on a question: the reason."""


def exact_model(spec: DecisionSpec, list_bound: int, texts: bool = True) -> DecisionModel:
    """The decision over the exact encoding, built without the ghost items (the parts ask only
    exact questions), with text that the rules only compare with literals as codes (texts; see
    smt_facts): the same answer to every question, without the string theory."""
    codes: dict[str, tuple[str, ...]] = {}
    if texts:
        # the texts some constraint or computed field reads stay text (found on the encoding
        # with every text as text: the variables are named by their paths either way)
        encoder = FactEncoder("facts", list_bound, ghosts=False)
        plain = encoder.encode(spec.fact_model)
        codes = coded_texts([r.condition for r in spec.rules], _texts(plain))
        read = _code_readers(encoder, plain, codes)
        codes = {p: t for p, t in codes.items() if p not in read}
    encoder = FactEncoder("facts", list_bound, ghosts=False, text_codes=codes)
    facts = encoder.encode(spec.fact_model)
    return decision_model(spec, list_bound=list_bound, encoder=encoder, facts=facts)


def coded_texts(conditions: Iterable[Condition], texts: Iterable[str] = ()) -> dict[str, tuple[str, ...]]:
    """The fact paths the conditions read as text compared only with literals (eq, ne, in), each
    with the texts named (sorted), and the paths of texts (the fact model's text fields outside
    lists) that no condition compares, with none: candidates for the code encoding. A path some
    condition compares otherwise (with another fact, by order, inside a `some`/`every`) is left
    out; so are paths that turn out not to be text outside a list (the encoder codes only those
    it meets)."""
    named: dict[str, set[str]] = {}
    other: set[str] = set()

    def walk(cond: Condition, inside: bool) -> None:
        match cond:
            case All(items=items) | AnyOf(items=items):
                for item in items:
                    walk(item, inside)
            case Not(item=item):
                walk(item, inside)
            case Compare(path=path, op="eq" | "ne", right=Literal_(value=str() as text), ftype=ft) \
                    if ft.kind == "string" and not inside:
                named.setdefault(path, set()).add(text)
            case InSet(path=path, values=values, ftype=ft) if ft.kind == "string" and not inside:
                if all(isinstance(v, str) for v in values):
                    named.setdefault(path, set()).update(typing.cast(tuple[str, ...], values))
                else:
                    other.add(path)
            case Compare(path=path, right=right) | Contains(path=path, right=right) | \
                    Count(path=path, right=right):
                other.add(path)
                if isinstance(right, FactRef):
                    other.add(right.path)
            case InSet(path=path) | Present(path=path):
                if inside:
                    other.add(path)
            case Quantified(path=path, cond=inner):
                # its items' fields are never coded; a fact its condition names stays text
                walk(inner, True)

    for cond in conditions:
        walk(cond, False)
    for path in texts:
        named.setdefault(path, set())
    return {p: tuple(sorted(texts)) for p, texts in named.items() if p not in other}


def _texts(obj: ObjEnc, path: str = "") -> Iterable[str]:
    """The paths of the given text fields outside lists."""
    assert obj.model is not None
    for name, enc in obj.fields.items():
        if name in obj.model.model_computed_fields:
            continue
        match enc:
            case ObjEnc(model=model) if model is not None:
                yield from _texts(enc, f"{path}{name}.")
            case ScalarEnc(ft=ft, given=True) if ft.kind == "string":
                yield f"{path}{name}"
            case _:
                pass


def _code_readers(encoder: FactEncoder, facts: ObjEnc, codes: dict[str, tuple[str, ...]]) -> set[str]:
    """The paths of codes whose variable some constraint or computed field reads (a validator
    or a computed field reading the text needs it as text)."""
    names = {f"{encoder.prefix}.{p}": p for p in codes}
    readers = [c for c in encoder.constraints if c.get_id() not in encoder.code_domain]
    stack: list[Enc] = [facts]
    while stack:
        enc = stack.pop()
        match enc:
            case ObjEnc(model=model, fields=fields):
                for name, sub in fields.items():
                    if model is not None and name in model.model_computed_fields:
                        readers += _enc_formulas(sub)
                    else:
                        stack.append(sub)
            case ListEnc(items=items):
                stack += [item for _, item in items]
            case ScalarEnc():
                pass
    return {names[v] for v in smt_eval.variables(readers) if v in names}


def conjuncts(cond: Condition) -> list[Condition]:
    """The conjuncts of a condition's top-level `all` (nested `all`s flattened); itself otherwise."""
    if isinstance(cond, All):
        return [c for item in cond.items for c in conjuncts(item)]
    return [cond]


def _split(formula: z3.BoolRef) -> list[z3.BoolRef]:
    """formula as a conjunction of smaller formulas (And's arguments, Not(Or(...))'s negated
    arguments), so that each reads as few components as it can."""
    if z3.is_and(formula):
        return [p for child in formula.children() for p in _split(child)]
    if z3.is_not(formula) and z3.is_or(formula.arg(0)):
        return [p for child in formula.arg(0).children() for p in _split(z3.Not(child))]
    if z3.is_true(formula):
        return []
    return [formula]


class _Linker:
    """Joins, in a union-find over variable names, the variables each formula reads: every node of
    the formulas is visited once, through z3's C API (shared subterms are many: the fact fields'
    presence, the list slots' guards)."""

    def __init__(self) -> None:
        self.comps = _Components()
        self._rep: dict[int, str | None] = {}  # node id -> a variable under it (joined), or None
        self._ctx = z3.main_ctx().ref()

    def link(self, formula: z3.ExprRef) -> str | None:
        """Join formula's variables; one of them (None when it reads none)."""
        ctx, rep = self._ctx, self._rep
        stack: list[tuple[Any, bool]] = [(formula.as_ast(), False)]
        while stack:
            ast, expanded = stack.pop()
            key = z3.Z3_get_ast_id(ctx, ast)
            if key in rep and not expanded:
                continue
            if z3.Z3_get_ast_kind(ctx, ast) != z3.Z3_APP_AST:
                rep[key] = None  # numerals are apps too; quantifiers and bound variables: none here
                continue
            app = z3.Z3_to_app(ctx, ast)
            n = z3.Z3_get_app_num_args(ctx, app)
            if n == 0:
                decl = z3.Z3_get_app_decl(ctx, app)
                if z3.Z3_get_decl_kind(ctx, decl) == z3.Z3_OP_UNINTERPRETED:
                    rep[key] = z3.Z3_get_symbol_string(ctx, z3.Z3_get_decl_name(ctx, decl))
                else:
                    rep[key] = None
                continue
            args = [z3.Z3_get_app_arg(ctx, app, i) for i in range(n)]
            if not expanded:
                stack.append((ast, True))
                stack.extend((a, False) for a in args)
                continue
            rep[key] = self.comps.union(r for a in args if (r := rep[z3.Z3_get_ast_id(ctx, a)]) is not None)
        return rep[z3.Z3_get_ast_id(ctx, formula.as_ast())]


def _enc_formulas(enc: Enc) -> list[z3.ExprRef]:
    match enc:
        case ObjEnc(present=present, fields=fields):
            return [present, *[f for sub in fields.values() for f in _enc_formulas(sub)]]
        case ListEnc(present=present, length=length, items=items, arbitrary=arbitrary):
            return [present, length, arbitrary, *[f for g, item in items for f in [g, *_enc_formulas(item)]]]
        case ScalarEnc(present=present, value=value):
            return [present, value]
    raise AssertionError(enc)


class _Components:
    """Union-find over variable names."""

    def __init__(self) -> None:
        self.parent: dict[str, str] = {}

    def find(self, v: str) -> str:
        parent = self.parent
        root = parent.setdefault(v, v)
        while parent[root] != root:
            root = parent[root]
        while parent[v] != root:
            parent[v], v = root, parent[v]
        return root

    def union(self, names: Iterable[str]) -> str | None:
        first: str | None = None
        for name in names:
            root = self.find(name)
            if first is None:
                first = root
            elif root != first:
                self.parent[root] = first
        return first


@dataclass
class _Fact:
    given: dict[str, Any]  # the facts as a caller writes them
    dumped: dict[str, Any]  # as the reference evaluator reads them (computed fields too)
    model: BaseModel  # as the compiled evaluator reads it


@dataclass(frozen=True)
class Group:
    conjuncts: frozenset[int]
    components: frozenset[str]


class Parts:
    """One decision's rules split into conjuncts, its fact encoding into components, and a pool of
    real facts: the questions "can these conjuncts hold together?" answered per group."""

    def __init__(self, dm: DecisionModel, timeout_s: float, progress: Callable[[str], None]) -> None:
        self.dm = dm
        self.timeout_s = timeout_s
        model = dm.spec.fact_model
        self.fact_model: type[BaseModel] = model
        # the conjuncts, each once (two rules testing the same thing share it)
        self.conditions: list[Condition] = []
        index: dict[Condition, int] = {}
        self.rule_conjuncts: dict[str, list[int]] = {}
        for r in dm.rules:
            ids = []
            for c in conjuncts(r.condition):
                if c not in index:
                    index[c] = len(self.conditions)
                    self.conditions.append(c)
                ids.append(index[c])
            self.rule_conjuncts[r.id] = sorted(set(ids))
        progress(f"{dm.spec.decision.id}: translating {len(self.conditions):,} conjuncts")
        self.formulas = [translate(c, dm.facts, dm.memo)[0] for c in self.conditions]
        self.checks = [compile_condition(c) for c in self.conditions]
        self._conj_mask = compile_decision(model, self.conditions, f"{dm.spec.decision.id}#conjuncts").mask
        # the components: constraints join the variables they read, and so does every field the
        # pool's facts are merged by (a field is copied whole, so its variables stay together)
        linker = _Linker()
        comps = linker.comps
        constraints = [p for c in dm.constraints for p in _split(c)]
        exactness = _split(dm.encoder.exact())
        anchored: list[tuple[z3.BoolRef, str | None, bool]] = []
        for part, exact in [*[(c, False) for c in constraints], *[(c, True) for c in exactness]]:
            anchored.append((part, linker.link(part), exact))
        unit_vars: list[tuple[tuple[str, ...], list[str], Enc, bool]] = []
        self._units(dm.facts, (), unit_vars)
        for _, names, _, _ in unit_vars:
            comps.union(names)
        # (path, component, encoding, required) of each field facts are merged by
        self.units = [(path, comps.find(names[0]) if names else None, enc, required)
                      for path, names, enc, required in unit_vars]
        self.comps = comps
        self.constraints_of: dict[str, list[z3.BoolRef]] = {}
        self.exact_of: dict[str, list[z3.BoolRef]] = {}
        self.everywhere: list[z3.BoolRef] = []  # constant parts (none but False is kept)
        for part, anchor, exact in anchored:
            if anchor is None:
                self.everywhere.append(part)
                continue
            (self.exact_of if exact else self.constraints_of).setdefault(comps.find(anchor), []).append(part)
        # a conjunct reads the components of the fields on its paths (and nothing else: the ghost
        # readings on an arbitrary list are joined to the list by their definitions)
        path_vars: dict[str, set[str]] = {}
        for c in self.conditions:
            for path in _paths(c):
                if path not in path_vars:
                    path_vars[path] = set(smt_eval.variables(_enc_formulas(lookup(dm.facts, path))))
        self.conj_components = [frozenset(comps.find(v) for path in _paths(c) for v in path_vars[path])
                                for c in self.conditions]
        self.groups = {r.id: self._group(self.rule_conjuncts[r.id]) for r in dm.rules}
        # per rule, the values each field may hold for it to fire, from its top conjuncts (`in`,
        # `eq`; None: any), and the fields a key may be (given scalars outside lists, pinnable)
        self._pins = {r.id: _top_pins(conjuncts(r.condition)) for r in dm.rules}
        self._keyable = {".".join(path) for path, _, enc, _ in self.units
                         if isinstance(enc, ScalarEnc) and enc.given}
        # the pool of real facts, and per conjunct the bits of the pool's facts it holds on
        self.pool: list[_Fact] = []
        self._bits = [0] * len(self.conditions)
        self._known: dict[frozenset[int], bool] = {}
        self._solvers: dict[frozenset[str], TimedSolver] = {}
        self._whole: TimedSolver | None = None  # the whole exact encoding, for fires_without
        self.mask = compile_decision(model, [r.condition for r in dm.rules], dm.spec.decision.id).mask
        self.position = {r.id: i for i, r in enumerate(dm.rules)}
        self._ids = [r.id for r in dm.rules]
        self.solver_calls = 0
        self.merge_refused = 0  # merged facts the fact model refused (none expected: see tests)

    def _units(self, obj: ObjEnc, path: tuple[str, ...],
               out: list[tuple[tuple[str, ...], list[str], Enc, bool]]) -> None:
        """The given fields facts are merged by: an object always present is entered, anything else
        (a scalar, a list, an optional object) is one unit."""
        assert obj.model is not None
        for name, enc in obj.fields.items():
            if name in obj.model.model_computed_fields:
                continue
            if isinstance(enc, ObjEnc) and z3.is_true(z3.simplify(enc.present)) and enc.model is not None:
                self._units(enc, (*path, name), out)
            else:
                out.append(((*path, name), sorted(smt_eval.variables(_enc_formulas(enc))), enc,
                            obj.model.model_fields[name].is_required()))

    def _group(self, ids: Iterable[int]) -> list[Group]:
        """The conjuncts grouped by the components they read (joined through shared ones)."""
        groups: list[tuple[set[int], set[str]]] = []
        for i in ids:
            conj, comps = {i}, set(self.conj_components[i])
            rest = []
            for g in groups:
                if g[1] & comps:
                    conj |= g[0]
                    comps |= g[1]
                else:
                    rest.append(g)
            groups = [*rest, (conj, comps)]
        return [Group(frozenset(c), frozenset(k)) for c, k in groups]

    # ------------------------------------------------------------------ the pool

    def seed(self, formulas: list[z3.BoolRef]) -> None:
        """The pool's first fact, the one others are merged into: a model of the whole encoding
        (exact) with formulas if there is one (no rule firing makes merged facts fire only what
        they are built for), else without."""
        s = new_solver(self.timeout_s)
        s.add(*self.dm.constraints, self.dm.encoder.exact())
        for extra in (formulas, []):
            self.solver_calls += 1
            verdict = s.check(*extra)
            if verdict == z3.sat:
                given = facts_from_model(self.dm.facts, s.model())
                fact = self._fact(given)
                if fact is None:
                    raise AssertionError("the fact model refuses the solver's model of the encoding")
                self._add(fact)
                self._seed_literals()
                return
            if verdict == z3.unknown:
                raise Unknown(why_unknown(s, self.timeout_s))
        raise AssertionError("no valid fact")  # the caller checked that some fact is valid

    def _fact(self, given: dict[str, Any]) -> _Fact | None:
        try:
            model = self.fact_model.model_validate(given)
        except ValidationError:
            return None
        return _Fact(given, model.model_dump(mode="python"), model)

    def bits(self, i: int) -> int:
        """The pool facts conjunct i holds on, as a bit set (every fact is evaluated on every
        conjunct as it joins the pool: _evaluate)."""
        return self._bits[i]

    def _evaluate(self, k: int) -> None:
        """The pool's fact k evaluated on every conjunct at once by the compiled evaluator (what
        the engine decides with; a tenth of the reference's time one by one), its bit set in the
        bits of each conjunct that holds; the reference evaluates them one by one only on a fact
        where that raises."""
        try:
            mask = self._conj_mask(self.pool[k].model)
        except (ArithmeticError, ValueError, TypeError):
            mask = sum(1 << j for j, check in enumerate(self.checks) if self._check(check, k))
        bit, bits = 1 << k, self._bits
        digits = bin(mask)[:1:-1]  # the conjuncts, the first one first
        i = digits.find("1")
        while i != -1:
            bits[i] |= bit
            i = digits.find("1", i + 1)

    def _check(self, check: Callable[[Any], bool], k: int) -> bool:
        try:
            return bool(check(self.pool[k].dumped))
        except (ArithmeticError, ValueError, TypeError):
            return False  # raises on this fact: not a witness

    def witness(self, ids: Iterable[int]) -> int | None:
        """The first fact of the pool on which every conjunct of ids holds, if any."""
        common = -1
        for i in ids:
            common &= self.bits(i)
            if not common:
                return None
        return (common & -common).bit_length() - 1 if common != -1 else 0

    def merged(self, parts: list[tuple[frozenset[str], int]], base: int = 0) -> dict[str, Any]:
        """The pool's fact `base`, with the fields of each (components, fact) taken from that fact."""
        out = _clone(self.pool[base].given)
        for comps, k in parts:
            source = self.pool[k].given
            for path, comp, _, _ in self.units:
                if comp in comps:
                    _copy_at(source, out, path)
        return out

    # ------------------------------------------------------------------ the questions

    def holds(self, group: Group) -> bool:
        """Whether some valid fact of the exact encoding (lists: the slots, then the last one
        repeated) meets every conjunct of the group. Raises Unknown."""
        key = group.conjuncts
        known = self._known.get(key)
        if known is not None:
            return known
        if self.witness(group.conjuncts) is not None:
            self._known[key] = True
            return True
        s = self._solvers.get(group.components)
        if s is None:
            s = self._solvers[group.components] = new_solver(self.timeout_s)
            s.add(*self.everywhere,
                  *[c for k in sorted(group.components) for c in self.constraints_of.get(k, ())])
        s.push()
        try:
            s.add(*[c for k in sorted(group.components) for c in self.exact_of.get(k, ())])
            s.add(*[self.formulas[i] for i in sorted(group.conjuncts)])
            self.solver_calls += 1
            verdict = s.check()
            if verdict == z3.unknown:
                raise Unknown(why_unknown(s, self.timeout_s))
            sat = verdict == z3.sat
            if sat:
                self._grow(group, s.model())
        finally:
            s.pop()
        self._known[key] = sat
        return sat

    def _grow(self, group: Group, model: z3.ModelRef) -> None:
        """A new fact for the pool: the pool's first one with the group's components from model."""
        out = _clone(self.pool[0].given)
        for path, comp, enc, required in self.units:
            if comp not in group.components:
                continue
            parent: Any = out
            for step in path[:-1]:
                parent = parent.setdefault(step, {})
            if smt_eval.holds(model, enc.present):
                parent[path[-1]] = field_value(enc, model)
            elif required:
                parent[path[-1]] = None
            else:
                parent.pop(path[-1], None)
        fact = self._fact(out)
        if fact is None:
            self.merge_refused += 1
            return
        self._add(fact)

    def _add(self, fact: _Fact) -> None:
        self.pool.append(fact)
        self._evaluate(len(self.pool) - 1)

    def _seed_literals(self) -> None:
        """Facts for the pool from the values the rules name: the first fact with one field set to
        each value an `in` or `eq` names, and to each bound of a comparison and its neighbours (the
        home among a thousand that two rules both name is then a fact of the pool, not a question
        for the string solver)."""
        units = {path: comp for path, comp, enc, _ in self.units if isinstance(enc, ScalarEnc)}
        values: dict[tuple[str, ...], dict[Any, None]] = {}
        for cond in self.conditions:
            for path, value in _literals(cond):
                steps = tuple(path.split("."))
                if steps in units:
                    values.setdefault(steps, {})[value] = None
        for steps, candidates in values.items():
            here = _get(self.pool[0].given, steps)
            for value in candidates:
                if value == here or isinstance(value, bool) != isinstance(here, bool):
                    continue
                fact = self.with_value(self.pool[0], steps, value)
                if fact is not None:
                    self._add(fact)

    def rule_holds(self, r: CompiledRule) -> Group | None:
        """None when the rule fires on some valid fact of the exact encoding; else a group of its
        conjuncts that never holds there (a list longer than the slots may still fire it: the
        caller asks the whole question)."""
        for g in self.groups[r.id]:
            if not self.holds(g):
                return g
        return None

    def together(self, a: CompiledRule, b: CompiledRule) -> bool:
        """Whether a and b fire together on some fact of the exact encoding, given that each fires
        alone on one (rule_holds is None for both)."""
        bits = self._bits
        common = (1 << len(self.pool)) - 1
        for i in self.rule_conjuncts[a.id]:
            common &= bits[i]
        for i in self.rule_conjuncts[b.id]:
            common &= bits[i]
        if common:
            return True  # a fact of the pool on which both fire
        ga, gb = self.groups[a.id], self.groups[b.id]
        mixed: list[Group] = []
        for x in ga:
            linked = [y for y in gb if x.components & y.components]
            if linked:
                mixed.append(x)
                mixed += linked
        if not mixed:
            return True
        return all(self.holds(g) for g in self._group_groups(mixed))

    def _group_groups(self, groups: list[Group]) -> list[Group]:
        merged: list[Group] = []
        for g in dict.fromkeys(groups):
            conj, comps = set(g.conjuncts), set(g.components)
            rest = []
            for m in merged:
                if m.components & comps:
                    conj |= m.conjuncts
                    comps |= m.components
                else:
                    rest.append(m)
            merged = [*rest, Group(frozenset(conj), frozenset(comps))]
        return merged

    def firing_fact(self, r: CompiledRule) -> _Fact | None:
        """A real fact on which r fires (from the pool's facts, merged by r's groups), or None."""
        return next(self.firing_facts(r, 1), None)

    def firing_facts(self, r: CompiledRule, limit: int) -> Iterator[_Fact]:
        """Up to limit real facts on which r fires: the first witness of each group, then each
        group's next witnesses in turn (another home, another date: other rules fire there)."""
        choices: list[tuple[frozenset[str], list[int]]] = []
        for g in self.groups[r.id]:
            if not self.holds(g):
                return
            bits, ks = self.witness_bits(g.conjuncts), list[int]()
            while bits and len(ks) < limit:
                low = bits & -bits
                ks.append(low.bit_length() - 1)
                bits ^= low
            if not ks:
                return
            choices.append((g.components, ks))
        tries = [[0] * len(choices)]
        for i, (_, ks) in enumerate(choices):
            tries += [[0] * i + [j] + [0] * (len(choices) - i - 1) for j in range(1, len(ks))]
        made = 0
        for pick in tries:
            if made >= limit:
                return
            made += 1
            merged = self.merged([(comps, ks[j]) for (comps, ks), j in zip(choices, pick, strict=True)])
            fact = self._fact(merged)
            if fact is None:
                self.merge_refused += 1
                continue
            fired = self.fired(fact)
            if fired is not None and r.id in fired:
                yield fact

    def witness_bits(self, ids: Iterable[int]) -> int:
        """The pool facts on which every conjunct of ids holds, as a bit set."""
        common = (1 << len(self.pool)) - 1
        for i in ids:
            common &= self.bits(i)
        return common

    def fires_alone_of(self, r: CompiledRule, takers: set[str], tries: int = 12) -> bool:
        """Whether r fires on a real fact on which none of takers fires: the facts firing_facts
        builds for r, each evaluated on every rule. (Changing, part by part, the fact a taker
        fires on was tried: at 1,000 generated rules it found no more such facts and cost more.)"""
        for fact in self.firing_facts(r, tries):
            fired = self.fired(fact)
            if fired is not None and not any(e in takers for e in fired):
                return True
        return False

    def fires_without(self, r: CompiledRule, others: list[CompiledRule]) -> bool:
        """Whether r fires on some fact of the exact encoding on which none of others fires: the
        whole question, asked of the encoding without ghost items (sat is an answer; unsat is
        not, a longer list may do it: the caller asks the whole encoding then). Raises Unknown.

        When r names the values a field must hold (its key: `home.id in [...]` at the top of its
        condition), the question is split by that value, exactly: r fires only on those values,
        and with the field at one value, every rule whose own key leaves that value out cannot
        fire, so it is left out of that value's question (a few rules instead of hundreds).
        Each value is tried first on a real fact (one r fires on, with the field set to it);
        the solver is asked only for the values no such fact settles."""
        key = self.key_of(r, others)
        if key is None:
            return self._fires_without(r, others, [[]])
        path, values = key
        takers = {e.id for e in others}
        base = self.firing_fact(r)
        steps = tuple(path.split("."))
        if base is not None:
            for v in values:
                fact = self.with_value(base, steps, _clone(v))
                fired = self.fired(fact) if fact is not None else None
                if fired is not None and r.id in fired and not takers.intersection(fired):
                    return True
        enc = lookup(self.dm.facts, path)
        # values that leave the same rules in the question are asked together (r fires only
        # with the key at one of its values, so the questions together are the whole one)
        asked: dict[tuple[str, ...], tuple[list[CompiledRule], list[Any]]] = {}
        for v in values:
            rest = [e for e in others if self._admits(e, path, v)]
            if self._pool_without(r, rest, steps, v, takers):
                return True
            asked.setdefault(tuple(e.id for e in rest), (rest, []))[1].append(v)
        for rest, same in sorted(asked.values(), key=lambda q: len(q[0])):
            held = z3.Or(*[z3.And(*pin_value(enc, v)) for v in same])
            if self._fires_without(r, rest, [[enc.present, held]]):
                return True
        return False

    def _pool_without(self, r: CompiledRule, rest: list[CompiledRule], steps: tuple[str, ...],
                      value: Any, takers: set[str], tries: int = 3) -> bool:
        """Whether a fact of the pool, with the key field set to value, is a real fact on which r
        fires and none of takers: the pool's facts are picked by their bits (r's conjuncts that
        leave the key's component alone hold, and for each of rest one such conjunct fails),
        then evaluated whole."""
        unit = next((comp for path, comp, _, _ in self.units if path == steps), None)
        full = (1 << len(self.pool)) - 1
        chosen = full
        for i in self.rule_conjuncts[r.id]:
            if unit not in self.conj_components[i]:
                chosen &= self.bits(i)
        for e in rest:
            fails = 0
            for i in self.rule_conjuncts[e.id]:
                if unit not in self.conj_components[i]:
                    fails |= full & ~self.bits(i)
            chosen &= fails
            if not chosen:
                return False
        while chosen and tries:
            tries -= 1
            low = chosen & -chosen
            chosen ^= low
            fact = self.with_value(self.pool[low.bit_length() - 1], steps, _clone(value))
            fired = self.fired(fact) if fact is not None else None
            if fired is not None and r.id in fired and not takers.intersection(fired):
                return True
        return False

    def _fires_without(self, r: CompiledRule, others: list[CompiledRule],
                       pinned: list[list[z3.BoolRef]]) -> bool:
        """Whether r fires and none of others on a fact of the exact encoding with one of pinned."""
        if self._whole is None:
            self._whole = new_solver(self.timeout_s)
            self._whole.add(*self.dm.constraints, self.dm.encoder.exact())
        s = self._whole
        negated = [z3.Not(self.dm.fires[e.id]) for e in others]
        for pins in pinned:
            s.push()
            try:
                s.add(self.dm.fires[r.id], *pins, *negated)
                self.solver_calls += 1
                verdict = s.check()
                if verdict == z3.unknown:
                    raise Unknown(why_unknown(s, self.timeout_s))
                if verdict == z3.sat:
                    # a fact of its own for the pool: later questions find it by its bits
                    fact = self._fact(facts_from_model(self.dm.facts, s.model()))
                    if fact is not None:
                        self._add(fact)
                    return True
            finally:
                s.pop()
        return False

    def key_of(self, r: CompiledRule, others: list[CompiledRule]) -> tuple[str, list[Any]] | None:
        """The given field outside lists whose values r names at the top of its condition (`in`,
        `eq`), with the values r fires on (every such conjunct holds), when there is one: the
        field whose values leave the fewest of others in the questions (the home among many, not
        the gender), its values those with fewest first."""
        best: tuple[int, str, list[Any]] | None = None
        for path, allowed in self._pins[r.id].items():
            if allowed is None or path not in self._keyable:
                continue
            anywhere = 0
            left = dict.fromkeys(allowed, 0)
            for e in others:
                theirs = self._pins[e.id].get(path)
                if theirs is None:
                    anywhere += 1
                    continue
                for v in theirs & allowed:
                    left[v] += 1
            cost = sum(left.values()) + anywhere * len(allowed)
            if best is None or cost < best[0]:
                best = (cost, path, sorted(allowed, key=lambda v: (left[v], repr(v))))
        return None if best is None else (best[1], best[2])

    def _admits(self, e: CompiledRule, path: str, value: Any) -> bool:
        """Whether e may fire with the field at path holding value (its top conjuncts allow it)."""
        allowed = self._pins[e.id].get(path)
        return allowed is None or value in allowed

    def _pinned(self, comps: frozenset[str], fact: _Fact) -> list[z3.BoolRef]:
        """Constraints fixing the fields of the components to fact's values."""
        out: list[z3.BoolRef] = []
        for path, comp, enc, _ in self.units:
            if comp in comps:
                value = _get(fact.given, path)
                out += [z3.Not(enc.present)] if value is None else [enc.present, *pin_value(enc, value)]
        return out

    def fired(self, fact: _Fact) -> list[str] | None:
        """The rules that fire on fact, in evaluation order (None when evaluating raises)."""
        try:
            mask = self.mask(fact.model)
        except (ArithmeticError, ValueError, TypeError):
            return None
        ids, out = self._ids, []
        while mask:  # the set bits only (a few rules of a thousand fire)
            low = mask & -mask
            out.append(ids[low.bit_length() - 1])
            mask ^= low
        return out

    def with_value(self, fact: _Fact, path: tuple[str, ...], value: Any,
                   present: bool = True) -> _Fact | None:
        """fact with the given field at path set to value (or left out), if the fact model takes it."""
        given = _clone(fact.given)
        parent: Any = given
        for step in path[:-1]:
            parent = parent.get(step) if isinstance(parent, dict) else None
        if not isinstance(parent, dict):
            return None
        if present:
            parent[path[-1]] = value
        else:
            parent.pop(path[-1], None)
        return self._fact(given)

    # ------------------------------------------------------------------ real facts first

    def region_fact(self, given: dict[str, Any]) -> _Fact | None:
        """The default region's example as a real fact, when no rule fires on it."""
        fact = self._fact(given)
        return fact if fact is not None and self.fired(fact) == [] else None

    def region_variant(self, example: _Fact, path: str, differs: Callable[[Any], bool]) -> bool:
        """Whether the example, with the field holding path replaced by the pool's facts' (or
        left out, or for text another text no rule names) so that the value at path differs, is a
        valid fact on which no rule fires."""
        steps = tuple(path.split("."))
        unit = next((u for u, _, _, _ in self.units if steps[:len(u)] == u), None)
        if unit is None:
            return False
        here = _get(example.given, unit)
        candidates: list[Any] = [None, *[_get(f.given, unit) for f in self.pool]]
        if isinstance(here, str):
            candidates.append(here + "~")
        tried: list[Any] = []
        for candidate in candidates:
            if candidate in tried or len(tried) >= 6:
                continue
            given = _clone(example.given)
            _put(given, unit, _clone(candidate))
            if not differs(_get(given, steps)):
                continue
            tried.append(candidate)
            fact = self._fact(given)
            if fact is not None and self.fired(fact) == []:
                return True
        return False

    def fires_with(self, r: CompiledRule, path: tuple[str, ...], value: Any) -> bool:
        """Whether r fires on a real fact whose field at path holds value."""
        fact = self.firing_fact(r)
        if fact is None:
            return False
        variant = self.with_value(fact, path, _clone(value))
        fired = self.fired(variant) if variant is not None else None
        return fired is not None and r.id in fired


def _top_pins(conds: list[Condition]) -> dict[str, frozenset[Any] | None]:
    """Per path, the values the conjuncts (all must hold) allow it to hold: the intersection of
    their `in` and `eq` values (None when none names its values), less the `ne` values."""
    allowed: dict[str, frozenset[Any] | None] = {}
    excluded: dict[str, set[Any]] = {}
    for c in conds:
        match c:
            case InSet(path=path, values=values):
                named = frozenset(values)
            case Compare(path=path, op="eq", right=Literal_(value=value)):
                named = frozenset([value])
            case Compare(path=path, op="ne", right=Literal_(value=value)):
                excluded.setdefault(path, set()).add(value)
                allowed.setdefault(path, None)
                continue
            case _:
                continue
        here = allowed.get(path)
        allowed[path] = named if here is None else here & named
    return {path: (None if values is None else values - excluded.get(path, set()))
            for path, values in allowed.items()}


def _literals(cond: Condition) -> Iterable[tuple[str, Any]]:
    """(path, value) for the values a condition compares a top-level fact with (not inside a
    `some`/`every`, whose paths are an item's): `in` and `eq` values, comparison bounds and the
    values either side of them."""
    match cond:
        case All(items=items) | AnyOf(items=items):
            for item in items:
                yield from _literals(item)
        case Not(item=item):
            yield from _literals(item)
        case InSet(path=path, values=values):
            for v in values:
                yield path, v
        case Compare(path=path, op=op, right=Literal_(value=value)):
            yield path, value
            if op != "eq" and not isinstance(value, bool):
                if isinstance(value, dt.date):
                    for days in (-1, 1):
                        with contextlib.suppress(OverflowError):
                            yield path, value + dt.timedelta(days=days)
                elif isinstance(value, (int, float)):
                    yield path, value - 1
                    yield path, value + 1
        case Compare() | Present() | Contains() | Count() | Quantified():
            pass


def _paths(cond: Condition) -> Iterable[str]:
    """The top-level fact paths a condition reads (a `some`/`every` reads its whole list)."""
    match cond:
        case All(items=items) | AnyOf(items=items):
            for item in items:
                yield from _paths(item)
        case Not(item=item):
            yield from _paths(item)
        case (Compare(path=path, right=right) | Contains(path=path, right=right)
              | Count(path=path, right=right)):
            yield path
            if isinstance(right, FactRef):
                yield right.path
        case InSet(path=path) | Present(path=path) | Quantified(path=path):
            yield path


def _clone(value: Any) -> Any:
    """A copy of facts as a caller writes them (dicts, lists, and immutable scalars: text,
    numbers, dates, enum values): copy.deepcopy's work without its memo, several times faster."""
    if isinstance(value, dict):
        return {k: _clone(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_clone(v) for v in value]
    return value


def _put(given: dict[str, Any], path: tuple[str, ...], value: Any) -> None:
    """given's field at path set to value (None: left out); the objects on the way are present."""
    parent: Any = given
    for step in path[:-1]:
        parent = parent.setdefault(step, {})
    if value is None:
        parent.pop(path[-1], None)
    else:
        parent[path[-1]] = value


def _get(given: Any, path: tuple[str, ...]) -> Any:
    for step in path:
        given = given.get(step) if isinstance(given, dict) else None
    return given


def _copy_at(source: dict[str, Any], target: dict[str, Any], path: tuple[str, ...]) -> None:
    """target's field at path made source's (left out when source leaves it out); the objects on
    the way are always present (units never sit under an optional object)."""
    src: Any = source
    dst: Any = target
    for step in path[:-1]:
        src = src.get(step) if isinstance(src, dict) else None
        dst = dst.setdefault(step, {}) if isinstance(dst, dict) else None
    if not isinstance(dst, dict):
        return
    if isinstance(src, dict) and path[-1] in src:
        dst[path[-1]] = _clone(src[path[-1]])
    else:
        dst.pop(path[-1], None)

