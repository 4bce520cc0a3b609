"""The SMT translation against the engine, fact by fact, so a bug in the translation cannot hide
behind a "proved": for generated facts of every bundled decision (and every scenario's facts),
the solver's value of each rule condition, with the facts pinned, is the reference evaluator's,
it does not depend on anything the facts leave open, and the solver's outcome is
Engine.decide's. Also: the fact encoding admits exactly the valid facts on a few edges."""

from __future__ import annotations

import datetime as dt
import random
from pathlib import Path
from typing import Any

import pytest
import z3
from hypothesis import HealthCheck, given, settings

from qpr_rules.analysis.generate import generate
from qpr_rules.analysis.smt_decision import DecisionModel, decision_model
from qpr_rules.analysis.smt_facts import pin_to_facts
from qpr_rules.engine.engine import Engine
from qpr_rules.engine.reference import compile_condition
from qpr_rules.scenarios.runner import load_scenario_file, scenario_files
from tests.strategies import placement_facts

ROOT = Path(__file__).resolve().parents[1]
ENGINE = Engine.load([ROOT / "policies"])
BOUND = 6  # list slots: more than any generated or scenario list holds
MODELS: dict[str, tuple[DecisionModel, z3.Solver]] = {}


def model_for(did: str) -> tuple[DecisionModel, z3.Solver]:
    if did not in MODELS:
        dm = decision_model(ENGINE.spec(did), list_bound=BOUND)
        solver = z3.Solver()
        solver.add(*dm.constraints)
        MODELS[did] = (dm, solver)
    return MODELS[did]


def longest_list(value: Any) -> int:
    if isinstance(value, dict):
        return max((longest_list(v) for v in value.values()), default=0)
    if isinstance(value, list):
        return max([len(value), *(longest_list(v) for v in value)])
    return 0


def assert_agrees(did: str, facts: dict[str, Any]) -> None:
    dm, solver = model_for(did)
    dumped = ENGINE.validate_facts(did, facts).model_dump(mode="python")
    assert longest_list(dumped) <= BOUND
    decision = ENGINE.decide(did, facts)
    assert decision.status != "error", decision.errors
    solver.push()
    try:
        solver.add(*pin_to_facts(dm.facts, dumped))
        assert solver.check() == z3.sat, f"the encoding refuses valid facts of {did}: {facts}"
        model = solver.model()
        expected = {r.id: compile_condition(r.condition)(dumped) for r in dm.rules}
        got = {r.id: z3.is_true(model.eval(dm.fires[r.id], model_completion=True)) for r in dm.rules}
        wrong = sorted(rid for rid in expected if expected[rid] != got[rid])
        assert not wrong, f"{did}: the translation of {wrong} disagrees with the engine on {facts}"
        # nothing the facts leave open (absent fields' values) may change a rule or the outcome
        open_ = z3.Or(*[dm.fires[rid] != z3.BoolVal(v) for rid, v in expected.items()],
                      z3.Not(dm.outcome_is[decision.outcome]), dm.raises)
        solver.add(open_)
        assert solver.check() == z3.unsat, f"{did}: the translation depends on unset values: {facts}"
    finally:
        solver.pop()
    assert {r.id for r in decision.fired} == {rid for rid, v in expected.items() if v}


@pytest.mark.parametrize("did", ENGINE.decision_ids)
def test_generated_facts(did: str) -> None:
    rnd = random.Random(did)
    model = ENGINE.fact_model(did)
    checked = 0
    for _ in range(400):
        facts = generate(model, rnd)
        try:
            model.model_validate(facts)
        except ValueError:
            continue
        assert_agrees(did, facts)
        checked += 1
        if checked == 60:
            break
    assert checked == 60, f"only {checked} valid generated facts for {did}"


def test_every_scenario() -> None:
    count = 0
    for path in scenario_files([ROOT / "policies" / "tests"]):
        scenarios = load_scenario_file(path)
        for s in scenarios:
            if s.scenario.expect.status == "error":
                continue  # invalid facts on purpose
            assert_agrees(s.decision, s.scenario.facts)
            count += 1
    assert count > 100


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(placement_facts())
def test_placement_facts_over_every_boundary(facts: dict[str, Any]) -> None:
    assert_agrees("qpr.placement", facts)


