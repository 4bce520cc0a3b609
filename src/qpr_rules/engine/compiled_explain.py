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
from typing import Any, assert_never

from pydantic import BaseModel

from qpr_rules.engine.compiled import Writer, build_function, resolve
from qpr_rules.engine.why_not import atom_why, joined_all, joined_none
from qpr_rules.facts.phrases import glossary
from qpr_rules.policy.condition_format import render
from qpr_rules.policy.condition_nodes import (
    All,
    AnyOf,
    Compare,
    Condition,
    Contains,
    Count,
    InSet,
    Not,
    Present,
    Quantified,
    fact_paths,
)

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
        key = _key_expr(writer, cond, list(own.read))
        extra[f"_s{i}"] = _ItemMaker(explainer, cond, rule_json[i])
        body.append(f"if not mask >> {i} & 1:")
        if key is None:
            body.append(f"    out.append(_s{i}(f, None))")
            continue
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
    why = _WhyWriter(writer, glossary(model))
    body = [f"if {writer.cond(cond)}:", "    return None", f"return {why.why(cond, True)}"]
    label = f"explanation of {render(cond)[:60]}"
    fn, source = build_function(writer, body, "explain", label, why.names)
    key = _key_expr(writer, cond, list(writer.read))
    if key is None:
        return fn, source
    key_fn, key_source = build_function(writer, [f"return ({key})"], "key", label)
    return _memoised(fn, key_fn, budget or Budget(EXPLAIN_BUDGET_BYTES)), source + key_source


def _key_expr(writer: Writer, cond: Condition, read: Sequence[str]) -> str | None:
    """The memo key of cond's explanation, as the body of a tuple over writer's variables: the
    values it reads (read: their paths, in the order the condition reads them) and, for each
    step to them, whether it is absent; None when a value cannot key a memo. The text memo
    (`compile_explainer`) and the JSON items' (`compile_fragments`) key alike."""
    keys = [_memo_key(writer.model, p, writer.path(p)[0]) for p in read]
    if None in keys:
        return None
    steps = _steps(sorted(fact_paths(cond)))
    return "".join(f"{k}, " for k in keys) + "".join(f"{writer._path(s)[0]} is None, " for s in steps)


def _steps(paths: Sequence[str]) -> list[str]:
    """The steps on the way to each path (`home` and `home.hold` for `home.hold.kind`)."""
    return sorted({".".join(path.split(".")[:n]) for path in paths for n in range(1, path.count(".") + 1)})


class _WhyWriter:
    """why_not's walk (`_why`) written as one expression per condition: which part failed is
    decided by the compiled tests of each part, and each atom's sentence is why_not's own
    (`atom_why`), given a small dump of only what that atom reads, so the sentences keep one
    author; tests/test_why_not.py and the differential tests compare the texts with
    `explain_failure` over the whole dump."""

    def __init__(self, writer: Writer, words: Any) -> None:
        self.writer = writer
        self.names: dict[str, Any] = {"_atom": atom_why, "_all": joined_all, "_none": joined_none,
                                      "_dump": _dump, "_words": words,
                                      "_as_dumped": _as_dumped}

    def why(self, node: Condition, needed: bool) -> str:
        """An expression for why node is not `needed` (evaluated only when it is not)."""
        w = self.writer
        match node:
            case All(items=items) if needed:  # the first part that fails explains the whole
                return self._first([(f"not {w.cond(c)}", self.why(c, True)) for c in items])
            case All(items=items):
                return "_all([" + ", ".join(self.why(c, False) for c in items) + "])"
            case AnyOf(items=items) if not needed:  # the first part that holds explains the whole
                return self._first([(w.cond(c), self.why(c, False)) for c in items])
            case AnyOf(items=items):
                return "_none([" + ", ".join(self.why(c, True) for c in items) + "])"
            case Not(item=item):
                return self.why(item, not needed)
            case Compare() | InSet() | Present() | Contains() | Count() | Quantified():
                atom = w.const(node)
                paths = sorted(fact_paths(node))
                # the steps to each path, marked when present: a sentence names the outermost
                # absent one ("the hold on the home is not given")
                steps = "".join(f"({s!r}, {w._path(s)[0]} is not None), " for s in _steps(paths))
                values = "".join(f"({p!r}, {w.path(p)[0]}), " for p in paths)
                dump = f"_dump(({steps}), ({values}))"
                if len(paths) == 1:  # most atoms read one fact: when given, its dump is a literal
                    var = w.path(paths[0])[0]
                    dump = f"({self._literal(paths[0], var)} if {var} is not None else {dump})"
                return f"_atom({atom}, {dump}, _words, {needed})"
            case _:
                assert_never(node)

    def _literal(self, path: str, var: str) -> str:
        """The dump of one given value at path, `{"a": {"b": VALUE}}`, as _dump makes it."""
        ftype = resolve(self.writer.model, path)
        objects = ftype.kind == "object" or (ftype.item is not None and ftype.item.kind == "object")
        out = f"_as_dumped({var})" if objects else var  # a record is dumped as model_dump gives it
        for step in reversed(path.split(".")):
            out = f"{{{step!r}: {out}}}"
        return out

    @staticmethod
    def _first(parts: list[tuple[str, str]]) -> str:
        """The reason of the first part whose test is true (the last part's when none is: the
        walk is only asked where one fails)."""
        out = parts[-1][1]
        for test, reason in reversed(parts[:-1]):
            out = f"({reason} if {test} else {out})"
        return out


def _dump(steps: tuple[tuple[str, bool], ...], values: tuple[tuple[str, Any], ...]) -> dict[str, Any]:
    """A dump of the values an atom reads, each step to them marked when present."""
    read: dict[str, Any] = {}
    for step, present in steps:
        if present:
            _read(read, step, {})
    for path, value in values:
        _read(read, path, value)
    return read


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
