"""A case that spans a policy change replays each event under the procedure of the policy
version in force on the event's date (issue 17, item 4): an early event follows the old rules,
a late one the new; an event dated before any version is in force is refused, naming the date
and the first version; the same replay gives the same state every time."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from qpr_rules.cli.app import cli
from qpr_rules.cli.procedure import case_command  # noqa: F401  (registers the command)
from qpr_rules.cli.procedure_audit import procedure_group  # noqa: F401
from qpr_rules.engine.engine import Engine
from qpr_rules.errors import EventError
from qpr_rules.procedure.sqlite_store import SQLiteStore

_POLICY = """\
format: qpr-rules/v1
id: mini
title: A small review procedure
source: {{document: mini.txt, title: Mini, publisher: Test, revised: {effective}}}
jurisdiction: Test
revision: {effective}
effective_from: {effective}
roles:
  - {{id: sw, title: Social worker}}
clauses:
  - {{id: review, section: Review, text: "A concern is reviewed; {rule}"}}
procedures:
  - id: mini.home
    title: A home's review
    case: qpr.home-case
    initial: open
    clause: review
    events:
      - {{type: qpr.concern-raised, clause: review}}
      - {{type: qpr.consultation-held, clause: review}}
    states:
      - {{id: open, title: No concern, clause: review}}
      - {{id: referred, title: A concern is reviewed, clause: review}}
      - {{id: closed, title: Reviewed, clause: review, final: true}}
    transitions:
      - {{from: open, event: qpr.concern-raised, to: referred, clause: review}}
      - {{from: referred, event: qpr.consultation-held, to: closed, when: {{fact: event.warranted, eq: {warranted}}}, clause: review}}
"""


@pytest.fixture
def policies(tmp_path: Path) -> Path:
    """Two versions of one policy: until 2022 a warranted concern closes the review; from
    2022-01-01 only a concern found not warranted does."""
    out = tmp_path / "policies"
    out.mkdir()
    (out / "mini-2020.yaml").write_text(_POLICY.format(effective="2020-01-01", warranted="true",
                                                       rule="a warranted one closes it"))
    (out / "mini-2022.yaml").write_text(_POLICY.format(effective="2022-01-01", warranted="false",
                                                       rule="one not warranted closes it"))
    return out


def _concern(on: str) -> dict[str, Any]:
    return {"type": "qpr.concern-raised", "by": "sw", "on": on, "raised_by": "social_worker",
            "after_state_denial": False}


def _consulted(on: str, warranted: bool) -> dict[str, Any]:
    return {"type": "qpr.consultation-held", "by": "sw", "on": on, "warranted": warranted}


def test_each_event_follows_the_version_in_force_on_its_date(policies: Path, tmp_path: Path) -> None:
    engine = Engine.load([policies])
    # the old rules: a warranted concern, dated 2021, closes the review
    early = engine.case("mini.home", "early")
    early.record(_concern("2021-06-01"))
    early.record(_consulted("2021-12-31", True))
    assert early.state == "closed" and early.departures == []
    # spanning the change: raised under the old version, consulted under the new one, where a
    # warranted concern no longer closes it (a departure) and one not warranted does
    late = engine.case("mini.home", "late", SQLiteStore(tmp_path / "events.sqlite"))
    late.record(_concern("2021-06-01"))
    late.record(_consulted("2022-01-01", True))
    assert late.state == "referred"
    assert [d.version for d in late.departures] == [2]
    late.record(_consulted("2022-02-01", False))
    assert late.state == "closed"
    assert [s.effective_from.isoformat() for s in late.steps] == ["2020-01-01", "2022-01-01", "2022-01-01"]
    # replayed from the store, twice: the same state, the same steps, the same departures
    again = [engine.case("mini.home", "late", SQLiteStore(tmp_path / "events.sqlite")) for _ in range(2)]
    for case in again:
        assert case.summary() == late.summary()
        assert case.steps == late.steps


def test_check_answers_under_the_version_of_the_event_date(policies: Path) -> None:
    case = Engine.load([policies]).case("mini.home", "c")
    case.record(_concern("2021-06-01"))
    assert case.check(_consulted("2021-12-31", True)).allowed
    assert not case.check(_consulted("2022-01-01", True)).allowed
    assert case.check(_consulted("2022-01-01", False)).allowed


def test_an_event_before_any_version_is_refused_and_not_stored(policies: Path) -> None:
    case = Engine.load([policies]).case("mini.home", "c")
    with pytest.raises(EventError) as info:
        case.record(_concern("2019-12-31"))
    message = str(info.value)
    assert "2019-12-31" in message and "2020-01-01" in message and "mini" in message
    assert case.version == 0 and case.store.events("c") == []


def test_cli_case_and_procedure_check_replay_across_the_change(policies: Path, tmp_path: Path) -> None:
    events = tmp_path / "events.jsonl"

    lines = [{"case": "h", **e} for e in [_concern("2021-06-01"), _consulted("2022-01-01", True),
                                           _consulted("2022-02-01", False)]]
    lines += [{"case": "e", **e} for e in [_concern("2021-06-01"), _consulted("2021-12-31", True)]]
    events.write_text("\n".join(json.dumps(e) for e in lines) + "\n")
    early = CliRunner().invoke(cli, ["case", "mini.home", "--events", str(events), "--case", "e",
                                     "-p", str(policies)])
    assert "state: closed since 2021-12-31 (final)" in early.output and "departures: none" in early.output
    shown = CliRunner().invoke(cli, ["case", "mini.home", "--events", str(events), "--case", "h",
                                     "-p", str(policies)])
    assert shown.exit_code == 0, shown.output
    assert "state: closed since 2022-02-01 (final)" in shown.output
    assert "event 2, 2022-01-01, qpr.consultation-held in referred" in shown.output
    checked = CliRunner().invoke(cli, ["procedure", "check", str(events), "-p", str(policies)])
    assert checked.exit_code == 1, checked.output
    assert "case h (mini.home), version 3, state closed: 1 finding(s)" in checked.output
    assert "case e (mini.home), version 2, state closed: no departure" in checked.output
