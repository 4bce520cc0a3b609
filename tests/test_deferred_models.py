"""A fact model whose pydantic build is deferred (`defer_build=True`: validators built on first
use, not at import) must type-check conditions exactly as a built one: the condition checker
reads a computed field's type from its declaration until pydantic fills it in
(facts/paths.py, computed_return_type). Invariant scope models are always deferred."""

from __future__ import annotations

import dataclasses
import datetime as dt
import typing

import pytest
from pydantic import BaseModel, ConfigDict, computed_field
from pydantic_core import PydanticUndefined

from qpr_rules import Engine
from qpr_rules.facts.base import registered_fact_types
from qpr_rules.facts.paths import FieldType, computed_return_type, field_types, resolve, type_of
from qpr_rules.policy.invariants import invariant_scope


class _Kid(BaseModel):
    model_config = ConfigDict(defer_build=True)

    born: dt.date
    ages: list[int]

    @computed_field  # type: ignore[prop-decorator]
    @property
    def youngest(self) -> int | None:
        return min(self.ages) if self.ages else None

    @computed_field  # type: ignore[prop-decorator]
    @property
    def label(self) -> typing.Literal["a", "b"]:
        return "a"


def test_a_deferred_models_computed_fields_resolve_from_their_declarations() -> None:
    assert not _Kid.__pydantic_complete__
    assert _Kid.model_computed_fields["youngest"].return_type is PydanticUndefined
    assert resolve(_Kid, "youngest") == FieldType("int", optional=True)
    assert resolve(_Kid, "label") == FieldType("enum", enum_values=("a", "b"))
    assert resolve(_Kid, "born") == FieldType("date")
    before = dict(field_types(_Kid))
    _Kid.model_rebuild(force=True)  # built: pydantic's own return types give the same answers
    assert _Kid.__pydantic_complete__
    field_types.cache_clear()
    assert dict(field_types(_Kid)) == before
    assert _Kid(born=dt.date(2020, 1, 1), ages=[3, 1]).youngest == 1


def _models() -> list[type[BaseModel]]:
    seen: list[type[BaseModel]] = []
    todo: list[type[BaseModel]] = list(registered_fact_types().values())
    while todo:
        model = todo.pop()
        if model in seen:
            continue
        seen.append(model)
        for ft, _ in field_types(model).values():
            for t in (ft, ft.item):
                if t is not None and t.model is not None:
                    todo.append(t.model)
    return seen


@pytest.mark.parametrize("model", _models(), ids=lambda m: m.__name__)
def test_every_fact_models_computed_fields_read_alike_from_their_declarations(model: type[BaseModel]) -> None:
    model.model_rebuild()  # fact models defer their build: pydantic fills return_type in when built
    for name, computed in model.model_computed_fields.items():
        declared = dataclasses.replace(computed, return_type=PydanticUndefined)
        assert type_of(computed_return_type(declared)) == type_of(computed.return_type), name


def test_invariant_scope_models_are_not_built_at_load() -> None:
    """Only the condition checker reads them: nothing validates against them at load."""
    policies = Engine.from_bundled().policies
    assert policies.invariants, "the bundled policies have invariants"
    for inv in policies.invariants:
        scope = invariant_scope(inv.invariant, policies.decisions)
        assert not scope.__pydantic_complete__, inv.id
