"""The interview page in a real headless Chromium (issue 23.3): from nothing known, each question
answered in the browser, until the page shows the answer determined. Driven as
tests/test_service_ui_browser.py drives the decision form (skipped without a browser there,
failed under CI)."""

from __future__ import annotations

import json
from pathlib import Path

from tests.service_server import serving
from tests.test_service_ui_browser import _evaluate, chromium

#: The answer the caseworker gives to each question, by the fact asked for.
ANSWERS = {
    "child.age": "9", "child.gender": "male",
    "home.approval_status": "active", "placement.cleared_with_pco": "yes",
    "placement.date": "2026-03-02", "home.hold": "yes", "home.hold.kind": "time_limited",
    "home.hold.placed_on": "2026-01-10", "home.hold.reinstated_on": "2026-02-01",
    "home.restrictions": "no", "home.children_placed": "0", "placement.status": "proposed",
    "placement.siblings": "0",
}


def test_the_interview_asks_until_the_answer_is_determined(tmp_path: Path) -> None:
    with serving(tmp=tmp_path) as server, chromium(tmp_path / "profile") as tools:
        target = tools.call("Target.createTarget", url="about:blank")["targetId"]
        session = tools.call("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]
        tools.call("Page.enable", session)
        tools.call("Page.navigate", session, url=server.url + "/ui/decisions/qpr.placement/interview")
        tools.wait_for("Page.loadEventFired")
        asked: list[str] = []
        for _ in range(len(ANSWERS) + 1):
            status = _evaluate(tools, session, "document.getElementById('status').textContent")
            if status != "open":
                break
            path = _evaluate(tools, session, "document.getElementById('question-path').textContent")
            asked.append(path)
            _evaluate(tools, session, f"document.getElementById('answer').value = {json.dumps(ANSWERS[path])}; "
                                      "document.getElementById('submit-answer').click(); true")
            tools.wait_for("Page.loadEventFired")
        outcome = _evaluate(tools, session, "document.getElementById('outcome').textContent")
        known = json.loads(_evaluate(tools, session, "document.getElementById('known').textContent"))
        tools.call("Browser.close")
    assert status == "determined" and outcome == "allow", (asked, status)
    # the hold was reinstated before the placement date: asked about, and it allows the placement
    assert asked[:3] == ["home.approval_status", "placement.cleared_with_pco", "placement.date"], asked
    assert "home.hold.reinstated_on" in asked
    assert not {"home.id", "home.approval", "child.id"} & set(asked)  # no rule reads them
    assert len(asked) == len(set(asked))
    assert known["home"]["hold"]["reinstated_on"] == "2026-02-01"
