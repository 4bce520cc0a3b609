"""The condition language, operator by operator: how each is parsed, and what it evaluates to
in the reference evaluator and in the Engine (durable_rules), which must agree.

The policy is written to tmp_path: one rule per case, all in one collect-all decision over the
registered `placement_request` fact type, so one decide() shows which conditions hold.
"""

from __future__ import annotations

import copy
import datetime as dt
from typing import Any

import pytest

from qpr_rules import Engine
from qpr_rules.engine.reference import compile_condition
from qpr_rules.facts.placement import PlacementRequest
from qpr_rules.policy.conditions import (
    All,
    Compare,
    Contains,
    Count,
    FactRef,
    InSet,
    Literal_,
    Not,
    ParseContext,
    Present,
    Quantified,
    parse_condition,
    render,
)
from qpr_rules.policy.loader import CompiledRule

HEAD = """\
format: qpr-rules/v1
id: ops
title: Every operator
source: {document: none.txt, title: None}
jurisdiction: Test
revision: 2024-01-01
effective_from: 2024-01-01
parameters:
  max_age: {value: 12, description: Oldest child}
  max_children: {value: 2, description: Most children}
  wait_days: {value: 365, description: Days to wait}
conditions:
  young-child: {fact: child.age, lt: 3}
decisions:
  - {id: ops.d, title: d, facts: placement_request, outcomes: [deny, hit], combine: collect-all,
     default: deny, on_error: deny, placement: true}
rules:
"""

# (rule id, condition as written, the condition as the parser renders it back)
RULES = [
    ("eq", "{fact: child.gender, eq: female}",
     "child.gender = female"),
    ("ne", "{fact: child.gender, ne: female}",
     "child.gender != female"),
    ("lt", "{fact: child.age, lt: 7}",
     "child.age < 7"),
    ("lte", "{fact: child.age, lte: 7}",
     "child.age <= 7"),
    ("gt", "{fact: child.age, gt: 7}",
     "child.age > 7"),
    ("gte", "{fact: child.age, gte: 7}",
     "child.age >= 7"),
    ("bool-ne", "{fact: placement.cleared_with_pco, ne: true}",
     "placement.cleared_with_pco != true"),
    ("enum-default", "{fact: placement.status, eq: made}",
     "placement.status = made"),
    ("before", "{fact: placement.date, before: 2024-05-01}",
     "placement.date < 2024-05-01"),
    ("after", "{fact: placement.date, after: 2024-05-01}",
     "placement.date > 2024-05-01"),
    ("on-or-before", "{fact: placement.date, on_or_before: {fact: home.hold.review_after}}",
     "placement.date <= home.hold.review_after"),
    ("on-or-after", "{fact: placement.date, on_or_after: {fact: home.hold.placed_on, plus_days: 30}}",
     "placement.date >= home.hold.placed_on + 30 days"),
    ("plus-days-param", "{fact: placement.date, before: {fact: home.hold.placed_on, plus_days: {param: wait_days}}}",
     "placement.date < home.hold.placed_on + 365 days"),
    ("ne-optional", "{fact: home.hold.kind, ne: permanent}",
     "home.hold.kind != permanent"),
    ("not-ne-optional", "{not: {fact: home.hold.kind, ne: permanent}}",
     "not home.hold.kind != permanent"),
    ("in", "{fact: home.hold.kind, in: [pending_qpr, permanent]}",
     "home.hold.kind is one of [pending_qpr, permanent]"),
    ("not-in", "{fact: home.hold.kind, not_in: [pending_qpr, permanent]}",
     "not home.hold.kind is one of [pending_qpr, permanent]"),
    ("present", "{fact: home.hold.review_after, present: true}",
     "home.hold.review_after is present"),
    ("absent", "{fact: home.hold.review_after, present: false}",
     "not home.hold.review_after is present"),
    ("contains", "{fact: home.restrictions.genders, contains: female}",
     "home.restrictions.genders contains female"),
    ("contains-ref", "{fact: home.restrictions.genders, contains: {fact: child.gender}}",
     "home.restrictions.genders contains child.gender"),
    ("not-contains-ref", "{not: {fact: home.restrictions.genders, contains: {fact: child.gender}}}",
     "not home.restrictions.genders contains child.gender"),
    ("count", "{fact: home.children_placed, count: {gte: 2}}",
     "number of home.children_placed >= 2"),
    ("count-ref", "{fact: home.children_placed, count: {gte: {fact: home.restrictions.max_children}}}",
     "number of home.children_placed >= home.restrictions.max_children"),
    ("count-param", "{fact: home.children_placed, count: {lt: {param: max_children}}}",
     "number of home.children_placed < 2 (parameter max_children)"),
    ("count-zero", "{fact: home.children_placed, count: {eq: 0}}",
     "number of home.children_placed = 0"),
    ("some", "{fact: home.children_placed, some: {fact: age, lt: 3}}",
     "some item of home.children_placed has (age < 3)"),
    ("every", "{fact: home.children_placed, every: {fact: gender, eq: female}}",
     "every item of home.children_placed has (gender = female)"),
    ("not-some", "{not: {fact: home.children_placed, some: {fact: age, lt: 3}}}",
     "not some item of home.children_placed has (age < 3)"),
    ("not-every", "{not: {fact: home.children_placed, every: {fact: gender, eq: female}}}",
     "not every item of home.children_placed has (gender = female)"),
    ("within", "{fact: placement.date, within_days: {days: 10, of: {fact: home.hold.placed_on}}}",
     "all of (placement.date >= home.hold.placed_on - 10 days; placement.date <= home.hold.placed_on + 10 days)"),
    ("within-literal", "{fact: placement.date, within_days: {days: 2, of: 2024-05-10}}",
     "all of (placement.date >= 2024-05-08; placement.date <= 2024-05-12)"),
    ("param", "{fact: child.age, lte: {param: max_age}}",
     "child.age <= 12 (parameter max_age)"),
    ("all", "{all: [{fact: child.age, gte: 5}, {fact: child.gender, eq: male}]}",
     "all of (child.age >= 5; child.gender = male)"),
    ("any", "{any: [{fact: child.age, lt: 5}, {fact: child.gender, eq: male}]}",
     "any of (child.age < 5; child.gender = male)"),
    ("not", "{not: {fact: child.age, lt: 5}}",
     "not child.age < 5"),
    ("computed", "{fact: home.youngest_placed_age, lt: 3}",
     "home.youngest_placed_age < 3"),
    ("use", "{use: young-child}",
     "child.age < 3"),]

