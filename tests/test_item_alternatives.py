"""Issue 18.7: conditions on list items (`some`, `every`, either under `not`) whose item condition
holds alternatives, generated and decided by durable_rules, against the reference evaluator.

durable_rules checks an item's condition one field after another and keeps only the result of
the last test it made (`isArrayMatch` in its events.c): an alternative that held on one field is
forgotten when a test on a later field fails. So `some: {any: [age lt 3, gender eq male]}` was
false for a child aged 1 whose gender is female. The compiler writes an existential item
condition with alternatives as one existential per alternative (`some(a or b)` is
`some(a) or some(b)`); a universal one (`every`, or `some` under `not`) cannot be split that way
and is refused when the policy is loaded, with its file:line:column.

Generated here: item conditions of up to 6 atoms under all/any/not, over two item shapes (a
placed child: an int and an enum; a PQCR interviewee: an enum, flags and an optional flag),
quantified by some/every, maybe under `not`, maybe beside another quantifier or an outer fact;
each decided over generated lists (empty, one item, several; fields in either order).
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from qpr_rules import Engine
from qpr_rules.engine.durable_compiler import compile_rule_expression
from qpr_rules.engine.reference import compile_condition
from qpr_rules.errors import PolicyError
from qpr_rules.policy.limits import condition_combinators, condition_size
from tests.test_durable_limits import _compiled_combinators, _compiled_terms

HEAD = """\
format: qpr-rules/v1
id: items
title: Item conditions
source: {document: none.txt, title: None}
jurisdiction: Test
revision: 2024-01-01
effective_from: 2024-01-01
decisions:
  - {id: t.child, title: c, facts: placement_request, outcomes: [deny, hit], combine: collect-all,
     default: deny, on_error: deny, placement: true}
  - {id: t.plan, title: p, facts: pqcr_interview_plan, outcomes: [hit, none], combine: collect-all,
     default: none, on_error: none, on_error_obligations: [{who: tester, do: Fix the facts.}]}
roles:
  - {id: tester, title: Tester}
