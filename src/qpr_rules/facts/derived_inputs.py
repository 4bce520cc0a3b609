"""Derived (computed) fields given back as inputs: checked against the facts, never believed.

A fact model's `model_dump()` holds its derived fields (`hold_state`, `home.youngest_placed_age`,
...), so a dump fed back must validate to the same model; a derived value that contradicts the
facts (stale, or edited by hand) must be refused. pydantic refuses any unknown key first
(`extra="forbid"`), so this runs only after a validation failed with an unknown key: the derived
keys are taken out wherever they sit in the data, the rest is validated, and each derived value
given is compared with the one computed. A validation that succeeds pays nothing for it (a
validator run on every validation cost 0.35 us a model: docs/benchmarks.md).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from pydantic_core import InitErrorDetails, PydanticCustomError, to_json, to_jsonable_python

from qpr_rules.facts.paths import FieldType, field_types

Loc = tuple[str | int, ...]
_PLAIN = (int, str)  # exact types only: True == 1 in Python, but not in JSON
M = TypeVar("M", bound=BaseModel)


def given_back(model: type[BaseModel], refused: ValidationError,
               data: Callable[[], Any]) -> tuple[Any, list[tuple[Loc, Any]]]:
    """After pydantic refused some data: the data (read by `data()` only when the refusal was of
    an unknown key) without its derived fields, and each one taken out with where it was.
    Raises `refused` itself otherwise, or when the data gives no derived field back: the
    refusal then stands as pydantic worded it."""
    if any(error["type"] == "extra_forbidden" for error in refused.errors()):
        stripped, given = strip_derived(model, data())
        if given:
            return stripped, given
    raise refused


@functools.cache  # models are classes, fixed once defined
def has_derived(model: type[BaseModel]) -> bool:
    """Whether model, or a model nested in it, has derived fields (a dump of it gives some back)."""
    return bool(model.model_computed_fields) or any(
        _holds_derived(ft) for ft, _ in field_types(model).values())


def _holds_derived(ft: FieldType) -> bool:
    if ft.kind == "object" and ft.model is not None:
        return has_derived(ft.model)
    return ft.kind == "list" and ft.item is not None and _holds_derived(ft.item)


def checked(instance: M, given: list[tuple[Loc, Any]]) -> M:
    """instance, once each derived value given back agrees with the one computed from it;
    otherwise a ValidationError naming each that does not."""
    errors: list[InitErrorDetails] = []
    for loc, value in given:
        computed = _at(instance, loc)
        if type(computed) is type(value) and type(value) in _PLAIN and computed == value:
            continue  # the same plain value (a count, an age): nothing to convert to compare
        # compared as JSON text: in Python True == 1 and 1 == 1.0, in JSON they differ
        if to_json(computed) != to_json(value):
            message = (f"{loc[-1]} is derived from the other facts, not an input: given "
                       f"{to_jsonable_python(value)!r}, but the facts give "
                       f"{to_jsonable_python(computed)!r}; leave it out")
            errors.append({"type": PydanticCustomError("derived_field", message), "loc": loc, "input": value})
    if errors:
        raise ValidationError.from_exception_data(type(instance).__name__, errors)
    return instance


def strip_derived(model: type[BaseModel], data: Any, loc: Loc = ()) -> tuple[Any, list[tuple[Loc, Any]]]:
    """data without the derived fields of model (and of the models nested in it), and each
    derived value taken out with where it was. Data of an unexpected shape is left as it is:
    validation then says what is wrong with it."""
    if not isinstance(data, dict):
        return data, []
    fields = field_types(model)
    derived = model.model_computed_fields
    out: dict[Any, Any] = {}
    given: list[tuple[Loc, Any]] = []
    for key, value in data.items():
        if key in derived:
            given.append(((*loc, key), value))
            continue
        entry = fields.get(key) if isinstance(key, str) else None
        if entry is not None:
            value, inner = _strip_value(entry[0], value, (*loc, key))
            given.extend(inner)
        out[key] = value
    return out, given


def _strip_value(ft: FieldType, value: Any, loc: Loc) -> tuple[Any, list[tuple[Loc, Any]]]:
    if not _holds_derived(ft):  # nothing derived anywhere inside: nothing to take out
        return value, []
    if ft.kind == "object" and ft.model is not None:
        return strip_derived(ft.model, value, loc)
    if ft.kind == "list" and ft.item is not None and ft.item.model is not None and isinstance(value, list):
        items, given = [], []
        for i, item in enumerate(value):
            stripped, inner = strip_derived(ft.item.model, item, (*loc, i))
            items.append(stripped)
            given.extend(inner)
        return items, given
    return value, []


def _at(instance: Any, loc: Loc) -> Any:
    for step in loc:
        instance = instance[step] if isinstance(step, int) else getattr(instance, step)
    return instance
