"""Two paths, one answer: Engine(evaluator="compiled") (the compiled evaluator alone) gives the
same Decision, to the byte of its JSON, as the default Engine (durable_rules, cross-checked by the
compiled evaluator), for every bundled decision over generated facts and every bundled scenario;
and both agree with the reference evaluator on the rules that fired.

Also: the fast path is never chosen silently, a durable/compiled disagreement fails closed, and a
Decision whose explanations are built on reading behaves as a Decision in every way callers see.
"""

from __future__ import annotations

import dataclasses
import pickle
import zlib
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings

from qpr_rules import Decision, Engine
from qpr_rules.analysis.generate import sample
from qpr_rules.engine.answers import LazyDecision
from qpr_rules.engine.reference import compile_condition
from qpr_rules.engine.why_not import explain_failure
from qpr_rules.scenarios.runner import load_scenario_file, scenario_files
from tests.test_differential import FIXTURE, placement_requests

ROOT = Path(__file__).resolve().parents[1]
DURABLE = Engine.load([ROOT / "policies"])
FAST = Engine.load([ROOT / "policies"], evaluator="compiled")
DECISIONS = DURABLE.decision_ids
FIXTURE_DURABLE = Engine.load(FIXTURE)
FIXTURE_FAST = Engine.load(FIXTURE, evaluator="compiled")


def _scenario_facts() -> dict[str, list[Any]]:
    out: dict[str, list[Any]] = {d: [] for d in DECISIONS}
    for path in scenario_files([ROOT / "policies" / "tests"]):
        for s in load_scenario_file(path):
            out[s.decision].append(s.scenario.facts)
    return out


SCENARIO_FACTS = _scenario_facts()


def _reference_fired(engine: Engine, decision_id: str, facts: Any) -> set[str]:
    dumped = engine.validate_facts(decision_id, facts).model_dump(mode="python")
    return {r.id for r in engine.spec(decision_id).rules if compile_condition(r.condition)(dumped)}


def _eager(decision: Decision) -> Decision:
    """The same answer as a plain Decision (its JSON made by Decision.to_json itself)."""
    return Decision(**{f.name: getattr(decision, f.name) for f in dataclasses.fields(Decision)})


def _same(engine_a: Engine, engine_b: Engine, decision_id: str, facts: Any) -> Decision:
    a, b = engine_a.decide(decision_id, facts), engine_b.decide(decision_id, facts)
    assert a.status != "error" and b.status != "error", (a.errors, b.errors, facts)
    json_a = a.to_json()
    assert json_a == b.to_json(), facts
    assert json_a == _eager(a).to_json() and a.to_json(indent=2) == _eager(a).to_json(indent=2)
    assert a == b
    dumped = engine_a.validate_facts(decision_id, facts).model_dump(mode="python")
    conditions = {r.id: r.condition for r in engine_a.spec(decision_id).rules}
    for n in a.not_fired:  # explained from the model as the reference explains from the dump
        assert n.failed == explain_failure(conditions[n.id], dumped, engine_a.fact_model(decision_id)), (n.id, facts)
    return a


@pytest.mark.parametrize("decision_id", DECISIONS)
def test_both_paths_give_the_same_decision_json_over_generated_facts(decision_id: str) -> None:
    model = DURABLE.fact_model(decision_id)
    cases = sample(model, 250, seed=zlib.crc32(decision_id.encode()))
    assert len(cases) == 250
    fired_sets = set()
    for facts in cases:
        decision = _same(FAST, DURABLE, decision_id, facts)
        fired = {r.id for r in decision.fired}
        assert fired == _reference_fired(DURABLE, decision_id, facts), facts
        fired_sets.add(frozenset(fired))
    assert len(fired_sets) > 1, "the generated facts must exercise more than one answer"


@pytest.mark.parametrize("decision_id", DECISIONS)
def test_both_paths_give_the_same_decision_json_on_every_bundled_scenario(decision_id: str) -> None:
    assert SCENARIO_FACTS[decision_id], f"no scenario for {decision_id}"
    for facts in SCENARIO_FACTS[decision_id]:
        a, b = FAST.decide(decision_id, facts), DURABLE.decide(decision_id, facts)
        assert a.to_json() == b.to_json(), facts  # scenarios with invalid facts included


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(placement_requests())
def test_both_paths_agree_on_every_operator_negated_or_not(facts: dict[str, Any]) -> None:
    decision = _same(FIXTURE_FAST, FIXTURE_DURABLE, "t.d", facts)
    assert {r.id for r in decision.fired} == _reference_fired(FIXTURE_DURABLE, "t.d", facts)


