"""Resolve a dotted fact path (home.hold.kind) against a fact model, to its type.

Conditions are type-checked against these types at load time, so that a rule can
never compare a string with a number (which durable_rules would coerce silently).
"""

from __future__ import annotations

import datetime as dt
import functools
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum
from types import MappingProxyType
from typing import Literal

from pydantic import BaseModel
from pydantic.fields import ComputedFieldInfo
from pydantic_core import PydanticUndefined

from qpr_rules._suggest import did_you_mean

Kind = Literal["bool", "int", "number", "string", "enum", "date", "list", "object"]


@dataclass(frozen=True)
class FieldType:
    kind: Kind
    optional: bool = False
    enum_values: tuple[str, ...] = ()
    item: FieldType | None = None
    model: type[BaseModel] | None = None

    def describe(self) -> str:
        if self.kind == "enum":
            return "one of " + ", ".join(self.enum_values)
        if self.kind == "list" and self.item is not None:
            return f"list of {self.item.describe()}"
        return {"bool": "true or false", "int": "a whole number", "number": "a number",
                "string": "text", "date": "a date (YYYY-MM-DD)", "object": "an object",
                "list": "a list"}[self.kind]


class PathError(ValueError):
    """A fact path does not exist in the fact model."""


def _strip(annotation: object) -> tuple[object, bool]:
    """Remove Annotated and Optional wrappers; report whether None was allowed."""
    optional = False
    while True:
        origin = typing.get_origin(annotation)
        if origin is typing.Annotated:
            annotation = typing.get_args(annotation)[0]
            continue
        if origin in (typing.Union, types.UnionType):
            args = [a for a in typing.get_args(annotation) if a is not type(None)]
            optional = optional or len(args) < len(typing.get_args(annotation))
            if len(args) != 1:
                raise PathError(f"unsupported union type {annotation!r}")
            annotation = args[0]
            continue
        return annotation, optional


def type_of(annotation: object, optional: bool = False) -> FieldType:
    """The FieldType of a pydantic field annotation."""
    inner, opt = _strip(annotation)
    optional = optional or opt
    origin = typing.get_origin(inner)
    if origin in (list, tuple, typing.List):  # noqa: UP006
        (item,) = typing.get_args(inner)[:1]
        return FieldType("list", optional, item=type_of(item))
    if isinstance(inner, type):
        if issubclass(inner, bool):
            return FieldType("bool", optional)
        if issubclass(inner, Enum):
            return FieldType("enum", optional, enum_values=tuple(str(m.value) for m in inner))
        if issubclass(inner, int):
            return FieldType("int", optional)
        if issubclass(inner, float):
            return FieldType("number", optional)
        if issubclass(inner, str):
            return FieldType("string", optional)
        if issubclass(inner, dt.date):
            return FieldType("date", optional)
        if issubclass(inner, BaseModel):
            return FieldType("object", optional, model=inner)
    if typing.get_origin(inner) is Literal:
        return FieldType("enum", optional, enum_values=tuple(str(v) for v in typing.get_args(inner)))
    raise PathError(f"unsupported field type {inner!r}")


def computed_return_type(computed: ComputedFieldInfo) -> object:
    """The declared return type of a computed field. pydantic fills return_type in when it builds
    the model's schema; a model whose build is deferred (built on its first validation) has only
    the property's annotation until then, read here the way pydantic reads it."""
    if computed.return_type is not PydanticUndefined:
        return computed.return_type
    prop = computed.wrapped_property
    fget = prop.fget if isinstance(prop, property) else getattr(prop, "func", prop)
    return typing.get_type_hints(fget, include_extras=True)["return"]


@functools.cache  # models are classes, fixed once defined; the loader asks for each many times
def field_types(model: type[BaseModel]) -> Mapping[str, tuple[FieldType, bool]]:
    """Each field of model, given or computed (a pydantic computed_field, such as a list's
    youngest age), with its type and whether it may be absent (read-only: shared)."""
    out: dict[str, tuple[FieldType, bool]] = {}
    for name, info in model.model_fields.items():
        ft = type_of(info.annotation)
        out[name] = (ft, ft.optional or (not info.is_required() and info.default is None))
    for name, computed in model.model_computed_fields.items():
        ft = type_of(computed_return_type(computed))
        out[name] = (ft, ft.optional)
    return MappingProxyType(out)


def resolve(model: type[BaseModel], path: str) -> FieldType:
    """Type of the value at path; optional is true when any step on the way may be absent."""
    current = FieldType("object", model=model)
    walked: list[str] = []
    optional = False
    for part in path.split("."):
        if current.kind != "object" or current.model is None:
            raise PathError(
                f"{'.'.join(walked)} is {current.describe()}, it has no field {part!r}"
            )
        fields = field_types(current.model)
        if part not in fields:
            where = ".".join(walked) or current.model.__name__
            raise PathError(
                f"{where} has no field {part!r}{did_you_mean(part, fields)}; "
                f"fields are: {', '.join(fields)}"
            )
        current, may_be_absent = fields[part]
        optional = optional or may_be_absent
        walked.append(part)
    return FieldType(current.kind, optional, current.enum_values, current.item, current.model)


def list_paths(model: type[BaseModel], prefix: str = "") -> list[str]:
    """Every path in model (and nested models) whose value is a list, for length projections."""
    out: list[str] = []
    for name, (ft, _) in field_types(model).items():
        path = f"{prefix}{name}"
        if ft.kind == "list":
            out.append(path)
        elif ft.kind == "object" and ft.model is not None:
            out.extend(list_paths(ft.model, f"{path}."))
    return out
