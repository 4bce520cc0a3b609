"""durable_rules messages written straight to JSON from the validated fact model.

`messages.to_message` builds a message from the facts dumped to a dict, value by value, then
`json.dumps` encodes it: three passes over the facts and ~27 us a placement case. Here each
decision's fact model is compiled once, at load, to one straight-line Python function (like the
compiled evaluator, `compiled.py`) that reads the model's attributes and writes the JSON text in
one pass: to_message's message, key for key in the same order (absent values dropped, derived
fields after the given ones, dates as day numbers, enums as their values, then the list lengths,
the case marker, sid and id), of the facts the decision's rules read (`MessageWriter`).

The limits are settled as the values are read, every value whether written or not: whole
numbers and dates are range-checked, and text passes only when it is ASCII and shorter than
durable_rules' string limit; the property count is bounded once from the model. Any value the
writer does not settle (non-ASCII or long text, a number or date out of range, a message beyond
durable_rules' size) sends the case to `to_message`, which checks every value and names the one
beyond a limit, so refusals are worded exactly as before. tests/test_message_writer.py holds the
two to the same text.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from json.encoder import encode_basestring  # json's own quoting of a str (its C accelerator)
from typing import Any, assert_never

from pydantic import BaseModel

from qpr_rules.engine import messages
from qpr_rules.engine.durable_compiler import MARKER, len_key
from qpr_rules.facts.paths import FieldType, field_types
from qpr_rules.policy.limits import (
    DURABLE_MAX_INT,
    DURABLE_MAX_MESSAGE_BYTES,
    DURABLE_MAX_STRING_BYTES,
    MAX_FACT_DATE,
    MIN_FACT_DATE,
)


class _Unsettled(Exception):
    """A value the writer does not settle; the case goes to the value-by-value builder."""


def max_properties(model: type[BaseModel]) -> int | None:
    """The most properties a message of model's facts can have (object fields at any depth,
    derived ones included; a list counts once, its items not at all), or None when unbounded."""
    total = 0
    for ft, _ in field_types(model).values():
        if ft.kind == "object":
            inner = max_properties(ft.model) if ft.model is not None else None
            if inner is None:
                return None
            total += inner
        else:
            total += 1
    return total


#: The facts a decision's rules read, as a tree of field names: True for a value read whole
#: (a scalar, a list, an object tested for presence), a dict for an object some of whose fields
#: are read.
ReadTree = dict[str, "ReadTree | bool"]


def read_tree(paths: Iterable[str]) -> ReadTree:
    """The tree of fact paths (home.hold.kind, ...); a path read whole covers all below it."""
    tree: ReadTree = {}
    for path in sorted(paths, key=lambda p: p.count(".")):  # shorter paths first
        node: ReadTree | bool = tree
        *parents, leaf = path.split(".")
        for step in parents:
            if not isinstance(node, dict):
                break
            node = node.setdefault(step, {})
        if isinstance(node, dict):
            node[leaf] = True
    return tree


def _reads(tree: ReadTree | bool, path: str) -> bool:
    """Whether path is in the message: it, or an object it is in, is read whole."""
    node: ReadTree | bool = tree
    for step in path.split("."):
        if node is True:
            return True
        if not isinstance(node, dict) or step not in node:
            return False
        node = node[step]
    return node is True or isinstance(node, dict)


def prune(message: dict[str, Any], tree: ReadTree | bool) -> dict[str, Any]:
    """message with only the values under tree (a message from `to_message`, whose list lengths,
    marker, sid and id sit at the top: callers keep those themselves)."""
    if tree is True:
        return message
    out = {}
    for key, value in message.items():
        sub = tree.get(key) if isinstance(tree, dict) else None
        if sub is True:
            out[key] = value
        elif isinstance(sub, dict) and isinstance(value, dict):
            out[key] = prune(value, sub)
    return out


class _Generator:
    """Writes the source of one model's message function."""

    def __init__(self, list_paths: list[str]) -> None:
        self.lines: list[str] = []
        self.consts: dict[str, Any] = {}
        self._n = 0
        #: per list path written, the local holding its length (None while absent)
        self.lengths = {path: f"_n{i}" for i, path in enumerate(list_paths)}

    def fresh(self, stem: str) -> str:
        self._n += 1
        return f"_{stem}{self._n}"

    def emit(self, line: str, depth: int) -> None:
        self.lines.append("    " * depth + line)

    def obj(self, model: type[BaseModel], source: str, depth: int, tree: ReadTree | bool | None,
            path: str = "") -> str | None:
        """Statements collecting the `"key":value` parts of the object at `source` (never None
        here) in a list, and checking every value against the limits; returns the list's local.
        tree: what of the object the rules read (None: nothing, so its values are only checked,
        never written, and no list is returned)."""
        parts = self.fresh("p") if tree is not None else None
        if parts is not None:
            self.emit(f"{parts} = []", depth)
        for name, (ft, may_be_absent) in field_types(model).items():
            sub = tree if tree is True else tree.get(name) if isinstance(tree, dict) else None
            if sub is None and not _checked(ft):
                continue  # neither written nor limited: a bool or an enum no rule reads
            value = self.fresh("v")
            self.emit(f"{value} = {source}.{name}", depth)
            inner = depth
            if may_be_absent or ft.optional:  # absent values are left out of the message
                self.emit(f"if {value} is not None:", depth)
                inner += 1
            text = self.value(ft, value, inner, sub, f"{path}{name}", json.dumps(name) + ":")
            if parts is not None and text is not None:
                self.emit(f"{parts}.append({text})", inner)
            elif self.lines[-1].endswith(":"):
                self.emit("pass", inner)
        return parts

    def value(self, ft: FieldType, var: str, depth: int, tree: ReadTree | bool | None,
              path: str | None = None, key: str = "") -> str | None:
        """Statements checking var (not None) against the limits, and an expression for its JSON
        preceded by key (`"name":`; none for a list's items), or None when the rules do not read
        it (tree None). path: where var is in the facts (None inside a list's items)."""
        written = tree is not None
        prefix = f"{key!r} + " if key else ""
        match ft.kind:
            case "bool":  # the whole part is a constant
                return f"({key + 'true'!r} if {var} else {key + 'false'!r})" if written else None
            case "int":
                self.emit(f"if not -{DURABLE_MAX_INT} <= {var} <= {DURABLE_MAX_INT}: raise _Unsettled", depth)
                return f"{prefix}str({var})" if written else None
            case "number":
                self.emit(f"if {var} != {var} or {var} in (_INF, -_INF): raise _Unsettled", depth)
                return f"{prefix}repr({var})" if written else None
            case "string":
                self.emit(f"if len({var}) > {DURABLE_MAX_STRING_BYTES} or not {var}.isascii(): "
                          "raise _Unsettled", depth)
                return f"{prefix}_quote({var})" if written else None
            case "enum":  # the whole part per value, from a table
                if not written:
                    return None
                table = self.fresh("e")
                self.consts[table] = {v: key + json.dumps(v) for v in ft.enum_values}
                return f"{table}[{var}]"
            case "date":
                day = self.fresh("d")
                self.emit(f"{day} = {var}.toordinal()", depth)
                self.emit(f"if not {MIN_FACT_DATE.toordinal()} <= {day} <= {MAX_FACT_DATE.toordinal()}: "
                          "raise _Unsettled", depth)
                return f"{prefix}str({day})" if written else None
            case "object":
                assert ft.model is not None
                parts = self.obj(ft.model, var, depth, tree, f"{path}." if path is not None else "")
                return f"{key + '{'!r} + ','.join({parts}) + '}}'" if parts is not None else None
            case "list":
                assert ft.item is not None
                if path in self.lengths:
                    self.emit(f"{self.lengths[path]} = len({var})", depth)
                if not written and not _checked(ft.item):
                    return None
                items, item = self.fresh("l"), self.fresh("i")
                if written:
                    self.emit(f"{items} = []", depth)
                self.emit(f"for {item} in {var}:", depth)
                # an item is written whole when the list is: its fields cannot be read one by one
                text = self.value(ft.item, item, depth + 1, True if written else None)
                if written:
                    self.emit(f"{items}.append({text})", depth + 1)
                    return f"{key + '['!r} + ','.join({items}) + ']'"
                if self.lines[-1].endswith(":"):
                    self.emit("pass", depth + 1)
                return None
            case _:
                assert_never(ft.kind)


