"""Pages to try decisions: GET / lists them; /ui/decisions/{id} is a form generated from the
decision's facts JSON schema (no form is written by hand for any decision), answered with the
outcome, the reason, the duties and the quoted source sentences.

Plain HTML forms, no script: a submitted form is turned back into facts by walking the same
schema (empty fields are left out, a required object left empty is `null` when the schema allows
it), and the facts go to Engine.decide as JSON text, as at every other door.
"""

from __future__ import annotations

import json
from html import escape
from typing import Any
from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from qpr_rules.engine.decision import Decision
from qpr_rules.engine.engine import Engine

FORM = "application/x-www-form-urlencoded"
_STYLE = """
body{font:15px/1.45 system-ui,sans-serif;max-width:60rem;margin:1.5rem auto;padding:0 1rem;color:#1b1b1b}
fieldset{border:1px solid #bbb;margin:.6rem 0;padding:.4rem .8rem}legend{font-weight:600}
label{display:block;margin:.35rem 0}label span{display:inline-block;min-width:14rem}
small{color:#555}textarea{width:100%;font-family:monospace}
.deny,.error{color:#a00}.allow{color:#060}
blockquote{border-left:4px solid #ccc;margin:.4rem 0;padding:.2rem .8rem}
table{border-collapse:collapse}td,th{border-bottom:1px solid #ddd;padding:.3rem .6rem;text-align:left}
"""


def _page(title: str, body: str) -> HTMLResponse:
    return HTMLResponse(
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{escape(title)}</title>'
        f"<style>{_STYLE}</style></head><body>{body}</body></html>"
    )


async def index(request: Request) -> Response:
    """GET /: the loaded decisions, each linked to its form."""
    from qpr_rules.service.app import _caller, _service

    service = _service(request)
    _caller(request, service)
    engine = service.engine
    rows = "".join(
        f'<tr><td><a href="/ui/decisions/{escape(d)}">{escape(d)}</a></td>'
        f"<td>{escape(engine.spec(d).decision.title)}</td>"
        f'<td><a href="/ui/decisions/{escape(d)}/interview">interview</a></td>'
        f"<td>{'placement' if engine.spec(d).decision.placement else ''}</td></tr>"
        for d in engine.decision_ids
    )
    return _page(
        "qpr-rules decisions",
        "<h1>Decisions</h1><p>Pick one to try it with facts of your own. The API: "
        '<a href="/openapi.json">/openapi.json</a>.</p>'
        f'<table id="decisions"><tr><th>decision</th><th>question</th><th></th><th></th></tr>{rows}</table>'
        f"<p><small>policy digest {escape(engine.digest)}</small></p>",
    )


# --- the schema, walked -----------------------------------------------------------------------


def _resolve(node: dict[str, Any], defs: dict[str, Any]) -> tuple[dict[str, Any], bool]:
    """The node behind $ref, and whether null is allowed (`anyOf: [X, null]`)."""
    nullable = False
    if "anyOf" in node:
        options = [o for o in node["anyOf"] if o.get("type") != "null"]
        nullable = len(options) < len(node["anyOf"])
        if len(options) == 1:
            node = {**node, **options[0]}
            node.pop("anyOf", None)
    while "$ref" in node:
        target = defs[node["$ref"].rsplit("/", 1)[1]]
        node = {**target, **{k: v for k, v in node.items() if k != "$ref"}}
    return node, nullable


def _kind(node: dict[str, Any]) -> str:
    if "anyOf" in node:
        return "json"
    if "enum" in node:
        return "enum"
    if node.get("type") == "object" and "properties" in node:
        return "object"
    if node.get("type") == "string" and node.get("format") == "date":
        return "date"
    return {"boolean": "bool", "integer": "int", "number": "number", "string": "text"}.get(
        node.get("type", ""), "json"
    )


def _field(
    name: str, path: str, node: dict[str, Any], defs: dict[str, Any], required: bool, given: dict[str, str]
) -> str:
    node, nullable = _resolve(node, defs)
    kind = _kind(node)
    title = escape(node.get("title") or name)
    note = escape(node.get("description", ""))
    if kind == "object":
        required_here = set(node.get("required", []))
        inner = "".join(
            _field(k, f"{path}.{k}" if path else k, v, defs, k in required_here, given)
            for k, v in node["properties"].items()
        )
        optional = " <small>(leave empty for none)</small>" if nullable or not required else ""
        return (
            f'<fieldset data-path="{escape(path)}"><legend>{title}{optional}</legend>'
            f"{f'<small>{note}</small>' if note else ''}{inner}</fieldset>"
        )
    value = given.get(path, "")
    attrs = f'name="{escape(path)}" id="{escape(path)}"'
    if kind == "enum":
        options = "".join(
            f'<option value="{escape(str(o))}"{" selected" if str(o) == value else ""}>'
            f"{escape(str(o))}</option>"
            for o in node["enum"]
        )
        control = f'<select {attrs}><option value=""></option>{options}</select>'
    elif kind == "bool":
        options = "".join(
            f'<option value="{o}"{" selected" if o == value else ""}>{o}</option>' for o in ("true", "false")
        )
        control = f'<select {attrs}><option value=""></option>{options}</select>'
    elif kind in ("int", "number"):
        bounds = "".join(
            f' {attr}="{node[key]}"' for attr, key in (("min", "minimum"), ("max", "maximum")) if key in node
        )
        step = "1" if kind == "int" else "any"
        control = f'<input type="number" step="{step}"{bounds} {attrs} value="{escape(value)}">'
    elif kind == "date":
        control = f'<input type="date" {attrs} value="{escape(value)}">'
    elif kind == "text":
        control = f'<input type="text" {attrs} value="{escape(value)}">'
    else:  # lists and anything else: JSON
        shown = value or ("[]" if node.get("type") == "array" and required else "")
        control = f'<textarea rows="2" {attrs} data-json="1">{escape(shown)}</textarea>'
        note = (note + " " if note else "") + "(JSON)"
    star = " *" if required else ""
    return f"<label><span>{title}{star}</span> {control}{f' <small>{note}</small>' if note else ''}</label>"


