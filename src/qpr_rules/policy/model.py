"""The policy file format, as pydantic models. docs/policy-format.md documents it for analysts.

These models validate shape and scalar types. Cross-references (clause ids, decisions,
roles, fact paths in conditions) are checked by `loader.py`, which knows every file.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    StrictStr,
    field_validator,
    model_validator,
)

#: What an id may be: the hint about allowed characters is given for this pattern only.
ID_PATTERN = r"^[a-z0-9][a-z0-9_.-]*$"
Id = Annotated[
    StrictStr,
    Field(pattern=ID_PATTERN, description="lower-case letters, digits, _ . -"),
]
Text = Annotated[StrictStr, Field(min_length=1)]
FORMAT = "qpr-rules/v1"
Combine = Literal["deny-overrides", "precedence", "first-applicable", "collect-all"]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class Source(Strict):
    document: Text = Field(description="File name of the source text in sources/ beside the policy")
    title: Text
    publisher: Text | None = None
    revised: dt.date | None = Field(default=None, description="Revision date printed on the source")

    @field_validator("document")
    @classmethod
    def _a_file_name(cls, value: str) -> str:
        # the document is read and printed (check, the HTML report): a path could name any file
        # the reader can read (/proc/self/environ, ../../secret.txt); a name stays in sources/
        if value in (".", "..") or any(c in value for c in "/\\\0"):
            raise ValueError(f"source.document must be a file name in sources/ beside the policy, not a "
                             f"path ({value[:80]!r}): no directories, no .., no / or \\")
        return value


class Role(Strict):
    id: Id
    title: Text


class Parameter(Strict):
    value: StrictBool | StrictInt | float | StrictStr | dt.date = Field(
        description="The value; rules refer to it as {param: NAME}"
    )
    description: Text
    clauses: list[Id] = Field(default_factory=list, description="Clauses this value reads")
    origin: Text | None = Field(
        default=None,
        description=("Where a value the source document does not state comes from: an external "
                     "reference, named (not bundled in sources/), or how it is derived from the "
                     "text; listed in docs/readings.md"))


class Clause(Strict):
    id: Id
    section: Text = Field(description="Section heading of the source document")
    text: Text = Field(description="The sentence, quoted from the source")
    computable: StrictBool = True
    reason: Text | None = Field(default=None, description="Why a clause is not computable")
    note: Text | None = Field(default=None, description="How an ambiguity was read, and why")

    @model_validator(mode="after")
    def _reason_when_not_computable(self) -> Clause:
        if not self.computable and not self.reason:
            raise ValueError("a non-computable clause needs a `reason` saying why")
        return self


class NotNormative(Strict):
    text: Text = Field(description="Text of the source that states no rule (a heading, a reference "
                                   "list), quoted like a clause; every sentence it overlaps is marked")
    reason: Text = Field(description="Why it is not normative")


class Obligation(Strict):
    who: Id = Field(description="Role responsible (an id under `roles:`)")
    do: Text = Field(description="What that role must now do; with for_each, {item} names the item")
    clause: Id | None = Field(default=None, description="Clause that imposes the duty")
    for_each: Text | None = Field(
        default=None,
        description="A fact path to a list of text or enum values: one duty per item, "
                    "{item} in `do` replaced")


class Consequence(Strict):
    """What the text says may follow, naming no one who must act ("may be subject to
    disciplinary action"): recorded on the decision, not a duty."""

    text: Text = Field(description="The consequence, as the decision reports it")
    clause: Id = Field(description="Clause that states it")


class Decision(Strict):
    id: Id
    title: Text
    question: Text | None = None
    facts: Id = Field(description="Fact type the decision takes (see `qpr-rules schema facts`)")
    outcomes: list[Id] = Field(min_length=1, description="Allowed outcomes, strongest first")
    combine: Combine = Field(description="How the outcomes of the rules that fire combine")
    default: Id = Field(description="Outcome when no rule applies")
    default_reason: Text | None = None
    on_error: Id = Field(description="Outcome when facts are invalid or evaluation fails")
    placement: StrictBool = Field(
        default=False, description="A placement question: on error the answer must be a denial"
    )
    dated_by: Text | None = Field(
        default=None, description="The fact path of the decision's own date (a placement's date): "
        "without an explicit as_of, the version of the policy in force on that date is applied")
    on_error_obligations: list[Obligation] = Field(
        default_factory=list, description="Duties every error answer carries (invalid facts, a "
        "failed evaluation): who must fix the input. Required unless `placement: true`, whose "
        "error answer is a denial")
    hold_from_case: Text | None = Field(
        default=None, description="The fact path of a resource home's hold (a Hold) that a case of "
        "a procedure can give instead of the caller (`Engine.decide(..., case=CASE)`)")
    log_facts: list[Text] = Field(
        default_factory=list, description="Fact paths whose values the decision log records: "
        "yes/no, numbers, dates and enum values only, never names or free text")

    @model_validator(mode="after")
    def _outcomes_known(self) -> Decision:
        repeated = sorted({o for o in self.outcomes if self.outcomes.count(o) > 1})
        if repeated:
            raise ValueError(f"outcomes lists {', '.join(map(repr, repeated))} more than once; "
                             "list each outcome once, strongest first")
        for name in ("default", "on_error"):
            value = getattr(self, name)
            if value not in self.outcomes:
                raise ValueError(f"{name} {value!r} is not one of the outcomes {self.outcomes}")
        if self.combine == "deny-overrides" and "deny" not in self.outcomes:
            raise ValueError("deny-overrides needs an outcome named 'deny'")
        if self.placement and self.on_error != "deny":
            raise ValueError("a placement decision must fail closed: set on_error: deny")
        return self


class Rule(Strict):
    id: Id
    decision: Id
    title: Text
    clauses: list[Id] = Field(default_factory=list, description="Clause ids this rule encodes")
    priority: StrictInt = Field(default=100, description="Lower runs first (first-applicable)")
    when: Any = Field(description="The condition (see the condition language)")
    outcome: Id
    obligations: list[Obligation] = Field(default_factory=list)
    consequences: list[Consequence] = Field(
        default_factory=list, description="Consequences the text names without a duty (reported, not owed)")
    note: Text | None = None


Alias = Annotated[StrictStr, Field(pattern=r"^[a-z][a-z0-9_]*$", description="a-z, digits, _")]


class Invariant(Strict):
    """A guarantee the rules must give for every valid fact, proved by `qpr-rules prove`."""

    id: Id
    clause: Id = Field(description="The clause this invariant guarantees")
    title: Text = Field(description="The guarantee in words")
    decision: Id | None = Field(default=None, description="The decision it constrains")
    decisions: dict[Alias, Id] | None = Field(
        default=None, description="Several decisions over related facts: a name for each, used as "
                                  "`NAME.path` for its facts and `outcome.NAME` for its answer")
    when: Any = Field(default=None, description="Facts the guarantee is about (default: every fact)")
    never: Id | list[Id] | None = Field(default=None, description="Outcomes the decision never gives")
    always: Id | list[Id] | None = Field(default=None, description="Outcomes it always gives")
    then: Any = Field(default=None, description="A condition that must hold; reads `outcome`")
    note: Text | None = None

    @model_validator(mode="after")
    def _one_form(self) -> Invariant:
        if (self.decision is None) == (self.decisions is None):
            raise ValueError("an invariant names either `decision: ID` or `decisions: {NAME: ID, ...}`")
        forms = [n for n in ("never", "always", "then") if getattr(self, n) is not None]
        if len(forms) != 1:
            raise ValueError("an invariant states exactly one of `never`, `always` or `then`"
                             f"{' (found ' + ', '.join(forms) + ')' if forms else ''}")
        if self.decisions is not None and self.then is None:
            raise ValueError("an invariant over several decisions states `then:` with "
                             "`{fact: outcome.NAME, ...}`")
        return self


class Duty(Strict):
    """A duty owed while a case is in a state (or created by a departure): who, what, which step."""

    who: Id = Field(description="Role responsible (an id under `roles:`)")
    do: Text = Field(description="What that role must do; {event.PATH} and {case.PATH} are replaced")
    step: StrictInt | None = Field(default=None, description="The step of the procedure table, if any")
    clause: Id = Field(description="Clause that imposes the duty")
    until: Id | None = Field(default=None, description="A departure's duty: the event type that "
                                                       "discharges it (a state's duties end as it is left)")


class Departure(Strict):
    """What an event the procedure does not allow at that point means: said, cited, and the
    duties it creates."""

    text: Text = Field(description="The sentence; {event.PATH} and {case.PATH} are replaced")
    clause: Id
    when: Any = Field(default=None, description="A state's departure only: a guard in the condition "
                      "language over `event.PATH` and `case.PATH`; where it does not hold, the "
                      "enclosing state's departure applies, then the event's own (absent: always)")
    duties: list[Duty] = Field(default_factory=list)
    consequences: list[Consequence] = Field(default_factory=list)


class ProcedureState(Strict):
    id: Id = Field(description="Unique within the procedure (nested states too)")
    title: Text
    clause: Id = Field(description="Clause that establishes the state")
    final: StrictBool = Field(default=False, description="The procedure ends here: no transition leaves it")
    initial: Id | None = Field(default=None, description="Of nested states, the one entered first "
                                                         "(default: the first listed)")
    states: list[ProcedureState] = Field(default_factory=list, description="Nested states")
    duties: list[Duty] = Field(default_factory=list, description="Duties owed while in the state")
    departures: dict[Id, Departure] = Field(
        default_factory=dict, description="EVENT: what that event means when it comes in this state "
        "(or a state nested in it) and no transition takes it; overrides the event's `departure`")


class ProcedureEvent(Strict):
    type: Id = Field(description="Event type (see `qpr-rules schema events`)")
    clause: Id = Field(description="Clause that speaks of the event")
    departure: Departure | None = Field(default=None, description="When the event comes where no "
                                        "transition takes it (default: a departure citing `clause`)")


class Transition(Strict):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, populate_by_name=True)

    from_: Id = Field(alias="from", description="The state left (a parent state: any state in it)")
    event: Id = Field(description="The event type that triggers it")
    to: Id | None = Field(default=None, description="The state entered (absent: the case stays where "
                                                    "it is; nothing is entered or left)")
    when: Any = Field(default=None, description="Guard in the condition language over `event.PATH` "
                                                "and `case.PATH` (absent: always)")
    record: dict[Id, Any] = Field(default_factory=dict, description="Case memory set: FIELD: value, "
                                  "{fact: event.PATH} or null")
    clause: Id
    note: Text | None = None


