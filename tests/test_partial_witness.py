"""The shortcuts that make ranking a partial decision's questions fast (issue 23.4) claim only
what holds: a fact's witness solver finds two real completions of the known facts that differ in
that fact alone and that Engine.decide answers differently; the variants read with one packed
evaluation per model are those read one answer at a time; and the C-API helpers of smt_eval give
what z3py gives. tests/test_partial_ranking.py checks the questions themselves against the rule."""

from __future__ import annotations

import datetime as dt
import random
import sys
from pathlib import Path
from typing import Any

import z3

from qpr_rules.analysis import smt_eval
from qpr_rules.analysis.smt_facts import ScalarEnc, _value, facts_from_model
from qpr_rules.engine import partial
from qpr_rules.engine.partial_result import with_answer
from tests.test_partial_soundness import ENGINE

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
from bench_partial import SHARES, forget
from bench_placement import generate

DECISION = "qpr.placement"


def _cases(n: int) -> list[dict[str, Any]]:
    """The partial placements of bench/bench_partial.py (the same draw)."""
    rnd = random.Random(1)
    return [forget(whole, rnd, SHARES[i % len(SHARES)]) for i, whole in enumerate(generate(n, 1))]


def _known(prepared: partial._Prepared, known: dict[str, Any]) -> partial._Known:
    facts = partial._Known(original=known)
    partial._read(prepared.a.facts, known, "", facts)
    assert not facts.errors, facts.errors
    return facts


def _prepared() -> partial._Prepared:
    ENGINE.decide_partial(DECISION, {})  # builds the encoding, and what the questions use
    spec = ENGINE.spec(DECISION)
    return partial._prepared(spec, partial.DEFAULT_LIST_BOUND, partial.DEFAULT_TIMEOUT_S)


def test_a_witness_is_two_real_completions_differing_in_that_fact_alone() -> None:
    """For every scalar fact a rule reads, unknown in a bench case: when its witness solver finds a
    pair, completion a (the model) and completion a with that fact set to its copy's value are
    both answered by Engine.decide, with different outcomes."""
    prepared = _prepared()
    read = partial._read_paths(prepared.spec)
    checked = 0
    with partial._LOCK:
        for known in _cases(40):
            facts = _known(prepared, known)
            for unit in facts.units:
                if not isinstance(unit.enc, ScalarEnc) or (read is not None and not partial._is_read(unit.path, read)):
                    continue
                solver = prepared.witness_solver(unit.path)
                solver.push()
                try:
                    solver.add(*facts.pins)
                    if solver.check() != z3.sat:
                        continue
                    model = solver.model()
                finally:
                    solver.pop()
                a = facts_from_model(prepared.a.facts, model)
                copy = ScalarEnc(unit.enc.ft, *(smt_eval.Substitution(
                    [(v, z3.Const(f"w!{v.decl().name()}", v.sort())) for v in smt_eval.variables([e]).values()
                     if partial._names_under(v.decl().name(), unit.path)])(e)
                    for e in (unit.enc.present, unit.enc.value)))
                if not smt_eval.holds(model, copy.present):
                    continue  # b leaves the fact out: a's facts with it removed are b's (not rebuilt here)
                b = with_answer(a, unit.path, _value(copy, model))
                decided_a, decided_b = ENGINE.decide(DECISION, a), ENGINE.decide(DECISION, b)
                assert decided_a.outcome != decided_b.outcome, (unit.path, known)
                checked += 1
    assert checked >= 20, checked  # the test asked something


def test_a_witness_solvers_no_is_the_pairs_no() -> None:
    """The outcome of qpr.placement is proved a function of the given facts, so a witness
    solver's "no" is taken as a proof that the fact cannot change the answer (no pair query):
    for every fact a rule reads, unknown in a bench case, whenever its witness solver finds no
    pair, the solver over two whole copies (the pair, every other fact the same) finds none
    either."""
    prepared = _prepared()
    assert prepared.outcome_is_function()
    read = partial._read_paths(prepared.spec)
    _, pair, selectors = prepared.pair()
    checked = 0
    with partial._LOCK:
        for known in _cases(40):
            facts = _known(prepared, known)
            pins_b = partial._Known()
            partial._read(prepared.pair()[0].facts, known, "", pins_b)
            for unit in facts.units:
                if read is not None and not partial._is_read(unit.path, read):
                    continue
                solver = prepared.witness_solver(unit.path)
                solver.push()
                try:
                    solver.add(*facts.pins)
                    if solver.check() != z3.unsat:
                        continue
                finally:
                    solver.pop()
                keep = [sel for path, sel in selectors.items() if not partial._under(path, unit.path)]
                pair.push()
                try:
                    pair.add(*facts.pins, *pins_b.pins)
                    assert pair.check(*keep) == z3.unsat, (unit.path, known)
                finally:
                    pair.pop()
                checked += 1
    assert checked >= 20, checked  # the test asked something


