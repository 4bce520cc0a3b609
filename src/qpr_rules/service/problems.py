"""Problem details (RFC 9457, `application/problem+json`) for everything that is not an answer
from the engine: too large, wrong content type, too slow, unauthenticated, unknown, internal.

On a decision's routes a problem also carries the decision's error answer: `outcome` (the
decision's on_error outcome, `deny` for every placement question), `reason`, and the whole
refusal Decision as `answer` (with its error duties), so a client that reads only `outcome`
never reads an allow on an error.
"""

from __future__ import annotations

import json
from http import HTTPStatus
from typing import Any

from qpr_rules.engine.engine import Engine
from qpr_rules.errors import UnknownDecisionError

PROBLEM_TYPE = "application/problem+json"
#: The `type` URIs of the problems: relative references into docs/service.md's status table.
TYPE_BASE = "https://qpr-rules.invalid/problems/"

#: The outcome a problem carries when the decision asked for is unknown: no decision's on_error
#: applies, and refusing is the only safe word for a client that reads only `outcome`.
UNKNOWN_OUTCOME = "deny"


def problem(
    status: int,
    kind: str,
    detail: str,
    *,
    engine: Engine | None = None,
    decision_id: str | None = None,
    errors: list[str] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """A problem document. With a known decision_id, it carries that decision's refusal."""
    body: dict[str, Any] = {
        "type": TYPE_BASE + kind,
        "title": HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
    }
    body.update(extra)
    if engine is not None:
        body["policy_digest"] = engine.digest
    if engine is not None and decision_id is not None:
        try:
            refusal = engine.refuse(decision_id, errors or [detail],
                                    what=f"the request was refused ({HTTPStatus(status).phrase})")
        except UnknownDecisionError:
            body["outcome"] = UNKNOWN_OUTCOME
            body["reason"] = f"failing closed with {UNKNOWN_OUTCOME!r}: {detail}"
        else:
            body["outcome"] = refusal.outcome
            body["reason"] = refusal.reason
            body["answer"] = refusal.to_dict()
    return body


def encode(body: dict[str, Any]) -> bytes:
    return json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
