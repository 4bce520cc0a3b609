"""The base of every fact model, and the registry decisions look fact types up in.

Facts are strict: durable_rules coerces "11" == 11 and True == 1, so types are
enforced here, before a fact can reach the engine. Unknown fields are refused,
so a misspelt field can never be silently ignored by a rule.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from typing import Any, Self, TypeVar

import pydantic_core
from pydantic import BaseModel, ConfigDict, ValidationError
from pydantic.config import ExtraValues

from qpr_rules._suggest import did_you_mean
from qpr_rules.facts.derived_inputs import checked, given_back, has_derived, strip_derived


class FactModel(BaseModel):
    """Base of all fact models: frozen, no unknown fields, strict scalars."""

    # revalidate_instances: an instance met anywhere in the facts (a Home in a dict, a Hold in a
    # Home) is validated again, never trusted: model_construct() and model_copy(update=...) make
    # instances that were never validated (a permanent hold "reinstated", an age of -5).
    model_config = ConfigDict(extra="forbid", frozen=True, strict=False, use_enum_values=False,
                              defer_build=True, revalidate_instances="always")

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        """A model with derived fields must check them as DerivedFactModel does: refused at
        import, so a new derived field can never be taken as an input unnoticed."""
        super().__pydantic_init_subclass__(**kwargs)
        if cls.model_computed_fields and not issubclass(cls, DerivedFactModel):
            raise TypeError(f"{cls.__name__} has derived (computed) fields "
                            f"{sorted(cls.model_computed_fields)}: derive it from DerivedFactModel")

    # Derived fields given back (a dump fed back): see facts/derived_inputs.py. On every fact
    # model, not only those with derived fields: a model can hold one that has them.
    @classmethod
    def model_validate(cls, obj: Any, *, strict: bool | None = None, extra: ExtraValues | None = None,
                       from_attributes: bool | None = None, context: Any | None = None,
                       by_alias: bool | None = None, by_name: bool | None = None) -> Self:
        options: dict[str, Any] = {"strict": strict, "extra": extra, "from_attributes": from_attributes,
                                   "context": context, "by_alias": by_alias, "by_name": by_name}
        try:
            return super().model_validate(obj, **options)
        except ValidationError as exc:
            stripped, given = given_back(cls, exc, lambda: obj)
        return checked(super().model_validate(stripped, **options), given)

    @classmethod
    def model_validate_json(cls, json_data: str | bytes | bytearray, *, strict: bool | None = None,
                            extra: ExtraValues | None = None, context: Any | None = None,
                            by_alias: bool | None = None, by_name: bool | None = None) -> Self:
        options: dict[str, Any] = {"strict": strict, "extra": extra, "context": context,
                                   "by_alias": by_alias, "by_name": by_name}
        try:
            return super().model_validate_json(json_data, **options)
        except ValidationError as exc:
            stripped, given = given_back(cls, exc, functools.partial(_parsed, json_data, exc))
        # what is left is validated as JSON again, so JSON's rules (dates as text) still hold
        return checked(super().model_validate_json(json.dumps(stripped), **options), given)

    @classmethod
    def model_validate_dump_json(cls, json_data: str) -> Self:
        """JSON text that a dump of this model wrote (an event as the store holds it), validated
        as model_validate_json validates it: a dump gives its derived fields back, so they are
        taken out first and each checked against the facts, without the refusal of an unknown
        key that model_validate_json meets first (and pays for) on such text."""
        if not has_derived(cls):
            try:  # pydantic's own validation first, as model_validate_json does
                return cls.__pydantic_validator__.validate_json(json_data)
            except ValidationError:
                return cls.model_validate_json(json_data)  # the same refusal, worded as it words it
        try:  # pydantic's own JSON reader and writer: the same JSON, several times faster than json's
            data = pydantic_core.from_json(json_data)
        except ValueError:
            return cls.model_validate_json(json_data)  # not JSON: pydantic says where
        stripped, given = strip_derived(cls, data)
        return checked(super().model_validate_json(pydantic_core.to_json(stripped)), given)


def _parsed(json_data: str | bytes | bytearray, refused: ValidationError) -> Any:
    """The JSON pydantic refused for an unknown key (so it parsed it), parsed again; the refusal
    stands should json read it otherwise."""
    try:
        return json.loads(json_data)
    except ValueError:
        raise refused from None


class DerivedFactModel(FactModel):
    """A fact model with derived (computed) fields. They appear in model_dump() but are never
    inputs: a dump fed back validates to the same model, and a derived value that contradicts
    the facts is refused (FactModel.model_validate, facts/derived_inputs.py). Only after
    pydantic refused an unknown key is anything done about them, so a validation that succeeds
    pays nothing. Declaring derived fields on a model not derived from this class is refused at
    import, so a new derived field is never taken for an input unnoticed."""


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
