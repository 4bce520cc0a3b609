"""Turn validated facts into the message durable_rules receives, and guard its limits."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from typing import Any

from qpr_rules._truncate import truncate
from qpr_rules.engine.durable_compiler import MARKER, encode_scalar, len_key
from qpr_rules.errors import EngineError
from qpr_rules.policy.limits import (
    DURABLE_MAX_INT,
    DURABLE_MAX_MESSAGE_BYTES,
    DURABLE_MAX_PROPERTIES,
    DURABLE_MAX_STRING_BYTES,
    MAX_FACT_DATE,
    MIN_FACT_DATE,
    facts_limit_problems,
    value_problem,
)

# durable_rules fails (error 302) on a message of 255 properties or more (measured: 254 pass,
# 255 fail; the notes' "more than 255" is off by one); nested object fields count, list items
# do not. Checked before posting, never discovered after.
MAX_PROPERTIES = DURABLE_MAX_PROPERTIES
_SHORT_TEXT = DURABLE_MAX_STRING_BYTES // 4
RESERVED = frozenset({"id", "sid", MARKER})


def _encode(value: Any, counter: list[int]) -> Any:
    """The message form of a dumped value. In the same pass, counter gets [0] the properties
    durable_rules will see (object fields, not list items), [1] the values beyond a limit of
    policy/limits.py, [2] a rough size in characters. Dumps hold plain dicts and lists, so
    exact type checks stand in for the slower isinstance against the ABCs."""
    kind = type(value)
    if kind is dict:
        out = {}
        for k, v in value.items():
            if v is None:
                continue
            counter[2] += len(k) + 16
            if type(v) is not dict:
                counter[0] += 1
            out[k] = _encode(v, counter)
        return out
    if kind is list or kind is tuple:
        items = []
        for v in value:
            inner = [0, 0, 0]  # list items are not properties; their limits count
            items.append(_encode(v, inner))
            counter[1] += inner[1]
            counter[2] += inner[2] + 16
        return items
    if kind is str:
        counter[2] += len(value)
        # only long or non-ASCII text can break a limit (at most 4 UTF-8 bytes a character)
        if (len(value) > _SHORT_TEXT or not value.isascii()) and value_problem(value):
            counter[1] += 1
    elif kind is int:
        if not -DURABLE_MAX_INT <= value <= DURABLE_MAX_INT:
            counter[1] += 1
    elif kind is dt.date and not MIN_FACT_DATE <= value <= MAX_FACT_DATE:
        counter[1] += 1
    return encode_scalar(value)


def to_message(facts: Mapping[str, Any], list_paths: list[str], case_id: str) -> dict[str, Any]:
    """The durable_rules message for one case, from the validated facts dumped to a dict:
    absent values dropped, dates as ordinals, list lengths projected, the case marker and a
    fresh sid and id set."""
    data = facts
    clash = RESERVED & set(data)
    if clash:
        raise EngineError(f"fact fields {sorted(clash)} are reserved by the engine")
    counter = [0, 0, 0]  # properties, values beyond a limit, characters (a rough size)
    message: dict[str, Any] = _encode(dict(data), counter)
    if counter[1]:
        raise EngineError("the facts exceed a limit of durable_rules, so they cannot be evaluated: "
                          + "; ".join(truncate(p) for p in facts_limit_problems(data)))
    # the JSON durable_rules receives: measured exactly only when the rough size comes near
    if counter[2] * 4 > DURABLE_MAX_MESSAGE_BYTES:
        size = len(json.dumps(message, ensure_ascii=False).encode("utf-8", "surrogatepass"))
        if size > DURABLE_MAX_MESSAGE_BYTES:
            raise EngineError(f"the facts are {size:,} bytes as a message; durable_rules takes at most "
                              f"{DURABLE_MAX_MESSAGE_BYTES:,} (error 314), so they cannot be evaluated")
    for path in list_paths:
        items: Any = message
        for part in path.split("."):
            items = items.get(part) if isinstance(items, Mapping) else None
        if isinstance(items, list):
            message[len_key(path)] = len(items)
            counter[0] += 1
    if counter[0] + 3 > MAX_PROPERTIES:
        raise EngineError(
            f"the facts have more than {MAX_PROPERTIES - 3} properties, which durable_rules "
            "cannot evaluate (error 302)"
        )
    message[MARKER] = 1
    message["sid"] = case_id
    message["id"] = case_id
    return message

