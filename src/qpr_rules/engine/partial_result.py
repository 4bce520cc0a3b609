"""What `Engine.decide_partial` answers: a decision on partial facts, as plain typed data; and
answers to its questions read from text (the command line's and the service page's interview).

Kept apart from the solver work (engine/partial.py) so that the command line, the service and
applications can read and serialise an answer, and fill in known facts one answer at a time
(`with_answer`), without importing z3.
"""

from __future__ import annotations

import datetime as dt
import itertools
import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any, Literal

from qpr_rules.engine.decision import Obligation

#: determined: every valid completion of the known facts gets `outcome` (proved by the solver,
#: within `bounds`); open: more than one outcome is still possible; unknown: the solver ran out
#: of time or could not decide (nothing is claimed, never a guess).
PartialStatus = Literal["determined", "open", "unknown"]
#: proved: for lists of any length; proved-bounded: for lists of up to `list_bound` items (as
#: `qpr-rules prove` says PROVED and PROVED<=N)
ProofStatus = Literal["proved", "proved-bounded"]
#: the kind of answer a question takes (a fact's type; object: is there one, yes or no; list:
#: how many items)
AnswerKind = Literal["bool", "int", "number", "string", "enum", "date", "list", "object"]

PARTIAL_FORMAT = "qpr-rules/partial-decision/v1"


@dataclass(frozen=True)
class Settles:
    """An answer to a question that alone fixes the outcome, whatever else is unknown."""

    answer: Any  # the fact's value (None: null, absent; {} an object given; [] no items)
    outcome: str


@dataclass(frozen=True)
class Question:
    """An unknown fact that can change the answer, and how to ask for it."""

    path: str  # the fact's path, e.g. home.hold or home.children_placed[0].age
    text: str  # the fact's description, the question to ask
    kind: AnswerKind
    nullable: bool  # null is an answer (no hold, no restrictions)
    choices: tuple[str, ...] = ()  # an enum's values, or a list's item values when they are enums
    settles: tuple[Settles, ...] = ()  # answers that settle the outcome alone
    # how many answers the solver tried when looking for settling ones (the finite domain of
    # bool, enum, null and object presence; the example completions' values otherwise)
    answers_tried: int = 0
    # the solver could not tell in time whether this fact can change the answer: asked anyway
    uncertain: bool = False


@dataclass(frozen=True)
class Example:
    """A valid completion of the known facts and the answer Engine.decide gives to it."""

    outcome: str
    facts: dict[str, Any]


@dataclass(frozen=True)
class Duty:
    """An obligation of the determined answer: certain (in every completion) or depending on
    unknown facts (in some completions only)."""

    obligation: Obligation
    certain: bool


@dataclass(frozen=True)
class PartialDecision:
    """A decision on partial facts (docs/interview.md)."""

    decision: str
    status: PartialStatus
    outcome: str | None  # the determined outcome; None unless status is determined
    reason: str
    outcomes: tuple[str, ...] = ()  # the outcomes still possible (one when determined)
    examples: tuple[Example, ...] = ()  # open: one completion per outcome still possible
    questions: tuple[Question, ...] = ()  # open: in the order to ask them (the ranking rule)
    duties: tuple[Duty, ...] = ()  # determined: the answer's obligations
    proof: ProofStatus | None = None
    list_bound: int | None = None  # set when proved only for lists of up to this many items
    bounds: tuple[str, ...] = ()  # what the claim covers, worded as `qpr-rules prove` words it
    errors: tuple[str, ...] = ()  # the known facts' problems (then every completion is refused)
    seconds: float = 0.0
    # the procedure's case the hold was taken from: procedure, id, version (None: no case)
    case: dict[str, Any] | None = None
    format: str = PARTIAL_FORMAT

    @property
    def determined(self) -> bool:
        return self.status == "determined"

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = _jsonable(asdict(self))
        if out["case"] is None:  # as Decision: the case is named only when one gave facts
            del out["case"]
        return out


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, dt.date):
        return value.isoformat()
    return getattr(value, "value", value)  # an enum member: its value


