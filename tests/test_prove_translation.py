"""The SMT translation against the engine, fact by fact, so a bug in the translation cannot hide
behind a "proved": for generated facts of every bundled decision (and every scenario's facts),
the solver's value of each rule condition, with the facts pinned, is the reference evaluator's,
it does not depend on anything the facts leave open, and the solver's outcome is
Engine.decide's. Also: the fact encoding admits exactly the valid facts on a few edges."""

from __future__ import annotations

import datetime as dt
import random
from pathlib import Path
from typing import Any

import pytest
import z3
from hypothesis import HealthCheck, given, settings

from qpr_rules.analysis.generate import generate
from qpr_rules.analysis.smt_decision import DecisionModel, decision_model
from qpr_rules.analysis.smt_facts import Enc, ListEnc, ObjEnc, ScalarEnc, enum_value, pin_to_facts
from qpr_rules.engine.engine import Engine
from qpr_rules.engine.reference import compile_condition
from qpr_rules.errors import FactsError
from qpr_rules.facts.hold import HoldState, hold_state_on
from qpr_rules.scenarios.runner import load_scenario_file, scenario_files
from tests.strategies import placement_facts

ROOT = Path(__file__).resolve().parents[1]
ENGINE = Engine.load([ROOT / "policies"])
BOUND = 8  # list slots: as many as any generated or scenario list holds (8 information topics)
MODELS: dict[str, tuple[DecisionModel, z3.Solver]] = {}


def model_for(did: str) -> tuple[DecisionModel, z3.Solver]:
    if did not in MODELS:
        dm = decision_model(ENGINE.spec(did), list_bound=BOUND)
        solver = z3.Solver()
        solver.add(*dm.constraints)
        MODELS[did] = (dm, solver)
    return MODELS[did]


def longest_list(value: Any) -> int:
    if isinstance(value, dict):
        return max((longest_list(v) for v in value.values()), default=0)
    if isinstance(value, list):
        return max([len(value), *(longest_list(v) for v in value)])
    return 0


def _scalar(value: z3.ExprRef, enc: ScalarEnc) -> Any:
    match enc.ft.kind:
        case "enum":
            return enum_value(enc.ft, value.as_long())
        case "date":
            return dt.date.fromordinal(value.as_long())
        case "string":
            return value.as_string()
        case "bool":
            return z3.is_true(value)
        case _:
            return value.as_long()


def computed_mismatches(obj: ObjEnc, dumped: Any, model: z3.ModelRef, path: str = "") -> list[str]:
    """Every computed field under obj whose solver value differs from the Python one in dumped
    (the mirrors of smt_facts.COMPUTED against the fact models' own code)."""
    if obj.model is None or not isinstance(dumped, dict):
        return []
    out: list[str] = []
    for name, enc in obj.fields.items():
        where, value = f"{path}{name}", dumped.get(name)
        if name in obj.model.model_computed_fields:
            got = _computed_value(enc, model)
            want = (sorted(str(getattr(v, "value", v)) for v in value) if isinstance(value, list)
                    else getattr(value, "value", value))
            if got != want:
                out.append(f"{where}: solver {got!r}, Python {want!r}")
        elif isinstance(enc, ObjEnc):
            out += computed_mismatches(enc, value, model, f"{where}.")
        elif isinstance(enc, ListEnc) and isinstance(value, list):
            for i, ((_, item), v) in enumerate(zip(enc.items, value, strict=False)):
                if isinstance(item, ObjEnc):
                    out += computed_mismatches(item, v, model, f"{where}[{i}].")
    return out


def computed_differs(obj: ObjEnc, model: z3.ModelRef) -> list[z3.BoolRef]:
    """For every computed field under obj, a formula true when it differs from its value in model
    (its presence, and its value where present): the facts must determine each of them."""
    def ev(e: z3.ExprRef) -> z3.ExprRef:
        return model.eval(e, model_completion=True)

    def scalar(present: z3.BoolRef, value: z3.ExprRef) -> z3.BoolRef:
        return z3.Or(present != ev(present), z3.And(present, value != ev(value)))

    if obj.model is None:
        return []
    out: list[z3.BoolRef] = []
    for name, enc in obj.fields.items():
        if name in obj.model.model_computed_fields:
            if isinstance(enc, ScalarEnc):
                out.append(scalar(enc.present, enc.value))
            elif isinstance(enc, ListEnc):
                out.append(enc.length != ev(enc.length))
                out += [scalar(g, i.value) for g, i in enc.items if isinstance(i, ScalarEnc)]
        elif isinstance(enc, ObjEnc):
            out += computed_differs(enc, model)
        elif isinstance(enc, ListEnc):
            out += [d for _, i in enc.items if isinstance(i, ObjEnc) for d in computed_differs(i, model)]
    return out


