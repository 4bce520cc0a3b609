"""The base of every fact model, and the registry decisions look fact types up in.

Facts are strict: durable_rules coerces "11" == 11 and True == 1, so types are
enforced here, before a fact can reach the engine. Unknown fields are refused,
so a misspelt field can never be silently ignored by a rule.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar, TypeVar

from pydantic import BaseModel, ConfigDict, model_validator
from pydantic_core import to_jsonable_python

from qpr_rules._suggest import did_you_mean


class FactModel(BaseModel):
    """Base of all fact models: frozen, no unknown fields, strict scalars."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=False, use_enum_values=False,
                              defer_build=True)

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
    validator that runs on every validation of the model, so only the models that have derived
    fields carry it."""

    #: the names of the model's derived (computed) fields, set once its class is built
    _derived_names: ClassVar[frozenset[str]] = frozenset()

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        cls._derived_names = frozenset(cls.model_computed_fields)

    @model_validator(mode="before")
    @classmethod
    def _derived_fields_are_not_inputs(cls, data: Any) -> Any:
        """Derived (computed) fields appear in model_dump() but are never inputs: a dump fed back
        decides exactly like the original. A derived value given is checked against the one
        computed from the facts, so a stale or hand-edited value is refused, never believed.
        A before validator that returns at once when no derived value is given (a wrap validator
        cost a microsecond more per model on every call: bench/)."""
        if type(data) is not dict or data.keys().isdisjoint(cls._derived_names):
            return data
        derived = cls._derived_names & data.keys()
        stripped = {k: v for k, v in data.items() if k not in derived}
        instance = cls.model_validate(stripped)
        for name in sorted(derived):
            value, computed = data[name], getattr(instance, name)
            if to_jsonable_python(computed) != to_jsonable_python(value):
                raise ValueError(f"{name} is derived from the other facts, not an input: given "
                                 f"{to_jsonable_python(value)!r}, but the facts give "
                                 f"{to_jsonable_python(computed)!r}; leave it out")
        return stripped


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