ABSENT = object()


def facts(**changes: Any) -> dict[str, Any]:
    """Valid placement facts; keyword `a__b=v` sets the dotted path a.b, ABSENT removes it."""
    data: dict[str, Any] = {
        "placement": {"date": "2024-05-01", "status": "proposed", "cleared_with_pco": True, "siblings": []},
        "child": {"age": 7, "gender": "female"},
        "home": {"id": "H", "approval": "rfa", "approval_status": "active", "hold": None,
                 "restrictions": None, "children_placed": []},
    }
    for key, value in changes.items():
        *parents, last = key.split("__")
        node = data
        for part in parents:
            node = node.setdefault(part, {})
        if value is ABSENT:
            node.pop(last, None)
        else:
            node[last] = copy.deepcopy(value)
    return data


def hold(kind: str | None = None, placed_on: str = "2024-04-01", review_after: str | None = None) -> dict[str, Any]:
    """A hold; only a time-limited hold has a review date, so that is the kind given one."""
    kind = kind or ("time_limited" if review_after else "pending_qpr")
    return {"kind": kind, "placed_on": placed_on, **({"review_after": review_after} if review_after else {})}


def kids(*spec: tuple[int, str]) -> list[dict[str, Any]]:
    return [{"age": age, "gender": gender} for age, gender in spec]


