"""Every fact field has a description: it is the question an interview asks for the fact
(docs/interview.md), and the text the JSON Schemas and the service's form show."""

from __future__ import annotations

from pydantic import BaseModel

from qpr_rules.facts import registered_fact_types
from qpr_rules.facts.paths import type_of


def _models(model: type[BaseModel], seen: set[type[BaseModel]]) -> None:
    if model in seen:
        return
    seen.add(model)
    for info in model.model_fields.values():
        ft = type_of(info.annotation)
        nested = ft.item if ft.kind == "list" and ft.item is not None else ft
        if nested.kind == "object" and nested.model is not None:
            _models(nested.model, seen)


def test_every_fact_field_has_a_description() -> None:
    seen: set[type[BaseModel]] = set()
    for model in registered_fact_types().values():
        _models(model, seen)
    assert len(seen) > 20  # every fact type and the models nested in them
    missing = [f"{m.__module__}.{m.__qualname__}.{name}" for m in seen
               for name, info in m.model_fields.items() if not (info.description or "").strip()]
    assert missing == [], "fact fields without a description (the question asked for them): " + ", ".join(missing)
