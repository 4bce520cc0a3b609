"""Versions are applied by the decision's own date, never by the clock (issue 18, item 3).

With no `as_of`, a version whose `effective_from` is after the decision's own date (the placement
date) is not applied: a placement dated in 2025 is decided under the version in force in 2025,
even when a later version (here one that drops the hold rule) is loaded beside it. A decision
whose facts carry no date takes `as_of` from the caller; when its policy has several versions and
the caller gives none, the answer is an error, never a guess from today's date.
"""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from qpr_rules import Engine, PolicyError
from tests.policy_text import BASE, placement_facts, write_policy

CLI = Path(sys.executable).with_name("qpr-rules")
ON_HOLD = placement_facts(hold={"kind": "pending_qpr", "placed_on": "2024-01-01"})


def _dated(facts: dict[str, Any], day: str) -> dict[str, Any]:
    out = json.loads(json.dumps(facts))
    out["placement"]["date"] = day
    return out


# A later version of the tiny policy that drops the hold rule (a bad revision, or one not yet in
# force): applied to a placement before it starts, it would allow a home on hold.
LATER = BASE.replace("effective_from: 2024-01-01", "effective_from: 2030-01-01").replace(
    "revision: 2024-01-01", "revision: 2030-01-01").replace(
    "    when: {fact: home.hold.kind, eq: pending_qpr}", "    when: {fact: home.hold.kind, eq: permanent}")
DATED = "    placement: true\n    dated_by: placement.date\n"


@pytest.fixture()
def two_versions(tmp_path: Path) -> Path:
    write_policy(tmp_path, BASE.replace("    placement: true\n", DATED), "v1.yaml")
    write_policy(tmp_path, LATER.replace("    placement: true\n", DATED), "v2.yaml")
    return tmp_path


def test_a_future_version_is_not_applied_to_an_earlier_placement(two_versions: Path) -> None:
    engine = Engine.load([two_versions])
    decision = engine.decide("tiny.placement", _dated(ON_HOLD, "2025-06-01"))
    assert decision.outcome == "deny", decision
    assert "tiny@2024-01-01" in decision.policy_revision
    # on or after the later version's date, the later version applies
    later = engine.decide("tiny.placement", _dated(ON_HOLD, "2030-01-01"))
    assert later.outcome == "allow" and "tiny@2030-01-01" in later.policy_revision


@pytest.mark.parametrize("evaluator", ["durable", "compiled"])
def test_every_door_applies_the_same_version(two_versions: Path, evaluator: str,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    from qpr_rules.engine import batch

    monkeypatch.setattr(batch, "IN_PROCESS_BELOW", 0)  # decide_many(jobs=2) through workers
    engine = Engine.load([two_versions], evaluator=evaluator)  # type: ignore[arg-type]
    facts = _dated(ON_HOLD, "2025-06-01")
    answers = [engine.decide("tiny.placement", facts), engine.decide("tiny.placement", json.dumps(facts)),
               next(engine.decide_many("tiny.placement", [json.dumps(facts)], jobs=2))]
    assert {a.to_json() for a in answers} == {answers[0].to_json()}
    assert answers[0].outcome == "deny"


def test_the_cli_applies_the_version_by_the_placement_date(two_versions: Path, tmp_path: Path) -> None:
    facts = tmp_path / "facts.json"
    facts.write_text(json.dumps(_dated(ON_HOLD, "2025-06-01")))
    result = subprocess.run([str(CLI), "decide", "tiny.placement", "--facts", str(facts), "-p", str(two_versions),
                             "--format", "json"], capture_output=True, text=True, timeout=120)
    assert json.loads(result.stdout)["outcome"] == "deny", result.stderr


def test_a_placement_before_every_version_is_refused(two_versions: Path) -> None:
    decision = Engine.load([two_versions]).decide("tiny.placement", _dated(ON_HOLD, "2023-12-31"))
    assert (decision.outcome, decision.status) == ("deny", "error")
    assert "no version of policy 'tiny' is in force on 2023-12-31; the earliest starts 2024-01-01" in decision.reason


def test_an_explicit_as_of_still_chooses_the_version(two_versions: Path) -> None:
    engine = Engine.load([two_versions], as_of=dt.date(2031, 1, 1))
    assert engine.decide("tiny.placement", _dated(ON_HOLD, "2025-06-01")).outcome == "allow"


UNDATED = """\
  - id: tiny.hold-record
    title: May this be done with this record?
    facts: qpr_record
    outcomes: [deny, allow]
    combine: deny-overrides
    default: allow
    on_error: deny
    on_error_obligations:
      - {who: pco, do: Fix the facts.}
rules:
"""
RECORD = {"action": "file_with_pco", "record": "other"}


def test_an_undated_decision_takes_as_of_from_the_caller(tmp_path: Path) -> None:
    write_policy(tmp_path, BASE.replace("rules:\n", UNDATED, 1), "v1.yaml")
    write_policy(tmp_path, LATER.replace("rules:\n", UNDATED, 1), "v2.yaml")
    engine = Engine.load([tmp_path])
    unknown = engine.decide("tiny.hold-record", RECORD)
    assert (unknown.outcome, unknown.status) == ("deny", "error")
    assert "carry no date" in unknown.reason and "as_of" in unknown.reason
    given = engine.decide("tiny.hold-record", RECORD, as_of=dt.date(2025, 1, 1))
    assert given.status != "error" and "tiny@2024-01-01" in given.policy_revision
    # same facts, same caller's date: the same bytes, whatever the clock says
    assert engine.decide("tiny.hold-record", RECORD, as_of=dt.date(2025, 1, 1)).to_json() == given.to_json()


def test_dated_by_must_name_a_date_fact(tmp_path: Path) -> None:
    write_policy(tmp_path, BASE.replace("    placement: true\n", "    placement: true\n    dated_by: child.age\n"))
    with pytest.raises(PolicyError) as info:
        Engine.load([tmp_path])
    assert any("dated_by" in p.message or "child.age" in p.message for p in info.value.problems)


def test_the_bundled_placement_is_dated_by_its_date() -> None:
    engine = Engine.from_bundled()
    assert engine.spec("qpr.placement").decision.dated_by == "placement.date"


@pytest.mark.parametrize("jobs", [1, 2])
def test_decide_many_takes_the_callers_date_too(tmp_path: Path, jobs: int) -> None:
    write_policy(tmp_path, BASE.replace("rules:\n", UNDATED, 1), "v1.yaml")
    write_policy(tmp_path, LATER.replace("rules:\n", UNDATED, 1), "v2.yaml")
    engine = Engine.load([tmp_path])
    answers = list(engine.decide_many("tiny.hold-record", [RECORD, json.dumps(RECORD)], jobs=jobs,
                                      as_of=dt.date(2025, 1, 1)))
    assert [a.to_json() for a in answers] == [engine.decide("tiny.hold-record", RECORD, as_of=dt.date(2025, 1, 1)).to_json()] * 2
    assert "tiny@2024-01-01" in answers[0].policy_revision
