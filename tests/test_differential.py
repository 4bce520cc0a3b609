"""durable_rules and the reference evaluator agree on every operator, negated or not, over
generated facts that include absent optional fields and empty lists (where compiled
conditions went wrong when measured), and on every bundled policy's scenarios."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hypothesis import given, settings

from qpr_rules import Engine
from qpr_rules.engine.reference import compile_condition
from qpr_rules.scenarios.runner import load_scenario_file, scenario_files
from tests.strategies import placement_facts

ROOT = Path(__file__).resolve().parents[1]
ENGINE = Engine.load([ROOT / "tests" / "fixtures" / "differential.yaml"])
SPEC = ENGINE.spec("t.d")
CHECKS = {r.id: compile_condition(r.condition) for r in SPEC.rules}


@settings(max_examples=500, deadline=None)
@given(placement_facts())
def test_durable_rules_agrees_with_the_reference_evaluator(facts: dict[str, Any]) -> None:
    decision = ENGINE.decide("t.d", facts)
    # decide() fails closed with status "error" when the two evaluators disagree
    assert decision.status != "error", decision.errors
    dumped = ENGINE.validate_facts("t.d", facts).model_dump(mode="python")
    assert {r.id for r in decision.fired} == {rid for rid, check in CHECKS.items() if check(dumped)}


def test_the_fixture_uses_every_operator() -> None:
    text = (ROOT / "tests" / "fixtures" / "differential.yaml").read_text()
    for op in ("not:", "after:", "on_or_before:", "some:", "every:", "contains:", "count:", "in:",
               "present:", "within_days:", "plus_days:", "any:", "all:", "lt:", "gte:", "ne:", "eq:"):
        assert op in text, op


def test_both_evaluators_agree_on_every_bundled_scenario() -> None:
    engine = Engine.load([ROOT / "policies"])
    count = 0
    for path in scenario_files([ROOT / "policies" / "tests"]):
        for s in load_scenario_file(path):
            decision = engine.decide(s.decision, s.scenario.facts)
            if s.scenario.expect.status == "error":
                continue
            assert decision.status != "error", (path, s.name, decision.errors)
            count += 1
    assert count >= 60
