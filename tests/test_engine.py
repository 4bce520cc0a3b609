"""The Engine's contract: immutable, reproducible, cited, explained and versioned decisions.

Runs on tests/fixtures/tiny/tiny.yaml, so the exact answers below do not move when the
bundled policies are revised.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest

from qpr_rules import Citation, Decision, Engine, Obligation, UnknownDecisionError

TINY = Path(__file__).parent / "fixtures" / "tiny" / "tiny.yaml"
TEXT = TINY.read_text(encoding="utf-8")
CLEARED: dict[str, Any] = {
    "placement": {"date": "2024-05-01", "status": "proposed", "cleared_with_pco": True, "siblings": []},
    "child": {"age": 7, "gender": "female"},
    "home": {"id": "H", "approval": "rfa", "approval_status": "active", "hold": None, "restrictions": None, "children_placed": []},
}
ON_HOLD: dict[str, Any] = {**CLEARED, "home": {**CLEARED["home"],
                                               "hold": {"kind": "permanent", "placed_on": "2024-01-01"}}}
HOLD_CITATION = Citation("hold", "tiny-source.txt", "Homes on hold",
                         "Homes on hold are not to receive placements under any circumstances.")


@pytest.fixture(scope="module")
def engine() -> Engine:
    return Engine.load(TINY)


def load_text(directory: Path, text: str) -> Engine:
    directory.mkdir()
    (directory / "tiny.yaml").write_text(text, encoding="utf-8")
    return Engine.load(directory)


def test_decision_is_immutable(engine: Engine) -> None:
    decision = engine.decide("tiny.placement", ON_HOLD)
    with pytest.raises(dataclasses.FrozenInstanceError):
        decision.outcome = "allow"  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        decision.fired[0].outcome = "allow"  # type: ignore[misc]
    assert isinstance(decision.fired, tuple) and isinstance(decision.obligations, tuple)


def test_decision_is_json_serialisable(engine: Engine) -> None:
    decision = engine.decide("tiny.placement", ON_HOLD)
    data = json.loads(decision.to_json())
    assert data == json.loads(json.dumps(decision.to_dict(), default=str))
    assert {k: data[k] for k in ("decision", "outcome", "status", "outcomes", "errors")} == {
        "decision": "tiny.placement", "outcome": "deny", "status": "decided", "outcomes": ["deny", "allow"],
        "errors": []}
    assert data["policy_digest"] == engine.digest and data["policy_revision"] == "tiny@2024-01-01"
    assert data["fired"][0]["citations"] == [dataclasses.asdict(HOLD_CITATION)]
    assert json.loads(decision.to_json(indent=2)) == data


def test_same_facts_and_digest_give_the_same_bytes(engine: Engine) -> None:
    other = Engine.load(TINY)
    assert other.digest == engine.digest
    for facts in (ON_HOLD, CLEARED, {"placement": {}}):
        assert other.decide("tiny.placement", facts).to_json() == engine.decide("tiny.placement", facts).to_json()


def test_digest_follows_meaning_not_formatting(tmp_path: Path) -> None:
    plain = load_text(tmp_path / "plain", TEXT).digest
    reformatted = TEXT.replace("title: Tiny policy", "title:    Tiny policy    # same title, new comment")
    reformatted = "# a new comment\n\n" + reformatted.replace("outcomes: [deny, allow]", "outcomes:\n      - deny\n      - allow")
    assert load_text(tmp_path / "reformatted", reformatted).digest == plain
    changed_rule = TEXT.replace("in: [pending_qpr, permanent]", "in: [pending_qpr, time_limited]")
    changed_text = TEXT.replace("is on hold., clause: hold}", "is on hold today., clause: hold}")
    digests = {plain, load_text(tmp_path / "rule", changed_rule).digest,
               load_text(tmp_path / "text", changed_text).digest}
    assert len(digests) == 3
    assert all(len(d) == 64 and int(d, 16) >= 0 for d in digests)  # sha256 hex


def test_citations_carry_document_section_and_text(engine: Engine) -> None:
    decision = engine.decide("tiny.placement", ON_HOLD)
    assert [(r.id, r.outcome, r.citations) for r in decision.fired] == [
        ("tiny.placement.hold", "deny", (HOLD_CITATION,)),
        ("tiny.placement.cleared", "allow", (Citation(
            "cleared", "tiny-source.txt", "Placement",
            "The placing social worker clears the home with the PCO before placing."),)),
    ]


def test_obligations_of_the_winning_rules(engine: Engine) -> None:
    decision = engine.decide("tiny.placement", ON_HOLD)
    assert decision.obligations == (Obligation(
        who="pco", role="Placement Coordinators Office", do="Tell the placing social worker the home is on hold.",
        rule="tiny.placement.hold", clause=HOLD_CITATION),)
    assert engine.decide("tiny.placement", CLEARED).obligations == ()


def test_outcome_and_reason_follow_the_combination(engine: Engine) -> None:
    held = engine.decide("tiny.placement", ON_HOLD)  # deny-overrides: the hold wins over the clearance
    assert (held.outcome, held.status, held.allowed) == ("deny", "decided", False)
    assert held.reason == "A home on hold receives no placements [tiny.placement.hold]"
    cleared = engine.decide("tiny.placement", CLEARED)
    assert (cleared.outcome, cleared.status, cleared.allowed) == ("allow", "decided", True)
    assert cleared.reason == "An active home cleared with the PCO may take the child [tiny.placement.cleared]"


def test_not_fired_names_the_first_failing_condition_with_values(engine: Engine) -> None:
    facts = {**CLEARED, "placement": {"date": "2024-05-01", "status": "proposed", "cleared_with_pco": False, "siblings": []},
             "home": {**CLEARED["home"], "approval_status": "revoked",
                      "hold": {"kind": "time_limited", "placed_on": "2024-01-01"}}}
    decision = engine.decide("tiny.placement", facts)
    assert (decision.outcome, decision.status) == ("deny", "default")
    assert [(n.id, n.failed) for n in decision.not_fired] == [
        ("tiny.placement.hold",
         "the kind of hold is time_limited, not pending_qpr or permanent"
         " [home.hold.kind is one of [pending_qpr, permanent]]"),
        ("tiny.placement.cleared",  # the first of two failing conditions
         "it is not the case that the placing social worker cleared the home with the PCO before placing"
         " [placement.cleared_with_pco = true]"),
    ]
    no_hold = engine.decide("tiny.placement", {**facts, "home": CLEARED["home"]})
    assert no_hold.not_fired[0].failed == (  # the outermost absent step is named, not its field
        "the hold on the home is not given [home.hold.kind is one of [pending_qpr, permanent]]")
    assert no_hold.not_fired[1].failed == decision.not_fired[1].failed


def test_invalid_facts_deny_naming_the_fields(engine: Engine) -> None:
    decision = engine.decide("tiny.placement", {"placement": {"date": "someday"}, "child": {"age": -1},
                                                "home": CLEARED["home"], "extra": 1})
    assert (decision.outcome, decision.status, decision.allowed, decision.fired) == ("deny", "error", False, ())
    assert decision.errors == (
        'placement.date: write a date as YYYY-MM-DD (got "someday")',
        "placement.status: required, missing "
        "(Whether the placement is proposed (asked before it is made) or already made)",
        "placement.cleared_with_pco: required, missing "
        "(The placing social worker cleared the home with the PCO before placing)",
        "placement.siblings: required, missing (The child's siblings placed in the home together with "
        "the child (empty when the child is placed alone))",
        "child.age: Input should be greater than or equal to 0 (got -1)",
        "child.gender: required, missing (The child's gender)",
        "extra: unknown field; allowed here: placement, child, home",
    )
    assert decision.reason.startswith("the facts are invalid; failing closed with 'deny': placement.date: ")


def test_facts_as_json_text_and_as_a_model(engine: Engine) -> None:
    as_dict = engine.decide("tiny.placement", ON_HOLD).to_json()
    assert engine.decide("tiny.placement", json.dumps(ON_HOLD)).to_json() == as_dict
    assert engine.decide("tiny.placement", engine.validate_facts("tiny.placement", ON_HOLD)).to_json() == as_dict
    broken = engine.decide("tiny.placement", "{not json")
    assert (broken.status, broken.outcome) == ("error", "deny")


def test_unknown_decision_error_suggests(engine: Engine) -> None:
    with pytest.raises(UnknownDecisionError) as info:
        engine.decide("tiny.placment", CLEARED)
    assert str(info.value) == ("unknown decision 'tiny.placment' (did you mean 'tiny.placement'?); known: "
                               "tiny.placement")
    assert isinstance(info.value, KeyError) and info.value.decision_id == "tiny.placment"
    with pytest.raises(UnknownDecisionError, match=r"^unknown decision 'nothing-like-it'; known: tiny.placement$"):
        engine.explain("nothing-like-it", CLEARED)


def test_as_of_picks_the_version_in_force(tmp_path: Path) -> None:
    (tmp_path / "v1.yaml").write_text(TEXT, encoding="utf-8")
    v2 = TEXT.replace("effective_from: 2024-01-01", "effective_from: 2025-01-01").replace(
        "revision: 2024-01-01", "revision: 2024-12-01").replace(
        "in: [pending_qpr, permanent]", "in: [pending_qpr, time_limited]")
    (tmp_path / "v2.yaml").write_text(v2, encoding="utf-8")
    permanent = ON_HOLD  # denied by v1 only
    old = Engine.load(tmp_path, as_of=dt.date(2024, 12, 31))
    new = Engine.load(tmp_path, as_of=dt.date(2025, 1, 1))
    latest = Engine.load(tmp_path)
    assert [(e.policies.revision, e.decide("tiny.placement", permanent).outcome) for e in (old, new)] == [
        ("tiny@2024-01-01", "deny"), ("tiny@2024-12-01", "allow")]
    # without as_of at load, a question is answered under the version in force on its own date:
    # the tiny decision has no `dated_by`, so the caller gives the date (never the clock)
    assert [latest.decide("tiny.placement", permanent, as_of=day).policy_revision
            for day in (dt.date(2024, 12, 31), dt.date(2025, 1, 1))] == ["tiny@2024-01-01", "tiny@2024-12-01"]
    assert latest.decide("tiny.placement", permanent).status == "error"  # no date: no guess
    assert latest.digest == new.digest != old.digest
    assert old.digest == Engine.load(TINY).digest


def test_explain_trace(engine: Engine) -> None:
    text = engine.explain("tiny.placement", ON_HOLD)
    lines = text.splitlines()
    assert lines[:3] == ["tiny.placement: DENY (decided)",
                         "  reason: A home on hold receives no placements [tiny.placement.hold]",
                         "  combine: deny-overrides; default: deny"]
    assert "  ✔ tiny.placement.hold -> deny: A home on hold receives no placements" in lines
    assert "      tiny-source.txt § Homes on hold [hold]" in lines
    assert "        “Homes on hold are not to receive placements under any circumstances.”" in lines
    assert ("  • Placement Coordinators Office (pco): Tell the placing social worker the home is on hold. "
            "[hold]") in lines
    assert lines[-1] == f"policy tiny@2024-01-01 digest {engine.digest[:16]}"
    error = engine.explain("tiny.placement", {})
    assert error.splitlines()[0] == "tiny.placement: DENY (error)"
    assert "  error: placement: required, missing (The placement asked for)" in error.splitlines()


def test_decision_type_is_public() -> None:
    import qpr_rules

    assert qpr_rules.Decision is Decision
    assert set(qpr_rules.__all__) >= {"Engine", "Decision", "PolicyError", "FactsError", "EngineError",
                                      "UnknownDecisionError", "Citation", "Obligation"}


def test_decision_json_carries_its_format_version(engine: Engine) -> None:
    from qpr_rules.engine.decision import DECISION_FORMAT

    for facts in (ON_HOLD, {"nonsense": 1}):
        data = json.loads(engine.decide("tiny.placement", facts).to_json())
        assert data["format"] == DECISION_FORMAT == "qpr-rules/decision/v1"
    api = (Path(__file__).resolve().parents[1] / "docs" / "api.md").read_text(encoding="utf-8")
    assert "## Versioned contracts" in api and DECISION_FORMAT in api


def test_a_misspelt_fact_field_names_the_right_path(engine: Engine) -> None:
    facts = json.loads(json.dumps(CLEARED))
    facts["child"]["agee"] = facts["child"].pop("age")
    decision = engine.decide("tiny.placement", facts)
    assert decision.status == "error"
    assert any(e.startswith("child.agee: unknown field (did you mean 'child.age'?); allowed here: ")
               for e in decision.errors), decision.errors
    assert "child.age: required, missing" in " ".join(decision.errors)


def test_list_positions_in_fact_errors_count_from_one(engine: Engine) -> None:
    facts = json.loads(json.dumps(CLEARED))
    facts["home"]["children_placed"] = [{"age": 3, "gender": "female"}, {"age": 4, "gender": "Mail"}]
    decision = engine.decide("tiny.placement", facts)
    assert any(e.startswith("home.children_placed #2.gender: ") for e in decision.errors), decision.errors
