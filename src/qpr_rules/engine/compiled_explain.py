"""Why a rule did not fire, read straight from the validated fact model.

The same text as `why_not.explain_failure` over the model's dump (the differential tests
compare them on every case), without dumping the whole model: each rule's explanation is one
generated function (engine/compiled.py writes its reads) that gathers only the values the
condition reads into a small dump and hands it to `why_not.explain_false`, so the sentences
have one author. It is built the first time that rule is explained.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from json.encoder import encode_basestring as _encode_str  # what json.dumps uses for a str
from typing import Any

from pydantic import BaseModel

from qpr_rules.engine.compiled import Writer, build_function, resolve
from qpr_rules.engine.why_not import explain_false
from qpr_rules.policy.condition_format import render
from qpr_rules.policy.condition_nodes import Condition, fact_paths

Explain = Callable[[Any], "str | None"]


class ModelExplainer:
    """Explanations for one decision's fact model: one generated function per condition,
    compiled the first time that condition is explained (a rule that always fires never pays)."""

    def __init__(self, model: type[BaseModel]) -> None:
        self.model = model
        self._explainers: dict[int, tuple[Condition, Explain]] = {}  # id(node) -> node kept alive
        self.budget = Budget(EXPLAIN_BUDGET_BYTES)  # shared by every rule's memo of texts

    def explain(self, cond: Condition, facts: Any) -> str | None:
        """Why cond is false for facts (a validated model); None if it holds."""
        entry = self._explainers.get(id(cond))
        if entry is None:
            entry = self._explainers[id(cond)] = (cond, compile_explainer(self.model, cond, self.budget)[0])
        return entry[1](facts)

    def fragments(self, conds: Sequence[Condition], rule_json: Sequence[str]) -> Fragments:
        """compile_fragments over this explainer's model, texts and budget."""
        return compile_fragments(self, conds, rule_json)


#: The JSON items of `not_fired` for the rules whose bit is clear in a mask, joined with commas.
Fragments = Callable[[Any, int], str]


def compile_fragments(explainer: ModelExplainer, conds: Sequence[Condition],
                      rule_json: Sequence[str]) -> Fragments:
    """One generated function writing the `not_fired` JSON of every rule not in a mask, each
    item `{"failed":TEXT,ID_AND_TITLE}` as Decision.to_json writes it (rule_json[i]: rule i's
    `"id":...,"title":...`).

    It is what `to_json` of a new answer pays per rule not fired, so it is straight-line code:
    each stored value is read once for all rules, and each rule's item is memoised on the values
    its explanation reads (the same key as that rule's text memo, `compile_explainer`), so a rule
    costs a tuple and a dict lookup; the text itself comes from `explainer.explain`, the one
    author of the sentences, only when its item is not memoised."""
    writer = Writer(explainer.model)
    body = ["out = []"]
    extra: dict[str, Any] = {}
    for i, cond in enumerate(conds):
        own = Writer(explainer.model)  # the paths this rule's condition reads, in its order
        own.cond(cond)
        keys = [_memo_key(explainer.model, p, writer.path(p)[0]) for p in own.read]
        steps = sorted({".".join(path.split(".")[:n]) for path in fact_paths(cond)
                        for n in range(1, path.count(".") + 1)})
        extra[f"_s{i}"] = _ItemMaker(explainer, cond, rule_json[i])
        body.append(f"if not mask >> {i} & 1:")
        if None in keys:
            body.append(f"    out.append(_s{i}(f, None))")
            continue
        key = "".join(f"{k}, " for k in keys) + "".join(f"{writer._path(s)[0]} is None, " for s in steps)
        body += [f"    _key = ({key})", f"    _item = _s{i}.memo.get(_key)",
                 "    if _item is None:", f"        _item = _s{i}(f, _key)", "    out.append(_item)"]
    body.append('return ",".join(out)')
    fn, _ = build_function(writer, body, "fragments", f"not_fired of {len(conds)} rules", extra,
                           params="f, mask")
    return fn


class _ItemMaker:
    """One rule's `not_fired` item, made from the shared explanation text and kept in `memo`
    while the explainer's byte budget lasts."""

    __slots__ = ("cond", "explainer", "memo", "rule_json")

    def __init__(self, explainer: ModelExplainer, cond: Condition, rule_json: str) -> None:
        self.explainer, self.cond, self.rule_json = explainer, cond, rule_json
        self.memo: dict[tuple[Any, ...], str] = {}

    def __call__(self, model: Any, key: tuple[Any, ...] | None) -> str:
        text = self.explainer.explain(self.cond, model) or ""
        item = f'{{"failed":{_encode_str(text)},{self.rule_json}}}'
        if key is not None and self.explainer.budget.take(_SLOT_BYTES + len(item)):
            self.memo[key] = item
        return item


