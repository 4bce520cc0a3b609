"""Turn pydantic validation errors into positioned problems an analyst can act on."""

from __future__ import annotations

import typing
from typing import Any

from pydantic import BaseModel, ValidationError

from qpr_rules._suggest import did_you_mean
from qpr_rules.errors import Problem
from qpr_rules.facts.paths import _strip
from qpr_rules.yaml_source import SourceMap


def _model_at(root: type[BaseModel], loc: tuple[Any, ...]) -> type[BaseModel] | None:
    """The pydantic model whose fields are allowed at loc (for listing allowed keys)."""
    current: Any = root
    for part in loc:
        current, _ = _strip(current)
        if isinstance(current, type) and issubclass(current, BaseModel):
            if part not in current.model_fields:
                return None
            current = current.model_fields[part].annotation
            continue
        args = typing.get_args(current)
        if typing.get_origin(current) is list and args:
            current = args[0]
        elif typing.get_origin(current) is dict and len(args) == 2:
            current = args[1]
        else:
            return None
    current, _ = _strip(current)
    return current if isinstance(current, type) and issubclass(current, BaseModel) else None


def problems_from(exc: ValidationError, root: type[BaseModel], smap: SourceMap,
                  prefix: tuple[Any, ...] = ()) -> list[Problem]:
    """One positioned Problem per pydantic error, saying what is allowed instead."""
    out: list[Problem] = []
    for err in exc.errors(include_url=False):
        loc = tuple(err["loc"])
        # pydantic adds the union member tried (e.g. 'str', 'int') to the loc: drop such parts
        clean = tuple(p for p in loc if not (isinstance(p, str) and _is_type_tag(p)))
        where = ".".join(str(p) for p in (*prefix, *clean)) or "(top level)"
        kind = err["type"]
        if kind == "extra_forbidden":
            key = str(clean[-1])
            owner = _model_at(root, clean[:-1])
            allowed = list(owner.model_fields) if owner else []
            msg = f"unknown key {key!r}{did_you_mean(key, allowed)}"
            if allowed:
                msg += f"; allowed here: {', '.join(allowed)}"
            out.append(smap.problem((*prefix, *clean, "__key__"), msg, "unknown-key"))
        elif kind == "missing":
            owner = _model_at(root, clean[:-1])
            desc = ""
            if owner is not None and clean and clean[-1] in owner.model_fields:
                d = owner.model_fields[str(clean[-1])].description
                desc = f" ({d})" if d else ""
            parent = ".".join(str(p) for p in (*prefix, *clean[:-1])) or "the top level"
            out.append(smap.problem((*prefix, *clean[:-1]),
                                    f"missing required key {clean[-1]!r} in {parent}{desc}",
                                    "missing-key"))
        else:
            value = err.get("input")
            # a model-level check (e.g. on_error must be an outcome) gets the whole mapping: not telling
            whole = kind == "value_error" and isinstance(value, dict)
            got = "" if whole else f" (got {_describe_input(value)})"
            msg = err["msg"].removeprefix("Value error, ")
            out.append(smap.problem((*prefix, *clean), f"{where}: {msg}{got}{_hint(kind)}", "wrong-type"))
    return out


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


def _hint(kind: str) -> str:
    """What to write instead, for the pydantic error types an analyst meets."""
    if kind == "string_pattern_mismatch":
        return "; ids use lower-case letters, digits, '_', '.' and '-', and start with a letter or digit"
    if kind.endswith("too_short"):
        return "; it must not be empty"
    for prefix, hint in _HINTS.items():
        if kind.startswith(prefix):
            return f"; {hint}"
    return ""


_TYPE_TAGS = {"str", "int", "float", "bool", "date", "datetime", "list", "dict"}


def _is_type_tag(part: str) -> bool:
    base = part.split("[", 1)[0]
    return base in _TYPE_TAGS or base.startswith(("constrained-", "function-", "literal"))


def _describe_input(value: Any) -> str:
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if value is None:
        return "nothing (null)"
    return f"{type(value).__name__} {value!r}"
