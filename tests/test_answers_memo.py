"""Answers built from the fired rules only, the memo of answers bounded in bytes, and the lean JSON
(without `not_fired`): engine/answers.py. Speed is measured in bench/bench_scale.py, not here."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings

from qpr_rules import Decision, Engine
from qpr_rules.engine import answers
from tests.strategies import placement_facts


@pytest.fixture(scope="module")
def engines() -> tuple[Engine, Engine]:
    return Engine.from_bundled(evaluator="compiled"), Engine.from_bundled()


def _plain(decision: Decision) -> Decision:
    """The same answer as an eager Decision (every field read and given to __init__)."""
    return Decision(**{f.name: getattr(decision, f.name) for f in dataclasses.fields(Decision)})


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(facts=placement_facts())
def test_lazy_answers_serialise_as_eager_ones_both_ways(engines: tuple[Engine, Engine],
                                                         facts: dict[str, Any]) -> None:
    for engine in engines:
        decision = engine.decide("qpr.placement", facts)
        eager = _plain(decision)
        assert decision.to_json() == eager.to_json()
        lean = decision.to_json(not_fired=False)
        assert lean == eager.to_json(not_fired=False)
        whole = json.loads(decision.to_json())
        assert "not_fired" not in json.loads(lean)
        assert json.loads(lean) == {k: v for k, v in whole.items() if k != "not_fired"}
        assert decision.to_json(indent=2, not_fired=False) == eager.to_json(indent=2, not_fired=False)


def test_memo_stays_within_its_byte_budget(monkeypatch: pytest.MonkeyPatch,
                                           engines: tuple[Engine, Engine]) -> None:
    engine = Engine.from_bundled(evaluator="compiled")
    book = engine._runtimes["qpr.placement"].answers
    monkeypatch.setattr(answers, "MEMO_BUDGET_BYTES", 40_000)
    rules = len(book.rules)
    sizes = []
    for mask in range(1, min(1 << rules, 200)):
        book._entry(mask)
        sizes.append(book.stats()["bytes"])
    assert max(sizes) <= 40_000
    assert 1 < book.stats()["entries"] < 199  # older sets were dropped, newer kept
    before = book.hits
    book._entry(mask)  # the newest set is still there
    assert book.hits == before + 1


def test_an_answer_reads_the_fired_rules_only(engines: tuple[Engine, Engine]) -> None:
    """The memoised part of an answer is built without listing the rules that did not fire: a
    rule view that refuses to be read shows it."""
    engine = Engine.from_bundled(evaluator="compiled")
    book = engine._runtimes["qpr.placement"].answers
    fired_one = 1 << 3

    class Untouchable:
        def __getattr__(self, name: str) -> Any:
            raise AssertionError(f"a rule that did not fire was read ({name})")

    book.rules = tuple(r if i == 3 else Untouchable() for i, r in enumerate(book.rules))  # type: ignore[misc]
    fields, _, _, _ = book._build(fired_one)
    assert [r.id for r in fields["fired"]] == [book.fired_ids(fired_one)[0]]
