"""Turn pydantic validation errors into positioned problems an analyst can act on."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ValidationError

from qpr_rules._suggest import did_you_mean
from qpr_rules.errors import Problem
from qpr_rules.facts.validation_messages import (
    clean_loc,
    describe_input,
    describe_loc,
    missing_field_description,
    model_at,
)
from qpr_rules.policy.model import ID_PATTERN
from qpr_rules.yaml_source import SourceMap


def problems_from(exc: ValidationError, root: type[BaseModel], smap: SourceMap,
                  prefix: tuple[Any, ...] = ()) -> list[Problem]:
    """One positioned Problem per pydantic error, saying what is allowed instead."""
    out: list[Problem] = []
    for err in exc.errors(include_url=False):
        clean = clean_loc(err["loc"])
        where = describe_loc((*prefix, *clean)) or "(top level)"
        kind = err["type"]
        if kind == "extra_forbidden":
            key = str(clean[-1])
            owner = model_at(root, clean[:-1])
            allowed = list(owner.model_fields) if owner else []
            msg = f"unknown key {key!r}{did_you_mean(key, allowed)}"
            if allowed:
                msg += f"; allowed here: {', '.join(allowed)}"
            out.append(smap.problem((*prefix, *clean, "__key__"), msg, "unknown-key"))
        elif kind == "missing":
            desc = missing_field_description(root, clean)
            parent = describe_loc((*prefix, *clean[:-1])) or "the top level"
            out.append(smap.problem((*prefix, *clean[:-1]),
                                    f"missing required key {clean[-1]!r} in {parent}{desc}"
                                    f"{_misindented(smap, (*prefix, *clean[:-1]), str(clean[-1]))}",
                                    "missing-key"))
        else:
            value = err.get("input")
            # a model-level check (e.g. on_error must be an outcome) gets the whole mapping: not telling
            whole = kind == "value_error" and isinstance(value, dict)
            got = "" if whole else f" (got {describe_input(value)})"
            msg = err["msg"].removeprefix("Value error, ")
            out.append(smap.problem((*prefix, *clean), f"{where}: {msg}{got}{_hint(err)}", "wrong-type"))
    return out


def _misindented(smap: SourceMap, parent: tuple[Any, ...], key: str) -> str:
    """When a missing key is written one level too deep (`outcome` indented under `when`),
    say where it is, so the analyst fixes the indentation rather than adding a second one."""
    n = len(parent)
    for loc in smap.positions:
        if (len(loc) == n + 3 and loc[:n] == parent and loc[n + 1] == key and loc[n + 2] == "__key__"
                and isinstance(loc[n], str)):
            line = smap.positions[loc][0]
            return (f"; check the indentation of line {line}: `{key}` is inside `{loc[n]}`, "
                    f"but belongs one level up")
    return ""


_HINTS = {
    "date": "write a date as YYYY-MM-DD, unquoted",
    "bool": "write true or false, unquoted",
    "int": "write a whole number, unquoted",
    "float": "write a number, unquoted",
    "string": "write text; quote it if it would read as a number, a date or true/false",
    "list": "write a list: [a, b] or one '- item' per line",
    "dict": "write a mapping: one 'key: value' per line",
    "model": "write a mapping: one 'key: value' per line",
}


def _hint(err: Any) -> str:
    """What to write instead, for the pydantic error types an analyst meets."""
    kind = err["type"]
    if kind == "string_pattern_mismatch":
        if (err.get("ctx") or {}).get("pattern") == ID_PATTERN:  # the characters hint is for ids only
            return "; ids use lower-case letters, digits, '_', '.' and '-', and start with a letter or digit"
        return f"; it must match {(err.get('ctx') or {}).get('pattern')}"
    if kind.endswith("too_short"):
        return "; it must not be empty"
    for prefix, hint in _HINTS.items():
        if kind.startswith(prefix):
            return f"; {hint}"
    return ""