@pytest.mark.parametrize("facts", [{"placement": {}}, "{not json", {"child": {"age": "3"}}, 7])
def test_invalid_facts_give_the_same_error_decision_on_both_paths(facts: Any) -> None:
    a, b = FAST.decide("qpr.placement", facts), DURABLE.decide("qpr.placement", facts)
    assert a.status == "error" and a.outcome == "deny"
    assert a.to_json() == b.to_json()


def test_the_fast_path_is_never_chosen_silently() -> None:
    assert Engine.from_bundled().evaluator == "durable"
    assert Engine.load([ROOT / "policies"]).evaluator == "durable"
    assert DURABLE._runtimes["qpr.placement"].durable is not None
    assert FAST.evaluator == "compiled"
    assert FAST._runtimes["qpr.placement"].durable is None  # durable_rules not even registered
    with pytest.raises(ValueError, match="evaluator must be one of 'durable', 'compiled'"):
        Engine.from_bundled(evaluator="fast")  # type: ignore[arg-type]


def test_a_disagreement_between_durable_and_compiled_fails_closed(monkeypatch: pytest.MonkeyPatch) -> None:
    engine = Engine.from_bundled()
    facts = SCENARIO_FACTS["qpr.placement"][0]
    honest = engine.decide("qpr.placement", facts)
    ruleset = engine._runtimes["qpr.placement"].durable
    assert ruleset is not None
    real = ruleset.evaluate_json

    def lying(message: str, sid: str) -> list[str]:  # durable answers the allow rule flipped
        fired = real(message, sid)
        allow = "qpr.placement.allow"
        return [r for r in fired if r != allow] if allow in fired else [*fired, allow]

    monkeypatch.setattr(ruleset, "evaluate_json", lying)
    lied = engine.decide("qpr.placement", facts)
    assert lied.status == "error" and lied.outcome == "deny", honest
    assert "durable_rules and the compiled evaluator disagree" in lied.reason


def _denied_with_unfired_rules() -> tuple[Decision, Any]:
    facts = next(f for f in sample(FAST.fact_model("qpr.placement"), 200, seed=3)
                 if FAST.decide("qpr.placement", f).fired)
    return FAST.decide("qpr.placement", facts), facts


def test_explanations_are_built_on_reading_and_match_the_reference() -> None:
    decision, facts = _denied_with_unfired_rules()
    assert isinstance(decision, LazyDecision)
    assert decision.__dict__["_explain"] is not None  # not built yet
    dumped = FAST.validate_facts("qpr.placement", facts).model_dump(mode="python")
    fired = {r.id for r in decision.fired}
    expected = tuple((r.id, r.rule.title, explain_failure(r.condition, dumped, FAST.fact_model("qpr.placement")))
                     for r in sorted(FAST.spec("qpr.placement").rules,
                                     key=lambda r: (r.rule.priority, str(r.file.path), r.index))
                     if r.id not in fired)
    assert expected and all(why for _, _, why in expected)
    assert tuple((n.id, n.title, n.failed) for n in decision.not_fired) == expected
    assert decision.__dict__["_explain"] is None  # built once, facts released


def test_a_lazy_decision_is_a_decision_in_every_way_callers_see() -> None:
    decision, _ = _denied_with_unfired_rules()
    eager = _eager(decision)
    assert type(eager) is Decision
    assert decision == eager and eager == decision and hash(decision) == hash(eager)
    assert decision.to_json() == eager.to_json() and decision.to_dict() == eager.to_dict()
    clone = pickle.loads(pickle.dumps(decision))
    assert type(clone) is Decision and clone == decision
    changed = dataclasses.replace(decision, outcome="allow")
    assert changed.outcome == "allow" and changed.not_fired == decision.not_fired
    assert changed != decision
    with pytest.raises(dataclasses.FrozenInstanceError):
        decision.outcome = "allow"  # type: ignore[misc]


def test_a_fact_model_with_derived_fields_must_check_them() -> None:
    """Only models derived from DerivedFactModel check given derived values, so a model that
    declares one without it is refused when it is defined."""
    from pydantic import computed_field

    from qpr_rules.facts.base import DerivedFactModel, FactModel

    with pytest.raises(TypeError, match="derive it from DerivedFactModel"):
        class Forgetful(FactModel):
            items: list[int]

            @computed_field  # type: ignore[prop-decorator]
            @property
            def count(self) -> int:
                return len(self.items)

    class Careful(DerivedFactModel):
        items: list[int]

        @computed_field  # type: ignore[prop-decorator]
        @property
        def count(self) -> int:
            return len(self.items)

    assert Careful.model_validate({"items": [1, 2], "count": 2}).count == 2
    with pytest.raises(ValueError, match="count is derived from the other facts"):
        Careful.model_validate({"items": [1, 2], "count": 3})