_STEP = re.compile(r"([^.\[\]]+)((?:\[\d+\])*)")


def path_steps(path: str) -> list[str | int]:
    """home.children_placed[0].age -> ["home", "children_placed", 0, "age"]."""
    steps: list[str | int] = []
    for part in path.split("."):
        match = _STEP.fullmatch(part)
        if match is None:
            raise ValueError(f"not a fact path: {path!r}")
        steps.append(match.group(1))
        steps += [int(i) for i in re.findall(r"\[(\d+)\]", match.group(2))]
    return steps


def with_answer(known: Mapping[str, Any], path: str, value: Any) -> dict[str, Any]:
    """A copy of the known facts with the fact at path set to value (objects on the way are
    made; a list on the way must already hold the item)."""
    out = _copy(known)
    steps = path_steps(path)
    here: Any = out
    for step, following in itertools.pairwise(steps):
        if isinstance(step, int):
            here = here[step]
            continue
        if here.get(step) is None:
            here[step] = [] if isinstance(following, int) else {}
        here = here[step]
    last = steps[-1]
    here[last] = value
    return out


NULL = ("none", "null")  # null, where the fact may be null (no hold, no restrictions)


class BadAnswer(ValueError):
    """An answer that does not fit the question (the question is asked again)."""


def parse_answer(question: Question, text: str) -> Any:
    """The fact's value for an answer typed at the prompt (BadAnswer saying what fits)."""
    word = text.strip()
    if question.nullable and word.lower() in NULL:
        return None
    match question.kind:
        case "bool":
            return _yes_no(word)
        case "object":
            if _yes_no(word):
                return {}
            if not question.nullable:
                raise BadAnswer("this is always there: answer yes")
            return None
        case "enum":
            if word.isdigit() and 1 <= int(word) <= len(question.choices):
                return question.choices[int(word) - 1]
            if word in question.choices:
                return word
            raise BadAnswer(f"answer one of {', '.join(question.choices)} (or its number)")
        case "int":
            try:
                return int(word)
            except ValueError:
                raise BadAnswer("answer a whole number") from None
        case "number":
            try:
                return float(word)
            except ValueError:
                raise BadAnswer("answer a number") from None
        case "date":
            try:
                return dt.date.fromisoformat(word).isoformat()
            except ValueError:
                raise BadAnswer("answer a date as YYYY-MM-DD") from None
        case "string":
            return word
        case "list":
            return _list(question, word)
    raise BadAnswer(f"cannot read an answer of kind {question.kind}")


def _yes_no(word: str) -> bool:
    lowered = word.lower()
    if lowered in ("y", "yes", "true"):
        return True
    if lowered in ("n", "no", "false"):
        return False
    raise BadAnswer("answer yes or no")


def _list(question: Question, word: str) -> list[Any]:
    if question.choices:  # a list of enum values: the values themselves
        items = [w.strip() for w in word.split(",") if w.strip()] if word not in ("0",) else []
        wrong = [w for w in items if w not in question.choices]
        if wrong:
            raise BadAnswer(f"not among {', '.join(question.choices)}: {', '.join(wrong)}")
        return items
    try:
        count = int(word)
    except ValueError:
        raise BadAnswer("answer how many items there are (a whole number)") from None
    if not 0 <= count <= 1000:
        raise BadAnswer("answer a number of items from 0 to 1000")
    return [{} for _ in range(count)]  # the items' facts are asked next, where they matter


def _copy(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: _copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_copy(v) for v in value]
    return value


__all__ = ["NULL", "PARTIAL_FORMAT", "BadAnswer", "Duty", "Example", "PartialDecision", "Question", "Settles",
           "parse_answer", "path_steps", "with_answer"]
