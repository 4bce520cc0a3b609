"""The static checks by parts (analysis/static_parts.py, issue 21): whether rules fire, alone or two
together, decided per group of conjuncts over the components of the fact encoding they read, by
real facts or by the solver over those components only, give the findings of asking the solver
the whole question about every pair (the "pairwise" method, kept as the oracle)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from qpr_rules.analysis import static_parts
from qpr_rules.analysis.smt_decision import decision_model
from qpr_rules.analysis.smt_facts import FactEncoder
from qpr_rules.analysis.static_checks import check_decision
from qpr_rules.engine.engine import Engine
from tests.test_static_groups import GENDERS, HOMES, STATUSES, _policy, _seen, _subset

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
from scale_policy import write_policy

# the atoms of test_static_groups, and those that read the other parts of the facts: text in
# lists, the children placed (`some`, `count`, computed genders), the hold and the dates it ties
ATOM = st.one_of(
    _subset(HOMES).map(lambda v: {"fact": "home.id", "in": v}),
    st.sampled_from(HOMES).map(lambda v: {"fact": "home.id", "eq": v}),
    _subset(STATUSES).map(lambda v: {"fact": "home.approval_status", "in": v}),
    st.sampled_from(GENDERS).map(lambda v: {"fact": "child.gender", "eq": v}),
    st.integers(0, 18).map(lambda n: {"fact": "child.age", "lt": n}),
    st.integers(0, 18).map(lambda n: {"fact": "child.age", "gte": n}),
    st.booleans().map(lambda b: {"fact": "placement.cleared_with_pco", "eq": b}),
    st.integers(0, 3).map(lambda n: {"fact": "home.children_placed", "count": {"gte": n}}),
    st.integers(0, 3).map(lambda n: {"fact": "home.children_placed", "count": {"lte": n}}),
    st.integers(2, 15).map(lambda n: {"fact": "home.children_placed", "some": {"fact": "age", "lt": n}}),
    st.sampled_from(GENDERS).map(lambda g: {"fact": "home.genders_placed", "contains": g}),
    st.booleans().map(lambda b: {"fact": "home.hold.kind", "present": b}),
    st.integers(0, 60).map(lambda d: {"fact": "home.hold.placed_on",
                                      "on_or_before": {"fact": "placement.date", "plus_days": -d}}),
    # _policy unquotes these two dates in the file, so the loader reads dates
    st.sampled_from(["2020-01-01", "2024-01-01"]).map(lambda d: {"fact": "placement.date", "after": d}),
    _subset(["north", "south", "east"]).map(lambda v: {"fact": "child.region", "in": v}),
)
CONDITION = st.recursive(ATOM, lambda inner: st.one_of(
    st.lists(inner, min_size=1, max_size=3).map(lambda items: {"all": items}),
    st.lists(inner, min_size=2, max_size=3).map(lambda items: {"any": items}),
    inner.map(lambda item: {"not": item}),
), max_leaves=5)
# rules as they are written at scale: a key first, then the rest
RULE = st.fixed_dictionaries({
    "when": st.tuples(_subset(HOMES), CONDITION).map(
        lambda kc: {"all": [{"fact": "home.id", "in": kc[0]}, kc[1]]}),
    "outcome": st.sampled_from(["deny", "allow"])})


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                  HealthCheck.too_slow])
@given(rules=st.lists(RULE, min_size=2, max_size=6),
       combine=st.sampled_from(["deny-overrides", "first-applicable", "precedence"]))
def test_findings_by_parts_are_those_of_every_pair_asked_whole(tmp_path_factory: Any,
                                                               rules: list[dict[str, Any]],
                                                               combine: str) -> None:
    if combine == "first-applicable":  # a placement question orders its deny rules first
        rules = sorted(rules, key=lambda r: r["outcome"] != "deny")
    engine = _policy(tmp_path_factory.mktemp("p"), rules, combine)
    spec = engine.spec("gen.placement")
    by_parts = check_decision(spec, method="parts")
    pairwise = check_decision(spec, method="pairwise")
    assert _seen(by_parts) == _seen(pairwise), (rules, combine)
    for f in by_parts:
        if f.kind == "conflict":  # every example fires both rules of its pair
            assert f.example is not None
            fired = {r.id for r in engine.decide("gen.placement", f.example).fired}
            assert {r.id for r in f.rules} <= fired, (f.message, fired)


def test_a_generated_policy_gives_the_same_findings_with_a_question_for_few_pairs(tmp_path: Path) -> None:
    engine = Engine.load([write_policy(tmp_path / "gen", 24, seed=5)], evaluator="compiled")
    spec = engine.spec("gen.placement")
    asked: list[static_parts.Parts] = []
    original = static_parts.Parts.seed

    def seed(self: static_parts.Parts, formulas: Any) -> None:
        asked.append(self)
        original(self, formulas)

    static_parts.Parts.seed = seed  # type: ignore[method-assign]
    told: list[str] = []
    try:
        by_parts = check_decision(spec, examples="first", method="parts", progress=told.append)
    finally:
        static_parts.Parts.seed = original  # type: ignore[method-assign]
    pairwise = check_decision(spec, examples="first", method="pairwise")
    # the same findings, in the same order (the first conflict's example may be another fact)
    assert [_seen([f]) for f in by_parts] == [_seen([f]) for f in pairwise]
    conflicts = [f for f in by_parts if f.kind == "conflict"]
    assert len(conflicts) >= 20
    # never silent: each phase says where it stands (`prove` shows it on a terminal)
    for phase in ("the parts of the facts", "can each rule fire, 23 of 24", "shadowed rules, ",
                  "conflicts, pair 0 of", "where the default decides"):
        assert any(phase in t for t in told), (phase, told[:20])
    parts = asked[0]
    assert parts.merge_refused == 0  # every fact merged from the parts is one the fact model takes
    # the pairs were settled by real facts, not asked one by one
    assert parts.solver_calls < len(conflicts) / 2, (parts.solver_calls, len(conflicts))


def test_the_encoding_without_ghosts_is_the_exact_one(tmp_path: Path) -> None:
    engine = _policy(tmp_path, [
        {"when": {"all": [{"fact": "home.children_placed", "some": {"fact": "age", "lt": 3}},
                          {"fact": "home.children_placed", "count": {"gte": 5}}]}, "outcome": "deny"},
    ])
    spec = engine.spec("gen.placement")
    full = decision_model(spec)
    encoder = FactEncoder("facts", ghosts=False)
    exact = decision_model(spec, encoder=encoder, facts=encoder.encode(spec.fact_model))
    assert encoder.exactness and not any("#any" in str(c) for c in exact.constraints)
    import z3

    rule = spec.rules[0].id
    for extra in ([], [full.encoder.exact()]):
        s = z3.Solver()
        s.add(*full.constraints, full.fires[rule], *extra)
        assert s.check() == z3.sat  # five children, a young one past the slots or in them
    s = z3.Solver()
    s.add(*exact.constraints, exact.encoder.exact(), exact.fires[rule])
    assert s.check() == z3.sat
    model = s.model()
    from qpr_rules.analysis.smt_facts import facts_from_model

    facts = facts_from_model(exact.facts, model)
    assert rule in {r.id for r in engine.decide("gen.placement", facts).fired}


def test_the_constraints_are_built_once_until_the_encoding_grows(tmp_path: Path) -> None:
    engine = _policy(tmp_path, [
        {"when": {"fact": "home.children_placed", "some": {"fact": "age", "lt": 3}}, "outcome": "deny"},
    ])
    dm = decision_model(engine.spec("gen.placement"))
    first = dm.constraints
    assert [c.get_id() for c in dm.constraints] == [c.get_id() for c in first]
    children = dm.facts.fields["home"].fields["children_placed"]  # type: ignore[union-attr]
    children.past(("a new reading",), lambda item, _: item.present)
    assert len(dm.constraints) > len(first)  # a ghost more, and its reading defined
