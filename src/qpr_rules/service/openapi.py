"""The OpenAPI 3.1 document of the service, built from the loaded fact models and the Decision
dataclass (JSON Schema 2020-12 both, as OpenAPI 3.1 takes it), with one path per decision so each
decision's facts have their own schema. tests/test_service_openapi.py validates it with
openapi-spec-validator and drives a real server from it with schemathesis."""

from __future__ import annotations

from typing import Any

from pydantic import TypeAdapter
from pydantic.json_schema import models_json_schema

from qpr_rules.engine.decision import Decision
from qpr_rules.engine.engine import Engine
from qpr_rules.engine.partial_result import PartialDecision

REF = "#/components/schemas/{model}"
JSON = "application/json"
PROBLEM = "application/problem+json"
NDJSON = "application/x-ndjson"

_PROBLEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "RFC 9457 problem details. On a decision's routes it also carries the decision's "
    "refusal: `outcome` (deny for a placement), `reason` and the whole refusal as `answer`.",
    "required": ["type", "title", "status", "detail"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "outcome": {"type": "string"},
        "reason": {"type": "string"},
        "answer": {"$ref": "#/components/schemas/Decision"},
        "policy_digest": {"type": "string"},
        "problems": {"type": "array", "items": {"type": "object"}},
    },
}

_HEADERS = {
    "X-Request-ID": {
        "description": "The request's id: the one sent, when it is 1-128 of A-Z a-z 0-9 . _ : @ -, "
        "else a new one. The decision log records it.",
        "schema": {"type": "string"},
    },
    "X-Policy-Digest": {
        "description": "SHA-256 of the policy set that answered",
        "schema": {"type": "string"},
    },
}
_REQUEST_ID_PARAM = {
    "name": "X-Request-ID",
    "in": "header",
    "required": False,
    "description": "Echoed when it is 1-128 of A-Z a-z 0-9 . _ : @ -; any other value is replaced "
    "by a new id "
    "(never refused: a request is answered whatever its id)",
    "schema": {"type": "string"},
}
_REFERENCE_PARAM = {
    "name": "X-Reference",
    "in": "header",
    "required": False,
    "description": "The caller's case or request id, written on the answer's decision-log line so "
    "that the line can be tied to a case: letters, digits and -_.:/#, starting with a letter or "
    "digit, at most 128 characters (400 otherwise: never a name or free text)",
    "schema": {"type": "string", "pattern": "^[A-Za-z0-9][A-Za-z0-9_.:/#-]{0,127}$"},
}


def _headers() -> dict[str, Any]:
    return {name: {"$ref": f"#/components/headers/{name}"} for name in _HEADERS}


def _content(schema: dict[str, Any], media: str = JSON) -> dict[str, Any]:
    return {media: {"schema": schema}}


def _problem(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "headers": _headers(),
        "content": _content({"$ref": "#/components/schemas/Problem"}, PROBLEM),
    }


def _problems(*statuses: int) -> dict[str, Any]:
    words = {
        400: "The client went away before its body arrived",
        401: "No valid bearer token (only when the service has tokens)",
        404: "Unknown decision (with did-you-mean) or route",
        405: "Method not allowed",
        408: "The body did not arrive in time",
        409: "The policy files have problems; the policies in service are kept",
        413: "The body is over the stated limit",
        415: "Wrong Content-Type",
        500: "The service failed",
    }
    return {str(s): _problem(words[s]) for s in statuses}


def _decision_paths(engine: Engine, decision_id: str, facts_ref: dict[str, Any]) -> dict[str, Any]:
    spec = engine.spec(decision_id).decision
    title = spec.title
    decision_ref = {"$ref": "#/components/schemas/Decision"}
    refusals = _problems(400, 401, 404, 405, 408, 413, 415)
    failed = {
        "500": {
            "description": "The engine or the service failed: the decision's refusal, as a Decision "
            "or inside a problem",
            "headers": _headers(),
            "content": {
                **_content(decision_ref),
                **_content({"$ref": "#/components/schemas/Problem"}, PROBLEM),
            },
        }
    }
    tag = [spec.id.split(".")[0]]
    safe = decision_id.replace(".", "_").replace("-", "_")
    note = " A placement question: every answer on an error is `deny`." if spec.placement else ""
    body = {"required": True, "content": _content(facts_ref)}
    return {
        f"/v1/decisions/{decision_id}": {
            "post": {
                "operationId": f"decide_{safe}",
                "tags": tag,
                "summary": f"Decide: {title}",
                "description": "Facts in, the Decision out (`Engine.decide(...).to_json()`, byte for byte)."
                + note,
                "parameters": [_REQUEST_ID_PARAM, _REFERENCE_PARAM],
                "requestBody": body,
                "responses": {
                    "200": {
                        "description": "Decided",
                        "headers": _headers(),
                        "content": _content(decision_ref),
                    },
                    "422": {
                        "description": "Invalid facts: the decision's error answer",
                        "headers": _headers(),
                        "content": _content(decision_ref),
                    },
                    **refusals,
                    **failed,
                },
            }
        },
        f"/v1/decisions/{decision_id}/explain": {
            "post": {
                "operationId": f"explain_{safe}",
                "tags": tag,
                "summary": f"Decide and explain: {title}",
                "parameters": [_REQUEST_ID_PARAM, _REFERENCE_PARAM],
                "requestBody": body,
                "responses": {
                    s: {
                        "description": d,
                        "headers": _headers(),
                        "content": _content({"$ref": "#/components/schemas/Explanation"}),
                    }
                    for s, d in (("200", "Decided, with the trace"), ("422", "Invalid facts"))
                }
                | refusals
                | failed,
            }
        },
        f"/v1/decisions/{decision_id}/batch": {
            "post": {
                "operationId": f"batch_{safe}",
                "tags": tag,
                "summary": f"Decide many: {title}",
                "description": "NDJSON in (one facts object a line), NDJSON out (one Decision a line, "
                "in order, streamed). A bad line gets the decision's error answer and the batch goes on.",
                "parameters": [_REQUEST_ID_PARAM],
                "requestBody": {"required": True, "content": _content({"type": "string"}, NDJSON)},
                "responses": {
                    "200": {
                        "description": "One Decision JSON a line",
                        "headers": _headers(),
                        "content": _content({"type": "string"}, NDJSON),
                    }
                }
                | refusals
                | failed,
            }
        },
        f"/v1/decisions/{decision_id}/partial": {
            "post": {
                "operationId": f"partial_{safe}",
                "tags": tag,
                "summary": f"Decide on partial facts: {title}",
                "description": "The facts known so far (a field left out is unknown; null keeps its "
                "meaning) to `Engine.decide_partial`: `determined` (the outcome every valid completion "
                "gets, proved), `open` (the outcomes still possible, an example completion of each, "
                "the questions that can change the answer, ranked) or `unknown` (the solver ran out "
                "of time; never a guess). docs/interview.md." + note,
                "parameters": [_REQUEST_ID_PARAM],
                "requestBody": {"required": True, "content": _content({
                    "type": "object", "description": "The facts known so far: any part of the "
                    "decision's facts"})},
                "responses": {
                    "200": {
                        "description": "Determined, open or unknown",
                        "headers": _headers(),
                        "content": _content({"$ref": "#/components/schemas/PartialDecision"}),
                    },
                    "422": {
                        "description": "Known facts no valid completion has: the decision's refusal, "
                        "determined, with the errors",
                        "headers": _headers(),
                        "content": _content({"$ref": "#/components/schemas/PartialDecision"}),
                    },
                    **refusals,
                    **failed,
                },
            }
        },
        f"/v1/decisions/{decision_id}/schema": {
            "get": {
                "operationId": f"schema_{safe}",
                "tags": tag,
                "summary": f"The facts schema of {decision_id}",
                "responses": {
                    "200": {
                        "description": "JSON Schema of the facts",
                        "headers": _headers(),
                        "content": _content({"type": "object"}, "application/schema+json"),
                    },
                    **_problems(401, 404),
                },
            }
        },
    }