class Procedure(Strict):
    """A procedure as a statechart: a case moves between states on events."""

    id: Id
    title: Text
    case: Id = Field(description="The case memory model (see `qpr-rules schema events`)")
    initial: Id = Field(description="The state a new case starts in")
    clause: Id = Field(description="Clause that establishes the procedure")
    events: list[ProcedureEvent] = Field(min_length=1)
    states: list[ProcedureState] = Field(min_length=1)
    transitions: list[Transition] = Field(default_factory=list)


class PolicyFile(Strict):
    format: Literal["qpr-rules/v1"] = Field(description="Format version of this file")
    id: Id
    title: Text
    source: Source
    jurisdiction: Text
    revision: dt.date = Field(description="Date this encoding was last revised")
    effective_from: dt.date = Field(description="First day this version is in force")
    roles: list[Role] = Field(default_factory=list)
    parameters: dict[Id, Parameter] = Field(default_factory=dict)
    conditions: dict[Id, Any] = Field(
        default_factory=dict, description="Named conditions that rules reuse with {use: NAME}")
    clauses: list[Clause] = Field(default_factory=list)
    not_normative: list[NotNormative] = Field(
        default_factory=list, description="Source text that is not normative, so no clause quotes it")
    decisions: list[Decision] = Field(default_factory=list)
    rules: list[Rule] = Field(default_factory=list)
    invariants: list[Invariant] = Field(
        default_factory=list, description="Guarantees proved for every valid fact (`qpr-rules prove`)")
    procedures: list[Procedure] = Field(
        default_factory=list, description="Procedures as statecharts: states, events, transitions, duties")