# (rule id, facts, whether the condition holds)
CASES: list[tuple[str, dict[str, Any], bool]] = [
    ("eq", facts(), True),
    ("eq", facts(child__gender="male"), False),
    ("ne", facts(), False),
    ("ne", facts(child__gender="nonbinary"), True),
    ("lt", facts(child__age=6), True),
    ("lt", facts(), False),
    ("lte", facts(), True),
    ("lte", facts(child__age=8), False),
    ("gt", facts(child__age=8), True),
    ("gt", facts(), False),
    ("gte", facts(), True),
    ("gte", facts(child__age=6), False),
    ("bool-ne", facts(), False),
    ("bool-ne", facts(placement__cleared_with_pco=False), True),
    ("enum-default", facts(), False),  # status defaults to proposed
    ("enum-default", facts(placement__status="made"), True),
    ("before", facts(placement__date="2024-04-30"), True),
    ("before", facts(), False),
    ("after", facts(placement__date="2024-05-02"), True),
    ("after", facts(), False),
    ("on-or-before", facts(home__hold=hold(review_after="2024-05-01")), True),  # review_after == date
    ("on-or-before", facts(home__hold=hold(review_after="2024-04-30")), False),
    ("on-or-before", facts(home__hold=hold()), False),  # no end date: the comparison is false
    ("on-or-before", facts(), False),
    ("on-or-after", facts(home__hold=hold(placed_on="2024-04-01")), True),  # + 30 days == date
    ("on-or-after", facts(home__hold=hold(placed_on="2024-04-02")), False),
    ("on-or-after", facts(), False),
    ("plus-days-param", facts(home__hold=hold(placed_on="2023-05-02")), False),  # + 365 == 2024-05-01
    ("plus-days-param", facts(home__hold=hold(placed_on="2023-05-03")), True),
    ("ne-optional", facts(), False),  # absent: every atom on it is false
    ("ne-optional", facts(home__hold=hold()), True),
    ("ne-optional", facts(home__hold=hold("permanent")), False),
    ("not-ne-optional", facts(), True),
    ("not-ne-optional", facts(home__hold=hold("permanent")), True),
    ("not-ne-optional", facts(home__hold=hold()), False),
    ("in", facts(home__hold=hold()), True),
    ("in", facts(home__hold=hold("permanent")), True),
    ("in", facts(home__hold=hold("time_limited")), False),
    ("in", facts(), False),
    ("not-in", facts(), True),
    ("not-in", facts(home__hold=hold("time_limited")), True),
    ("not-in", facts(home__hold=hold("permanent")), False),
    ("present", facts(home__hold=hold(review_after="2024-06-01")), True),
    ("present", facts(home__hold=hold()), False),
    ("present", facts(), False),
    ("absent", facts(home__hold=hold(review_after="2024-06-01")), False),
    ("absent", facts(home__hold=hold()), True),
    ("absent", facts(), True),
    ("contains", facts(home__restrictions={"genders": ["male", "female"]}), True),
    ("contains", facts(home__restrictions={"genders": ["male"]}), False),
    ("contains", facts(home__restrictions={"genders": []}), False),
    ("contains", facts(home__restrictions={}), False),
    ("contains", facts(), False),
    ("contains-ref", facts(home__restrictions={"genders": ["female"]}), True),
    ("contains-ref", facts(home__restrictions={"genders": ["female"]}, child__gender="male"), False),
    ("contains-ref", facts(home__restrictions={"genders": []}), False),
    ("contains-ref", facts(), False),
    ("not-contains-ref", facts(home__restrictions={"genders": ["female"]}), False),
    ("not-contains-ref", facts(home__restrictions={"genders": ["female"]}, child__gender="male"), True),
    ("not-contains-ref", facts(home__restrictions={"genders": []}), True),
    ("not-contains-ref", facts(), True),
    ("count", facts(home__children_placed=kids((1, "male"), (2, "female"))), True),
    ("count", facts(home__children_placed=kids((1, "male"))), False),
    ("count", facts(), False),
    ("count-ref", facts(home__children_placed=kids((1, "male"), (2, "male")),
                        home__restrictions={"max_children": 2}), True),
    ("count-ref", facts(home__children_placed=kids((1, "male"), (2, "male")),
                        home__restrictions={"max_children": 3}), False),
    ("count-ref", facts(home__restrictions={"max_children": 0}), True),  # 0 >= 0
    ("count-ref", facts(home__children_placed=kids((1, "male"))), False),  # no maximum given
    ("count-param", facts(), True),
    ("count-param", facts(home__children_placed=kids((1, "male"))), True),
    ("count-param", facts(home__children_placed=kids((1, "male"), (2, "male"))), False),
    ("count-zero", facts(), True),
    ("count-zero", facts(home__children_placed=kids((1, "male"))), False),
    ("some", facts(), False),  # empty list: no item
    ("some", facts(home__children_placed=kids((9, "male"), (2, "male"))), True),
    ("some", facts(home__children_placed=kids((5, "female"))), False),
    ("every", facts(), True),  # empty list: vacuously true
    ("every", facts(home__children_placed=kids((9, "female"), (2, "female"))), True),
    ("every", facts(home__children_placed=kids((9, "female"), (2, "male"))), False),
    ("not-some", facts(), True),
    ("not-some", facts(home__children_placed=kids((2, "female"))), False),
    ("not-some", facts(home__children_placed=kids((3, "female"))), True),
    ("not-every", facts(), False),
    ("not-every", facts(home__children_placed=kids((9, "female"), (2, "male"))), True),
    ("not-every", facts(home__children_placed=kids((9, "female"))), False),
    ("within", facts(home__hold=hold(placed_on="2024-04-21")), True),  # date - 10 days
    ("within", facts(home__hold=hold(placed_on="2024-05-11")), True),  # date + 10 days
    ("within", facts(home__hold=hold(placed_on="2024-04-20")), False),
    ("within", facts(home__hold=hold(placed_on="2024-05-12")), False),
    ("within", facts(), False),
    ("within-literal", facts(placement__date="2024-05-08"), True),
    ("within-literal", facts(placement__date="2024-05-12"), True),
    ("within-literal", facts(placement__date="2024-05-07"), False),
    ("within-literal", facts(placement__date="2024-05-13"), False),
    ("param", facts(child__age=12), True),
    ("param", facts(child__age=13), False),
    ("all", facts(child__age=5, child__gender="male"), True),
    ("all", facts(child__age=5), False),
    ("all", facts(child__age=4, child__gender="male"), False),
    ("any", facts(child__age=4), True),
    ("any", facts(child__gender="male"), True),
    ("any", facts(), False),
    ("not", facts(child__age=5), True),
    ("not", facts(child__age=4), False),
    ("computed", facts(), False),  # no child placed: the youngest age is absent
    ("computed", facts(home__children_placed=kids((9, "male"), (2, "female"))), True),
    ("computed", facts(home__children_placed=kids((3, "male"))), False),
    ("use", facts(child__age=2), True),
    ("use", facts(child__age=3), False),
]


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Engine:
    body = "".join(f"  - {{id: {rid}, decision: ops.d, title: {rid}, outcome: hit, when: {when}}}\n"
                   for rid, when, _ in RULES)
    path = tmp_path_factory.mktemp("ops") / "ops.yaml"
    path.write_text(HEAD + body, encoding="utf-8")
    return Engine.load(path)