def _computed_value(enc: Enc, model: z3.ModelRef) -> Any:
    def ev(e: z3.ExprRef) -> z3.ExprRef:
        return model.eval(e, model_completion=True)

    match enc:
        case ScalarEnc():
            return _scalar(ev(enc.value), enc) if z3.is_true(ev(enc.present)) else None
        case ListEnc():
            assert z3.is_true(ev(enc.present))
            items = [i for g, i in enc.items if z3.is_true(ev(g))]
            assert ev(enc.length).as_long() == len(items)
            return sorted(str(_scalar(ev(i.value), i)) for i in items if isinstance(i, ScalarEnc))
        case ObjEnc():
            raise AssertionError("no computed object fields")


def assert_agrees(did: str, facts: dict[str, Any]) -> None:
    dm, solver = model_for(did)
    dumped = ENGINE.validate_facts(did, facts).model_dump(mode="python")
    assert longest_list(dumped) <= BOUND
    decision = ENGINE.decide(did, facts)
    assert decision.status != "error", decision.errors
    solver.push()
    try:
        solver.add(*pin_to_facts(dm.facts, dumped))
        assert solver.check() == z3.sat, f"the encoding refuses valid facts of {did}: {facts}"
        model = solver.model()
        expected = {r.id: compile_condition(r.condition)(dumped) for r in dm.rules}
        got = {r.id: z3.is_true(model.eval(dm.fires[r.id], model_completion=True)) for r in dm.rules}
        wrong = sorted(rid for rid in expected if expected[rid] != got[rid])
        assert not wrong, f"{did}: the translation of {wrong} disagrees with the engine on {facts}"
        mirrors = computed_mismatches(dm.facts, dumped, model)
        assert not mirrors, f"{did}: computed fields differ from the fact model's: {mirrors} on {facts}"
        # nothing the facts leave open (absent fields' values) may change a rule or the outcome
        # (nor a computed field: its presence and value follow from the given facts)
        open_ = z3.Or(*[dm.fires[rid] != z3.BoolVal(v) for rid, v in expected.items()],
                      z3.Not(dm.outcome_is[decision.outcome]), dm.raises, *computed_differs(dm.facts, model))
        solver.add(open_)
        assert solver.check() == z3.unsat, f"{did}: the translation depends on unset values: {facts}"
    finally:
        solver.pop()
    assert {r.id for r in decision.fired} == {rid for rid, v in expected.items() if v}


@pytest.mark.parametrize("did", ENGINE.decision_ids)
def test_generated_facts(did: str) -> None:
    rnd = random.Random(did)
    model = ENGINE.fact_model(did)
    checked = 0
    for _ in range(4000):  # the referral's step validator refuses most random draws
        facts = generate(model, rnd)
        try:
            model.model_validate(facts)
        except ValueError:
            continue
        assert_agrees(did, facts)
        checked += 1
        if checked == 60:
            break
    assert checked == 60, f"only {checked} valid generated facts for {did}"


def test_every_scenario() -> None:
    count = 0
    stale: list[str] = []
    for path in scenario_files([ROOT / "policies" / "tests"]):
        scenarios = load_scenario_file(path)
        for s in scenarios:
            if s.scenario.expect.status == "error":
                continue  # invalid facts on purpose
            try:
                ENGINE.validate_facts(s.decision, s.scenario.facts)
            except FactsError:
                # a scenario not yet written for the current fact schema: `qpr-rules test`
                # fails it; the translation can only be compared on valid facts
                stale.append(f"{path.name}: {s.scenario.name}")
                continue
            assert_agrees(s.decision, s.scenario.facts)
            count += 1
    assert count > 100


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(placement_facts())
def test_placement_facts_over_every_boundary(facts: dict[str, Any]) -> None:
    assert_agrees("qpr.placement", facts)


def _holds() -> list[dict[str, Any]]:
    """Holds of every kind, with and without the review date and the reinstatement (as valid)."""
    placed = dt.date(2024, 3, 10)
    out: list[dict[str, Any]] = []
    for kind in ("pending_qpr", "time_limited", "permanent"):
        for review in (None, placed + dt.timedelta(days=30)):
            for reinstated in (None, placed, placed + dt.timedelta(days=45), placed + dt.timedelta(days=400)):
                if kind == "permanent" and (review or reinstated):
                    continue
                if kind == "pending_qpr" and (review or reinstated):
                    continue
                if review and reinstated and reinstated <= review:
                    continue
                hold: dict[str, Any] = {"kind": kind, "placed_on": placed}
                if review:
                    hold["review_after"] = review
                if reinstated:
                    hold["reinstated_on"] = reinstated
                out.append(hold)
    return out


