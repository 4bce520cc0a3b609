"""The decision service: the library's Engine over HTTP (docs/service.md).

Starlette, served by uvicorn. Not FastAPI: nothing here lets a framework parse or validate a
request body (FastAPI's own 422 replaced the library's fail-closed answer in the wrapper this
replaces); the body's bytes go to `Engine.decide` as they arrived, so HTTP gets exactly the
library's answers and refusals, and the OpenAPI document is built from the fact models directly.

Fail closed: every response on a decision's routes carries the decision's `outcome` (its
on_error outcome, `deny` for a placement, on anything that went wrong), either as the Decision
itself or inside a problem document (problems.py); `Guard` turns any unforeseen exception into
such a problem, never a framework error page or a traceback.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import re
import signal
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from qpr_rules.engine.decision import Decision
from qpr_rules.engine.engine import Engine
from qpr_rules.engine.explain import render_trace
from qpr_rules.errors import PolicyError, UnknownDecisionError
from qpr_rules.facts_input import document_errors, parse_json_facts
from qpr_rules.service import metrics, problems
from qpr_rules.service.auth import Tokens, load_tokens
from qpr_rules.service.body import Refused, TooSlow, body_lines, check_content_type, read_body
from qpr_rules.service.config import ServiceConfig
from qpr_rules.service.state import REQUEST_ID, PolicyState

log = logging.getLogger("qpr_rules.service")

JSON = "application/json"
NDJSON = ("application/x-ndjson", "application/jsonl", "application/json-seq")
_REQUEST_ID = re.compile(r"[A-Za-z0-9._:@-]{1,128}")
_DECISION_PATH = re.compile(r"^/(?:v1|ui)/decisions/([^/]+)")
#: The starts of the reasons the engine gives for facts it could not use: the client's to fix (422).
#: Any other error answer is the service's failure (500), still with the decision's refusal.
_CLIENT_ERRORS = ("the facts are invalid", "no version of the policy applies")


def http_status(decision: Decision) -> int:
    if decision.status != "error":
        return 200
    return 422 if decision.reason.startswith(_CLIENT_ERRORS) else 500


class Service:
    """What the routes share: the loaded policies, the settings, the tokens."""

    def __init__(self, config: ServiceConfig) -> None:
        self.config = config
        self.state = PolicyState(config)
        self.tokens: Tokens | None = load_tokens(config.tokens_file) if config.tokens_file else None
        metrics.policy_loaded(None, (self.engine.digest, self.engine.policies.revision))

    @property
    def engine(self) -> Engine:
        return self.state.engine

    def reload(self) -> tuple[str, str]:
        old_engine = self.engine
        try:
            old, new = self.state.reload()
        except PolicyError:
            metrics.RELOADS.labels("refused").inc()
            raise
        metrics.RELOADS.labels("ok").inc()
        metrics.policy_loaded((old, old_engine.policies.revision), (new, self.engine.policies.revision))
        return old, new

    def reload_on_signal(self) -> None:
        try:
            old, new = self.reload()
        except PolicyError as exc:
            log.error(
                "SIGHUP: the policies have %d problem(s); keeping %s in service:\n%s",
                len(exc.problems),
                self.engine.digest[:16],
                "\n".join(map(str, exc.problems)),
            )
        else:
            log.info("SIGHUP: policies reloaded: %s -> %s", old[:16], new[:16])


def _service(request: Request) -> Service:
    service: Service = request.app.state.service
    return service


def _caller(request: Request, service: Service, *, required: bool = False) -> str:
    """The name of the caller's token; Refused (401) without a valid one where one is needed."""
    if service.tokens is None:
        if required:
            raise Refused(
                401,
                "unauthorized",
                "this route needs a bearer token, and the service has none: start it with --tokens FILE",
                {"WWW-Authenticate": "Bearer"},
            )
        return "-"
    name = service.tokens.caller(request.headers.get("authorization"))
    if name is None:
        raise Refused(
            401,
            "unauthorized",
            "a valid `Authorization: Bearer TOKEN` header is needed",
            {"WWW-Authenticate": 'Bearer realm="qpr-rules"'},
        )
    request.scope["state"]["caller"] = name
    return name