def rule(engine: Engine, rule_id: str) -> CompiledRule:
    return next(r for r in engine.spec("ops.d").rules if r.id == rule_id)


def test_every_rule_is_exercised_both_ways() -> None:
    assert {rid for rid, _, _ in RULES} == {rid for rid, _, _ in CASES}
    for rid, _, _ in RULES:
        assert {held for r, _, held in CASES if r == rid} == {True, False}, rid


@pytest.mark.parametrize("rule_id, when, rendered", RULES, ids=[r[0] for r in RULES])
def test_parsed(engine: Engine, rule_id: str, when: str, rendered: str) -> None:
    assert render(rule(engine, rule_id).condition) == rendered


@pytest.mark.parametrize("rule_id, given, expected", CASES,
                         ids=[f"{rid}-{i}" for i, (rid, _, _) in enumerate(CASES)])
def test_evaluated(engine: Engine, rule_id: str, given: dict[str, Any], expected: bool) -> None:
    dumped = engine.validate_facts("ops.d", given).model_dump(mode="python")
    assert compile_condition(rule(engine, rule_id).condition)(dumped) is expected
    decision = engine.decide("ops.d", given)
    assert decision.status != "error", decision.errors
    assert (rule_id in {f.id for f in decision.fired}) is expected


def test_parsed_nodes(engine: Engine) -> None:
    """The typed tree behind the renderings: date operators become comparisons, not_in and
    present: false become negations, within_days two comparisons, params literals."""
    before = rule(engine, "before").condition
    assert isinstance(before, Compare)
    assert (before.path, before.op, before.right) == ("placement.date", "lt", Literal_(dt.date(2024, 5, 1)))
    shifted = rule(engine, "on-or-after").condition
    assert isinstance(shifted, Compare) and shifted.op == "gte"
    assert shifted.right == FactRef("home.hold.placed_on", 30)
    not_in = rule(engine, "not-in").condition
    assert isinstance(not_in, Not) and isinstance(not_in.item, InSet)
    assert not_in.item.values == ("pending_qpr", "permanent")
    absent = rule(engine, "absent").condition
    assert isinstance(absent, Not) and absent.item == Present(absent.loc, "home.hold.review_after")
    within = rule(engine, "within-literal").condition
    assert isinstance(within, All)
    assert [(c.op, c.right) for c in within.items] == [  # type: ignore[union-attr]
        ("gte", Literal_(dt.date(2024, 5, 8))), ("lte", Literal_(dt.date(2024, 5, 12)))]
    param = rule(engine, "param").condition
    assert isinstance(param, Compare) and param.right == Literal_(12, "max_age")
    count = rule(engine, "count-ref").condition
    assert isinstance(count, Count) and count.right == FactRef("home.restrictions.max_children")
    assert count.op == "gte"
    contains = rule(engine, "contains-ref").condition
    assert isinstance(contains, Contains) and contains.right == FactRef("child.gender")
    every = rule(engine, "every").condition
    assert isinstance(every, Quantified) and every.every and every.path == "home.children_placed"
    assert every.cond == Compare(every.cond.loc, "gender", "eq", Literal_("female"), every.cond.ftype)  # type: ignore[union-attr]