def _dates_around(hold: dict[str, Any], wait_days: int) -> list[dt.date]:
    """The day before, of and after each of the hold's own dates (and of the default wait)."""
    anchors = [hold["placed_on"], hold["placed_on"] + dt.timedelta(days=wait_days)]
    anchors += [hold[k] for k in ("review_after", "reinstated_on") if k in hold]
    return sorted({a + dt.timedelta(days=d) for a in anchors for d in (-1, 0, 1)})


def test_the_hold_state_around_each_hold_date() -> None:
    """hold_state (facts/hold.py hold_state_on) mirrored in SMT, on both decisions that read it,
    on the days around each hold's own dates: every rule, the outcome and the computed state
    agree with the engine, and all three states (none, in force, reinstated) are reached."""
    qpr = next(f.policy for f in ENGINE.policies.files if f.policy.id == "qpr")
    wait = qpr.parameters["reinstatement_wait_days"].value
    assert isinstance(wait, int)
    seen: dict[str, set[HoldState]] = {"qpr.placement": set(), "qpr.reinstatement": set()}
    rnd = random.Random(7)
    for hold in _holds():
        for on in _dates_around(hold, wait):
            placement = {
                "placement": {"date": on, "status": rnd.choice(["proposed", "made"]), "cleared_with_pco": True,
                              "siblings": []},
                # a made placement names the child's region (issue 17.7)
                "child": {"age": rnd.randint(0, 17), "gender": "female", "region": "East"},
                "home": {"id": "H", "approval": "rfa", "approval_status": "active", "hold": hold,
                         "restrictions": None, "children_placed": []},
            }
            request = {"hold": hold, "request": {
                "date": on, "form": rnd.choice(["letter", "email", "verbal"]),
                "states_understanding_of_worries": rnd.random() < 0.8,
                "describes_mitigating_actions": rnd.random() < 0.8}}
            for did, facts in (("qpr.placement", placement), ("qpr.reinstatement", request)):
                assert_agrees(did, facts)
                seen[did].add(hold_state_on(ENGINE.validate_facts(did, facts).hold, on)  # type: ignore[attr-defined]
                              if did == "qpr.reinstatement"
                              else hold_state_on(ENGINE.validate_facts(did, facts).home.hold, on))  # type: ignore[attr-defined]
    assert seen == {did: set(HoldState) for did in seen}, seen


def test_generated_facts_reach_every_hold_state() -> None:
    """The generic generator (test_generated_facts) reaches every hold state too, on its own."""
    for did in ("qpr.placement", "qpr.reinstatement"):
        rnd = random.Random(did)
        model = ENGINE.fact_model(did)
        states = set()
        for _ in range(4000):
            try:
                states.add(model.model_validate(generate(model, rnd)).hold_state)  # type: ignore[attr-defined]
            except ValueError:
                continue
        assert states == set(HoldState), (did, states)


PLACEMENT = {"placement": {"date": dt.date(2024, 5, 1), "status": "proposed", "cleared_with_pco": True,
                           "siblings": []},
             "child": {"age": 7, "gender": "female", "id": None, "region": None},
             "home": {"id": "H", "approval": "rfa", "approval_status": "active", "restrictions": None,
                      "children_placed": [],
                      "hold": {"kind": "time_limited", "placed_on": dt.date(2024, 4, 1),
                               "review_after": dt.date(2024, 4, 30)}}}
CONCERN = {"raised_by": "social_worker",
           "allegation": {"topics": ["quality_of_care"], "meets_is_irs_assignment_criteria": False},
           "home": {"action_possible_against_approval": False, "quality_parenting_concerns_remain": True,
                    "sent_to_state_for": "none"},
           "sw_concern": {"serious_problem_or_questionable_practices": True, "specific_documentation": True}}
REFERRAL = {"consulted_pco": True, "referral_warranted": True, "form_04_233_submitted": True,
            "form_emailed_to_pco": True, "appropriate_for_qpr": True, "accepted": True}


