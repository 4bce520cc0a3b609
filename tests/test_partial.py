"""Engine.decide_partial: decisions on partial facts, proved determined or still open (issue 23.1)."""

from __future__ import annotations

import copy
from typing import Any

import pytest
import z3

from qpr_rules import Engine
from qpr_rules.analysis import smt_solve
from qpr_rules.engine.partial import COMPUTED_READS
from qpr_rules.engine.partial_result import path_steps, with_answer
from qpr_rules.facts import registered_fact_types

CHILD = {"child": {"age": 9, "gender": "male"}}
FULL = {
    "placement": {"date": "2026-03-02", "status": "proposed", "cleared_with_pco": True, "siblings": []},
    "child": {"age": 9, "gender": "male"},
    "home": {"id": "RH-0457", "approval": "rfa", "approval_status": "active", "hold": None,
             "restrictions": None, "children_placed": []},
}


@pytest.fixture(scope="module")
def engine() -> Engine:
    return Engine.from_bundled(evaluator="compiled")


def test_the_child_alone_is_open_and_asks_for_the_hold_the_clearance_and_the_approval(engine: Engine) -> None:
    answer = engine.decide_partial("qpr.placement", CHILD)
    assert answer.status == "open" and answer.outcome is None
    assert set(answer.outcomes) == {"allow", "deny"}
    asked = [q.path for q in answer.questions]
    assert {"home.hold", "placement.cleared_with_pco", "home.approval_status"} <= set(asked)
    # facts no rule reads cannot change the answer, nor can facts already known
    assert not {"home.id", "home.approval", "child.id", "child.region", "child.age"} & set(asked)
    # each question's text is its fact's description
    by_path = {q.path: q for q in answer.questions}
    assert by_path["home.hold"].text == "The hold on the home (null when there has never been one)"
    assert by_path["placement.cleared_with_pco"].kind == "bool"
    assert [str(s.answer) for s in by_path["placement.cleared_with_pco"].settles] == ["False"]
    assert {s.answer for s in by_path["home.approval_status"].settles} == {"inactive", "revoked", "rescinded"}
    # the questions that can settle the answer alone come first
    settling = [bool(q.settles) for q in answer.questions]
    assert settling == sorted(settling, reverse=True) and settling[0]
    # one example completion per outcome, each really answered so by Engine.decide
    assert {e.outcome for e in answer.examples} == {"allow", "deny"}
    for example in answer.examples:
        assert (example.facts["child"]["age"], example.facts["child"]["gender"]) == (9, "male")
        assert engine.decide("qpr.placement", example.facts).outcome == example.outcome


def test_a_home_on_permanent_hold_is_denied_whatever_else_is_unknown(engine: Engine) -> None:
    known = {**CHILD, "placement": {"date": "2026-03-02"},
             "home": {"hold": {"kind": "permanent", "placed_on": "2025-06-01"}}}
    answer = engine.decide_partial("qpr.placement", known)
    assert answer.status == "determined" and answer.outcome == "deny"
    assert answer.proof == "proved" and answer.list_bound is None
    assert answer.questions == () and answer.examples == ()
    # the clearance duty depends on the unknown clearance; no duty is certain
    assert {d.obligation.rule: d.certain for d in answer.duties} == {
        "qpr.placement.not-cleared-with-pco": False, "qpr.placement.made-into-home-on-hold": False}
    # and the claim says what it covers, as prove says it
    assert any("lists of any length" in b for b in answer.bounds)
    assert any("on or after 2019-01-03" in b for b in answer.bounds)


def test_null_keeps_its_meaning_and_omitted_is_unknown(engine: Engine) -> None:
    no_hold = copy.deepcopy(FULL)
    assert engine.decide_partial("qpr.placement", no_hold).outcome == "allow"
    unknown_hold = copy.deepcopy(FULL)
    del unknown_hold["home"]["hold"]
    answer = engine.decide_partial("qpr.placement", unknown_hold)
    assert answer.status == "open"
    assert answer.questions[0].path == "home.hold"
    # an object given as {} is there, its fields unknown
    some_hold = with_answer(unknown_hold, "home.hold", {})
    assert engine.decide_partial("qpr.placement", some_hold).status == "open"


def test_certain_duties_are_told_apart(engine: Engine) -> None:
    known = {**CHILD, "placement": {"cleared_with_pco": False}}
    answer = engine.decide_partial("qpr.placement", known)
    assert answer.status == "determined" and answer.outcome == "deny"
    duties = {d.obligation.rule: d.certain for d in answer.duties}
    assert duties["qpr.placement.not-cleared-with-pco"] is True
    assert duties["qpr.placement.made-into-home-on-hold"] is False


