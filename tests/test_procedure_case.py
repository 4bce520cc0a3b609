"""The QPR procedure (policies/qpr.yaml, procedures: qpr.home) walked through from a concern to
reinstatement; departures; durable_rules and the compiled evaluator agreeing on every event."""

from __future__ import annotations

from typing import Any

import pytest

from qpr_rules.engine.engine import Engine
from qpr_rules.errors import EngineError, EventError
from qpr_rules.facts.hold import HoldKind
from qpr_rules.procedure.memory_store import MemoryStore
from qpr_rules.procedure.store_api import VersionConflict

PROC = "qpr.home"


@pytest.fixture(scope="module")
def engine() -> Engine:
    return Engine.load(["policies"])


def ev(kind: str, by: str, on: str, **fields: Any) -> dict[str, Any]:
    return {"type": f"qpr.{kind}", "by": by, "on": on, **fields}


TO_HOLD = [
    ev("concern-raised", "referring-sw", "2025-01-02", raised_by="social_worker", after_state_denial=False),
    ev("consultation-held", "referring-sw", "2025-01-03", warranted=True),
    ev("form-submitted", "referring-sw", "2025-01-04"),
    ev("referral-screened", "pco", "2025-01-06", appropriate=True),
    ev("hold-assessed", "pco-pss", "2025-01-06", hold=True),
    ev("information-gathered", "pco", "2025-01-08", units_knowing_home=["rfa"]),
    ev("internal-review-completed", "pco", "2025-01-09", recommended=["restrict_period"]),
    ev("rf-called", "pco-pss", "2025-01-09", rf_agrees=False),
    ev("qpr-concluded", "pco", "2025-01-10", actions=["restrict_period"], review_after="2026-01-10",
       at_meeting=True),
]


def walk(engine: Engine, events: list[dict[str, Any]], case_id: str = "home-1") -> Any:
    case = engine.case(PROC, case_id)
    for e in events:
        case.record(e)
    return case


def test_steps_one_to_five_each_owe_their_duty(engine: Engine) -> None:
    case = engine.case(PROC, "home-1")
    owed = []
    for e in TO_HOLD:
        assert case.check(e).allowed, case.check(e).sentence
        case.record(e)
        owed.append((case.state, [(d.who, d.step, d.clause) for d in case.duties]))
    assert owed[0] == ("consultation", [("referring-sw", 1, "step1.consult-pco")])
    assert owed[3] == ("hold-assessment", [("pco-pss", 2, "step2.assess-hold")])
    assert owed[5][0] == "internal-review" and len(owed[5][1]) == 3
    assert owed[7] == ("meeting", [("pco-pss", 5, "step5.disagrees")])
    assert case.state == "waiting" and case.state_path == ("time-limited-hold", "waiting")
    assert case.duties == [] and case.departures == []
    hold = case.hold()
    assert hold is not None and hold.kind is HoldKind.TIME_LIMITED
    assert str(hold.review_after) == "2026-01-10" and hold.reinstated_on is None


def test_duties_say_since_when(engine: Engine) -> None:
    case = walk(engine, TO_HOLD[:5])
    (duty,) = case.duties
    assert (duty.who, str(duty.since), duty.step) == ("pco", "2025-01-06", 3)


def test_review_before_the_date_is_a_departure_and_keeps_the_hold(engine: Engine) -> None:
    case = walk(engine, TO_HOLD)
    early = ev("review-requested", "resource-family", "2025-06-01", in_writing=True, addresses_worries=True)
    answer = case.check(early)
    assert not answer.allowed
    assert "after the date determined in the initial QPR (2026-01-10)" in answer.sentence
    assert "since 2025-01-10" in answer.sentence
    stored = case.record(early)
    assert stored.version == len(TO_HOLD) + 1 and case.version == stored.version
    assert case.state == "waiting"
    (dep,) = case.departures
    assert (dep.clause, dep.version, dep.state) == ("reinstatement.request-after-date", stored.version, "waiting")
    reinstated_early = ev("review-decided", "pco", "2025-06-02", meeting_required=False, reinstated=True)
    case.record(reinstated_early)
    assert case.state == "waiting" and case.hold() is not None and case.hold().reinstated_on is None


