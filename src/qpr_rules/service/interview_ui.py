"""The interview page: /ui/decisions/{id}/interview asks, one at a time, only the questions that
can change the answer, in the order that settles it soonest (Engine.decide_partial), until the
answer is determined (docs/interview.md). The same interview as `qpr-rules interview`.

Plain HTML forms, no script, no server-side session: the facts gathered so far, the questions
skipped and the question asked travel in hidden fields of the form, and each answer is read with
the same words as on the command line (engine/partial_result.py parse_answer).
"""

from __future__ import annotations

import json
from html import escape
from typing import Any
from urllib.parse import parse_qsl

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from qpr_rules.engine.partial_result import BadAnswer, PartialDecision, Question, parse_answer, with_answer

FORM = "application/x-www-form-urlencoded"


async def page(request: Request) -> Response:
    """GET: the first question (no facts known). POST: the answer to the question asked, or
    "not known", and the next question, or the determined answer."""
    from qpr_rules.service.app import _caller, _known
    from qpr_rules.service.body import check_content_type, read_body
    from qpr_rules.service.ui import _page

    service, engine, decision_id = _known(request)
    _caller(request, service)
    known: dict[str, Any] = {}
    skipped: list[str] = []
    problem = ""
    if request.method == "POST":
        check_content_type(request, (FORM,))
        raw = await read_body(request, service.config.max_body_bytes, service.config.body_timeout)
        given = dict(parse_qsl(raw.decode("utf-8", "replace"), keep_blank_values=True))
        known, skipped = _state(given)
        asked = _asked(given)
        if asked is not None and given.get("action") == "skip":
            skipped.append(asked.path)
        elif asked is not None:
            try:
                known = with_answer(known, asked.path, parse_answer(asked, given.get("answer", "")))
            except BadAnswer as exc:
                problem = str(exc)
    answer = await run_in_threadpool(engine.decide_partial, decision_id, known)
    request.scope["state"]["outcome"] = answer.outcome or answer.status
    spec = engine.spec(decision_id).decision
    body = (
        f'<p><a href="/">all decisions</a> · '
        f'<a href="/ui/decisions/{escape(decision_id)}">the whole form</a></p>'
        f"<h1>Interview: {escape(spec.title)}</h1><p><code>{escape(decision_id)}</code> — "
        "only the questions that can change the answer are asked, the one that settles it soonest "
        "first</p>" + _state_html(answer, known, skipped, decision_id, problem)
    )
    return _page(f"{decision_id} interview — qpr-rules", body)


def _state(given: dict[str, str]) -> tuple[dict[str, Any], list[str]]:
    try:
        known = json.loads(given.get("known") or "{}")
        skipped = json.loads(given.get("skipped") or "[]")
    except ValueError:
        return {}, []
    known = known if isinstance(known, dict) else {}
    skipped = [s for s in skipped if isinstance(s, str)] if isinstance(skipped, list) else []
    return known, skipped


def _asked(given: dict[str, str]) -> Question | None:
    try:
        asked = json.loads(given.get("question") or "null")
    except ValueError:
        return None
    if not isinstance(asked, dict) or not isinstance(asked.get("path"), str):
        return None
    kind = asked.get("kind")
    if kind not in ("bool", "int", "number", "string", "enum", "date", "list", "object"):
        return None
    choices = tuple(str(c) for c in asked.get("choices", ()) if isinstance(c, str))
    return Question(asked["path"], "", kind, bool(asked.get("nullable")), choices)


def _state_html(answer: PartialDecision, known: dict[str, Any], skipped: list[str], decision_id: str,
                problem: str) -> str:
    status = escape(answer.status)
    parts = [f'<section id="state"><h2>Answer: <span id="status" class="{status}">{status}</span>']
    if answer.outcome is not None:
        outcome = escape(answer.outcome)
        parts.append(f' <span id="outcome" class="{outcome}">{outcome}</span>')
    parts.append(f'</h2><p id="reason">{escape(answer.reason)}</p>')
    if answer.errors:
        parts.append('<ul id="errors">' + "".join(f"<li>{escape(e)}</li>" for e in answer.errors) + "</ul>")
    if answer.duties:
        parts.append('<h3>Duties</h3><ul id="duties">' + "".join(
            f"<li><b>{escape(d.obligation.role)}</b>: {escape(d.obligation.do)} "
            f"<small>({'certain' if d.certain else 'depends on facts not known'})</small></li>"
            for d in answer.duties) + "</ul>")
    if answer.status == "determined" and answer.bounds:
        parts.append('<h3>What the proof covers</h3><ul id="bounds">'
                     + "".join(f"<li>{escape(b)}</li>" for b in answer.bounds) + "</ul>")
    question = next((q for q in answer.questions if q.path not in skipped), None)
    state = (f'<input type="hidden" name="known" value="{escape(json.dumps(known))}">'
             f'<input type="hidden" name="skipped" value="{escape(json.dumps(skipped))}">')
    if answer.status == "open" and question is None:
        parts.append('<p id="no-more">Every question left was answered "not known": the answer stays '
                     "open.</p>")
    elif answer.status == "open" and question is not None:
        asked = {"path": question.path, "kind": question.kind, "nullable": question.nullable,
                 "choices": list(question.choices)}
        settles = "; ".join(f"{_shown(s.answer, question.kind)} settles it: {s.outcome}"
                            for s in question.settles)
        settles_html = f' <small id="settles">({escape(settles)})</small>' if settles else ""
        problem_html = f'<p id="problem" class="error">{escape(problem)}</p>' if problem else ""
        parts.append(
            f'<form method="post" id="question" action="/ui/decisions/{escape(decision_id)}/interview">'
            f'<p><label for="answer" id="question-text">{escape(question.text)}</label> '
            f'<small><code id="question-path">{escape(question.path)}</code></small></p>'
            f"{_control(question)}"
            f"{settles_html}{problem_html}"
            f'<input type="hidden" name="question" value="{escape(json.dumps(asked))}">{state}'
            '<p><button type="submit" id="submit-answer" name="action" value="answer">Answer</button> '
            '<button type="submit" id="skip" name="action" value="skip">Not known</button></p></form>')
    parts.append('<h3>Facts gathered</h3><pre id="known">'
                 f"{escape(json.dumps(known, indent=2, ensure_ascii=False))}</pre></section>")
    return "".join(parts)


def _shown(value: Any, kind: str) -> str:
    if value is None:
        return "no" if kind == "object" else "none"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if value == {}:
        return "yes"
    return str(value)


def _control(question: Question) -> str:
    attrs = 'name="answer" id="answer"'

    def select(options: list[tuple[str, str]]) -> str:
        return (f'<select {attrs}><option value=""></option>'
                + "".join(f'<option value="{escape(v)}">{escape(t)}</option>' for v, t in options)
                + "</select>")

    none = [("none", "none (not there)")] if question.nullable else []
    match question.kind:
        case "enum":
            return select([(c, c) for c in question.choices] + none)
        case "bool":
            return select([("yes", "yes"), ("no", "no"), *none])
        case "object":
            return select([("yes", "yes"), *([("no", "no")] if question.nullable else [])])
        case "date":
            return f'<input type="date" {attrs}>'
        case "int":
            return f'<input type="number" step="1" {attrs}>'
        case "list" if question.choices:
            return (f'<input type="text" {attrs}> <small>the items, separated by commas, from: '
                    f"{escape(', '.join(question.choices))}</small>")
        case "list":
            return f'<input type="number" min="0" step="1" {attrs}> <small>how many</small>'
        case _:
            return f'<input type="text" {attrs}>'
