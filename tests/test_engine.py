"""The Engine's contract: immutable, reproducible, explained, cited, versioned decisions."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from qpr_rules import Decision, Engine, PolicyError, UnknownDecisionError
from tests.policy_text import BASE, placement_facts, write_policy

ROOT = Path(__file__).resolve().parents[1]
ON_HOLD = placement_facts(hold={"kind": "pending_qpr", "placed_on": "2024-01-01"})


@pytest.fixture(scope="module")
def engine() -> Engine:
    return Engine.from_bundled()


def test_decision_is_immutable_and_json(engine: Engine) -> None:
    decision = engine.decide("qpr.placement", ON_HOLD)
    with pytest.raises(dataclasses.FrozenInstanceError):
        decision.outcome = "allow"  # type: ignore[misc]
    data = json.loads(decision.to_json())
    assert data["outcome"] == "deny" and data["decision"] == "qpr.placement"
    assert data["policy_digest"] == engine.digest


def test_same_facts_same_digest_same_bytes(engine: Engine) -> None:
    other = Engine.load([ROOT / "policies"])
    assert other.digest == engine.digest
    assert other.decide("qpr.placement", ON_HOLD).to_json() == engine.decide("qpr.placement", ON_HOLD).to_json()


def test_digest_follows_meaning_not_formatting(tmp_path: Path) -> None:
    def digest(name: str, text: str) -> str:
        (tmp_path / name).mkdir()
        return Engine.load([write_policy(tmp_path / name, text)]).digest

    plain = digest("a", BASE)
    commented = digest("b", "# a comment\n" + BASE.replace("title: Tiny policy", "title:   Tiny policy   # same"))
    changed = digest("c", BASE.replace("eq: pending_qpr", "eq: permanent"))
    assert plain == commented != changed


def test_fired_rules_cite_document_section_and_text(engine: Engine) -> None:
    decision = engine.decide("qpr.placement", ON_HOLD)
    fired = {r.id: r for r in decision.fired}
    cite = fired["qpr.placement.hold-pending-qpr"].citations[0]
    assert (cite.document, cite.section, cite.clause) == ("000_4b5b4e0ce51b2960.txt", "Homes on hold",
                                                           "hold.no-placements")
    assert cite.text == "Homes on hold are not to receive placements under any circumstances."


def test_not_fired_names_first_failing_condition_with_values(engine: Engine) -> None:
    decision = engine.decide("qpr.placement", ON_HOLD)
    why = {r.id: r.failed for r in decision.not_fired}
    assert why["qpr.placement.hold-permanent"] == (
        "home.hold.kind = permanent is false (home.hold.kind is pending_qpr)")


def test_obligations_name_role_duty_and_clause(engine: Engine) -> None:
    facts = placement_facts(hold={"kind": "permanent", "placed_on": "2024-01-01"})
    facts["placement"] = {"date": "2024-05-01", "status": "made", "cleared_with_pco": True}
    decision = engine.decide("qpr.placement", facts)
    ob = {o.who: o for o in decision.obligations}
    assert ob["pco-manager"].role == "PCO Manager"
    assert ob["pco-manager"].clause is not None and ob["pco-manager"].clause.clause == "hold.notify-regional-manager"


def test_invalid_facts_fail_closed_naming_fields(engine: Engine) -> None:
    decision = engine.decide("qpr.placement", {"placement": {"date": "someday"}, "child": {}})
    assert (decision.outcome, decision.status, decision.allowed) == ("deny", "error", False)
    assert any(e.startswith("placement.date:") for e in decision.errors)
    assert any(e.startswith("child.age: Field required") for e in decision.errors)
    assert any(e.startswith("home: Field required") for e in decision.errors)


def test_facts_as_json_text_and_as_model(engine: Engine) -> None:
    as_json = engine.decide("qpr.placement", json.dumps(ON_HOLD))
    model = engine.validate_facts("qpr.placement", ON_HOLD)
    assert as_json.to_json() == engine.decide("qpr.placement", model).to_json()


def test_unknown_decision_suggests(engine: Engine) -> None:
    with pytest.raises(UnknownDecisionError) as info:
        engine.decide("qpr.placment", ON_HOLD)
    assert "did you mean 'qpr.placement'?" in str(info.value)


def test_as_of_selects_the_version_in_force(tmp_path: Path) -> None:
    write_policy(tmp_path, BASE, "v1.yaml")
    v2 = BASE.replace("effective_from: 2024-01-01", "effective_from: 2025-01-01").replace(
        "eq: pending_qpr", "in: [pending_qpr, permanent]")
    write_policy(tmp_path, v2, "v2.yaml")
    permanent = placement_facts(hold={"kind": "permanent", "placed_on": "2024-01-01"})
    import datetime as dt

    old = Engine.load([tmp_path], as_of=dt.date(2024, 6, 1))
    new = Engine.load([tmp_path], as_of=dt.date(2025, 6, 1))
    assert old.decide("tiny.placement", permanent).outcome == "allow"
    assert new.decide("tiny.placement", permanent).outcome == "deny"
    assert Engine.load([tmp_path]).digest == new.digest  # no as_of: the latest version


def test_explain_trace(engine: Engine) -> None:
    text = engine.explain("qpr.placement", ON_HOLD)
    assert text.startswith("qpr.placement: DENY (decided)")
    assert "“Homes on hold are not to receive placements under any circumstances.”" in text
    assert "✘ qpr.placement.hold-permanent" in text


def test_decision_type_is_public() -> None:
    import qpr_rules

    assert qpr_rules.Decision is Decision
    assert set(qpr_rules.__all__) >= {"Engine", "Decision", "PolicyError", "FactsError", "EngineError"}


def test_as_of_leaves_out_policies_not_yet_in_force(tmp_path: Path) -> None:
    import datetime as dt

    write_policy(tmp_path, BASE, "v1.yaml")
    later = BASE.replace("id: tiny\n", "id: later\n").replace("effective_from: 2024-01-01", "effective_from: 2030-01-01")
    later = later.replace("tiny.placement", "later.placement").replace("tiny.hold", "later.hold").replace(
        "tiny.allow", "later.allow")
    write_policy(tmp_path, later, "later.yaml")
    assert Engine.load([tmp_path], as_of=dt.date(2025, 1, 1)).decision_ids == ["tiny.placement"]
    assert Engine.load([tmp_path], as_of=dt.date(2031, 1, 1)).decision_ids == ["later.placement", "tiny.placement"]
    with pytest.raises(PolicyError) as info:
        Engine.load([tmp_path], as_of=dt.date(2020, 1, 1))
    assert info.value.problems[0].message == (
        "no policy is in force on 2020-01-01; the earliest starts 2024-01-01 (v1.yaml)")