def parse_errors(data: Any, params: dict[str, Any] | None = None) -> list[tuple[Any, str]]:
    errors: list[tuple[Any, str]] = []
    ctx = ParseContext(PlacementRequest, params or {}, errors)
    assert parse_condition(data, ("when",), ctx) is None
    return errors


@pytest.mark.parametrize("data, loc, message", [
    ({"fact": "home.children_placed", "some": {"fact": "age", "lt": {"fact": "child.age"}}},
     ("when", "some", "lt"),
     "inside some/every, compare item fields with values only (durable_rules cannot join an item with the "
     "outer facts)"),
    ({"fact": "home.children_placed", "some": {"fact": "age", "count": {"gte": 1}}},
     ("when", "some", "count"),
     "`count` cannot be used inside some/every; compare the item's fields with eq, ne, lt, lte, gt, gte, in, "
     "not_in or present"),
    ({"fact": "child.age", "within_days": {"days": 3, "of": {"fact": "placement.date"}}},
     ("when", "within_days"), "`within_days` needs a date, but child.age is a whole number"),
    ({"fact": "placement.date", "within_days": {"days": -1, "of": {"fact": "home.hold.placed_on"}}},
     ("when", "within_days", "days"), "days must be a whole number >= 0, got a whole number"),
    ({"fact": "child.age", "before": 3}, ("when", "before"),
     "`before` compares dates, but child.age is a whole number; use lt/lte/gt/gte for numbers"),
    ({"fact": "home.hold", "present": "yes"}, ("when", "present"), "`present` takes true or false, got text 'yes'"),
    ({"fact": "child.gender", "in": []}, ("when", "in"), "`in` takes a non-empty list of values, got a list"),
    ({"fact": "child.gender", "contains": "female"}, ("when", "contains"),
     "`contains` works on lists, but child.gender is one of female, male, nonbinary"),
    ({"fact": "home.children_placed", "contains": "female"}, ("when", "contains"),
     "home.children_placed is a list of objects; use `some` with a condition on the items instead of contains"),
    ({"fact": "home.children_placed", "count": {"atleast": 2}}, ("when", "count", "atleast", "__key__"),
     "unknown count comparison 'atleast'; use eq, ne, lt, lte, gt or gte"),
    ({"fact": "child.age", "lte": {"param": "max_ag"}}, ("when", "lte"),
     "unknown parameter 'max_ag' (did you mean 'max_age'?); declare it under `parameters:`"),
    ({"fact": "child.age", "lt": 3, "gt": 1}, ("when",),
     "a condition on a fact needs exactly one operator (found gt, lt); operators are: eq, ne, lt, lte, gt, "
     "gte, before, after, on_or_before, on_or_after, in, not_in, present, contains, count, some, every, "
     "within_days"),
    ({"all": []}, ("when", "all"), "`all` takes a non-empty list of conditions, got a list"),
    ({"fact": "home.children_placed",
      "every": {"fact": "home.children_placed", "some": {"fact": "age", "lt": 3}}},
     ("when", "every", "fact"),
     "unknown fact path 'home.children_placed': PlacedChild has no field 'home'; fields are: age, gender"),
])
def test_parse_errors(data: Any, loc: tuple[Any, ...], message: str) -> None:
    assert parse_errors(data, {"max_age": 12}) == [(loc, message)]


def test_every_with_an_alternative_is_refused() -> None:
    (loc, message), = parse_errors(
        {"fact": "home.children_placed", "every": {"fact": "gender", "in": ["male", "female"]}})
    assert loc == ("when", "every")
    assert message.startswith("this condition is checked for every item of home.children_placed (`every`, or "
                              "`some` under `not`) and holds an alternative")
    # `not some` is universal too: not some(A and B) is every(not A or not B)
    (loc, _), = parse_errors({"not": {"fact": "home.children_placed",
                                      "some": {"all": [{"fact": "age", "lt": 3}, {"fact": "age", "gt": 1}]}}})
    assert loc == ("when", "not", "some")
    # while not some(A or B) is every(not A and not B): no alternative, accepted
    errors: list[tuple[Any, str]] = []
    ctx = ParseContext(PlacementRequest, {}, errors)
    parsed = parse_condition({"not": {"fact": "home.children_placed",
                                      "some": {"any": [{"fact": "age", "lt": 3}, {"fact": "age", "gt": 9}]}}},
                             ("when",), ctx)
    assert errors == [] and isinstance(parsed, Not) and isinstance(parsed.item, Quantified)
