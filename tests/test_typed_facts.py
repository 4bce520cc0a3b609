"""Typed facts are public API: a fact model's model_dump() and model_dump_json() decide exactly
like the original (derived fields are not inputs), and facts are strict by construction (no
scalar field coerces "7" into 7, 1 into true, 5 into "5", or a number into a date)."""

from __future__ import annotations

import datetime as dt
import enum
import types
import typing
from typing import Any

import pytest
from pydantic import BaseModel, ValidationError

from qpr_rules import Engine
from qpr_rules.analysis.generate import sample
from qpr_rules.facts.base import FactModel, registered_fact_types

ENGINE = Engine.from_bundled()


@pytest.mark.parametrize("decision_id", ENGINE.decision_ids)
def test_dumps_of_a_fact_model_decide_like_the_original(decision_id: str) -> None:
    model = ENGINE.fact_model(decision_id)
    cases = sample(model, 60, seed=7)
    assert cases, f"no facts generated for {decision_id}"
    for facts in cases:
        original = ENGINE.decide(decision_id, facts)
        typed = ENGINE.validate_facts(decision_id, facts)
        assert model.model_validate(typed.model_dump()) == typed  # the dump comes back unchanged
        assert model.model_validate_json(typed.model_dump_json()) == typed
        for form in (typed, typed.model_dump(), typed.model_dump(mode="json"), typed.model_dump_json()):
            again = ENGINE.decide(decision_id, form)
            assert again.status != "error", (decision_id, again.errors)
            assert again.to_json() == original.to_json(), (decision_id, type(form).__name__)


def test_every_registered_fact_model_is_some_decisions_so_its_dumps_are_checked_above() -> None:
    assert set(registered_fact_types().values()) <= {ENGINE.fact_model(d) for d in ENGINE.decision_ids}


def test_a_derived_value_that_contradicts_the_facts_is_refused() -> None:
    derived = [(name, m) for name, m in registered_fact_types().items() if _models_with_derived(m)]
    assert derived, "no fact model has derived fields: this test then has nothing to check"
    for decision_id in ENGINE.decision_ids:
        model = ENGINE.fact_model(decision_id)
        for facts in sample(model, 30, seed=3):
            dumped = ENGINE.validate_facts(decision_id, facts).model_dump(mode="json")
            path = _first_derived(model, dumped)
            if path is None:
                continue
            parent, name = path
            parent[name] = "not what the facts give"
            decision = ENGINE.decide(decision_id, dumped)
            assert decision.status == "error" and any("is derived from the other facts" in e
                                                      for e in decision.errors), decision.errors
            break


def _models_with_derived(model: type[BaseModel]) -> bool:
    return bool(model.model_computed_fields) or any(
        _models_with_derived(m) for m in _nested_models(model))


def _nested_models(model: type[BaseModel]) -> list[type[BaseModel]]:
    out = []
    for f in model.model_fields.values():
        for t in _leaf_types(f.annotation):
            if isinstance(t, type) and issubclass(t, BaseModel):
                out.append(t)
    return out


def _first_derived(model: type[BaseModel], data: dict[str, Any]) -> tuple[dict[str, Any], str] | None:
    for name in model.model_computed_fields:
        if name in data:
            return data, name
    for fname, f in model.model_fields.items():
        value = data.get(fname)
        for t in _leaf_types(f.annotation):
            if isinstance(t, type) and issubclass(t, BaseModel):
                items = value if isinstance(value, list) else [value]
                for item in items:
                    if isinstance(item, dict):
                        found = _first_derived(t, item)
                        if found:
                            return found
    return None


def _leaf_types(annotation: Any) -> list[Any]:
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _leaf_types(typing.get_args(annotation)[0])
    if origin in (typing.Union, types.UnionType, list, tuple, set, frozenset):
        return [t for a in typing.get_args(annotation) for t in _leaf_types(a)]
    return [annotation]


# What a lax parser would accept for each scalar kind, and must be refused.
COERCIBLE: dict[str, list[Any]] = {
    "int": ["7", 7.0, True],
    "bool": [1, 0, "true", "yes"],
    "str": [5, 5.5, True],
    "date": [0, 1714521600, "1714521600", "2024-05-01T00:00:00", dt.datetime(2024, 5, 1)],
    "enum": [0, True],
}


def _kind(t: Any) -> str | None:
    if t is bool:
        return "bool"
    if t is int:
        return "int"
    if t is str:
        return "str"
    if t is dt.date:
        return "date"
    if isinstance(t, type) and issubclass(t, enum.Enum):
        return "enum"
    return None


def _scalar_fields() -> list[Any]:
    out = []
    for type_name, model in registered_fact_types().items():
        seen: set[type[BaseModel]] = set()
        stack: list[tuple[type[BaseModel], str]] = [(model, type_name)]
        while stack:
            current, where = stack.pop()
            if current in seen:
                continue
            seen.add(current)
            for fname, f in current.model_fields.items():
                for t in _leaf_types(f.annotation):
                    if isinstance(t, type) and issubclass(t, BaseModel):
                        stack.append((t, f"{where}.{fname}"))
                    elif (kind := _kind(t)) is not None:
                        out.append(pytest.param(current, fname, kind, id=f"{where}.{fname}"))
    return out


@pytest.mark.parametrize(("model", "field", "kind"), _scalar_fields())
def test_no_scalar_fact_field_coerces(model: type[FactModel], field: str, kind: str) -> None:
    """Validate the field alone (through a one-field model of the same annotation), so that other
    required fields do not mask a coercion."""
    from pydantic import create_model

    info = model.model_fields[field]
    probe = create_model("Probe", __base__=FactModel, value=(info.annotation, info))  # type: ignore[call-overload]
    for bad in COERCIBLE[kind]:
        with pytest.raises(ValidationError):
            probe.model_validate({"value": bad})
            pytest.fail(f"{model.__name__}.{field} ({kind}) accepted {bad!r}")


def test_every_registered_model_has_scalar_fields_checked() -> None:
    checked = {p.values[0] for p in _scalar_fields()}
    assert checked and all(issubclass(m, FactModel) for m in checked)