def test_the_encoding_refuses_invalid_facts() -> None:
    """Schema bounds and validators are in the encoding: facts that pydantic refuses are unsat."""
    dm, solver = model_for("qpr.placement")
    base = {"placement": {"date": dt.date(2024, 5, 1), "status": "proposed", "cleared_with_pco": True},
            "child": {"age": 7, "gender": "female", "id": None, "region": None},
            "home": {"id": "H", "approval": "rfa", "approval_status": "active", "restrictions": None,
                     "children_placed": [],
                     "hold": {"kind": "time_limited", "placed_on": dt.date(2024, 4, 1),
                              "ends_on": dt.date(2024, 4, 30)}}}
    for bad, why in [
        ({**base, "child": {**base["child"], "age": 26}}, "age above le=25"),
        ({**base, "home": {**base["home"], "hold": {**base["home"]["hold"], "ends_on": dt.date(2024, 3, 1)}}},
         "Hold validator: ends_on before placed_on"),
        ({**base, "home": {**base["home"], "id": ""}}, "Text min_length=1"),
    ]:
        solver.push()
        pins = pin_to_facts(dm.facts, bad)
        solver.add(*pins)
        assert solver.check() == z3.unsat, why
        solver.pop()
    solver.push()
    solver.add(*pin_to_facts(dm.facts, base))
    assert solver.check() == z3.sat
    solver.pop()


def test_a_date_shifted_past_year_9999_is_an_error_in_both() -> None:
    """`plus_days` past date.max raises in Python, and the engine answers on_error; the translation
    models that as `raises` (so a proof cannot assume such facts decide normally)."""
    facts = {"hold": {"kind": "time_limited", "placed_on": dt.date(9999, 6, 1)},
             "request": {"date": dt.date(9999, 12, 31), "form": "letter",
                         "states_understanding_of_worries": True, "describes_mitigating_actions": True}}
    decision = ENGINE.decide("qpr.reinstatement", facts)
    assert decision.status == "error" and decision.outcome == "not-eligible"
    dm, solver = model_for("qpr.reinstatement")
    dumped = ENGINE.validate_facts("qpr.reinstatement", facts).model_dump(mode="python")
    solver.push()
    solver.add(*pin_to_facts(dm.facts, dumped), z3.Not(dm.raises))
    assert solver.check() == z3.unsat
    solver.pop()
    solver.push()
    solver.add(*pin_to_facts(dm.facts, dumped), z3.Not(dm.outcome_is["not-eligible"]))
    assert solver.check() == z3.unsat
    solver.pop()


def test_the_smt_combine_is_engine_combine() -> None:
    """smt_decision.combine encodes engine/combine.py: every strategy, every order of outcomes,
    every subset of fired rules, with and without an evaluation error."""
    import itertools
    from types import SimpleNamespace

    from qpr_rules.analysis.smt_decision import combine as smt_combine
    from qpr_rules.engine.combine import combine as engine_combine

    rule_outcomes = ["allow", "deny", "review", "allow"]
    rules = [SimpleNamespace(id=f"r{i}", rule=SimpleNamespace(outcome=o)) for i, o in enumerate(rule_outcomes)]
    checked = 0
    for strategy in ("deny-overrides", "precedence", "first-applicable", "collect-all"):
        for order in itertools.permutations(["deny", "allow", "review"]):
            decision = SimpleNamespace(outcomes=list(order), combine=strategy, default=order[-1],
                                       on_error=order[0])
            spec: Any = SimpleNamespace(decision=decision)
            for mask in itertools.product([False, True], repeat=len(rules)):
                for raises in (False, True):
                    fires = {r.id: z3.BoolVal(m) for r, m in zip(rules, mask, strict=True)}
                    got = smt_combine(spec, rules, fires, z3.BoolVal(raises))  # type: ignore[arg-type]
                    fired = [r for r, m in zip(rules, mask, strict=True) if m]
                    combined = engine_combine(strategy, order, fired, lambda r: r.rule.outcome)  # type: ignore[arg-type]
                    want = decision.on_error if raises else (combined.outcome if combined else decision.default)
                    assert [o for o, v in got.items() if z3.is_true(v)] == [want], (strategy, order, mask)
                    checked += 1
    assert checked == 4 * 6 * 16 * 2