rules:
"""

GENDERS = ["female", "male", "nonbinary"]
ROLES = ["parent", "foster_parent", "social_worker", "community_partner", "probation_officer", "supervisor"]
AGES = [0, 1, 2, 3, 4, 9, 10, 11, 12, 13]


def _enum_atoms(field: str, values: list[str]) -> st.SearchStrategy[dict[str, Any]]:
    one = st.sampled_from(values)
    some_values = st.lists(one, min_size=1, max_size=3, unique=True)
    return st.one_of(st.builds(lambda op, v: {"fact": field, op: v}, st.sampled_from(["eq", "ne"]), one),
                     st.builds(lambda op, vs: {"fact": field, op: vs}, st.sampled_from(["in", "not_in"]),
                               some_values))


def _flag_atoms(field: str, optional: bool) -> st.SearchStrategy[dict[str, Any]]:
    atom = st.builds(lambda op, v: {"fact": field, op: v}, st.sampled_from(["eq", "ne"]), st.booleans())
    if not optional:
        return atom
    return st.one_of(atom, st.builds(lambda v: {"fact": field, "present": v}, st.booleans()))


CHILD_ATOMS = st.one_of(
    st.builds(lambda op, n: {"fact": "age", op: n}, st.sampled_from(["eq", "ne", "lt", "lte", "gt", "gte"]),
              st.sampled_from([0, 3, 4, 10, 12])),
    _enum_atoms("gender", GENDERS))
INTERVIEWEE_ATOMS = st.one_of(
    _enum_atoms("role", ROLES), _flag_atoms("told_in_advance", False),
    _flag_atoms("may_review_case_first", False), _flag_atoms("played_main_role_in_case", True))


def _trees(atoms: st.SearchStrategy[dict[str, Any]]) -> st.SearchStrategy[dict[str, Any]]:
    def extend(inner: st.SearchStrategy[dict[str, Any]]) -> st.SearchStrategy[dict[str, Any]]:
        return st.one_of(
            st.builds(lambda k, xs: {k: xs}, st.sampled_from(["all", "any"]), st.lists(inner, min_size=2, max_size=3)),
            st.builds(lambda x: {"not": x}, inner))
    return st.recursive(atoms, extend, max_leaves=6)


@st.composite
def quantified(draw: st.DrawFn, path: str, atoms: st.SearchStrategy[dict[str, Any]]) -> dict[str, Any]:
    cond: dict[str, Any] = {"fact": path, draw(st.sampled_from(["some", "every"])): draw(_trees(atoms))}
    return {"not": cond} if draw(st.booleans()) else cond


OUTER = {"t.child": st.sampled_from([{"fact": "child.age", "lt": 5}, {"fact": "child.gender", "eq": "male"}]),
         "t.plan": st.sampled_from([{"fact": "reporting.common_themes", "eq": True}])}
PATHS = {"t.child": ("home.children_placed", CHILD_ATOMS), "t.plan": ("interviewees", INTERVIEWEE_ATOMS)}


@st.composite
def conditions(draw: st.DrawFn, decision: str) -> dict[str, Any]:
    """A quantified item condition, alone or beside another quantifier or an outer fact."""
    path, atoms = PATHS[decision]
    first = draw(quantified(path, atoms))
    shape = draw(st.sampled_from(["alone", "alone", "with-quantifier", "with-fact"]))
    if shape == "alone":
        return first
    second = draw(quantified(path, atoms)) if shape == "with-quantifier" else draw(OUTER[decision])
    return {draw(st.sampled_from(["all", "any"])): [first, second]}


def _child(draw: st.DrawFn) -> dict[str, Any]:
    item = {"age": draw(st.sampled_from(AGES)), "gender": draw(st.sampled_from(GENDERS))}
    return dict(reversed(item.items())) if draw(st.booleans()) else item


def _interviewee(draw: st.DrawFn) -> dict[str, Any]:
    item: dict[str, Any] = {"role": draw(st.sampled_from(ROLES)), "told_in_advance": draw(st.booleans()),
                            "questions_shared_in_advance": draw(st.booleans()),
                            "training_and_orientation": draw(st.booleans())}
    for key in ("may_review_case_first", "played_main_role_in_case"):
        if draw(st.booleans()):
            item[key] = draw(st.booleans())
    keys = draw(st.permutations(list(item)))
    return {k: item[k] for k in keys}


@st.composite
def facts(draw: st.DrawFn, decision: str) -> dict[str, Any]:
    count = draw(st.sampled_from([0, 1, 1, 2, 2, 3, 4]))
    if decision == "t.child":
        return {"placement": {"date": "2024-05-01", "status": "proposed", "cleared_with_pco": True, "siblings": []},
                "child": {"age": draw(st.sampled_from([1, 7])), "gender": draw(st.sampled_from(GENDERS))},
                "home": {"id": "H", "approval": "rfa", "approval_status": "active", "hold": None,
                         "restrictions": None, "children_placed": [_child(draw) for _ in range(count)]}}
    return {"template": {}, "reporting": {"case_specific": True, "common_themes": draw(st.booleans()),
                                          "strengths_identified": True},
            "interviewees": [_interviewee(draw) for _ in range(count)]}


def universal_with_alternatives(cond: Any, negated: bool = False, inside: bool = False) -> bool:
    """The class refused for durable_rules, computed here from the YAML form (not from the
    parser's own check): an item condition checked for every item (`every`, or `some` under an
    odd number of `not`s) that has an alternative once negations are pushed to the atoms (an
    `any`, a negated `all`, `in` with several values, a negated test on an optional field)."""
    if isinstance(cond, dict) and "not" in cond:
        return universal_with_alternatives(cond["not"], not negated, inside)
    if isinstance(cond, dict) and ("all" in cond or "any" in cond):
        items = cond.get("all", cond.get("any"))
        return any(universal_with_alternatives(c, negated, inside) for c in items)
    if "some" in cond or "every" in cond:
        universal = ("every" in cond) != negated
        return universal and _has_alternative(cond.get("some", cond.get("every")), negated)
    return False


def _kind(cond: Any) -> str:
    """The class of a generated rule, for hypothesis' statistics."""
    if universal_with_alternatives(cond):
        return "universal with alternatives (refused)"
    if _existential_with_alternatives(cond):
        return "existential with alternatives (rewritten)"
    return "no alternative inside an item"


def _existential_with_alternatives(cond: Any, negated: bool = False) -> bool:
    if "not" in cond:
        return _existential_with_alternatives(cond["not"], not negated)
    if "all" in cond or "any" in cond:
        return any(_existential_with_alternatives(c, negated) for c in cond.get("all", cond.get("any")))
    if "some" in cond or "every" in cond:
        existential = ("some" in cond) != negated
        return existential and _has_alternative(cond.get("some", cond.get("every")), negated)
    return False


