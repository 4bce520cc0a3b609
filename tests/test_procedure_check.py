"""`qpr-rules procedure check`: an auditor's report of every departure from the QPR procedure,
with its clause. Each history is written from the sentences of the source
(../shared/seeds/000_4b5b4e0ce51b2960.txt): the procedure table, "Homes on hold" and
"Reinstatement of privileges"."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from qpr_rules.cli.app import cli
from qpr_rules.cli.procedure_audit import procedure_group  # noqa: F401  (registers the group)
from qpr_rules.procedure.sqlite_store import SQLiteStore

ROOT = Path(__file__).resolve().parents[1]

# Steps 1 to 5 in order, up to a time-limited hold with the date determined in the QPR.
TO_HOLD: list[dict[str, Any]] = [
    {"type": "qpr.concern-raised", "by": "referring-sw", "on": "2025-01-02", "raised_by": "social_worker",
     "after_state_denial": False},
    {"type": "qpr.consultation-held", "by": "referring-sw", "on": "2025-01-03", "warranted": True},
    {"type": "qpr.form-submitted", "by": "referring-sw", "on": "2025-01-04"},
    {"type": "qpr.referral-screened", "by": "pco", "on": "2025-01-06", "appropriate": True},
    {"type": "qpr.hold-assessed", "by": "pco-pss", "on": "2025-01-06", "hold": True},
    {"type": "qpr.information-gathered", "by": "pco", "on": "2025-01-08", "units_knowing_home": ["rfa"]},
    {"type": "qpr.internal-review-completed", "by": "pco", "on": "2025-01-09", "recommended": ["restrict_period"]},
    {"type": "qpr.rf-called", "by": "pco-pss", "on": "2025-01-09", "rf_agrees": False},
    {"type": "qpr.qpr-concluded", "by": "pco", "on": "2025-01-10", "actions": ["restrict_period"],
     "review_after": "2026-01-10", "at_meeting": True},
]
REINSTATED: list[dict[str, Any]] = [
    {"type": "qpr.review-requested", "by": "resource-family", "on": "2026-01-15", "in_writing": True,
     "addresses_worries": True},
    {"type": "qpr.review-decided", "by": "pco", "on": "2026-02-01", "meeting_required": False,
     "reinstated": True},
]


def write(tmp_path: Path, *cases: tuple[str, list[dict[str, Any]]]) -> Path:
    path = tmp_path / "events.jsonl"
    path.write_text("".join(json.dumps({"case": cid, **e}) + "\n" for cid, events in cases for e in events))
    return path


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["procedure", "check", *args])
    return result.exit_code, result.output


def findings(path: Path | str, *extra: str) -> tuple[int, list[dict[str, Any]]]:
    code, out = run(str(path), "--format", "json", *extra)
    return code, [f for c in json.loads(out)["cases"] for f in c["findings"]]


def test_a_procedure_followed_to_reinstatement_has_no_departure(tmp_path: Path) -> None:
    code, out = run(str(write(tmp_path, ("home-1", TO_HOLD + REINSTATED))))
    assert code == 0, out
    assert "case home-1 (qpr.home), version 11, state good-standing: no departure" in out
    assert out.rstrip().endswith("1 case(s), 0 finding(s)")


def test_a_step_skipped_is_a_departure_with_its_clause(tmp_path: Path) -> None:
    """Step 2 is "Upon receipt of 04-233": screening a referral whose 04-233 was never submitted
    skips step 1's "SW will complete 04-233 and submit to PCO"."""
    skipped = [e for e in TO_HOLD[:4] if e["type"] != "qpr.form-submitted"]
    code, found = findings(write(tmp_path, ("home-2", skipped)))
    assert code == 1
    [dep] = found
    assert dep["kind"] == "departure" and dep["event"] == "qpr.referral-screened"
    assert dep["state"] == "form" and dep["clause"] == "step2.review"
    assert "allowed next: qpr.form-submitted" in dep["text"]


def test_a_step_out_of_order_is_a_departure(tmp_path: Path) -> None:
    """Step 5 is "Upon completion of Internal Review": a call to the RF before step 4 is out of
    order, and the case stays where it was."""
    early_call = [*TO_HOLD[:6], TO_HOLD[7]]
    code, found = findings(write(tmp_path, ("home-3", early_call)))
    assert code == 1
    assert [(f["event"], f["state"], f["clause"]) for f in found] == \
        [("qpr.rf-called", "internal-review", "step5.call-rf")]


def test_a_placement_while_on_hold_and_the_notice_not_given(tmp_path: Path) -> None:
    """"Homes on hold are not to receive placements under any circumstances" and "The PCO Manager
    will notify the Regional Manager if a child from their region/program has been placed in a
    home placed on hold": the placement is one finding, the notice never given another."""
    placed = {"type": "qpr.placement-made", "by": "placing-sw", "on": "2025-01-07", "children": [{"age": 8, "gender": "female"}], "children_in_home": 0,
              "child_region": "east"}
    code, found = findings(write(tmp_path, ("home-4", [*TO_HOLD[:5], placed])))
    assert code == 1
    kinds = [(f["kind"], f["clause"]) for f in found]
    assert ("departure", "hold.no-placements") in kinds
    assert ("duty-not-discharged", "hold.notify-regional-manager") in kinds
    notice = next(f for f in found if f["kind"] == "duty-not-discharged")
    assert notice["who"] == "pco-manager" and notice["on"] == "2025-01-07"
    assert "east" in notice["text"]


