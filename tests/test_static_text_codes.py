"""Text compared only with literals, encoded as a code over the texts the rules name plus one for
any other text (smt_facts `text_codes`, static_parts `exact_model`, issue 21): the static checks
by parts give the same findings as with the text as z3 strings, and the facts the codes stand for
are real ones (named texts, or a real text no rule names)."""

from __future__ import annotations

import typing
from pathlib import Path
from typing import Any

import z3
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from qpr_rules import Engine
from qpr_rules.analysis.smt_facts import ScalarEnc, facts_from_model, lookup
from qpr_rules.analysis.static_checks import check_decision
from qpr_rules.analysis.static_parts import coded_texts, exact_model
from qpr_rules.facts.paths import FieldType
from qpr_rules.policy.condition_nodes import Compare, Condition, FactRef, InSet, Literal_, Loc, Present
from tests.test_static_groups import _policy, _seen
from tests.test_static_parts import CONDITION, HOMES

REGIONS = ["north", "south", "east"]
# the atoms of test_static_parts, with the text atoms the codes stand for: eq and ne on text,
# `not` around `in`, a child id that is only ever present or absent
TEXT_ATOM = st.one_of(
    st.sampled_from(REGIONS).map(lambda v: {"fact": "child.region", "eq": v}),
    st.sampled_from(REGIONS).map(lambda v: {"fact": "child.region", "ne": v}),
    st.lists(st.sampled_from(HOMES), min_size=1, max_size=3, unique=True).map(
        lambda v: {"not": {"fact": "home.id", "in": v}}),
    st.booleans().map(lambda b: {"fact": "child.id", "present": b}),
)
RULE = st.fixed_dictionaries({
    "when": st.tuples(st.lists(st.sampled_from(HOMES), min_size=1, max_size=4, unique=True),
                      st.one_of(CONDITION, TEXT_ATOM), st.one_of(TEXT_ATOM, CONDITION)).map(
        lambda kc: {"all": [{"fact": "home.id", "in": kc[0]}, kc[1], kc[2]]}),
    "outcome": st.sampled_from(["deny", "allow"])})


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                  HealthCheck.too_slow])
@given(rules=st.lists(RULE, min_size=2, max_size=6),
       combine=st.sampled_from(["deny-overrides", "first-applicable", "precedence"]))
def test_text_as_codes_gives_the_findings_of_text_as_strings(tmp_path_factory: Any,
                                                             rules: list[dict[str, Any]],
                                                             combine: str) -> None:
    if combine == "first-applicable":
        rules = sorted(rules, key=lambda r: r["outcome"] != "deny")
    engine = _policy(tmp_path_factory.mktemp("p"), rules, combine)
    spec = engine.spec("gen.placement")
    coded = check_decision(spec, method="parts", texts=True)
    strings = check_decision(spec, method="parts", texts=False)
    assert [_seen([f]) for f in coded] == [_seen([f]) for f in strings], (rules, combine)
    for f in coded:
        if f.kind == "conflict":  # examples are real facts, firing both rules of the pair
            assert f.example is not None
            fired = {r.id for r in engine.decide("gen.placement", f.example).fired}
            assert {r.id for r in f.rules} <= fired, (f.message, fired)


