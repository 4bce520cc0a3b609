"""The scenario test format analysts write in YAML (policies/tests/**/*.yaml)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

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


class KnownWrong(_Strict):
    """The wrong answer the policy gives today, recorded so that a reading can be committed failing
    before its fix: the scenario fails as expected only while the decision answers exactly this."""

    outcome: Id = Field(description="The wrong outcome the decision gives today")
    obligations: list[ExpectedObligation] = Field(
        default_factory=list,
        description=("Duties today's wrong answer carries (each must be among its obligations); "
                     "required when the outcome is the expected one and only the duties are wrong"))
    reason: Text = Field(description="Why it is wrong, e.g. \"issue 19.5: 'the ability ... to involve' is a "
                                     "capacity\"")


class Scenario(_Strict):
    name: Text
    decision: Id | None = Field(default=None, description="Overrides the file's decision")
    clauses: list[Id] = Field(default_factory=list, description="Clauses this scenario checks")
    facts: dict[str, Any]
    expect: Expect
    known_wrong: KnownWrong | None = Field(
        default=None, description="Expected to fail: the wrong answer the policy gives today, and why")

    @model_validator(mode="after")
    def _wrong_is_not_right(self) -> Scenario:
        # A mark whose wrong answer is the expected one could never tell a fix from the bug.
        wrong = self.known_wrong
        if wrong is not None and wrong.outcome == self.expect.outcome and not wrong.obligations:
            raise ValueError(f"known_wrong.outcome {wrong.outcome!r} is the expected outcome: record the "
                             "wrong answer the decision gives today (its outcome, or with the same "
                             "outcome the wrong duties it carries in known_wrong.obligations), or drop "
                             "the mark")
        return self


class ScenarioFile(_Strict):
    format: Literal["qpr-rules/scenarios-v1"]
    decision: Id | None = Field(default=None, description="Decision of every scenario here")
    scenarios: list[Scenario] = Field(min_length=1)
