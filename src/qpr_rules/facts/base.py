"""The base of every fact model, and the registry decisions look fact types up in.

Facts are strict: durable_rules coerces "11" == 11 and True == 1, so types are
enforced here, before a fact can reach the engine. Unknown fields are refused,
so a misspelt field can never be silently ignored by a rule.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from pydantic import BaseModel, ConfigDict

from qpr_rules._suggest import did_you_mean


class FactModel(BaseModel):
    """Base of all fact models: frozen, no unknown fields, strict scalars."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=False, use_enum_values=False)


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