def _has_alternative(cond: dict[str, Any], negated: bool) -> bool:
    if "not" in cond:
        return _has_alternative(cond["not"], not negated)
    for key in ("all", "any"):
        if key in cond:
            branches = (key == "any") != negated
            return branches or any(_has_alternative(c, negated) for c in cond[key])
    optional = cond["fact"] == "played_main_role_in_case"
    if "in" in cond or "not_in" in cond:
        negated = negated != ("not_in" in cond)
        values = cond.get("in", cond.get("not_in"))
        return (not negated and len(values) > 1) or (negated and optional)
    if "present" in cond:
        return False
    return negated and optional


def _load(tmp_path: Path, rules: list[tuple[str, str, dict[str, Any]]]) -> Path:
    body = "".join(f"  - {{id: {rid}, decision: {decision}, title: t, outcome: hit, when: {json.dumps(cond)}}}\n"
                   for rid, decision, cond in rules)
    path = tmp_path / "items.yaml"
    path.write_text(HEAD + body, encoding="utf-8")
    return path


RULE_LINE = HEAD.count("\n") + 1  # the line of the first rule


def _check_refusal(path: Path, refused: list[tuple[str, str, dict[str, Any]]]) -> None:
    """Every universal item condition with an alternative is refused, each at its own line."""
    with pytest.raises(PolicyError) as caught:
        Engine.load(path)
    problems = caught.value.problems
    where = {p.line for p in problems if "every item of" in p.message}
    assert where == {RULE_LINE + i for i in range(len(refused))}, [str(p) for p in problems]
    for p in problems:
        assert re.match(rf"{re.escape(str(path))}:\d+:\d+: ", str(p)), str(p)


def _load_within_limits(tmp_path: Path, kept: list[tuple[str, str, dict[str, Any]]]) -> Engine | None:
    """The engine of the kept rules, less those refused for one of durable_rules' size limits
    (an item condition with many alternatives under `some` is written as one `$iany` each, and
    may need more `$and`s than durable_rules takes): each refusal names file:line:column and the
    limit, and no other refusal is allowed."""
    try:
        return Engine.load(_load(tmp_path, kept)) if kept else None
    except PolicyError as exc:
        for p in exc.problems:
            assert "durable_rules takes at most" in p.message, str(p)
            assert p.line >= RULE_LINE and p.column > 0, str(p)
        over = {p.line - RULE_LINE for p in exc.problems}
        event("a rule refused for a size limit")
        rest = [rule for i, rule in enumerate(kept) if i not in over]
        return Engine.load(_load(tmp_path, rest)) if rest else None


@settings(max_examples=int(os.environ.get("QPR_ITEM_EXAMPLES", "400")), deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture,
                                 HealthCheck.data_too_large])
@given(data=st.data())
def test_durable_rules_decides_generated_item_conditions_like_the_reference(
        tmp_path: Path, data: st.DataObject) -> None:
    decision = data.draw(st.sampled_from(["t.child", "t.plan"]))
    conds = data.draw(st.lists(conditions(decision), min_size=1, max_size=4))
    cases = data.draw(st.lists(facts(decision), min_size=1, max_size=8))
    for c in conds:
        event(_kind(c))
    refused = [(f"r{i}", decision, c) for i, c in enumerate(conds) if universal_with_alternatives(c)]
    kept = [(f"r{i}", decision, c) for i, c in enumerate(conds) if not universal_with_alternatives(c)]
    if refused:
        _check_refusal(_load(tmp_path, refused), refused)
    engine = _load_within_limits(tmp_path, kept)
    if engine is None:
        return
    rules = engine.spec(decision).rules
    for rule in rules:  # the loader's counts are what the compiler writes (limits.py)
        expr = compile_rule_expression(rule.condition)
        assert condition_size(rule.condition).terms == _compiled_terms(expr), rule.id
        assert condition_combinators(rule.condition) == _compiled_combinators(expr) - 1, rule.id
    checks = {r.id: compile_condition(r.condition) for r in rules}
    for case in cases:
        answer = engine.decide(decision, case)
        # decide() answers status "error" when durable_rules and the compiled evaluator disagree
        assert answer.status != "error", (answer.errors, kept, case)
        dumped = engine.validate_facts(decision, case).model_dump(mode="python")
        assert {r.id for r in answer.fired} == {rid for rid, check in checks.items() if check(dumped)}, (kept, case)


