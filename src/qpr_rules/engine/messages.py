"""Turn validated facts into the message durable_rules receives, and guard its limits."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from qpr_rules.engine.durable_compiler import MARKER, encode_scalar, len_key
from qpr_rules.errors import EngineError

# durable_rules fails (error 302) on a message of 255 properties or more (measured: 254 pass,
# 255 fail; the notes' "more than 255" is off by one); nested object fields count, list items
# do not. Checked before posting, never discovered after.
MAX_PROPERTIES = 254
RESERVED = frozenset({"id", "sid", MARKER})


def _encode(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: _encode(v) for k, v in value.items() if v is not None}
    if isinstance(value, (list, tuple)):
        return [_encode(v) for v in value]
    return encode_scalar(value)


def _count_properties(value: Mapping[str, Any]) -> int:
    return sum(_count_properties(v) if isinstance(v, Mapping) else 1 for v in value.values())


def to_message(facts: Mapping[str, Any], list_paths: list[str], case_id: str) -> dict[str, Any]:
    """The durable_rules message for one case, from the validated facts dumped to a dict:
    absent values dropped, dates as ordinals, list lengths projected, the case marker and a
    fresh sid and id set."""
    data = facts
    clash = RESERVED & set(data)
    if clash:
        raise EngineError(f"fact fields {sorted(clash)} are reserved by the engine")
    message: dict[str, Any] = _encode(data)
    for path in list_paths:
        items: Any = message
        for part in path.split("."):
            items = items.get(part) if isinstance(items, Mapping) else None
        if isinstance(items, list):
            message[len_key(path)] = len(items)
    if _count_properties(message) + 3 > MAX_PROPERTIES:
        raise EngineError(
            f"the facts have more than {MAX_PROPERTIES - 3} properties, which durable_rules "
            "cannot evaluate (error 302)"
        )
    message[MARKER] = 1
    message["sid"] = case_id
    message["id"] = case_id
    return message
