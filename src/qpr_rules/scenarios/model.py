"""The scenario test format analysts write in YAML (policies/tests/**/*.yaml)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from qpr_rules.policy.model import Id, Text

SCENARIO_FORMAT = "qpr-rules/scenarios-v1"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class ExpectedObligation(_Strict):
    who: Id = Field(description="Role that must carry the duty")
    do: Text | None = Field(default=None, description="Text the duty must contain (optional)")


class Expect(_Strict):
    outcome: Id = Field(description="The outcome the decision must give")
    status: Literal["decided", "default", "error"] | None = None
    fired: list[Id] = Field(default_factory=list, description="Rules that must fire")
    not_fired: list[Id] = Field(default_factory=list, description="Rules that must not fire")
    obligations: list[ExpectedObligation] | None = Field(
        default=None, description="Obligations that must be among the decision's"
    )
    no_obligations: bool = Field(default=False, description="The decision must carry none")
    consequences: list[Text] | None = Field(
        default=None, description="Texts that must each be found in one of the decision's consequences")


class Scenario(_Strict):
    name: Text
    decision: Id | None = Field(default=None, description="Overrides the file's decision")
    clauses: list[Id] = Field(default_factory=list, description="Clauses this scenario checks")
    facts: dict[str, Any]
    expect: Expect


class ScenarioFile(_Strict):
    format: Literal["qpr-rules/scenarios-v1"]
    decision: Id | None = Field(default=None, description="Decision of every scenario here")
    scenarios: list[Scenario] = Field(min_length=1)