def test_the_notice_given_discharges_it(tmp_path: Path) -> None:
    placed = {"type": "qpr.placement-made", "by": "placing-sw", "on": "2025-01-07", "children": [{"age": 8, "gender": "female"}], "children_in_home": 0,
              "child_region": "east"}
    notified = {"type": "qpr.regional-manager-notified", "by": "pco-manager", "on": "2025-01-08",
                "region": "east"}
    code, found = findings(write(tmp_path, ("home-5", [*TO_HOLD[:5], placed, notified])))
    assert code == 1
    assert [f["clause"] for f in found] == ["hold.no-placements"]


def test_a_request_for_reinstatement_before_the_date(tmp_path: Path) -> None:
    """"may submit a request for a review after the date determined in the initial QPR"."""
    early = {**REINSTATED[0], "on": "2025-06-01"}
    code, found = findings(write(tmp_path, ("home-6", [*TO_HOLD, early])))
    assert code == 1
    [dep] = found
    assert dep["clause"] == "reinstatement.request-after-date" and "2026-01-10" in dep["text"]


def test_reinstatement_from_a_permanent_hold(tmp_path: Path) -> None:
    """"RF placed on permanent hold are not eligible for reinstatement of privileges"."""
    permanent = [*TO_HOLD[:-1], {**TO_HOLD[-1], "actions": ["permanent_hold"], "review_after": None}]
    code, found = findings(write(tmp_path, ("home-7", [*permanent, *REINSTATED])))
    assert code == 1
    assert [f["clause"] for f in found] == ["reinstatement.permanent-not-eligible"] * 2


def test_as_of_reports_every_duty_still_owed(tmp_path: Path) -> None:
    """With --as-of, a duty still owed on that date was not discharged by it; later events are
    left out (the case as it stood then)."""
    path = write(tmp_path, ("home-8", TO_HOLD[:3]))
    assert run(str(path))[0] == 0  # in progress, no departure
    code, found = findings(path, "--as-of", "2025-01-20")
    assert code == 1
    [duty] = found
    assert duty["kind"] == "duty-not-discharged" and duty["who"] == "pco"
    assert duty["clause"] == "step2.review" and duty["on"] == "2025-01-04"
    code, found = findings(path, "--as-of", "2025-01-03")
    assert [f["clause"] for f in found] == ["step1.submit-form"]


def test_cases_are_reported_each_with_their_own_findings(tmp_path: Path) -> None:
    early = {**REINSTATED[0], "on": "2025-06-01"}
    code, out = run(str(write(tmp_path, ("b-home", TO_HOLD + REINSTATED), ("a-home", [*TO_HOLD, early]))))
    assert code == 1
    assert out.index("case a-home") < out.index("case b-home")
    assert "case a-home (qpr.home), version 10, state waiting: 1 finding(s)" in out
    assert "case b-home (qpr.home), version 11, state good-standing: no departure" in out


def test_a_sqlite_store_is_checked_like_a_file(tmp_path: Path) -> None:
    db = tmp_path / "cases.db"
    store = SQLiteStore(db)
    early = {**REINSTATED[0], "on": "2025-06-01"}
    for version, e in enumerate([*TO_HOLD, early]):
        payload = {k: v for k, v in e.items() if k != "type"}
        store.append("home-9", version, "qpr.home", e["type"], dt.date.fromisoformat(e["on"]),
                     json.dumps(payload))
    store.close()
    code, found = findings(db)
    assert code == 1
    assert [f["clause"] for f in found] == ["reinstatement.request-after-date"]
    # on 2025-03-01 the early request had not been made, and waiting owes no duty
    assert findings(db, "--as-of", "2025-03-01") == (0, [])


@pytest.mark.parametrize(("line", "message"), [
    ("not json", "events.jsonl:1: not JSON"),
    ('{"case": "h", "type": "qpr.concern-raisd", "by": "pco", "on": "2025-01-01"}',
     "is not an event of any procedure"),
    ('{"case": "h", "type": "qpr.form-submitted", "by": "nobody", "on": "2025-01-01"}',
     "events.jsonl:1: by: 'nobody' is not a role"),
])
def test_bad_events_are_named_by_line(tmp_path: Path, line: str, message: str) -> None:
    path = tmp_path / "events.jsonl"
    path.write_text(line + "\n")
    code, out = run(str(path))
    assert code != 0 and message in out and "Traceback" not in out


def test_the_bundled_example(tmp_path: Path) -> None:
    code, found = findings(ROOT / "examples" / "procedure" / "home-17.jsonl")
    assert code == 1
    assert [f["clause"] for f in found] == ["hold.no-placements", "reinstatement.request-after-date"]
