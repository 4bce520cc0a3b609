"""The base of every fact model, and the registry decisions look fact types up in.

Facts are strict: durable_rules coerces "11" == 11 and True == 1, so types are
enforced here, before a fact can reach the engine. Unknown fields are refused,
so a misspelt field can never be silently ignored by a rule.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Self, TypeVar

from pydantic import BaseModel, ConfigDict, ModelWrapValidatorHandler, model_validator
from pydantic_core import to_jsonable_python

from qpr_rules._suggest import did_you_mean


class FactModel(BaseModel):
    """Base of all fact models: frozen, no unknown fields, strict scalars."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=False, use_enum_values=False)

    # Derived (computed) fields are never input, yet a model's own dump carries them: so that
    # `M.model_validate(m.model_dump())` and `M.model_validate_json(m.model_dump_json())` give m
    # back, a derived field in the input is accepted only when it equals what the model derives
    # from the given facts, and refused otherwise (a caller cannot set the policy's answer).
    @model_validator(mode="wrap")
    @classmethod
    def _derived_fields_not_input(cls, data: Any, handler: ModelWrapValidatorHandler[Self]) -> Self:
        derived = cls.model_computed_fields
        if not derived or not isinstance(data, dict) or not derived.keys() & data.keys():
            return handler(data)
        given = {k: data[k] for k in derived if k in data}
        model = handler({k: v for k, v in data.items() if k not in derived})
        for name, value in given.items():
            if to_jsonable_python(value) != to_jsonable_python(getattr(model, name)):
                derived_value = to_jsonable_python(getattr(model, name))
                raise ValueError(f"{name} is derived from the other facts and cannot be given "
                                 f"(given {to_jsonable_python(value)!r}, derived {derived_value!r})")
        return model


_REGISTRY: dict[str, type[FactModel]] = {}

M = TypeVar("M", bound=type[FactModel])


def fact_type(name: str) -> Callable[[M], M]:
    """Class decorator: register a fact model under the name policies use in `facts:`."""

    def register(cls: M) -> M:
        if name in _REGISTRY and _REGISTRY[name] is not cls:
            raise ValueError(f"fact type {name!r} is registered twice")
        _REGISTRY[name] = cls
        return cls

    return register


def registered_fact_types() -> dict[str, type[FactModel]]:
    """All fact types, by name (imports every fact module first)."""
    from qpr_rules import facts  # noqa: F401  (imports the modules that register)

    return dict(sorted(_REGISTRY.items()))


def get_fact_model(name: str) -> type[FactModel]:
    """The fact model registered under name; KeyError with a suggestion when unknown."""
    types = registered_fact_types()
    if name not in types:
        raise KeyError(f"unknown fact type {name!r}{did_you_mean(name, types)}")
    return types[name]
