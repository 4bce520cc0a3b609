"""Pydantic validation errors as messages a person can act on: where (list items counted from 1),
what was given, what is allowed, and did-you-mean for a misspelt field. Shared by fact
validation (engine) and policy/scenario files (policy/pydantic_errors.py)."""

from __future__ import annotations

import json
import typing
from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel, ValidationError

from qpr_rules._suggest import did_you_mean
from qpr_rules._truncate import truncate
from qpr_rules.facts.paths import _strip


def describe_loc(parts: Sequence[Any]) -> str:
    """`rules #2.when` for ("rules", 1, "when"): names joined by dots, list items counted from 1."""
    out = ""
    for p in parts:
        if isinstance(p, int):
            out += f" #{p + 1}"
        else:
            out += f".{p}" if out else str(p)
    return out


def model_at(root: type[BaseModel], loc: Sequence[Any]) -> type[BaseModel] | None:
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


def missing_field_description(root: type[BaseModel], loc: Sequence[Any]) -> str:
    """ " (its description)" of the required field at loc that is missing, or "" when it has none."""
    owner = model_at(root, loc[:-1])
    if owner is None or not loc or loc[-1] not in owner.model_fields:
        return ""
    description = owner.model_fields[str(loc[-1])].description
    return f" ({description})" if description else ""


def describe_input(value: Any) -> str:
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if value is None:
        return "nothing (null)"
    text = repr(value)
    return f"{type(value).__name__} {text[:60] + '...' if len(text) > 60 else text}"


_TYPE_TAGS = {"str", "int", "float", "bool", "date", "datetime", "list", "dict"}


def clean_loc(loc: Sequence[Any], root: type[BaseModel] | None = None) -> tuple[Any, ...]:
    """pydantic adds the union member tried (e.g. 'str', 'int') to the loc: drop such parts,
    unless (given the root model) the part is a real field there, such as `date`."""
    out: list[Any] = []
    for p in loc:
        if isinstance(p, str) and _is_type_tag(p):
            owner = model_at(root, out) if root is not None else None
            if owner is None or p not in owner.model_fields:
                continue
        out.append(p)
    return tuple(out)


def _is_type_tag(part: str) -> bool:
    base = part.split("[", 1)[0]
    return base in _TYPE_TAGS or base.startswith(("constrained-", "function-", "literal", "lax-", "strict-"))


def _allowed_values(err: Any) -> str:
    ctx = err.get("ctx") or {}
    if "expected" in ctx and str(ctx["expected"]) not in err["msg"]:
        return f"; allowed: {ctx['expected']}"
    return ""


def _given(value: Any) -> str:
    """The given value as the JSON the caller sent, cut short."""
    text = json.dumps(value, default=str, ensure_ascii=False)
    # a lone surrogate cannot be written out: show it escaped, as \ud800, never crash the caller
    text = text.encode("utf-8", "backslashreplace").decode("utf-8")
    return text[:60] + "..." if len(text) > 60 else text


def fact_errors(exc: ValidationError, model: type[BaseModel]) -> list[str]:
    """One message per invalid fact field."""
    return [message for _, message in located_fact_errors(exc, model)]


def located_fact_errors(exc: ValidationError, model: type[BaseModel]) -> list[tuple[tuple[Any, ...], str]]:
    """(where in the facts, message) per invalid fact field; `where` is the path of the value,
    or for an unknown field the path of its key (ending in "__key__", as SourceMap keeps keys)."""
    out: list[tuple[tuple[Any, ...], str]] = []
    for err in exc.errors(include_url=False):
        loc = clean_loc(err["loc"], model)
        where = truncate(describe_loc(loc) or "(facts)")  # a hostile key is echoed only in part
        where = where.encode("utf-8", "backslashreplace").decode("utf-8")  # lone surrogates escaped
        kind = err["type"]
        if kind == "extra_forbidden":
            owner = model_at(model, loc[:-1])
            allowed = list(owner.model_fields) if owner else []
            parent = describe_loc(loc[:-1])
            hint = did_you_mean(str(loc[-1]), allowed)
            if hint:  # name the whole path of the suggestion: child.agee -> child.age
                close = hint.split("'")[1]
                hint = f" (did you mean {(parent + '.' if parent else '') + close!r}?)"
            known = ", ".join(allowed) or "none"
            out.append(((*loc, "__key__"), f"{where}: unknown field{hint}; allowed here: {known}"))
            continue
        if kind == "missing":
            out.append((loc[:-1], f"{where}: required, missing{missing_field_description(model, loc)}"))
            continue
        msg = err["msg"].removeprefix("Value error, ")
        got = err.get("input")
        # a model-level check: the input is the parent, as data or as an instance given again
        if isinstance(got, (dict, BaseModel)) and kind == "value_error":
            out.append((loc, f"{where}: {msg}"))
        else:
            out.append((loc, f"{where}: {msg} (got {_given(got)}){_allowed_values(err)}"))
    return out
