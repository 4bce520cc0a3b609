"""`qpr-rules procedure prove`: the QPR procedure as a transition system with its guards. The
bundled procedure holds; a procedure that lets a permanent hold out ("RF placed on permanent hold
are not eligible for reinstatement of privileges") is caught, with the events that show it."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from qpr_rules.analysis.procedure_check import check_procedure, discharging
from qpr_rules.cli.app import cli
from qpr_rules.cli.procedure_audit import procedure_group  # noqa: F401  (registers the group)
from qpr_rules.engine.engine import Engine
from qpr_rules.facts.hold import Hold

ROOT = Path(__file__).resolve().parents[1]


def test_the_bundled_procedure_holds(monkeypatch: pytest.MonkeyPatch) -> None:
    engine = Engine.from_bundled(evaluator="compiled")
    # the placement check reads each state's own hold: record what it asked (a check that asked
    # nothing would pass every procedure)
    asked: list[tuple[str, Hold | None]] = []
    real = Engine.decide_partial

    def spy(self: Engine, decision_id: str, known: Any, **kw: Any) -> Any:
        asked.append((decision_id, kw["case"].hold()))
        return real(self, decision_id, known, **kw)

    monkeypatch.setattr(Engine, "decide_partial", spy)
    proof = check_procedure(engine, "qpr.home")
    assert proof.violations == ()
    assert proof.states > 20
    # every kind of hold the procedure records was asked about, and only the placement question
    assert {h.kind.value for _, h in asked if h is not None} == {"pending_qpr", "time_limited", "permanent"}
    assert {d for d, _ in asked} == {"qpr.placement"}
    spec = engine.policies.procedures["qpr.home"]
    # the duties of step 2 end when the referral is screened, not on a further concern
    assert discharging(spec, "screening") == ["qpr.referral-screened"]
    assert discharging(spec, "review") == ["qpr.review-decided"]


def _policies_with(tmp_path: Path, old: str, new: str) -> Path:
    out = tmp_path / "policies"
    shutil.copytree(ROOT / "policies", out)
    text = (out / "qpr.yaml").read_text(encoding="utf-8")
    assert old in text
    (out / "qpr.yaml").write_text(text.replace(old, new, 1), encoding="utf-8")
    return out


def test_a_way_out_of_a_permanent_hold_is_found_with_its_events(tmp_path: Path) -> None:
    escape = ("    transitions:\n"
              "      - {from: permanent-hold, event: qpr.review-decided, to: good-standing,"
              " record: {reinstated_on: {fact: event.on}}, clause: reinstatement.request-after-date}\n")
    policies = _policies_with(tmp_path, "        clause: actions.permanent-hold\n        final: true\n",
                              "        clause: actions.permanent-hold\n")
    text = (policies / "qpr.yaml").read_text(encoding="utf-8").replace("    transitions:\n", escape, 1)
    (policies / "qpr.yaml").write_text(text, encoding="utf-8")
    result = CliRunner().invoke(cli, ["procedure", "prove", "qpr.home", "-p", str(policies)])
    assert result.exit_code == 1, result.output
    assert "VIOLATED permanent-hold-no-reinstatement" in result.output
    events = [json.loads(line) for line in result.output.splitlines() if line.startswith("  {")]
    # the events: a QPR concluded with a permanent hold, then a review that reinstated
    concluded = next(i for i, e in enumerate(events) if "permanent_hold" in e.get("actions", []))
    assert events[-1]["type"] == "qpr.review-decided" and events[-1]["reinstated"] is True
    assert concluded < len(events) - 1


def test_a_duty_only_a_catch_all_ends_is_found(tmp_path: Path) -> None:
    """Step 3 "Gather the following information for QPR": without the transition on
    qpr.information-gathered, only a further concern (a catch-all) would touch the duty."""
    policies = _policies_with(
        tmp_path, "      - {from: gathering, event: qpr.information-gathered, to: internal-review, clause: step3.gather}\n", "")
    result = CliRunner().invoke(cli, ["procedure", "prove", "qpr.home", "-p", str(policies)])
    assert result.exit_code == 1, result.output
    assert "VIOLATED duty-discharged: gathering" in result.output


def test_a_placement_allowed_while_the_case_holds_the_home_is_found_with_its_events(tmp_path: Path) -> None:
    """"Homes on hold are not to receive placements under any circumstances": a placement rule
    that no longer denies a hold pending QPR lets the placement question allow in the states
    where the case holds the home pending QPR; the prover finds it from the hold those states
    derive (Case.hold), with the events that lead there."""
    policies = _policies_with(
        tmp_path, "        - {use: home-on-hold}\n        - {fact: home.hold.kind, eq: pending_qpr}\n",
        "        - {use: home-on-hold}\n        - {fact: home.hold.kind, eq: permanent}\n")
    result = CliRunner().invoke(cli, ["procedure", "prove", "qpr.home", "-p", str(policies)])
    assert result.exit_code == 1, result.output
    assert "VIOLATED placement-denied-on-hold: in " in result.output
    assert "the hold (pending_qpr, placed on " in result.output
    assert "qpr.placement on that date is open (deny, allow)" in result.output
    events = [json.loads(line) for line in result.output.splitlines() if line.startswith("  {")]
    # the events reach a hold pending QPR: the hold was assessed as needed
    assert any(e["type"] == "qpr.hold-assessed" for e in events)
    # and no other property is violated: only the placement rule was changed
    assert {line.split(":")[0] for line in result.output.splitlines() if line.startswith("VIOLATED")} == {
        "VIOLATED placement-denied-on-hold"}



def test_a_violation_only_at_a_date_before_the_hold_is_found(tmp_path: Path) -> None:
    """"RF placed on permanent hold are not eligible for reinstatement of privileges": a broken
    copy lets a concern dated before the permanent hold was placed turn it into a time-limited
    hold (a way out). Only an event dated before the hold shows it; the old exploration dated
    every event a little over a year after the last, so it never tried one. Every ordering of
    an event's date among the state's dates is tried now, and the bound is said."""
    backdated = ("      - {from: permanent-hold, event: qpr.concern-raised, when: {fact: event.on, before: "
                 "{fact: case.hold_placed_on}}, record: {hold_kind: time_limited}, clause: step1.when}\n")
    policies = _policies_with(tmp_path, "      - {from: permanent-hold, event: qpr.concern-raised, clause: step1.when}\n",
                              backdated + "      - {from: permanent-hold, event: qpr.concern-raised, clause: step1.when}\n")
    result = CliRunner().invoke(cli, ["procedure", "prove", "qpr.home", "-p", str(policies)])
    assert result.exit_code == 1, result.output
    assert "VIOLATED permanent-hold-no-reinstatement" in result.output
    assert "checked: every ordering of dates: " in result.output
    events = [json.loads(line) for line in result.output.splitlines() if line.startswith("  {")]
    # the scenario: a QPR concluded with a permanent hold, then a concern dated before it
    concluded = next(e for e in events if "permanent_hold" in e.get("actions", []))
    assert events[-1]["type"] == "qpr.concern-raised"
    assert events[-1]["on"] < concluded["on"]
    # and the case replays the scenario to the hold it reports
    engine = Engine.load([policies], evaluator="compiled")
    case = engine.case("qpr.home", "proof")
    for e in events:
        case.record(e)
    assert case.state == "permanent-hold" and case.memory.model_dump()["hold_kind"] == "time_limited"


def test_dates_read_other_than_by_comparing_are_named_in_the_bound() -> None:
    """The proof covers every date only for guards that compare dates; a date read in a set is
    named after "NOT every date for", and a date the policy writes is tried as a date itself."""
    import datetime as dt

    from qpr_rules.analysis.procedure_check import ProcedureProof
    from qpr_rules.analysis.procedure_dates import date_comparisons, tried_dates
    from qpr_rules.facts.paths import FieldType
    from qpr_rules.policy.condition_nodes import All, Compare, FactRef, InSet, Literal_

    day = dt.date(2026, 3, 1)
    guard = All((), (Compare((), "event.on", "gt", FactRef("case.review_after", 30), FieldType("date")),
                     Compare((), "event.on", "lt", Literal_(day), FieldType("date")),
                     InSet((), "event.on", (day,), FieldType("date"))))
    dc = date_comparisons([guard])
    assert dc.offsets == {0, 30, -30} and dc.literals == {day}
    assert dc.uncovered == ("event.on is one of [2026-03-01]",)
    proof = ProcedureProof("p", 1, (), dc)
    assert not proof.exhaustive and "NOT every date for: event.on" in proof.bound()
    # a new date is tried on each side of each known date shifted by each offset, and of the
    # policy's own date
    tried = tried_dates([dt.date(2026, 1, 1)], dc)
    for point in (dt.date(2026, 1, 31), dt.date(2025, 12, 2), day):
        assert {point - dt.timedelta(days=1), point, point + dt.timedelta(days=1)} <= set(tried)
    assert ProcedureProof("p", 1, (), date_comparisons([guard.items[0]])).exhaustive
