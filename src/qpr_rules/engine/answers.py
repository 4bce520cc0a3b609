"""Decisions assembled from the set of rules that fired, memoised per set.

For one decision, everything in its answer except the explanations of the rules that did not
fire depends only on which rules fired: the outcome, status, reason, the fired rules with their
citations, the obligations and the outcomes given. So that part is built once per distinct set
(a bit mask from the compiled evaluator) and shared; the explanations, which read the facts, are
built only when `not_fired` is read (`LazyDecision`), and then give exactly what the eager
Decision would have held, so the JSON is the same.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from json.encoder import encode_basestring as _encode_str  # what json.dumps uses for a str
from typing import Any, Protocol

from qpr_rules.engine.combine import combine
from qpr_rules.engine.compiled_explain import ModelExplainer
from qpr_rules.engine.decision import Consequence, Decision, FiredRule, NotFiredRule, Obligation
from qpr_rules.facts.base import FactModel
from qpr_rules.policy.conditions import Condition
from qpr_rules.policy.loader import DecisionSpec


class RuleView(Protocol):
    """What an answer needs of one rule (the engine's per-rule runtime)."""

    @property
    def rule_id(self) -> str: ...

    @property
    def title(self) -> str: ...

    @property
    def outcome(self) -> str: ...

    @property
    def condition(self) -> Condition: ...

    @property
    def fired(self) -> FiredRule: ...

    @property
    def obligations(self) -> tuple[Obligation, ...]: ...

    @property
    def for_each(self) -> tuple[str | None, ...]: ...

    @property
    def consequences(self) -> tuple[Consequence, ...]: ...


#: A rule's duties for these facts (the model dumped): its obligations, those with `for_each`
#: repeated per item of a list (engine._expand).
Expand = Callable[[Any, Mapping[str, Any]], tuple[Obligation, ...]]


_UNSET: Any = object()
#: Answers kept per decision: the distinct sets of fired rules seen (a few dozen in practice).
MEMO_LIMIT = 4096


class LazyDecision(Decision):
    """A Decision whose `not_fired` explanations are built on first read.

    It is a Decision in every respect callers see (fields, equality, `to_dict`, `to_json`,
    `dataclasses.replace`, pickling, which gives a plain Decision); only the moment the
    explanations are computed differs. Built by `AnswerBook.decision`, never directly."""

    @property
    def not_fired(self) -> tuple[NotFiredRule, ...]:
        value = self.__dict__["_not_fired"]
        if value is _UNSET:
            build: Callable[[], tuple[NotFiredRule, ...]] = self.__dict__["_explain"]
            value = build()
            self.__dict__["_not_fired"] = value
            self.__dict__["_explain"] = None  # drop the facts once explained
        return value

    @not_fired.setter
    def not_fired(self, value: tuple[NotFiredRule, ...]) -> None:
        # dataclasses.replace() builds a new instance through __init__, which sets the field
        self.__dict__["_not_fired"] = value

    def to_json(self, indent: int | None = None) -> str:
        """Decision.to_json, byte for byte: the compact form is assembled from the JSON of the
        parts that depend only on the fired rules (encoded once per set, by json itself) and of
        each explanation; any other form is Decision's own."""
        parts = self.__dict__.get("_json")
        if indent is not None or parts is None:
            return super().to_json(indent)
        head, tail, rules = parts
        return "".join([head, "[", ",".join(f'{{"failed":{_encode_str(n.failed)},{rule}}}'
                                            for n, rule in zip(self.not_fired, rules, strict=True)),
                        "]", tail])

    def __eq__(self, other: object) -> bool:
        # a Decision's generated __eq__ wants the exact class: compare the fields instead
        if not isinstance(other, Decision):
            return NotImplemented
        return _fields(self) == _fields(other)

    def __hash__(self) -> int:
        return hash(_fields(self))

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickled (e.g. to another process) as a plain, fully explained Decision."""
        return (Decision, _fields(self))


def _fields(decision: Decision) -> tuple[Any, ...]:
    return tuple(getattr(decision, name) for name in Decision.__dataclass_fields__)


class AnswerBook:
    """One decision's answers, keyed by the bit mask of the rules that fired (bit i: rules[i],
    rules in evaluation order)."""

    def __init__(self, spec: DecisionSpec, rules: Sequence[RuleView], digest: str, revision: str,
                 expand: Expand) -> None:
        self.spec = spec
        self.expand = expand
        self.rules = tuple(rules)
        self.digest = digest
        self.revision = revision
        self.explainer = ModelExplainer(spec.fact_model)
        self._memo: dict[int, _Entry] = {}
        self._bits = {r.rule_id: 1 << i for i, r in enumerate(self.rules)}

    def fired_ids(self, mask: int) -> list[str]:
        return [r.rule_id for i, r in enumerate(self.rules) if mask >> i & 1]

    def mask_of(self, rule_ids: Iterable[str]) -> int:
        """The mask of a set of rule ids (KeyError for an id the decision does not have)."""
        bits = self._bits
        mask = 0
        for rid in rule_ids:
            mask |= bits[rid]
        return mask

    def _entry(self, mask: int) -> _Entry:
        entry = self._memo.get(mask)
        if entry is None:
            entry = self._build(mask)
            if len(self._memo) < MEMO_LIMIT:  # a decision with many rules cannot grow it unbounded
                self._memo[mask] = entry
        return entry

    def _build(self, mask: int) -> _Entry:
        spec = self.spec.decision
        fired = [r for i, r in enumerate(self.rules) if mask >> i & 1]
        not_fired = tuple(r for i, r in enumerate(self.rules) if not mask >> i & 1)
        fields: dict[str, Any] = {
            "decision": spec.id, "errors": (), "policy_digest": self.digest,
            "policy_revision": self.revision, "format": Decision.__dataclass_fields__["format"].default,
            "fired": (), "obligations": (), "consequences": (), "outcomes": (),
        }
        per_item: tuple[RuleView, ...] = ()  # duty rules whose obligations repeat per list item
        combined = combine(spec.combine, spec.outcomes, fired, _outcome_of)
        if combined is None:
            reason = spec.default_reason or "no rule applies"
            fields.update(outcome=spec.default, status="default",
                          reason=f"{reason}; default outcome {spec.default!r}")
        else:
            fields.update(
                outcome=combined.outcome, status="decided",
                reason="; ".join(f"{r.title} [{r.rule_id}]" for r in combined.winners),
                fired=tuple(r.fired for r in fired),
                obligations=tuple(ob for r in combined.duty_rules for ob in r.obligations),
                consequences=tuple(c for r in combined.duty_rules for c in r.consequences),
                outcomes=tuple(dict.fromkeys(r.outcome for r in fired)),
            )
            if any(any(r.for_each) for r in combined.duty_rules):
                per_item = combined.duty_rules
        # with per-item obligations the JSON's obligations differ per case: Decision's own to_json
        parts = None if per_item else _json_parts(fields, not_fired)
        return fields, not_fired, parts, per_item

    def decision(self, mask: int, model: FactModel, facts: Mapping[str, Any] | None = None) -> Decision:
        """The Decision for the rules in mask, explaining the others from model when read
        (facts: the model dumped, when the caller has it already)."""
        fields, not_fired, parts, per_item = self._entry(mask)
        out = object.__new__(LazyDecision)  # frozen: fill __dict__ directly, as __init__ would
        state = out.__dict__
        state.update(fields)
        state["_json"] = parts
        if per_item:
            dumped = facts if facts is not None else model.model_dump(mode="python")
            state["obligations"] = tuple(ob for r in per_item for ob in self.expand(r, dumped))
        if not not_fired:
            state["_not_fired"] = ()
            return out
        state["_not_fired"] = _UNSET
        explainer = self.explainer
        state["_explain"] = lambda: tuple(
            NotFiredRule(r.rule_id, r.title, explainer.explain(r.condition, model) or "")
            for r in not_fired)
        return out


_JsonParts = tuple[str, str, tuple[str, ...]]
#: per set of fired rules: the Decision's fields, the rules not fired, the JSON parts (None when
#: the obligations depend on the facts) and the duty rules whose obligations repeat per item
_Entry = tuple[dict[str, Any], tuple[RuleView, ...], _JsonParts | None, tuple[RuleView, ...]]
_PLACEHOLDER = "\x00not_fired\x00"


def _json_parts(fields: dict[str, Any], not_fired: tuple[RuleView, ...]) -> _JsonParts:
    """The compact JSON of a Decision with these fields, cut where `not_fired` goes (head ends
    with its key, tail starts after its value), and per unfired rule the JSON of its id and title
    (keys sorted: failed, id, title). json encodes every piece, so the bytes are json's own."""
    probe = Decision(**fields, not_fired=_PLACEHOLDER)  # type: ignore[arg-type]
    text = probe.to_json()
    marker = json.dumps(_PLACEHOLDER, ensure_ascii=False)
    assert text.count(marker) == 1
    head, tail = text.split(marker)
    rules = tuple(json.dumps({"id": r.rule_id, "title": r.title}, sort_keys=True, ensure_ascii=False,
                             separators=(",", ":"))[1:-1] for r in not_fired)
    return head, tail, rules


def _outcome_of(rule: RuleView) -> str:
    return rule.outcome