def test_a_fact_of_the_codes_holds_real_text_named_or_not(tmp_path: Path) -> None:
    engine = _policy(tmp_path, [
        {"when": {"all": [{"not": {"fact": "home.id", "in": HOMES}},
                          {"fact": "child.region", "ne": "north"}, {"fact": "child.region", "present": True}]},
         "outcome": "deny"},
        {"when": {"fact": "home.id", "eq": HOMES[0]}, "outcome": "allow"},
    ])
    spec = engine.spec("gen.placement")
    dm = exact_model(spec, 3)
    home, region = lookup(dm.facts, "home.id"), lookup(dm.facts, "child.region")
    assert isinstance(home, ScalarEnc) and home.codes == tuple(sorted(HOMES))
    assert isinstance(region, ScalarEnc) and region.codes == ("north",)
    assert home.value.sort() == z3.IntSort()
    # a text no rule compares is a code too, with no text named: no string theory is left
    child_id = lookup(dm.facts, "child.id")
    assert isinstance(child_id, ScalarEnc) and child_id.codes == ()
    for rule in spec.rules:
        s = z3.Solver()
        s.add(*dm.constraints, dm.encoder.exact(), dm.fires[rule.id])
        assert s.check() == z3.sat
        facts = facts_from_model(dm.facts, s.model())
        assert rule.id in {r.id for r in engine.decide("gen.placement", facts).fired}, facts
        if rule.rule.outcome == "deny":  # any other home, any other region: real text, not named
            assert facts["home"]["id"] not in HOMES and facts["child"]["region"] != "north"
            assert facts["home"]["id"] and isinstance(facts["home"]["id"], str)


def test_text_compared_otherwise_stays_text() -> None:
    engine = Engine.load([Path("policies")], evaluator="compiled")
    rules = [r.condition for spec in engine.policies.decisions.values() for r in spec.rules]
    codes = coded_texts(rules)
    assert all(texts == tuple(sorted(set(texts))) for texts in codes.values())
    # a text read by a computed field (the plan's focus areas are each the template's topic) is
    # left as text, whatever the rules compare it with
    spec = engine.spec("pqcr.interview-plan")
    assert "template.focus_area" in coded_texts([r.condition for r in spec.rules])
    dm = exact_model(spec, 3)
    topic = lookup(dm.facts, "template.focus_area")
    assert isinstance(topic, ScalarEnc) and topic.codes is None
    assert check_decision(spec, method="parts", texts=True) and \
        [_seen([f]) for f in check_decision(spec, method="parts", texts=True)] == \
        [_seen([f]) for f in check_decision(spec, method="parts", texts=False)]


def test_only_literal_comparisons_make_codes() -> None:
    text, loc = FieldType("string"), typing.cast(Loc, ())
    conds: list[Condition] = [
        InSet(loc, "a", ("x", "y"), text), Compare(loc, "a", "ne", Literal_("z"), text),
        InSet(loc, "b", ("x",), text), Compare(loc, "b", "eq", FactRef("c"), text),
        Compare(loc, "d", "lt", Literal_("m"), text), Present(loc, "e"),
    ]
    assert coded_texts(conds) == {"a": ("x", "y", "z")}


def _shadowing(tmp_path: Path, covered_below: int) -> list[Any]:
    """An allow rule over two homes, each home's part taken by another deny rule (the second
    only below covered_below years): shadowed exactly when the deny rules cover it on both."""
    engine = _policy(tmp_path, [
        {"when": {"all": [{"fact": "home.id", "in": ["H1", "H2"]}, {"fact": "child.age", "lt": 10}]},
         "outcome": "allow"},
        {"when": {"all": [{"fact": "home.id", "in": ["H1"]}, {"fact": "child.age", "lt": 12}]},
         "outcome": "deny"},
        {"when": {"all": [{"fact": "home.id", "in": ["H2", "H3"]},
                          {"fact": "child.age", "lt": covered_below}]}, "outcome": "deny"},
    ])
    spec = engine.spec("gen.placement")
    by_parts = check_decision(spec, method="parts")
    assert [_seen([f]) for f in by_parts] == [_seen([f]) for f in check_decision(spec, method="pairwise")]
    return [f for f in by_parts if f.kind == "shadowed-rule"]


def test_a_rule_shadowed_home_by_home_is_found_by_its_key(tmp_path: Path) -> None:
    # asked per home of the allow rule's key: H1 and H2 each leave one deny rule in the question
    assert [f.rules[0].id for f in _shadowing(tmp_path / "a", 15)] == ["gen.placement.r0"]
    assert _shadowing(tmp_path / "b", 5) == []  # in H2 a child of 5 to 9 is allowed