def test_parts_of_lists_may_be_unknown(engine: Engine) -> None:
    # two children placed, their ages unknown; restricted to at most one child: denied whatever
    # the ages are
    known = copy.deepcopy(FULL)
    known["home"]["restrictions"] = {"max_children": 1}
    known["home"]["children_placed"] = [{"gender": "female"}, {}]
    answer = engine.decide_partial("qpr.placement", known)
    assert answer.status == "determined" and answer.outcome == "deny"
    # with the youngest age allowed 5, the placed children's ages matter for the PCO's review
    # (a duty, not the answer): the answer is allow, with the review depending on them
    known["home"]["restrictions"] = {"min_child_age": 5, "max_child_age": None, "max_children": None,
                                     "genders": None}
    answer = engine.decide_partial("qpr.placement", known)
    assert answer.outcome == "allow"
    assert [(d.obligation.rule, d.certain) for d in answer.duties] == [
        ("qpr.placement.placed-child-outside-restriction", False)]


def test_lists_longer_than_the_bound_are_pinned_whole(engine: Engine) -> None:
    known = copy.deepcopy(FULL)
    known["home"]["restrictions"] = {"max_children": 6}
    known["home"]["children_placed"] = [{"age": 3, "gender": "male"}] * 5 + [{"age": 4}]
    answer = engine.decide_partial("qpr.placement", known)
    assert answer.status == "determined" and answer.outcome == "deny"  # 6 placed, at most 6


def test_invalid_known_facts_fail_closed(engine: Engine) -> None:
    known = {**CHILD, "home": {"approval_status": "sleeping"}}
    answer = engine.decide_partial("qpr.placement", known)
    assert answer.status == "determined" and answer.outcome == "deny"
    assert answer.errors and "home.approval_status" in answer.errors[0]
    bad_key = engine.decide_partial("qpr.placement", {"child": {"agee": 9}})
    assert bad_key.outcome == "deny" and "did you mean 'age'" in bad_key.errors[0]
    derived = engine.decide_partial("qpr.placement", {"hold_state": "none"})
    assert derived.outcome == "deny" and "derived" in derived.errors[0]
    # facts the fact model's checks refuse whatever the rest is: a permanent hold reinstated
    contradiction = {"home": {"hold": {"kind": "permanent", "placed_on": "2025-01-01",
                                       "reinstated_on": "2025-02-01"}}}
    answer = engine.decide_partial("qpr.placement", contradiction)
    assert answer.outcome == "deny" and answer.errors
    # a question dated before any version of the policy took effect: every completion is refused
    early = engine.decide_partial("qpr.placement", {"placement": {"date": "2001-01-01"}})
    assert early.status == "determined" and early.outcome == "deny" and "2001-01-01" in early.errors[0]


def test_a_solver_that_runs_out_of_time_answers_unknown(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    def gives_up(self: z3.Solver, *assumptions: Any) -> z3.CheckSatResult:
        return z3.unknown

    monkeypatch.setattr(smt_solve.AssumingSolver, "check", gives_up)  # the solvers partial asks
    answer = engine.decide_partial("qpr.placement", CHILD)
    assert answer.status == "unknown" and answer.outcome is None
    assert "gave up" in answer.reason or "out of time" in answer.reason


def test_other_decisions_answer_too(engine: Engine) -> None:
    # a request dated while the hold is in force, for a permanent hold: never eligible
    answer = engine.decide_partial("qpr.reinstatement", {
        "hold": {"kind": "permanent", "placed_on": "2024-01-01"}, "request": {"date": "2025-01-01"}})
    assert answer.status == "determined" and answer.outcome == "not-eligible"
    team = engine.decide_partial("qpr.team", {})
    assert team.status == "open" and [q.path for q in team.questions] == ["members"]


def test_every_derived_fact_says_what_it_is_computed_from() -> None:
    """COMPUTED_READS lets a fact no rule reads go unasked; a derived fact missing from it is
    taken to read its whole object (safe), but should be listed."""
    derived = set()
    for model in registered_fact_types().values():
        stack: list[Any] = [model]
        while stack:
            m = stack.pop()
            derived |= {f"{m.__qualname__}.{n}" for n in m.model_computed_fields}
            for info in m.model_fields.values():
                for arg in [info.annotation, *getattr(info.annotation, "__args__", ())]:
                    if isinstance(arg, type) and hasattr(arg, "model_fields"):
                        stack.append(arg)
                    for inner in getattr(arg, "__args__", ()):
                        if isinstance(inner, type) and hasattr(inner, "model_fields"):
                            stack.append(inner)
    assert derived == set(COMPUTED_READS)


def test_with_answer_fills_a_path() -> None:
    assert path_steps("home.children_placed[1].age") == ["home", "children_placed", 1, "age"]
    known = with_answer({}, "home.hold", None)
    assert known == {"home": {"hold": None}}
    known = with_answer({"home": {"children_placed": [{}, {}]}}, "home.children_placed[1].age", 4)
    assert known == {"home": {"children_placed": [{}, {"age": 4}]}}