def problem_response(
    request: Request,
    status: int,
    kind: str,
    detail: str,
    *,
    errors: list[str] | None = None,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> Response:
    """A problem document; on a decision's route, with that decision's refusal."""
    service: Service | None = getattr(request.app.state, "service", None)
    match = _DECISION_PATH.match(request.url.path)
    engine = service.engine if service is not None else None
    body = problems.problem(
        status,
        kind,
        detail,
        engine=engine,
        decision_id=match.group(1) if match else None,
        errors=errors,
        **extra,
    )
    metrics.ERRORS.labels(str(status)).inc()
    if "outcome" in body and "answer" in body:
        metrics.DECISIONS.labels(body["answer"]["decision"], body["outcome"], "error").inc()
    request.scope["state"]["outcome"] = body.get("outcome", "-")
    out = {"X-Policy-Digest": engine.digest} if engine is not None else {}
    return Response(
        problems.encode(body), status, headers={**out, **(headers or {})}, media_type=problems.PROBLEM_TYPE
    )


def _known(request: Request) -> tuple[Service, Engine, str]:
    """The service, the Engine in service (taken once: a reload mid-request does not change it)
    and the decision asked for; Refused (404, with did-you-mean) for an unknown decision."""
    service = _service(request)
    engine = service.engine
    decision_id = request.path_params["decision_id"]
    try:
        engine.spec(decision_id)
    except UnknownDecisionError as exc:
        raise Refused(404, "unknown-decision", str(exc)) from None
    return service, engine, decision_id


def _answer(request: Request, engine: Engine, decision: Decision, body: bytes | None = None) -> Response:
    metrics.DECISIONS.labels(decision.decision, decision.outcome, decision.status).inc()
    request.scope["state"]["outcome"] = decision.outcome
    return Response(
        body if body is not None else decision.to_json().encode("utf-8"),
        http_status(decision),
        media_type=JSON,
        headers={"X-Policy-Digest": decision.policy_digest},
    )


def _reference(request: Request) -> str | None:
    """The caller's case reference (`X-Reference`), written on the decision's log line; Refused
    (400) when it is not an id, so that no name or free text reaches the log."""
    from qpr_rules.engine.decision_log import check_reference

    given = request.headers.get("x-reference")
    try:
        return check_reference(given)
    except ValueError as exc:
        raise Refused(400, "bad-reference", f"X-Reference: {exc}") from None


async def decide(request: Request) -> Response:
    """POST /v1/decisions/{id}: the facts' bytes to Engine.decide; its Decision JSON back."""
    service, engine, decision_id = _known(request)
    _caller(request, service)
    check_content_type(request, (JSON,))
    reference = _reference(request)
    facts = await read_body(request, service.config.max_body_bytes, service.config.body_timeout)
    return _answer(request, engine, engine.decide(decision_id, facts, reference=reference))


async def explain(request: Request) -> Response:
    """POST /v1/decisions/{id}/explain: the Decision, and the readable trace as `explanation`."""
    service, engine, decision_id = _known(request)
    _caller(request, service)
    check_content_type(request, (JSON,))
    reference = _reference(request)
    facts = await read_body(request, service.config.max_body_bytes, service.config.body_timeout)
    decision = engine.decide(decision_id, facts, reference=reference)
    body = {**decision.to_dict(), "explanation": render_trace(engine, decision)}
    return _answer(
        request,
        engine,
        decision,
        json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode(),
    )


async def partial(request: Request) -> Response:
    """POST /v1/decisions/{id}/partial: the facts known so far (a field left out is unknown) to
    Engine.decide_partial; its answer back (determined, open with the questions, or unknown).
    Known facts no valid completion has get the decision's refusal, determined, with 422."""
    from qpr_rules.engine.partial import refuse_partial

    service, engine, decision_id = _known(request)
    _caller(request, service)
    check_content_type(request, (JSON,))
    raw = await read_body(request, service.config.max_body_bytes, service.config.body_timeout)
    try:
        known = parse_json_facts(raw)
    except PolicyError as exc:
        answer = refuse_partial(engine, decision_id, document_errors(exc))
    else:
        # the solver's work takes a lock and up to its time limit: off the event loop
        answer = await run_in_threadpool(engine.decide_partial, decision_id, known)
    request.scope["state"]["outcome"] = answer.outcome or answer.status
    body = json.dumps(answer.to_dict(), sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return Response(body.encode("utf-8"), 422 if answer.errors else 200, media_type=JSON,
                    headers={"X-Policy-Digest": engine.digest})


async def batch(request: Request) -> Response:
    """POST /v1/decisions/{id}/batch: NDJSON facts in, one Decision JSON line out per line, in
    order, streamed as the lines arrive; memory holds one line (at most the body limit)."""
    service, engine, decision_id = _known(request)
    _caller(request, service)
    check_content_type(request, NDJSON)
    limit, timeout = service.config.max_body_bytes, service.config.body_timeout
    request.scope["state"]["outcome"] = "batch"

    async def answers() -> AsyncIterator[bytes]:
        async for lines in body_lines(request, limit, timeout):
            out = []
            for line in lines:
                if isinstance(line, bytes):
                    decision = engine.decide(decision_id, line)
                else:  # too long, or the rest too slow: refused, like a line that is not JSON
                    decision = engine.refuse(decision_id, [line.detail])
                metrics.DECISIONS.labels(decision_id, decision.outcome, decision.status).inc()
                out.append(decision.to_json())
                if isinstance(line, TooSlow):
                    break
            yield ("\n".join(out) + "\n").encode("utf-8")
            await asyncio.sleep(0)  # let the answers go out before the next lines are decided

    return _Stream(answers(), media_type="application/x-ndjson", headers={"X-Policy-Digest": engine.digest})


class _Stream(StreamingResponse):
    """A streamed response that reads nothing while it sends: Starlette's own, under ASGI before
    2.4 (uvicorn's), listens for a disconnect by calling receive(), and so would swallow the very
    request body the batch is still reading. A client that goes away is seen by the body reader."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        with contextlib.suppress(OSError):
            await self.stream_response(send)


def _decision_info(engine: Engine, decision_id: str) -> dict[str, Any]:
    spec = engine.spec(decision_id).decision
    return {
        "id": decision_id,
        "title": spec.title,
        "placement": spec.placement,
        "outcomes": list(spec.outcomes),
        "default": spec.default,
        "on_error": spec.on_error,
        "facts": engine.fact_model(decision_id).__name__,
        "links": {
            "decide": f"/v1/decisions/{decision_id}",
            "explain": f"/v1/decisions/{decision_id}/explain",
            "batch": f"/v1/decisions/{decision_id}/batch",
            "schema": f"/v1/decisions/{decision_id}/schema",
        },
    }


async def list_decisions(request: Request) -> Response:
    service = _service(request)
    _caller(request, service)
    engine = service.engine
    return JSONResponse(
        {
            "policy_digest": engine.digest,
            "policy_revision": engine.policies.revision,
            "decisions": [_decision_info(engine, d) for d in engine.decision_ids],
        },
        headers={"X-Policy-Digest": engine.digest},
    )


async def schema(request: Request) -> Response:
    service, engine, decision_id = _known(request)
    _caller(request, service)
    return JSONResponse(
        engine.fact_model(decision_id).model_json_schema(),
        media_type="application/schema+json",
        headers={"X-Policy-Digest": engine.digest},
    )


async def reload(request: Request) -> Response:
    """POST /v1/admin/reload: always needs a token. A policy set with problems is refused (409,
    the problems listed) and the one in service kept. With several workers, the policies are
    checked here and then the supervisor is sent SIGHUP, which replaces each worker in turn."""
    service = _service(request)
    caller = _caller(request, service, required=True)
    if service.config.workers > 1:
        try:
            candidate = service.state.load()
        except PolicyError as exc:
            return _policy_problems(request, exc)
        log.info(
            "reload asked by %s: signalling the supervisor to replace %d workers",
            caller,
            service.config.workers,
        )
        os.kill(os.getppid(), signal.SIGHUP)
        return JSONResponse(
            {"reloaded": "rolling", "workers": service.config.workers, "policy_digest": candidate.digest}, 202
        )
    try:
        old, new = service.reload()
    except PolicyError as exc:
        return _policy_problems(request, exc)
    log.info("policies reloaded by %s: %s -> %s", caller, old[:16], new[:16])
    return JSONResponse(
        {"reloaded": True, "previous_digest": old, "policy_digest": new}, headers={"X-Policy-Digest": new}
    )


def _policy_problems(request: Request, exc: PolicyError) -> Response:
    return problem_response(
        request,
        409,
        "policy-problems",
        f"the policy files have {len(exc.problems)} problem(s); the policies in service are kept",
        problems=[p.to_json() for p in exc.problems],
    )


async def health(request: Request) -> Response:
    return JSONResponse({"status": "ok"})


async def ready(request: Request) -> Response:
    engine = _service(request).engine
    return JSONResponse(
        {
            "ready": True,
            "policy_digest": engine.digest,
            "policy_revision": engine.policies.revision,
            "decisions": len(engine.decision_ids),
        },
        headers={"X-Policy-Digest": engine.digest},
    )


async def metrics_route(request: Request) -> Response:
    body, content_type = metrics.exposition()
    return Response(body, media_type=content_type)


async def openapi(request: Request) -> Response:
    from qpr_rules.service.openapi import openapi_document

    service = _service(request)
    return JSONResponse(
        openapi_document(service.engine, tokens=service.tokens is not None),
        headers={"X-Policy-Digest": service.engine.digest},
    )


async def _http_exception(request: Request, exc: Exception) -> Response:
    """Starlette's own 404 and 405 as problems (with the refusal on a decision's routes)."""
    assert isinstance(exc, HTTPException)
    match = _DECISION_PATH.match(request.url.path)
    if match and match.group(1) not in _service(request).engine.decision_ids:
        unknown = UnknownDecisionError(match.group(1), _service(request).engine.decision_ids)
        return problem_response(request, 404, "unknown-decision", str(unknown))
    if exc.status_code == 404:
        detail = f"no route {request.method} {request.url.path}; see GET /openapi.json"
    elif exc.status_code == 405:
        detail = f"{request.method} is not allowed here; allowed: {(exc.headers or {}).get('Allow', '')}"
    else:
        detail = exc.detail
    return problem_response(
        request, exc.status_code, "http-" + str(exc.status_code), detail, headers=dict(exc.headers or {})
    )


async def _refused(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, Refused)
    return problem_response(request, exc.status, exc.kind, exc.detail, headers=exc.headers)


async def _internal(request: Request, exc: Exception) -> Response:
    """Any other exception: Starlette's ServerErrorMiddleware would send its plain-text page."""
    return _failure(request)


def _failure(request: Request) -> Response:
    request_id = request.scope["state"]["request_id"]
    return problem_response(
        request,
        500,
        "internal-error",
        f"the service failed while answering (request {request_id}); the failure is in its log",
    )


class Guard:
    """The outermost layer: gives each request its id (X-Request-ID, echoed when it is a plain
    token, else a new one), puts the id and the policy digest on every response, logs each
    request with its caller, and answers any exception the routes let out with a problem (a
    refusal on a decision's route) instead of a framework error page or a traceback."""

    def __init__(self, app: ASGIApp, service: Service) -> None:
        self.app = app
        self.service = service
        self.app_with_state: Starlette | None = None  # what problem_response reads the service from

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = dict(scope["headers"]).get(b"x-request-id", b"").decode("latin-1")
        request_id = given if _REQUEST_ID.fullmatch(given) else uuid.uuid4().hex
        scope.setdefault("state", {}).update(request_id=request_id, caller="-", outcome="-")
        token = REQUEST_ID.set(request_id)
        started = time.perf_counter()
        status = [0]

        async def send_with_ids(message: Message) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"x-request-id"]
                headers.append((b"x-request-id", request_id.encode()))
                if not any(k.lower() == b"x-policy-digest" for k, _ in headers):
                    headers.append((b"x-policy-digest", self.service.engine.digest.encode()))
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, send_with_ids)
        except Exception as exc:
            log.error("request %s %s %s failed: %r", request_id, scope["method"], scope["path"], exc)
            if status[0] == 0:  # nothing sent yet: a problem, with the refusal on a decision's route
                scope["app"] = self.app_with_state
                await _failure(Request(scope, receive))(scope, receive, send_with_ids)
        finally:
            REQUEST_ID.reset(token)
            route = _route_name(scope["path"])
            metrics.LATENCY.labels(route).observe(time.perf_counter() - started)
            state: MutableMapping[str, Any] = scope["state"]
            log.info(
                "%s caller=%s %s %s %d outcome=%s %.1fms",
                request_id,
                state["caller"],
                scope["method"],
                scope["path"],
                status[0],
                state["outcome"],
                (time.perf_counter() - started) * 1000,
            )