def _with(base: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    """base with the value at the dotted path replaced (a copy)."""
    head, _, rest = path.partition(".")
    out = dict(base)
    out[head] = _with(base[head], rest, value) if rest else value
    return out


def _hold(**changes: Any) -> dict[str, Any]:
    return {"kind": "time_limited", "placed_on": dt.date(2024, 4, 1), **changes}


INVALID: list[tuple[str, dict[str, Any], str]] = [
    ("qpr.placement", _with(PLACEMENT, "child.age", 26), "age above le=25"),
    ("qpr.placement", _with(PLACEMENT, "home.id", ""), "Text min_length=1"),
    ("qpr.placement", _with(PLACEMENT, "home.hold", _hold(review_after=dt.date(2024, 3, 1))),
     "Hold: review_after before placed_on"),
    ("qpr.placement", _with(PLACEMENT, "home.hold", _hold(reinstated_on=dt.date(2024, 3, 31))),
     "Hold: reinstated_on before placed_on"),
    ("qpr.placement", _with(PLACEMENT, "home.hold", _hold(kind="permanent", reinstated_on=dt.date(2024, 6, 1))),
     "Hold: a permanent hold is never reinstated"),
    ("qpr.placement", _with(PLACEMENT, "home.hold", _hold(kind="permanent", review_after=dt.date(2024, 6, 1))),
     "Hold: a permanent hold has no review date"),
    ("qpr.placement", _with(PLACEMENT, "home.hold", _hold(kind="pending_qpr", review_after=dt.date(2024, 6, 1))),
     "Hold: no QPR yet, so no review date"),
    ("qpr.placement", _with(PLACEMENT, "home.restrictions", {"min_child_age": 9, "max_child_age": 4}),
     "Restrictions: min_child_age above max_child_age"),
    ("qpr.actions", {"actions": [{"kind": "corrective_measures", "max_children": 2}]},
     "ProposedAction: bounds on another kind of action"),
    ("qpr.actions", {"actions": [{"kind": "restrict_children", "min_child_age": 9, "max_child_age": 4}]},
     "ProposedAction: min_child_age above max_child_age"),
    ("qpr.actions", {"actions": [{"kind": "restrict_children", "genders": []}]},
     "ProposedAction: genders empty"),
    ("qpr.actions", {"actions": [{"kind": "corrective_measures", "refer_to": "fhl"}]},
     "ProposedAction: refer_to on another kind"),
    ("qpr.actions", {"actions": [{"kind": "corrective_measures", "hold": _hold()}]},
     "ProposedAction: a hold on an action that places none"),
    ("qpr.actions", {"actions": [{"kind": "permanent_hold", "hold": _hold()}]},
     "ProposedAction: a permanent_hold placing a time-limited hold"),
    ("qpr.actions", {"actions": [{"kind": "restrict_period", "hold": _hold(reinstated_on=dt.date(2024, 5, 1))}]},
     "ProposedAction: a proposed hold already reinstated"),
    ("qpr.concern-routing", _with(CONCERN, "raised_by", "teacher"), "Concern: an SW's judgment from a teacher"),
    ("qpr.concern-routing", _with(CONCERN, "home.state_decision", "denied"),
     "HomeStanding: a state decision without being sent"),
    ("qpr.concern-routing", _with(CONCERN, "home.sent_to_state_for", "revocation"),
     "HomeStanding: sent without a state decision"),
    ("qpr.referral-screening", {**REFERRAL, "consulted_pco": False}, "Referral: warranted without consulting"),
    ("qpr.referral-screening", {**REFERRAL, "referral_warranted": False}, "Referral: form without warrant"),
    ("qpr.referral-screening", {**REFERRAL, "form_04_233_submitted": False},
     "Referral: e-mailed without completing the form"),
    ("qpr.referral-screening", {**REFERRAL, "form_emailed_to_pco": False},
     "Referral: appropriateness before receipt"),
    ("qpr.referral-screening", {**REFERRAL, "appropriate_for_qpr": False},
     "Referral: accepted though not appropriate"),
    ("qpr.hold-placed", {"home_id": "H", "hold": _hold(kind="pending_qpr", review_after=dt.date(2024, 6, 1)),
                         "children_in_home": []}, "Hold (hold placed): pending with a review date"),
]
VALID: list[tuple[str, dict[str, Any]]] = [
    ("qpr.placement", PLACEMENT), ("qpr.concern-routing", CONCERN), ("qpr.referral-screening", REFERRAL),
    ("qpr.actions", {"actions": [{"kind": "permanent_hold", "hold": _hold(kind="permanent")}]}),
]


@pytest.mark.parametrize(("did", "facts", "why"), INVALID, ids=[w for _, _, w in INVALID])
def test_the_encoding_refuses_invalid_facts(did: str, facts: dict[str, Any], why: str) -> None:
    """Schema bounds and validators are in the encoding: facts that pydantic refuses are unsat
    (each mirror of smt_facts.VALIDATORS, one refusal at a time)."""
    with pytest.raises(ValueError):
        ENGINE.fact_model(did).model_validate(facts)
    dm, solver = model_for(did)
    solver.push()
    try:
        solver.add(*pin_to_facts(dm.facts, facts))
        assert solver.check() == z3.unsat, why
    finally:
        solver.pop()


@pytest.mark.parametrize(("did", "facts"), VALID, ids=[d for d, _ in VALID])
def test_the_encoding_admits_the_valid_neighbours(did: str, facts: dict[str, Any]) -> None:
    """The valid facts the refusals above are one change away from are admitted."""
    dumped = ENGINE.validate_facts(did, facts).model_dump(mode="python")
    dm, solver = model_for(did)
    solver.push()
    try:
        solver.add(*pin_to_facts(dm.facts, dumped))
        assert solver.check() == z3.sat
    finally:
        solver.pop()


def test_dates_past_the_engines_range_are_invalid_facts_and_answer_on_error_beyond_range() -> None:
    """A date past 2399 is refused by the fact model (facts/common.py), so `plus_days` can never
    leave the calendar; the engine answers on_error. The translation keeps such facts out of a
    proof's scope (they are invalid facts), and with beyond_range models them as on_error."""
    facts = {"hold": {"kind": "time_limited", "placed_on": dt.date(9999, 6, 1)},
             "request": {"date": dt.date(9999, 12, 31), "form": "letter",
                         "states_understanding_of_worries": True, "describes_mitigating_actions": True}}
    decision = ENGINE.decide("qpr.reinstatement", facts)
    assert decision.status == "error" and decision.outcome == "not-eligible"
    assert "the date 9999-12-31 is out of range" in decision.reason
    dumped = {"hold": {"kind": "time_limited", "placed_on": dt.date(9999, 6, 1), "review_after": None,
                       "reinstated_on": None},
              "request": {**facts["request"]}}
    dm, solver = model_for("qpr.reinstatement")
    solver.push()
    solver.add(*pin_to_facts(dm.facts, dumped))
    assert solver.check() == z3.unsat  # outside the facts a proof covers
    solver.pop()
    beyond = decision_model(ENGINE.spec("qpr.reinstatement"), list_bound=BOUND, beyond_range=True)
    wide = z3.Solver()
    wide.add(*beyond.constraints, *pin_to_facts(beyond.facts, dumped), z3.Not(beyond.outcome_is["not-eligible"]))
    assert wide.check() == z3.unsat  # beyond the range: the on_error answer, as the engine gives


def test_the_smt_combine_is_engine_combine() -> None:
    """smt_decision.combine encodes engine/combine.py: every strategy, every order of outcomes,
    every subset of fired rules, with and without an evaluation error."""
    import itertools
    from types import SimpleNamespace

    from qpr_rules.analysis.smt_decision import combine as smt_combine
    from qpr_rules.engine.combine import combine as engine_combine

    rule_outcomes = ["allow", "deny", "review", "allow"]
    rules = [SimpleNamespace(id=f"r{i}", rule=SimpleNamespace(outcome=o)) for i, o in enumerate(rule_outcomes)]
    checked = 0
    for strategy in ("deny-overrides", "precedence", "first-applicable", "collect-all"):
        for order in itertools.permutations(["deny", "allow", "review"]):
            decision = SimpleNamespace(outcomes=list(order), combine=strategy, default=order[-1],
                                       on_error=order[0])
            spec: Any = SimpleNamespace(decision=decision)
            for mask in itertools.product([False, True], repeat=len(rules)):
                for raises in (False, True):
                    fires = {r.id: z3.BoolVal(m) for r, m in zip(rules, mask, strict=True)}
                    got = smt_combine(spec, rules, fires, z3.BoolVal(raises))  # type: ignore[arg-type]
                    fired = [r for r, m in zip(rules, mask, strict=True) if m]
                    combined = engine_combine(strategy, order, fired, lambda r: r.rule.outcome)  # type: ignore[arg-type]
                    want = decision.on_error if raises else (combined.outcome if combined else decision.default)
                    assert [o for o, v in got.items() if z3.is_true(v)] == [want], (strategy, order, mask)
                    checked += 1
    assert checked == 4 * 6 * 16 * 2
