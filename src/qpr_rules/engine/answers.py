"""Decisions assembled from the set of rules that fired, memoised per set.

For one decision, everything in its answer except the explanations of the rules that did not
fire depends only on which rules fired: the outcome, status, reason, the fired rules with their
citations, the obligations and the outcomes given. So that part is built once per distinct set
(a bit mask from the compiled evaluator) and shared; the explanations, which read the facts, are
built only when `not_fired` is read (`LazyDecision`), and then give exactly what the eager
Decision would have held, so the JSON is the same.

Building an answer costs what fired, not the rules that exist: the part memoised per set reads
only the fired rules, and the rules that did not fire (and each one's JSON, prepared once per
rule at load) are listed only when `not_fired` is read or the Decision is serialised. The memo
is bounded in bytes (MEMO_BUDGET_BYTES, oldest sets dropped first), whatever the policy's size:
a policy of thousands of rules meets new sets of fired rules all the time.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict
from json.encoder import encode_basestring as _encode_str  # what json.dumps uses for a str
from typing import Any, Protocol

from qpr_rules.engine.combine import combine
from qpr_rules.engine.compiled_explain import Fragments, ModelExplainer
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
#: Bytes of memoised answers kept per decision (an estimate: the answer's JSON and a fixed cost
#: per object). The bundled decisions meet a few dozen sets of fired rules, a few kB each.
MEMO_BUDGET_BYTES = 4 * 1024 * 1024
_ENTRY_OVERHEAD = 600  # bytes: the fields dict, its tuples and the memo's own slot, measured roughly


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

    def to_json(self, indent: int | None = None, not_fired: bool = True) -> str:
        """Decision.to_json, byte for byte: the compact form is assembled from the JSON of the
        parts that depend only on the fired rules (encoded once per set, by json itself) and of
        each explanation (each rule's id and title encoded once, at load); any other form is
        Decision's own."""
        parts = self.__dict__.get("_json")
        if indent is not None or parts is None:
            return super().to_json(indent, not_fired)
        head, tail, lean = parts
        if not not_fired:
            return lean
        state = self.__dict__
        if state["_not_fired"] is _UNSET:  # straight from the facts, no NotFiredRule made
            items = state["_book"].fragments(self._model(), state["_mask"])
        else:
            rules: tuple[str, ...] = state["_book"].rule_json
            unfired = zip(self.not_fired, self._unfired(), strict=True)
            items = ",".join(f'{{"failed":{_encode_str(n.failed)},{rules[i]}}}' for n, i in unfired)
        return "".join([head, "[", items, "]", tail])

    def _model(self) -> FactModel:
        """The validated facts the explanations read (made once, when the answer came from
        another process)."""
        state = self.__dict__
        model = state["_facts"]
        if model is None:
            model = state["_facts"] = state["_model_of"]()
        return model

    def _unfired(self) -> list[int]:
        """Indexes (in evaluation order) of the rules that did not fire."""
        book: AnswerBook = self.__dict__["_book"]
        return book.unfired(self.__dict__["_mask"])

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
        self._fragments: Fragments | None = None
        self._memo: dict[int, _Entry] = {}
        self._memo_bytes = 0
        self.hits = self.misses = 0
        self._bits = {r.rule_id: 1 << i for i, r in enumerate(self.rules)}
        self._all = (1 << len(self.rules)) - 1
        # each rule's part of a not_fired entry, encoded once (keys sorted: failed, id, title)
        # each rule's JSON as a fired rule, its obligations' and its consequences', encoded once
        self._pieces = {r.rule_id: (_enc(asdict(r.fired)), tuple(_enc(asdict(o)) for o in r.obligations),
                                    tuple(_enc(asdict(c)) for c in r.consequences)) for r in self.rules}
        self.rule_json = tuple(json.dumps({"id": r.rule_id, "title": r.title}, sort_keys=True,
                                          ensure_ascii=False, separators=(",", ":"))[1:-1]
                               for r in self.rules)

    def stats(self) -> dict[str, float]:
        """The memo of answers: entries, estimated bytes, and the share of lookups it answered."""
        looked = self.hits + self.misses
        return {"entries": len(self._memo), "bytes": self._memo_bytes,
                "hit_rate": self.hits / looked if looked else 0.0,
                "budget": MEMO_BUDGET_BYTES}

    def unfired(self, mask: int) -> list[int]:
        """Indexes of the rules not in mask, in evaluation order."""
        n = len(self.rules)
        bits = format(mask, "b").zfill(n)[::-1]  # bits[i] is rule i's
        return [i for i in range(n) if bits[i] == "0"]

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
        if entry is not None:
            self.hits += 1
            return entry
        self.misses += 1
        entry = self._build(mask)
        size = entry[3]
        if size <= MEMO_BUDGET_BYTES:
            memo = self._memo
            while self._memo_bytes + size > MEMO_BUDGET_BYTES:  # the oldest sets go first
                self._memo_bytes -= memo.pop(next(iter(memo)))[3]
            memo[mask] = entry
            self._memo_bytes += size
        return entry

    def _build(self, mask: int) -> _Entry:
        """The part of the answer that depends on the fired rules only: it reads those rules and
        no other, so its cost grows with what fired, not with the policy."""
        spec = self.spec.decision
        fired = []
        rest = mask
        while rest:
            low = rest & -rest
            fired.append(self.rules[low.bit_length() - 1])
            rest ^= low
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
        parts = None if per_item else self._json_parts(fields, fired, combined.duty_rules if combined else ())
        size = _ENTRY_OVERHEAD * (1 + len(fired)) + (sum(map(len, parts)) if parts else 0)
        return fields, parts, per_item, size

    def _json_parts(self, fields: dict[str, Any], fired: Sequence[RuleView],
                    duty_rules: Sequence[RuleView]) -> _JsonParts:
        """The compact JSON of a Decision with these fields, cut where `not_fired`'s list goes
        (head ends with its key, tail starts after its value), and the JSON without not_fired:
        Decision.to_json's bytes, joined from each rule's fragments (encoded once, at load)."""
        pieces = self._pieces
        head = "".join([
            '{"consequences":[', ",".join(c for r in duty_rules for c in pieces[r.rule_id][2]),
            '],"decision":', _enc(fields["decision"]), ',"errors":[],"fired":[',
            ",".join(pieces[r.rule_id][0] for r in fired), '],"format":', _enc(fields["format"])])
        tail = "".join([
            ',"obligations":[', ",".join(o for r in duty_rules for o in pieces[r.rule_id][1]),
            '],"outcome":', _enc(fields["outcome"]), ',"outcomes":', _enc(list(fields["outcomes"])),
            ',"policy_digest":', _enc(fields["policy_digest"]),
            ',"policy_revision":', _enc(fields["policy_revision"]), ',"reason":', _enc(fields["reason"]),
            ',"status":', _enc(fields["status"]), "}"])
        return head + ',"not_fired":', tail, head + tail

    def decision(self, mask: int, model: FactModel, facts: Mapping[str, Any] | None = None) -> Decision:
        """The Decision for the rules in mask, explaining the others from model when read
        (facts: the model dumped, when the caller has it already)."""
        fields, parts, per_item, _ = self._entry(mask)
        obligations = None
        if per_item:
            dumped = facts if facts is not None else model.model_dump(mode="python")
            obligations = tuple(ob for r in per_item for ob in self.expand(r, dumped))
        return self._lazy(mask, fields, parts, obligations, lambda: model)

    def revived(self, mask: int, obligations: tuple[Obligation, ...] | None,
                model_of: Callable[[], FactModel]) -> Decision:
        """The Decision another process answered with `compact(decision)`: the same fields, its
        explanations built here from model_of() when first read (engine/batch.py)."""
        fields, parts, _, _ = self._entry(mask)
        return self._lazy(mask, fields, parts, obligations, model_of)

    def _lazy(self, mask: int, fields: dict[str, Any], parts: _JsonParts | None,
              obligations: tuple[Obligation, ...] | None, model_of: Callable[[], FactModel]) -> Decision:
        out = object.__new__(LazyDecision)  # frozen: fill __dict__ directly, as __init__ would
        state = out.__dict__
        state.update(fields)
        state["_json"] = parts
        state["_book"] = self
        state["_mask"] = mask
        if obligations is not None:  # per-item obligations: they differ per case
            state["obligations"] = obligations
            state["_own_obligations"] = True
        if mask == self._all:
            state["_not_fired"] = ()
            return out
        state["_not_fired"] = _UNSET
        state["_facts"] = None
        state["_model_of"] = model_of
        explainer, rules = self.explainer, self.rules

        def explain() -> tuple[NotFiredRule, ...]:
            model = out._model()
            state["_facts"] = state["_model_of"] = None
            return tuple(NotFiredRule(rules[i].rule_id, rules[i].title,
                                      explainer.explain(rules[i].condition, model) or "")
                         for i in self.unfired(mask))

        state["_explain"] = explain
        return out

    def fragments(self, model: FactModel, mask: int) -> str:
        """The `not_fired` items of the JSON for the rules not in mask (compiled on first use)."""
        if self._fragments is None:
            self._fragments = self.explainer.fragments([r.condition for r in self.rules], self.rule_json)
        return self._fragments(model, mask)


def compact(decision: Decision) -> tuple[int, tuple[Obligation, ...] | None] | None:
    """What another process needs to rebuild decision with `AnswerBook.revived`: the mask of the
    rules that fired and, when they differ per case, the obligations; None for a Decision not
    built from the answers (an error answer), which is sent whole."""
    state = decision.__dict__
    if type(decision) is not LazyDecision or "_book" not in state:  # e.g. dataclasses.replace()'s
        return None
    return state["_mask"], (state["obligations"] if state.get("_own_obligations") else None)


#: the compact JSON cut where not_fired's list goes (head, tail), and the whole JSON without the
#: not_fired key (Decision.to_json(not_fired=False))
_JsonParts = tuple[str, str, str]
#: per set of fired rules: the Decision's fields, the JSON parts (None when the obligations
#: depend on the facts), the duty rules whose obligations repeat per item, its size in bytes
_Entry = tuple[dict[str, Any], _JsonParts | None, tuple[RuleView, ...], int]
#: the fields _json_parts writes, in the order to_json's sort_keys puts them: a field added to
#: Decision must be added there too (this fails at import until it is). `case` is never written
#: here: a memoised answer reads no case (Engine.decide(case=...) replaces the Decision, which then
#: writes its own JSON), and a Decision without a case leaves the key out.
_JSON_FIELDS = ("case", "consequences", "decision", "errors", "fired", "format", "not_fired", "obligations",
                "outcome", "outcomes", "policy_digest", "policy_revision", "reason", "status")
assert tuple(sorted(Decision.__dataclass_fields__)) == _JSON_FIELDS


def _enc(value: Any) -> str:
    """A value's compact JSON as Decision.to_json writes it."""
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def _outcome_of(rule: RuleView) -> str:
    return rule.outcome