def test_a_variant_that_changes_the_answer_is_a_real_pair_derived_facts_recomputed() -> None:
    """A variant puts an answer in for a fact and recomputes the derived facts defined from it
    (the hold state from the placement date): whenever the variants of a completion (one with
    an example's facts) show that a date or number can change the answer, that completion and
    the same with that answer are answered differently by Engine.decide."""
    prepared = _prepared()
    date = next(u for u in _known(prepared, {}).units if u.path == "placement.date")
    derived = {var.decl().name() for var, _ in prepared.derived(partial._assignment(date, dt.date(2026, 1, 1)))}
    assert "a.hold_state" in derived
    checked = 0
    with partial._LOCK:
        for known in _cases(150):
            answer = ENGINE.decide_partial(DECISION, known)
            if answer.status != "open":
                continue
            facts = _known(prepared, known)
            prepared.solver.push()
            try:
                prepared.solver.add(*facts.pins)
                models = []
                for example in answer.examples:
                    if partial.longest_list(example.facts) > prepared.bound:
                        continue  # items past the bound repeating: not read into these slots
                    pins = partial._Known()
                    partial._read(prepared.a.facts, example.facts, "", pins)
                    assert prepared.solver.check(*pins.pins) == z3.sat
                    models.append(prepared.solver.model())
            finally:
                prepared.solver.pop()
            for model in models:
                variants = partial._Variants(prepared, [model])
                for unit in facts.units:
                    if not isinstance(unit.enc, ScalarEnc) or unit.ft.kind not in ("date", "int", "number"):
                        continue
                    for value, _ in partial._answers(unit, answer.examples):
                        _, changes = variants.outcomes(unit, value)
                        if changes:
                            base = facts_from_model(prepared.a.facts, model)  # the model's completion
                            other = with_answer(base, unit.path, value)
                            assert ENGINE.decide(DECISION, base).outcome != ENGINE.decide(DECISION, other).outcome, (
                                unit.path, value, base)
                            checked += 1
    assert checked >= 3, checked  # the test asked something (how many: the examples z3 gives)


def test_the_packed_variants_are_the_variants_read_one_answer_at_a_time() -> None:
    prepared = _prepared()
    compared = 0
    with partial._LOCK:
        for known in _cases(30):
            facts = _known(prepared, known)
            answer = ENGINE.decide_partial(DECISION, known)
            if answer.status != "open":
                continue
            solver = prepared.solver
            solver.push()
            try:
                solver.add(*facts.pins)
                models = []
                for o in answer.outcomes:
                    assert solver.check(prepared.is_[o]) == z3.sat
                    models.append(solver.model())
            finally:
                solver.pop()
            variants = partial._Variants(prepared, models)
            asks = [(u, value) for u in facts.units
                    for value, _ in partial._answers(u, answer.examples, prepared.finite_answers)]
            one_by_one = [variants.outcomes(u, value) for u, value in asks]
            assert variants.table(asks) == one_by_one, known
            compared += sum(1 for found, _ in one_by_one if found)
    assert compared >= 50, compared


def test_smt_eval_helpers_give_what_z3py_gives() -> None:
    x, y, flag = z3.Int("t.x"), z3.Int("t.y"), z3.Bool("t.flag")
    solver = z3.Solver()
    solver.add(x == 5, y == -3, flag)
    assert solver.check() == z3.sat
    model = solver.model()
    terms = [x, x + 2, z3.If(flag, 7, 0), z3.IntVal(0)]
    value = smt_eval.int_or_none(model, smt_eval.packed(terms))
    assert value is not None
    assert [(value >> (smt_eval.PACKED_BITS * i)) & 255 for i in range(len(terms))] == [5, 7, 7, 0]
    assert smt_eval.int_or_none(model, y) == -3
    assert smt_eval.int_value(model, smt_eval.code_of(flag, z3.Not(flag), x)) == 1 + 0 + 4 * 5
    assert smt_eval.int_or_none(model, z3.Function("t.f", z3.IntSort(), z3.IntSort())(x)) == 0  # completed
    rename = smt_eval.Substitution([(x, y)])
    formula = z3.And(x > 1, flag)
    assert rename(formula).eq(z3.substitute(formula, (x, y)))
    other = z3.Solver()
    smt_eval.assert_all(other, [x > 1, x < 3])
    assert other.check() == z3.sat and other.model()[x].as_long() == 2