def _checked(ft: FieldType) -> bool:
    """Whether a value of this type can be beyond a limit (and so must be checked even when no
    rule reads it: the message is refused as a whole, as to_message refuses it)."""
    match ft.kind:
        case "bool" | "enum":
            return False
        case "int" | "number" | "string" | "date":
            return True
        case "object":
            return ft.model is not None and any(_checked(t) for t, _ in field_types(ft.model).values())
        case "list":
            return ft.item is not None and _checked(ft.item)
        case _:
            assert_never(ft.kind)


def compile_message_writer(model: type[BaseModel], written_lists: list[str],
                           tree: ReadTree | bool = True) -> tuple[Callable[..., str], str]:
    """The function writing model's messages: `write(facts, case_id)` -> JSON text, raising
    _Unsettled for a case it does not settle; and its source. Every value is checked against
    the limits; only those under tree are written, with the lengths of written_lists (the list
    paths under tree)."""
    gen = _Generator(written_lists)
    for length in gen.lengths.values():
        gen.emit(f"{length} = None", 1)
    parts = gen.obj(model, "f", 1, tree)
    assert parts is not None
    for path, length in gen.lengths.items():  # the length of each list present
        gen.emit(f"if {length} is not None:", 1)
        gen.emit(f"{parts}.append({json.dumps(len_key(path)) + ':'!r} + str({length}))", 2)
    # the case marker, then the sid and id (case ids are alphanumeric: they need no quoting)
    gen.emit(f"{parts}.append(_MARKED + sid + _ID + sid + '\"')", 1)
    gen.emit(f"_text = '{{' + ','.join({parts}) + '}}'", 1)
    gen.emit(f"if len(_text) > {DURABLE_MAX_MESSAGE_BYTES}: raise _Unsettled", 1)
    gen.emit("return _text", 1)
    source = "def write(f, sid):\n" + "\n".join(gen.lines) + "\n"
    namespace: dict[str, Any] = {**gen.consts, "_Unsettled": _Unsettled, "_quote": encode_basestring,
                                 "_INF": float("inf"), "_MARKED": json.dumps(MARKER) + ':1,"sid":"',
                                 "_ID": '","id":"'}
    # generated from the fact model's field names and types only, never from facts or policy text
    exec(compile(source, f"<qpr-rules message writer {model.__name__}>", "exec"), namespace)
    return namespace["write"], source