def _typed(text: str, kind: str) -> Any:
    """A field's text as its JSON type; text that is not of the type is kept as text, so the
    engine names it (the form never silently drops or fixes a value)."""
    try:
        if kind == "int":
            return int(text)
        if kind == "number":
            return float(text)
        if kind == "bool":
            return {"true": True, "false": False}.get(text, text)
        if kind == "json":
            return json.loads(text)
    except ValueError:
        return text
    return text


_ABSENT = object()


def _facts(
    node: dict[str, Any], defs: dict[str, Any], path: str, form: dict[str, str], required: bool
) -> Any:
    node, nullable = _resolve(node, defs)
    kind = _kind(node)
    if kind == "object":
        required_here = set(node.get("required", []))
        out = {}
        for key, child in node["properties"].items():
            value = _facts(child, defs, f"{path}.{key}" if path else key, form, key in required_here)
            if value is not _ABSENT:
                out[key] = value
        if out or (required and not nullable) or not path:
            return out
        return None if required else _ABSENT
    text = form.get(path, "").strip()
    if not text:
        return None if required and nullable else _ABSENT
    return _typed(text, kind)


def facts_from_form(schema: dict[str, Any], form: dict[str, str]) -> Any:
    return _facts(schema, schema.get("$defs", {}), "", form, True)


# --- the answer ------------------------------------------------------------------------------


def _answer(decision: Decision) -> str:
    outcome = escape(decision.outcome)
    parts = [
        f'<section id="answer"><h2>Answer: <span id="outcome" class="{outcome}">{outcome}</span> '
        f'<small id="status">({escape(decision.status)})</small></h2>',
        f'<p id="reason">{escape(decision.reason)}</p>',
    ]
    if decision.errors:
        parts.append(
            '<h3>Problems</h3><ul id="errors">'
            + "".join(f"<li>{escape(e)}</li>" for e in decision.errors)
            + "</ul>"
        )
    if decision.obligations:
        parts.append(
            '<h3>Duties</h3><ul id="duties">'
            + "".join(
                f"<li><b>{escape(o.role)}</b>: {escape(o.do)}"
                f"{f' <small>[{escape(o.clause.clause)}]</small>' if o.clause else ''}</li>"
                for o in decision.obligations
            )
            + "</ul>"
        )
    if decision.consequences:
        parts.append(
            '<h3>Consequences</h3><ul id="consequences">'
            + "".join(f"<li>{escape(c.text)}</li>" for c in decision.consequences)
            + "</ul>"
        )
    quotes = [(r, c) for r in decision.fired for c in r.citations]
    if quotes:
        parts.append(
            '<h3>The policy says</h3><div id="sources">'
            + "".join(
                f'<blockquote class="source">{escape(c.text)}<br>'
                f"<small>{escape(c.document)} § {escape(c.section)} [{escape(c.clause)}] — "
                f"{escape(r.id)}</small></blockquote>"
                for r, c in quotes
            )
            + "</div>"
        )
    parts.append(f"<p><small>policy digest {escape(decision.policy_digest)}</small></p></section>")
    return "".join(parts)


async def form(request: Request) -> Response:
    """GET: the form. POST (a submitted form): the answer above the form, filled as submitted."""
    from qpr_rules.service.app import _caller, _known
    from qpr_rules.service.body import check_content_type, read_body

    service, engine, decision_id = _known(request)
    _caller(request, service)
    schema = engine.fact_model(decision_id).model_json_schema()
    given: dict[str, str] = {}
    answer = ""
    if request.method == "POST":
        check_content_type(request, (FORM,))
        raw = await read_body(request, service.config.max_body_bytes, service.config.body_timeout)
        given = dict(parse_qsl(raw.decode("utf-8", "replace"), keep_blank_values=True))
        decision = _decide(engine, decision_id, schema, given)
        request.scope["state"]["outcome"] = decision.outcome
        answer = _answer(decision)
    spec = engine.spec(decision_id).decision
    fields = _field("facts", "", schema, schema.get("$defs", {}), True, given)
    body = (
        f'<p><a href="/">all decisions</a></p><h1>{escape(spec.title)}</h1>'
        f"<p><code>{escape(decision_id)}</code> · "
        f'<a href="/ui/decisions/{escape(decision_id)}/interview">interview: only the questions that '
        "can change the answer</a>"
        f"{' — a placement question: on any error the answer is deny' if spec.placement else ''}</p>"
        f"{answer}"
        f'<form method="post" id="facts" action="/ui/decisions/{escape(decision_id)}">{fields}'
        '<p><button type="submit" id="decide">Decide</button></p></form>'
    )
    return _page(f"{decision_id} — qpr-rules", body)


def _decide(engine: Engine, decision_id: str, schema: dict[str, Any], given: dict[str, str]) -> Decision:
    return engine.decide(decision_id, json.dumps(facts_from_form(schema, given)))
