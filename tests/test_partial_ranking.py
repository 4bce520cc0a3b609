"""The questions of an open partial answer are the ones the ranking rule gives (issue 23.4: made
fast without changing any answer). The oracle below is the rule read plainly (docs/interview.md,
"Which question first"), with a fresh solver for every claim and no shortcut: an unknown fact is
asked when two valid completions differing in it alone (and what lies under it) get different
outcomes; an answer settles the outcome when every valid completion with it gets one outcome.
Over generated partial facts of every bundled decision, each example asserts that
Engine.decide_partial's status and proof are the oracle's, and, when open, that its questions,
settling answers and order are the oracle's, exactly."""

from __future__ import annotations

import random
from typing import Any

import pytest
import z3
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from qpr_rules.analysis.smt_decision import decision_model
from qpr_rules.analysis.smt_facts import DEFAULT_LIST_BOUND
from qpr_rules.engine import partial
from qpr_rules.engine.partial_result import PartialDecision, Question, Settles
from tests.strategies import placement_facts
from tests.test_partial_soundness import DECISIONS, ENGINE, _forget, _random, _valid

TIMEOUT_MS = 60_000


def _sat(*constraints: z3.BoolRef) -> bool:
    solver = z3.Solver()
    solver.set("timeout", TIMEOUT_MS)
    solver.add(*constraints)
    verdict = solver.check()
    assert verdict != z3.unknown, solver.reason_unknown()
    return verdict == z3.sat


def reference(decision: str, known: dict[str, Any], answer: PartialDecision) -> tuple[str, list[Question]]:
    """What the rule says: the status (with its proof) and, when open, the questions in order,
    for the examples the answer shows (the answers tried for dates, numbers and text are theirs)."""
    spec = ENGINE.spec(decision)
    bound = max(DEFAULT_LIST_BOUND, partial.longest_list(known))
    with partial._LOCK:
        a = decision_model(spec, prefix="a", list_bound=bound)
        b = decision_model(spec, prefix="b", list_bound=bound)
        facts, facts_b = partial._Known(original=known), partial._Known(original=known)
        partial._read(a.facts, known, "", facts)
        partial._read(b.facts, known, "", facts_b)
        assert not facts.errors, facts.errors
        base = [*a.constraints, *facts.pins]
        outcomes = spec.decision.outcomes
        possible = [o for o in outcomes if _sat(*base, a.outcome_is[o])]
        exact = [o for o in possible if _sat(*base, a.encoder.exact(), a.outcome_is[o])]
        if len(possible) == 1:
            return "determined proved", []
        if len(exact) == 1:
            return "determined proved-bounded", []
        pairs = partial._pairs(a.facts, b.facts, "")
        differ = z3.Or(*[z3.And(a.outcome_is[o], z3.Not(b.outcome_is[o])) for o in outcomes])
        read = partial._read_paths(spec)
        ranked: list[tuple[tuple[int, float, int], Question]] = []
        for unit in facts.units:
            if read is not None and not partial._is_read(unit.path, read):
                continue
            same = [partial._same(ea, eb) for path, ea, eb in pairs if not partial._under(path, unit.path)]
            if not _sat(*base, *b.constraints, *facts_b.pins, a.encoder.exact(), b.encoder.exact(),
                        *same, differ):
                continue
            tried = partial._answers(unit, answer.examples)
            settles = []
            for value, pin in tried:
                with_it = [o for o in possible if _sat(*base, pin, a.outcome_is[o])]
                if len(with_it) == 1:
                    settles.append(Settles(value, with_it[0]))
            share = len(settles) / len(tried) if tried else 0.0
            ranked.append(((0 if settles else 1, -share, unit.order),
                           partial._question(unit, tuple(settles), len(tried), False)))
    return "open", [q for _, q in sorted(ranked, key=lambda kq: kq[0])]


def check_ranking(decision: str, known: dict[str, Any]) -> None:
    answer = ENGINE.decide_partial(decision, known, timeout_s=30)
    assert answer.status != "unknown", answer.reason
    status, questions = reference(decision, known, answer)
    assert (f"{answer.status} {answer.proof}" if answer.determined else answer.status) == status, known
    assert list(answer.questions) == questions, known


@pytest.mark.parametrize("decision", DECISIONS)
@settings(max_examples=3, deadline=None, suppress_health_check=[HealthCheck.too_slow], database=None)
@given(seed=st.integers(0, 2**32 - 1), p=st.sampled_from([0.3, 0.5, 0.7, 0.9]))
def test_every_decision_ranks_its_questions_as_the_rule_says(decision: str, seed: int, p: float) -> None:
    rnd = random.Random(seed)
    model = ENGINE.fact_model(decision)
    full = next(f for f in (_random(model, rnd) for _ in range(200)) if _valid(decision, f))
    check_ranking(decision, _forget(full, model, rnd, p))


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow], database=None)
@given(full=placement_facts(), seed=st.integers(0, 2**32 - 1), p=st.sampled_from([0.2, 0.5, 0.8]))
def test_placement_ranks_its_questions_as_the_rule_says(full: dict[str, Any], seed: int, p: float) -> None:
    check_ranking("qpr.placement", _forget(full, ENGINE.fact_model("qpr.placement"), random.Random(seed), p))
