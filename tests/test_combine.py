"""Combine strategies mean what docs/policy-format.md says, on any policy and any order of
`outcomes`: a table of cases written from the documented table, every ordering of the outcomes
for each, then the same through Engine.decide on a policy written both ways."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from qpr_rules import Engine, PolicyError
from qpr_rules.engine.combine import combine
from tests.policy_text import BASE, placement_facts, write_policy

# (strategy, fired rules in evaluation order as (rule, outcome)) -> expected outcome and duties.
# `None` as the expected outcome means "depends on the order of outcomes": checked separately.
TABLE: list[tuple[str, list[tuple[str, str]], str | None, list[str]]] = [
    ("deny-overrides", [("a", "allow"), ("d", "deny")], "deny", ["d"]),
    ("deny-overrides", [("d", "deny"), ("a", "allow")], "deny", ["d"]),
    ("deny-overrides", [("a", "allow"), ("r", "refer"), ("d", "deny"), ("d2", "deny")], "deny", ["d", "d2"]),
    ("deny-overrides", [("a", "allow")], "allow", ["a"]),
    ("deny-overrides", [("a", "allow"), ("a2", "allow")], "allow", ["a", "a2"]),
    ("first-applicable", [("a", "allow"), ("d", "deny")], "allow", ["a"]),
    ("first-applicable", [("d", "deny"), ("a", "allow")], "deny", ["d"]),
    ("first-applicable", [("r", "refer")], "refer", ["r"]),
    ("precedence", [("a", "allow")], "allow", ["a"]),
    ("collect-all", [("a", "allow")], "allow", ["a"]),
]


def _outcome(rule: tuple[str, str]) -> str:
    return rule[1]


@pytest.mark.parametrize(("strategy", "fired", "expected", "duties"), TABLE)
def test_table_under_every_order_of_outcomes(strategy: str, fired: list[tuple[str, str]],
                                             expected: str, duties: list[str]) -> None:
    for order in itertools.permutations(["deny", "allow", "refer"]):
        result = combine(strategy, order, fired, _outcome)  # type: ignore[arg-type]
        assert result is not None
        assert (result.outcome, [r[0] for r in result.duty_rules]) == (expected, duties), (strategy, order)


@pytest.mark.parametrize("strategy", ["precedence", "collect-all"])
def test_precedence_follows_the_listed_order(strategy: str) -> None:
    fired = [("a", "allow"), ("r", "refer"), ("d", "deny"), ("a2", "allow")]
    for order in itertools.permutations(["deny", "allow", "refer"]):
        result = combine(strategy, order, fired, _outcome)  # type: ignore[arg-type]
        assert result is not None
        assert result.outcome == order[0]
        assert [r[0] for r in result.winners] == [r for r, o in fired if o == order[0]]
        expected_duties = [r for r, _ in fired] if strategy == "collect-all" else [
            r for r, o in fired if o == order[0]]
        assert [r[0] for r in result.duty_rules] == expected_duties


@pytest.mark.parametrize("strategy", ["deny-overrides", "precedence", "first-applicable", "collect-all"])
def test_nothing_fired_leaves_the_default(strategy: str) -> None:
    assert combine(strategy, ["deny", "allow"], [], _outcome) is None  # type: ignore[arg-type]


def test_deny_overrides_whatever_the_order_over_every_subset() -> None:
    rules = [("a", "allow"), ("r", "refer"), ("d", "deny")]
    for n in range(1, 4):
        for fired in itertools.permutations(rules, n):
            for order in itertools.permutations(["deny", "allow", "refer"]):
                result = combine("deny-overrides", order, list(fired), _outcome)
                assert result is not None
                assert (result.outcome == "deny") == any(o == "deny" for _, o in fired), (fired, order)


@pytest.mark.parametrize("outcomes", ["[deny, allow]", "[allow, deny]"])
def test_engine_denies_a_home_on_hold_whatever_the_order_of_outcomes(tmp_path: Path, outcomes: str) -> None:
    path = write_policy(tmp_path, BASE.replace("outcomes: [deny, allow]", f"outcomes: {outcomes}"))
    engine = Engine.load([path])
    both = engine.decide("tiny.placement", placement_facts(hold={"kind": "pending_qpr", "placed_on": "2024-01-01"}))
    assert {f.id for f in both.fired} == {"tiny.hold", "tiny.allow"}
    assert (both.outcome, [o.rule for o in both.obligations]) == ("deny", ["tiny.hold"])
    assert engine.decide("tiny.placement", placement_facts()).outcome == "allow"


def test_repeated_outcomes_are_refused(tmp_path: Path) -> None:
    path = write_policy(tmp_path, BASE.replace("outcomes: [deny, allow]", "outcomes: [deny, allow, deny]"))
    with pytest.raises(PolicyError) as info:
        Engine.load([path])
    assert "outcomes lists 'deny' more than once" in str(info.value)


def test_first_applicable_with_an_order_the_files_would_decide_is_refused(tmp_path: Path) -> None:
    base = BASE.replace("combine: deny-overrides", "combine: first-applicable")
    write_policy(tmp_path, base)
    second = base.replace("id: tiny\n", "id: tiny2\n").split("decisions:")[0] + """rules:
  - id: tiny2.allow
    decision: tiny.placement
    title: Cleared elsewhere
    clauses: [hold]
    when: {fact: placement.cleared_with_pco, eq: true}
    outcome: allow
"""
    write_policy(tmp_path, second.replace("title: On hold", "title: x"), name="tiny2.yaml")
    with pytest.raises(PolicyError) as info:
        Engine.load([tmp_path])
    assert "have the same priority 100 but different outcomes" in str(info.value)