def _route_name(path: str) -> str:
    """The route's template (its decision id left out: a bounded set of metric labels)."""
    match = _DECISION_PATH.match(path)
    if match:
        return path[: match.start(1)] + "{id}" + path[match.end(1) :]
    return (
        path
        if path
        in ("/", "/health", "/ready", "/metrics", "/openapi.json", "/v1/decisions", "/v1/admin/reload")
        else "other"
    )


def _routes() -> list[Route]:
    from qpr_rules.service import interview_ui, ui

    return [
        Route("/health", health, methods=["GET"]),
        Route("/ready", ready, methods=["GET"]),
        Route("/metrics", metrics_route, methods=["GET"]),
        Route("/openapi.json", openapi, methods=["GET"]),
        Route("/v1/decisions", list_decisions, methods=["GET"]),
        Route("/v1/decisions/{decision_id}", decide, methods=["POST"]),
        Route("/v1/decisions/{decision_id}/explain", explain, methods=["POST"]),
        Route("/v1/decisions/{decision_id}/batch", batch, methods=["POST"]),
        Route("/v1/decisions/{decision_id}/partial", partial, methods=["POST"]),
        Route("/v1/decisions/{decision_id}/schema", schema, methods=["GET"]),
        Route("/v1/admin/reload", reload, methods=["POST"]),
        Route("/", ui.index, methods=["GET"]),
        Route("/ui/decisions/{decision_id}", ui.form, methods=["GET", "POST"]),
        Route("/ui/decisions/{decision_id}/interview", interview_ui.page, methods=["GET", "POST"]),
    ]