class Budget:
    """Bytes that memos may still take (texts kept stay kept; once spent, texts are computed)."""

    __slots__ = ("left",)

    def __init__(self, size: int) -> None:
        self.left = size

    def take(self, size: int) -> bool:
        if size > self.left:
            return False
        self.left -= size
        return True


def compile_explainer(model: type[BaseModel], cond: Condition,
                      budget: Budget | None = None) -> tuple[Explain, str]:
    """A function giving why_not.explain_failure's text for cond over a validated model: the
    values cond reads are read as straight-line code into a small dump, which is explained.

    When every value the explanation reads is a plain scalar or a list of them (no object or
    float, whose display could differ between equal values), the text is a function of those
    values alone and is memoised on them: over many cases the same few texts recur."""
    writer = Writer(model)
    body = [f"if {writer.cond(cond)}:", "    return None", "read = {}"]
    paths = sorted(fact_paths(cond))
    # the steps on the way to each path, marked when present: an explanation names the outermost
    # absent one ("the hold on the home is not given"); read unregistered, they are not dumped
    steps = {p: writer._path(p)[0] for p in sorted({
        ".".join(path.split(".")[:n]) for path in paths for n in range(1, path.count(".") + 1)})}
    for step, var in steps.items():
        body.append(f"if {var} is not None: _read(read, {step!r}, {{}})")
    for path in paths:
        body.append(f"_read(read, {path!r}, {writer.path(path)[0]})")
    body.append("return _why(_cond, read, _model)")
    label = f"explanation of {render(cond)[:60]}"
    fn, source = build_function(writer, body, "explain", label,
                                {"_read": _read, "_why": explain_false, "_cond": cond,
                                 "_model": model})
    keys = [_memo_key(model, p, writer.paths[p]) for p in writer.read]
    if None in keys:
        return fn, source
    key = "".join(f"{k}, " for k in keys) + "".join(f"{var} is None, " for var in steps.values())
    key_fn, key_source = build_function(writer, [f"return ({key})"], "key", label)
    return _memoised(fn, key_fn, budget or Budget(EXPLAIN_BUDGET_BYTES)), source + key_source


_MEMO_KINDS = frozenset({"bool", "int", "string", "enum", "date"})


def _memo_key(model: type[BaseModel], path: str, value: str) -> str | None:
    """An expression for path's value (the expression `value`) as part of a memo key: a list of
    plain scalars as a tuple, since the topics or members a rule reads recur; None when that
    value cannot key a memo (an object, a float, a list of objects)."""
    ftype = resolve(model, path)
    if ftype.kind in _MEMO_KINDS:
        return value
    if ftype.kind == "list" and ftype.item is not None and ftype.item.kind in _MEMO_KINDS:
        return f"(None if {value} is None else tuple({value}))"
    return None


#: Bytes of explanation texts memoised per decision, over all its rules (an estimate: the text,
#: its key and the slot): a policy of thousands of rules cannot grow it with its size.
EXPLAIN_BUDGET_BYTES = 4 * 1024 * 1024
_SLOT_BYTES = 200
_MISS: Any = object()


def _memoised(explain: Explain, key: Callable[[Any], tuple[Any, ...]], budget: Budget) -> Explain:
    memo: dict[tuple[Any, ...], str | None] = {}

    def explain_memoised(facts: Any) -> str | None:
        k = key(facts)
        text = memo.get(k, _MISS)
        if text is _MISS:
            text = explain(facts)
            if budget.take(_SLOT_BYTES + len(text or "")):
                memo[k] = text
        return text

    return explain_memoised


def _read(facts: dict[str, Any], path: str, value: Any) -> None:
    """Put value (as the dump holds it) at path in facts, a dump of only what is read."""
    if value is None:  # absent reads as absent
        return
    *parents, leaf = path.split(".")
    for part in parents:
        facts = facts.setdefault(part, {})
    if not (value == {} and leaf in facts):  # a step marked present keeps what is read under it
        facts[leaf] = _as_dumped(value)


def _as_dumped(value: Any) -> Any:
    """value as model_dump(mode="python") holds it, for display."""
    if isinstance(value, BaseModel):
        return value.model_dump(mode="python")
    if isinstance(value, list) and value and isinstance(value[0], BaseModel):
        return [v.model_dump(mode="python") for v in value]
    return value
