"""What the translation does not know, it says, and then claims no proof."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from pydantic import computed_field, field_validator, model_validator

from qpr_rules.analysis import smt_facts
from qpr_rules.analysis.prove import prove_invariant
from qpr_rules.analysis.smt_facts import FactEncoder
from qpr_rules.engine.engine import Engine
from qpr_rules.facts.base import DerivedFactModel

ROOT = Path(__file__).resolve().parents[1]


class Odd(DerivedFactModel):
    start: dt.date
    end: dt.date
    n: int

    @computed_field  # type: ignore[prop-decorator]
    @property
    def span(self) -> int:
        return (self.end - self.start).days

    @model_validator(mode="after")
    def _ordered(self) -> Odd:
        return self

    @field_validator("n")
    @classmethod
    def _small(cls, v: int) -> int:
        return v


def test_unknown_python_in_a_fact_model_is_named() -> None:
    enc = FactEncoder("facts")
    enc.encode(Odd)
    assert enc.unmodelled == ["computed field Odd.span", "model validator Odd._ordered",
                              "field validators of Odd"]


def test_a_proof_over_an_unmodelled_field_is_not_claimed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delitem(smt_facts.COMPUTED, "Home.genders_placed")
    engine = Engine.load([ROOT / "policies" / "qpr.yaml"])
    inv = next(i for i in engine.policies.invariants if i.id == "qpr.inv.no-placement-on-hold")
    result = prove_invariant(engine, inv)
    assert result.status == "not-claimed"
    assert "computed field Home.genders_placed" in result.message