def create_app(config: ServiceConfig | None = None) -> ASGIApp:
    """The service's ASGI application. Loads the policies now (PolicyError lists the problems)."""
    config = config or ServiceConfig()
    if not log.handlers and not logging.getLogger().handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        log.addHandler(handler)
        log.setLevel(logging.INFO)
    service = Service(config)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        loop = asyncio.get_running_loop()
        if config.workers <= 1:  # with several, the supervisor takes SIGHUP (a rolling restart)
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                loop.add_signal_handler(signal.SIGHUP, service.reload_on_signal)
        log.info(
            "serving %d decisions, policy digest %s",
            len(service.engine.decision_ids),
            service.engine.digest[:16],
        )
        yield
        metrics.worker_exit()

    handlers: dict[Any, Callable[[Request, Exception], Awaitable[Response]]] = {
        HTTPException: _http_exception,
        Exception: _internal,
        Refused: _refused,
    }
    app = Starlette(routes=_routes(), exception_handlers=handlers, lifespan=lifespan)
    app.state.service = service
    inner: ASGIApp = app
    if config.cors_origins:
        from starlette.middleware.cors import CORSMiddleware

        inner = CORSMiddleware(
            app,
            allow_origins=list(config.cors_origins),
            allow_methods=["GET", "POST"],
            allow_headers=["Authorization", "Content-Type", "X-Request-ID"],
            expose_headers=["X-Request-ID", "X-Policy-Digest"],
        )
    guard = Guard(inner, service)
    guard.app_with_state = app
    return guard


def app_from_env() -> ASGIApp:
    """uvicorn's factory (`--factory`): the settings `qpr-rules serve` put in the environment."""
    return create_app(ServiceConfig.from_env())