def test_walk_to_reinstatement_and_a_second_qpr(engine: Engine) -> None:
    case = walk(engine, [
        *TO_HOLD,
        ev("review-requested", "resource-family", "2026-01-11", in_writing=True, addresses_worries=True),
        ev("review-decided", "pco", "2026-02-01", meeting_required=True, reinstated=False),
        ev("review-decided", "pco", "2026-02-20", meeting_required=False, reinstated=True),
    ])
    assert case.state == "good-standing"
    hold = case.hold()
    assert hold is not None and str(hold.reinstated_on) == "2026-02-20"
    case.record(ev("placement-made", "placing-sw", "2026-03-01", children=[{"age": 8, "gender": "female"}], children_in_home=0, child_region="north"))
    assert case.departures == []
    case.record(TO_HOLD[0] | {"on": "2028-05-01"})
    assert case.state == "consultation"


def test_permanent_hold_has_no_way_out(engine: Engine) -> None:
    case = walk(engine, [*TO_HOLD[:-1], ev("qpr-concluded", "pco", "2025-01-10", actions=["permanent_hold"],
                                          at_meeting=True)])
    assert case.state == "permanent-hold" and case.final
    for e in (ev("review-requested", "resource-family", "2030-01-01", in_writing=True, addresses_worries=True),
              ev("review-decided", "pco", "2030-02-01", meeting_required=False, reinstated=True),
              ev("qpr-concluded", "pco", "2030-03-01", actions=[], at_meeting=True)):
        assert not case.check(e).allowed
        case.record(e)
        assert case.state == "permanent-hold"
    assert [d.clause for d in case.departures][:2] == ["reinstatement.permanent-not-eligible"] * 2
    spec = engine.policies.procedures[PROC]
    assert not [t for t in spec.transitions if t.transition.from_ == "permanent-hold" and t.target]


def test_placement_into_held_home_is_recorded_as_departure_with_duty(engine: Engine) -> None:
    case = walk(engine, TO_HOLD[:5])
    placed = ev("placement-made", "placing-sw", "2025-01-07", children=[{"age": 7, "gender": "female"}, {"age": 9, "gender": "male"}], children_in_home=0, child_region="east")
    assert not case.check(placed).allowed
    case.record(placed)
    assert case.state == "gathering"
    (dep,) = case.departures
    assert dep.clause == "hold.no-placements" and dep.consequences
    (duty,) = dep.duties
    assert duty.who == "pco-manager" and "(east)" in duty.do and duty.clause == "hold.notify-regional-manager"
    assert any(d.owed_in == f"departure {dep.version}" for d in case.duties)
    case.record(ev("regional-manager-notified", "pco-manager", "2025-01-08", region="east"))
    assert not [d for d in case.duties if d.owed_in.startswith("departure")]


def test_replay_gives_the_same_case(engine: Engine) -> None:
    store = MemoryStore()
    case = engine.case(PROC, "h", store)
    for e in [*TO_HOLD[:5], ev("placement-made", "placing-sw", "2025-01-07", children=[{"age": 8, "gender": "female"}], children_in_home=0, child_region=None)]:
        case.record(e)
    again = engine.case(PROC, "h", store)
    assert again.summary() == case.summary()


def test_a_stale_writer_gets_a_conflict(engine: Engine) -> None:
    store = MemoryStore()
    a, b = engine.case(PROC, "h", store), engine.case(PROC, "h", store)
    a.record(TO_HOLD[0])
    with pytest.raises(VersionConflict, match="version 1, not 0"):
        b.record(TO_HOLD[0])
    assert len(store.events("h")) == 1


