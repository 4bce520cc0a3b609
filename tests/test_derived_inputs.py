"""Derived fields given back as inputs (facts/derived_inputs.py), wherever they sit: checked
against the facts and taken out, never believed; and no cost when none is given."""

from __future__ import annotations

import pytest
from pydantic import ValidationError, computed_field

from qpr_rules.facts.base import DerivedFactModel, FactModel
from qpr_rules.facts.placement import PlacementRequest


class Box(DerivedFactModel):
    items: list[int]

    @computed_field  # type: ignore[prop-decorator]
    @property
    def count(self) -> int:
        return len(self.items)


class Shelf(FactModel):  # no derived field of its own: it holds models that have them
    boxes: list[Box]
    spare: Box | None = None


def test_a_dump_of_a_model_holding_derived_fields_validates_back_to_it() -> None:
    shelf = Shelf.model_validate({"boxes": [{"items": [1, 2]}, {"items": []}], "spare": {"items": [5]}})
    assert shelf.model_dump() == {"boxes": [{"items": [1, 2], "count": 2}, {"items": [], "count": 0}],
                                  "spare": {"items": [5], "count": 1}}
    assert Shelf.model_validate(shelf.model_dump()) == shelf
    assert Shelf.model_validate_json(shelf.model_dump_json()) == shelf


def test_each_contradicting_derived_value_is_refused_where_it_is() -> None:
    with pytest.raises(ValidationError) as info:
        Shelf.model_validate({"boxes": [{"items": [1, 2], "count": 2}, {"items": [], "count": 4}],
                              "spare": {"items": [5], "count": 0}})
    assert [(e["loc"], e["msg"]) for e in info.value.errors()] == [
        (("boxes", 1, "count"), "count is derived from the other facts, not an input: given 4, but the facts "
                                "give 0; leave it out"),
        (("spare", "count"), "count is derived from the other facts, not an input: given 0, but the facts "
                             "give 1; leave it out"),
    ]


def test_an_unknown_key_beside_a_derived_one_is_still_refused() -> None:
    with pytest.raises(ValidationError) as info:
        Shelf.model_validate({"boxes": [{"items": [1], "count": 1, "colour": "red"}]})
    assert [(e["loc"], e["type"]) for e in info.value.errors()] == [(("boxes", 0, "colour"), "extra_forbidden")]


def test_json_keeps_its_own_rules_when_derived_values_are_taken_out() -> None:
    facts = ('{"placement": {"date": "2024-05-01", "status": "proposed", "cleared_with_pco": true, "siblings": []}, "child": {"age": 7, '
             '"gender": "female"}, "home": {"id": "H", "approval": "rfa", "approval_status": "active", '
             '"hold": null, "restrictions": null, "children_placed": [], "genders_placed": []}, '
             '"hold_state": "none"}')
    assert PlacementRequest.model_validate_json(facts).hold_state == "none"
    with pytest.raises(ValidationError, match="cleared_with_pco"):  # "yes" is no JSON boolean
        PlacementRequest.model_validate_json(facts.replace("true", '"yes"'))