def openapi_document(engine: Engine, tokens: bool = False) -> dict[str, Any]:
    models = {engine.fact_model(d) for d in engine.decision_ids}
    ordered = sorted(models, key=lambda m: m.__name__)
    refs, top = models_json_schema([(m, "validation") for m in ordered], ref_template=REF)
    schemas: dict[str, Any] = dict(top.get("$defs", {}))
    decision_schema = TypeAdapter(Decision).json_schema(mode="serialization", ref_template=REF)
    for name, definition in decision_schema.pop("$defs", {}).items():
        if name in schemas and schemas[name] != definition:
            raise ValueError(f"OpenAPI: two schemas named {name!r} (a fact type and a part of Decision)")
        schemas[name] = definition
    schemas["Decision"] = decision_schema
    partial_schema = TypeAdapter(PartialDecision).json_schema(mode="serialization", ref_template=REF)
    for name, definition in partial_schema.pop("$defs", {}).items():
        if name in schemas and schemas[name] != definition:
            raise ValueError(f"OpenAPI: two schemas named {name!r} (a fact type and a part of "
                             "PartialDecision)")
        schemas[name] = definition
    schemas["PartialDecision"] = partial_schema
    schemas["Problem"] = _PROBLEM_SCHEMA
    schemas["Explanation"] = {
        "allOf": [
            {"$ref": "#/components/schemas/Decision"},
            {
                "type": "object",
                "required": ["explanation"],
                "properties": {"explanation": {"type": "string"}},
            },
        ]
    }
    paths: dict[str, Any] = {
        "/v1/decisions": {
            "get": {
                "operationId": "list_decisions",
                "summary": "The loaded decisions",
                "responses": {
                    "200": {
                        "description": "Decisions",
                        "headers": _headers(),
                        "content": _content({"type": "object"}),
                    },
                    **_problems(401),
                },
            }
        },
        "/health": {
            "get": {
                "operationId": "health",
                "summary": "The process is up",
                "security": [],
                "responses": {"200": {"description": "Up", "content": _content({"type": "object"})}},
            }
        },
        "/ready": {
            "get": {
                "operationId": "ready",
                "summary": "Policies loaded, with their digest",
                "security": [],
                "responses": {"200": {"description": "Ready", "content": _content({"type": "object"})}},
            }
        },
        "/v1/admin/reload": {
            "post": {
                "operationId": "reload",
                "summary": "Load the policy files again; swap them in atomically",
                "description": "Always needs a bearer token.",
                "responses": {
                    "200": {"description": "Reloaded", "content": _content({"type": "object"})},
                    "202": {
                        "description": "Several workers: being replaced one by one",
                        "content": _content({"type": "object"}),
                    },
                    **_problems(401, 409),
                },
            }
        },
    }
    for decision_id in engine.decision_ids:
        paths.update(
            _decision_paths(engine, decision_id, refs[(engine.fact_model(decision_id), "validation")])
        )
    doc: dict[str, Any] = {
        "openapi": "3.1.0",
        "info": {
            "title": "qpr-rules decision service",
            "version": "v1",
            "description": f"Policy digest {engine.digest} ({engine.policies.revision}). "
            "See docs/service.md.",
        },
        "paths": paths,
        "components": {"schemas": schemas, "headers": _HEADERS},
    }
    if tokens:
        doc["components"]["securitySchemes"] = {"bearer": {"type": "http", "scheme": "bearer"}}
        doc["security"] = [{"bearer": []}]
    return doc