def test_invalid_events_are_refused_not_stored(engine: Engine) -> None:
    case = engine.case(PROC, "h")
    with pytest.raises(EventError, match=r"did you mean 'qpr\.concern-raised'"):
        case.record({"type": "qpr.concern-raise", "by": "pco", "on": "2025-01-01"})
    with pytest.raises(EventError, match="not a role"):
        case.record(TO_HOLD[0] | {"by": "someone"})
    assert case.version == 0 and case.store.events("h") == []


def test_durable_and_compiled_agree_and_disagreement_fails_closed(engine: Engine,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    compiled = Engine.load(["policies"], evaluator="compiled")
    a, b = walk(engine, TO_HOLD, "x"), walk(compiled, TO_HOLD, "x")
    assert a.summary() == b.summary()
    runtime = engine._procedures[PROC]
    guards = runtime._guards["qpr.review-requested"]
    broken = type(guards.compiled)(lambda facts: 0b1, guards.compiled.source)
    monkeypatch.setitem(runtime._guards, "qpr.review-requested", type(guards)(guards.transitions, broken,
                                                                              guards.list_paths, guards.departures))
    with pytest.raises(EngineError, match="disagree"):
        a.check(ev("review-requested", "resource-family", "2025-06-01", in_writing=True, addresses_worries=True))


def test_a_departure_guard_the_evaluators_disagree_on_fails_closed(engine: Engine,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    # the `qpr` state's departure for a placement is guarded (no hold in force): its guard is a
    # rule of durable_rules' ruleset and a bit of the compiled function, cross-checked like a
    # transition's, even where a transition takes the event
    case = walk(engine, TO_HOLD[:1], "d")
    placed = ev("placement-made", "placing-sw", "2025-01-07", children=[{"age": 8, "gender": "female"}],
                children_in_home=0, child_region="east")
    assert case.check(placed).allowed
    runtime = engine._procedures[PROC]
    guards = runtime._guards["qpr.placement-made"]
    assert guards.departures == ("qpr",)
    bit = runtime._departure_bit[("qpr", "qpr.placement-made")]
    real = guards.compiled
    flipped = type(real)(lambda facts: real.mask(facts) ^ (1 << bit), real.source)
    monkeypatch.setitem(runtime._guards, "qpr.placement-made",
                        type(guards)(guards.transitions, flipped, guards.list_paths, guards.departures))
    with pytest.raises(EngineError, match="disagree on the guards of the departures"):
        case.check(placed)


def test_statechart_definition_is_durable_rules_form(engine: Engine) -> None:
    chart = engine._procedures[PROC].statechart() if PROC in engine._procedures else None
    if chart is None:
        engine.case(PROC, "c")
        chart = engine._procedures[PROC].statechart()
    (name,) = chart
    assert name == "qpr.home$state"
    assert "$chart" in chart[name]["qpr"] and "$chart" in chart[name]["time-limited-hold"]


def test_cli_case_shows_state_duties_and_departures(tmp_path: Any) -> None:
    import json as _json

    from click.testing import CliRunner

    from qpr_rules.cli.app import cli

    path = tmp_path / "events.jsonl"
    placed = ev("placement-made", "placing-sw", "2025-01-07", children=[{"age": 8, "gender": "female"}], children_in_home=0, child_region=None)
    path.write_text("".join(_json.dumps({"case": "h", **e}) + "\n" for e in [*TO_HOLD[:5], placed]))
    result = CliRunner().invoke(cli, ["case", "qpr.home", "--events", str(path)])
    assert result.exit_code == 0, result.output
    assert "state: qpr > gathering since 2025-01-06" in result.output
    assert "region/program (child region not given)" in result.output
    assert "[hold.no-placements]" in result.output
    result = CliRunner().invoke(cli, ["case", "qpr.home", "--events", str(path), "--json"])
    assert _json.loads(result.output)["departures"][0]["clause"] == "hold.no-placements"
    path.write_text(_json.dumps({"case": "h", **TO_HOLD[0], "by": "nobody"}) + "\n")
    result = CliRunner().invoke(cli, ["case", "qpr.home", "--events", str(path)])
    assert result.exit_code == 1 and ":1: by: 'nobody' is not a role" in result.output
