"""The service's partial decisions (issue 23.3): POST /v1/decisions/{id}/partial answers as
Engine.decide_partial does, and the interview page asks one question at a time (its browser run
is in tests/test_service_interview_browser.py)."""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterator

import httpx
import pytest

from tests.service_server import serving

JSON_CT = {"Content-Type": "application/json"}
FORM_CT = {"Content-Type": "application/x-www-form-urlencoded"}


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[httpx.Client]:
    with serving(tmp=tmp_path_factory.mktemp("partial")) as server, server.client() as c:
        yield c


def test_the_child_alone_is_open_with_its_questions(client: httpx.Client) -> None:
    response = client.post("/v1/decisions/qpr.placement/partial", headers=JSON_CT,
                           content=json.dumps({"child": {"age": 9, "gender": "male"}}))
    assert response.status_code == 200 and response.headers["X-Policy-Digest"]
    body = response.json()
    assert (body["status"], body["outcome"], body["format"]) == ("open", None, "qpr-rules/partial-decision/v1")
    assert {"home.hold", "placement.cleared_with_pco", "home.approval_status"} <= {
        q["path"] for q in body["questions"]}
    assert {e["outcome"] for e in body["examples"]} == {"allow", "deny"}


def test_a_permanent_hold_is_denied_determined(client: httpx.Client) -> None:
    known = {"placement": {"date": "2026-03-02"}, "home": {"hold": {"kind": "permanent", "placed_on": "2025-01-01"}}}
    body = client.post("/v1/decisions/qpr.placement/partial", headers=JSON_CT, content=json.dumps(known)).json()
    assert (body["status"], body["outcome"], body["proof"]) == ("determined", "deny", "proved")


def test_unreadable_or_impossible_known_facts_are_refused_with_422(client: httpx.Client) -> None:
    broken = client.post("/v1/decisions/qpr.placement/partial", headers=JSON_CT, content=b'{"child": ')
    assert broken.status_code == 422
    assert (broken.json()["outcome"], broken.json()["status"]) == ("deny", "determined")
    assert "line 1, column" in broken.json()["errors"][0]
    wrong = client.post("/v1/decisions/qpr.placement/partial", headers=JSON_CT,
                        content=json.dumps({"home": {"approval_status": "sleeping"}}))
    assert wrong.status_code == 422 and wrong.json()["outcome"] == "deny"
    unknown = client.post("/v1/decisions/qpr.placment/partial", headers=JSON_CT, content=b"{}")
    assert unknown.status_code == 404


def test_the_interview_page_asks_one_question_at_a_time(client: httpx.Client) -> None:
    first = client.get("/ui/decisions/qpr.placement/interview")
    assert first.status_code == 200
    assert 'id="status" class="open"' in first.text
    assert '<code id="question-path">home.approval_status</code>' in first.text
    hidden = dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)">', first.text))
    form = {k: html.unescape(v) for k, v in hidden.items()}
    answered = client.post("/ui/decisions/qpr.placement/interview", headers=FORM_CT,
                           content=str(httpx.QueryParams({**form, "answer": "revoked", "action": "answer"})))
    assert 'id="status" class="determined"' in answered.text and 'id="outcome" class="deny"' in answered.text
    assert "&quot;approval_status&quot;: &quot;revoked&quot;" in answered.text
    # a wrong answer is asked again, saying what fits
    again = client.post("/ui/decisions/qpr.placement/interview", headers=FORM_CT,
                        content=str(httpx.QueryParams({**form, "answer": "sleeping", "action": "answer"})))
    assert 'id="problem"' in again.text and "answer one of active" in again.text
    assert '<code id="question-path">home.approval_status</code>' in again.text
    # "not known": the next question
    skipped = client.post("/ui/decisions/qpr.placement/interview", headers=FORM_CT,
                          content=str(httpx.QueryParams({**form, "action": "skip"})))
    assert '<code id="question-path">placement.cleared_with_pco</code>' in skipped.text
