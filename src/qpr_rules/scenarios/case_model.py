"""The case scenario format (policies/tests/**/*.yaml with `format: qpr-rules/case-scenarios-v1`):
a procedure's case as an event history, and the state, duties, departures and next events the
procedure must give after it (issue 17.5)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from qpr_rules.policy.model import Id, Text

CASE_SCENARIO_FORMAT = "qpr-rules/case-scenarios-v1"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class ExpectedDuty(_Strict):
    who: Id = Field(description="Role that must owe the duty")
    do: Text | None = Field(default=None, description="Text the duty must contain (optional)")


class ExpectedDeparture(_Strict):
    """A departure the case must record: named by the event's position in `events:` (1 for the
    first), by its type, or both; with the clause it must cite (optional)."""

    event: int | None = Field(default=None, ge=1,
                              description="Position of the event in `events:` (1 = first)")
    type: Id | None = Field(default=None, description="The event type of the departure")
    clause: Id | None = Field(default=None, description="The clause the departure must cite")

    @model_validator(mode="after")
    def _named(self) -> ExpectedDeparture:
        if self.event is None and self.type is None:
            raise ValueError("name the departure by `event:` (its position in events:, 1 = first), "
                             "by `type:`, or both")
        return self


class CaseExpect(_Strict):
    state: Id = Field(description="The leaf state the case must be in after the events")
    duties: list[ExpectedDuty] | None = Field(
        default=None, description="Duties that must be among those owed after the events")
    no_duties: bool = Field(default=False, description="No duty may be owed after the events")
    departures: list[ExpectedDeparture] = Field(
        default_factory=list,
        description="Exactly the departures the case must record (none when left out)")
    next: list[Id] | None = Field(
        default=None, description="Exactly the event types allowed next, in any order (optional)")


class KnownWrongCase(CaseExpect):
    """The wrong answer the procedure gives today, recorded so that a reading can be committed
    failing before its fix (as a decision scenario's `known_wrong`): written like `expect:` (the
    state, the duties among those owed, exactly the departures, optionally the next events), it
    counts only while the case ends exactly so; a case that now answers as expected has a stale
    mark (`check --strict` refuses it), and one that goes wrong another way fails."""

    reason: Text = Field(description="Why it is wrong, e.g. \"issue 17.7: siblings placed at once are "
                                     "counted as one\"")


class CaseScenario(_Strict):
    name: Text
    procedure: Id | None = Field(default=None, description="Overrides the file's procedure")
    clauses: list[Id] = Field(default_factory=list, description="Clauses this scenario checks")
    events: list[dict[str, Any]] = Field(
        description="The events, in order, as `Case.record` takes them: type, by, on, and the "
                    "event's fields (schemas/events/TYPE.schema.json)")
    expect: CaseExpect
    known_wrong: KnownWrongCase | None = Field(
        default=None, description="Expected to fail: the wrong answer the procedure gives today, and why")

    @model_validator(mode="after")
    def _wrong_is_not_right(self) -> CaseScenario:
        # A mark whose wrong answer is the expected one could never tell a fix from the bug.
        wrong = self.known_wrong
        recorded = CaseExpect.model_validate(wrong.model_dump(exclude={"reason"})) if wrong else None
        if recorded is not None and recorded == self.expect:
            raise ValueError("known_wrong records the expected answer: record the wrong answer the "
                             "procedure gives today (its state, duties or departures), or drop the mark")
        return self


class CaseScenarioFile(_Strict):
    format: Literal["qpr-rules/case-scenarios-v1"]
    procedure: Id | None = Field(default=None, description="Procedure of every case here")
    cases: list[CaseScenario] = Field(min_length=1)