def test_the_cases_of_the_issue(tmp_path: Path) -> None:
    """The two forms of the issue, for a child aged 1 whose gender is nonbinary."""
    text = HEAD + (
        "  - {id: some-any, decision: t.child, title: t, outcome: hit, when: {fact: home.children_placed,"
        " some: {any: [{fact: age, lt: 3}, {fact: gender, in: [female, male]}]}}}\n"
        "  - {id: not-every-all, decision: t.child, title: t, outcome: hit, when: {not: {fact: home.children_placed,"
        " every: {all: [{fact: age, gte: 10}, {fact: gender, ne: female}]}}}}\n")
    path = tmp_path / "issue.yaml"
    path.write_text(text, encoding="utf-8")
    engine = Engine.load(path)
    facts_ = {"placement": {"date": "2024-05-01", "status": "proposed", "cleared_with_pco": True, "siblings": []}, "child": {"age": 7, "gender": "female"},
              "home": {"id": "H", "approval": "rfa", "approval_status": "active", "hold": None,
                       "restrictions": None, "children_placed": [{"age": 1, "gender": "nonbinary"}]}}
    answer = engine.decide("t.child", facts_)
    assert answer.status == "decided", answer.errors
    assert {r.id for r in answer.fired} == {"some-any", "not-every-all"}



AGE_TESTS = [{"fact": "age", "lt": 3}, {"fact": "age", "gte": 10}, {"fact": "age", "eq": 4},
             {"fact": "age", "ne": 12}, {"fact": "age", "lte": 0}]
GENDER_TESTS = [{"fact": "gender", "eq": "male"}, {"fact": "gender", "ne": "female"},
                {"fact": "gender", "in": ["female", "male"]}, {"fact": "gender", "not_in": ["nonbinary"]}]


def _forms(a: dict[str, Any], b: dict[str, Any]) -> list[dict[str, Any]]:
    """The existential forms with alternatives on two fields, each with its fields either way round."""
    kids = "home.children_placed"
    out: list[dict[str, Any]] = []
    for x, y in ((a, b), (b, a)):
        out += [{"fact": kids, "some": {"any": [x, y]}},
                {"not": {"fact": kids, "every": {"all": [x, y]}}},
                {"fact": kids, "some": {"not": {"all": [x, y]}}},
                {"fact": kids, "some": {"all": [x, {"any": [y, {"fact": "age", "gt": 11}]}]}},
                {"not": {"fact": kids, "every": {"any": [{"all": [x, y]}, {"fact": "age", "eq": 9}]}}}]
    return out


def test_every_two_field_alternative_under_some_over_every_small_list(tmp_path: Path) -> None:
    """Exhaustive over the class of the issue: each form above for every pair of an age test and
    a gender test (200 rules), decided over every list of at most two children drawn from ages
    on both sides of every threshold and every gender (1 + 24 + 576 lists)."""
    rules = [(f"r{i}", "t.child", c) for i, c in
             enumerate(f for a in AGE_TESTS for b in GENDER_TESTS for f in _forms(a, b))]
    assert len(rules) == 200
    engine = Engine.load(_load(tmp_path, rules))
    checks = {r.id: compile_condition(r.condition) for r in engine.spec("t.child").rules}
    children = [{"age": age, "gender": g} for age in (0, 1, 3, 4, 9, 10, 11, 12) for g in GENDERS]
    lists = [[], *([c] for c in children), *([c, d] for c in children for d in children)]
    assert len(lists) == 601
    fired_somewhere: set[str] = set()
    for kids in lists:
        case = {"placement": {"date": "2024-05-01", "status": "proposed", "cleared_with_pco": True, "siblings": []}, "child": {"age": 7, "gender": "female"},
                "home": {"id": "H", "approval": "rfa", "approval_status": "active", "hold": None,
                         "restrictions": None, "children_placed": kids}}
        answer = engine.decide("t.child", case)
        assert answer.status != "error", (answer.errors, kids)
        dumped = engine.validate_facts("t.child", case).model_dump(mode="python")
        fired = {r.id for r in answer.fired}
        assert fired == {rid for rid, check in checks.items() if check(dumped)}, kids
        fired_somewhere |= fired
    assert len(fired_somewhere) == len(rules)  # no rule is trivially false