class MessageWriter:
    """One decision's durable_rules messages: `json(facts_model, case_id)` is the message as
    JSON text, written by the compiled function when it settles the case, else built value by
    value by `messages.to_message` (which raises EngineError naming a value beyond a limit).

    read: the fact paths the decision's rules read (None: all). Only those are written, with
    the lengths of the lists among them: a fact no rule reads cannot change what durable_rules
    fires, and each one left out is JSON neither written nor parsed (measured: the C engine's
    part of a placement case 11.7 -> 9.9 us). Every value is still checked against the limits and
    every fact counts towards the property limit, as before; the size limit, durable_rules' own,
    applies to the message it gets."""

    def __init__(self, model: type[BaseModel], list_paths: list[str],
                 read: Iterable[str] | None = None) -> None:
        self.list_paths = list_paths
        self.tree: ReadTree | bool = True if read is None else read_tree(read)
        written_lists = [path for path in list_paths if _reads(self.tree, path)]
        self._written_lengths = {len_key(path) for path in written_lists}
        self._write, self.source = compile_message_writer(model, written_lists, self.tree)
        bound = max_properties(model)
        clash = messages.RESERVED & set(field_types(model))
        # None: the writer cannot settle this model's property count or reserved names
        self._max_properties = None if bound is None or clash else bound + len(list_paths) + 3

    def json(self, facts: BaseModel, case_id: str) -> str:
        bound = self._max_properties
        if bound is not None and bound <= messages.MAX_PROPERTIES and case_id.isalnum():
            try:
                return self._write(facts, case_id)
            except (_Unsettled, KeyError):  # KeyError: an enum value not among the model's
                pass
        message = messages.to_message(facts.model_dump(mode="python"), self.list_paths, case_id)
        return json.dumps(self.written(message), ensure_ascii=False)

    def written(self, message: dict[str, Any]) -> dict[str, Any]:
        """Of a whole message from to_message, what this writer writes: the facts read, the
        lengths of the lists among them, the marker, sid and id."""
        if self.tree is True:
            return message
        kept = prune(message, self.tree)
        for key in (*(k for k in message if k in self._written_lengths), MARKER, "sid", "id"):
            kept[key] = message[key]
        return kept
