"""The answer to a decision: immutable, JSON-serialisable, citing the policy behind it."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, is_dataclass
from typing import Any, Literal

Status = Literal["decided", "default", "error"]

#: The version of the Decision JSON contract (docs/api.md, "Versioned contracts"). Bumped when a
#: field is removed or renamed or its meaning changes; adding a field does not bump it.
DECISION_FORMAT = "qpr-rules/decision/v1"


def _plain(value: Any) -> Any:
    """A field's value as asdict() gives it (a tuple of dataclasses as a list of dicts)."""
    if isinstance(value, tuple):
        return [asdict(v) if is_dataclass(v) and not isinstance(v, type) else v for v in value]
    return value


@dataclass(frozen=True)
class Citation:
    clause: str
    document: str
    section: str
    text: str


@dataclass(frozen=True)
class FiredRule:
    id: str
    title: str
    outcome: str
    citations: tuple[Citation, ...]


@dataclass(frozen=True)
class NotFiredRule:
    id: str
    title: str
    failed: str  # the first condition that failed, with the fact values seen


@dataclass(frozen=True)
class Obligation:
    who: str
    role: str  # the role's title
    do: str
    rule: str
    clause: Citation | None = None


@dataclass(frozen=True)
class Consequence:
    """What the policy says may follow, with no one named who must act."""

    text: str
    rule: str
    clause: Citation


@dataclass(frozen=True)
class Decision:
    """Outcome of one decision for one set of facts.

    `status` is "decided" when a rule decided, "default" when no rule applied, and
    "error" when the facts were invalid or evaluation failed (then `outcome` is the
    decision's `on_error` outcome: deny for placement questions).
    """

    decision: str
    outcome: str
    status: Status
    reason: str
    fired: tuple[FiredRule, ...] = ()
    obligations: tuple[Obligation, ...] = ()
    consequences: tuple[Consequence, ...] = ()
    not_fired: tuple[NotFiredRule, ...] = ()
    errors: tuple[str, ...] = ()
    outcomes: tuple[str, ...] = field(default=())  # every outcome the fired rules gave
    policy_digest: str = ""
    policy_revision: str = ""
    format: str = DECISION_FORMAT  # the JSON contract's version, carried by every decision
    #: the case a fact was read from (procedure, case id, version); absent when none was
    case: dict[str, Any] | None = None

    @property
    def allowed(self) -> bool:
        """True only for an `allow` outcome reached without error."""
        return self.outcome == "allow" and self.status != "error"

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        if out["case"] is None:  # decisions that read no case keep their bytes
            del out["case"]
        return out

    def to_json(self, indent: int | None = None, not_fired: bool = True) -> str:
        """Canonical JSON: same facts and same policy digest give the same bytes. not_fired=False
        leaves out the `not_fired` key (the explanation of every rule that did not fire, which
        grows with the policy: docs/api.md, "What a Decision's JSON carries")."""
        data = self.to_dict() if not_fired else {
            name: _plain(getattr(self, name)) for name in self.__dataclass_fields__
            if name != "not_fired" and not (name == "case" and self.case is None)}
        return json.dumps(data, sort_keys=True, indent=indent, ensure_ascii=False,
                          separators=(",", ":") if indent is None else None)
