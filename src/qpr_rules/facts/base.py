"""The base of every fact model, and the registry decisions look fact types up in.

Facts are strict: durable_rules coerces "11" == 11 and True == 1, so types are
enforced here, before a fact can reach the engine. Unknown fields are refused,
so a misspelt field can never be silently ignored by a rule.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, ModelWrapValidatorHandler, model_validator
from pydantic_core import to_jsonable_python

from qpr_rules._suggest import did_you_mean


class FactModel(BaseModel):
    """Base of all fact models: frozen, no unknown fields, strict scalars."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=False, use_enum_values=False)

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        """A model with derived fields must check them as DerivedFactModel does: refused at
        import, so a new derived field can never be taken as an input unnoticed."""
        super().__pydantic_init_subclass__(**kwargs)
        if cls.model_computed_fields and not issubclass(cls, DerivedFactModel):
            raise TypeError(f"{cls.__name__} has derived (computed) fields "
                            f"{sorted(cls.model_computed_fields)}: derive it from DerivedFactModel")


class DerivedFactModel(FactModel):
    """A fact model with derived (computed) fields. The check of given derived values is a
    wrap validator, which costs about as much again as validating the model itself, so only the
    models that have derived fields carry it (measured in bench/; docs/benchmarks.md)."""

    @model_validator(mode="wrap")
    @classmethod
    def _derived_fields_are_not_inputs(cls, data: Any, handler: ModelWrapValidatorHandler[Any]) -> Any:
        """Derived (computed) fields appear in model_dump() but are never inputs: a dump fed back
        decides exactly like the original. A derived value given is checked against the one
        computed from the facts, so a stale or hand-edited value is refused, never believed."""
        derived = cls.__dict__.get("_derived_names")
        if derived is None:  # once per class: pydantic's model_computed_fields is a slow property
            derived = tuple(cls.model_computed_fields)
            type.__setattr__(cls, "_derived_names", derived)
        if not isinstance(data, dict) or data.keys().isdisjoint(derived):
            return handler(data)
        given = {k: data[k] for k in derived if k in data}
        instance = handler({k: v for k, v in data.items() if k not in derived})
        for name, value in given.items():
            computed = getattr(instance, name)
            if to_jsonable_python(computed) != to_jsonable_python(value):
                raise ValueError(f"{name} is derived from the other facts, not an input: given "
                                 f"{to_jsonable_python(value)!r}, but the facts give "
                                 f"{to_jsonable_python(computed)!r}; leave it out")
        return instance


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
