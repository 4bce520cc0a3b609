"""durable_rules messages written straight to JSON from the validated fact model.

`messages.to_message` builds a message from the facts dumped to a dict, value by value, then
`json.dumps` encodes it: three passes over the facts and ~27 us a placement case. Here each
decision's fact model is compiled once, at load, to one straight-line Python function (like the
compiled evaluator, `compiled.py`) that reads the model's attributes and writes the same JSON
text in one pass: the same keys in the same order (absent values dropped, derived fields after
the given ones, dates as day numbers, enums as their values, then the list lengths, the case
marker, sid and id), and so the same message.

The limits are settled as the values are written: whole numbers and dates are range-checked,
and text is written only when it is ASCII and shorter than durable_rules' string limit; the
property count is bounded once from the model. Any value the writer does not settle (non-ASCII
or long text, a number or date out of range, a message beyond durable_rules' size) sends the
case to `to_message`, which checks every value and names the one beyond a limit, so refusals
are worded exactly as before. tests/test_message_writer.py holds the two to the same text.
"""

from __future__ import annotations

import json
from collections.abc import Callable
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


class _Generator:
    """Writes the source of one model's message function."""

    def __init__(self, list_paths: list[str]) -> None:
        self.lines: list[str] = []
        self.consts: dict[str, Any] = {}
        self._n = 0
        #: per list path projected, the local holding its length (None while absent)
        self.lengths = {path: f"_n{i}" for i, path in enumerate(list_paths)}

    def fresh(self, stem: str) -> str:
        self._n += 1
        return f"_{stem}{self._n}"

    def emit(self, line: str, depth: int) -> None:
        self.lines.append("    " * depth + line)

    def obj(self, model: type[BaseModel], source: str, depth: int, path: str = "") -> str:
        """Statements collecting the `"key":value` parts of the object at `source` (never None
        here) in a list; returns the list's local."""
        parts = self.fresh("p")
        self.emit(f"{parts} = []", depth)
        for name, (ft, may_be_absent) in field_types(model).items():
            value = self.fresh("v")
            self.emit(f"{value} = {source}.{name}", depth)
            inner = depth
            if may_be_absent or ft.optional:  # absent values are left out of the message
                self.emit(f"if {value} is not None:", depth)
                inner += 1
            text = self.value(ft, value, inner, f"{path}{name}")
            self.emit(f"{parts}.append({json.dumps(name) + ':'!r} + {text})", inner)
        return parts

    def value(self, ft: FieldType, var: str, depth: int, path: str | None = None) -> str:
        """An expression for the JSON of var (not None), after any statements it needs
        (path: where var is in the facts; None inside a list's items)."""
        match ft.kind:
            case "bool":
                return f"('true' if {var} else 'false')"
            case "int":
                self.emit(f"if not -{DURABLE_MAX_INT} <= {var} <= {DURABLE_MAX_INT}: raise _Unsettled", depth)
                return f"str({var})"
            case "number":
                self.emit(f"if {var} != {var} or {var} in (_INF, -_INF): raise _Unsettled", depth)
                return f"repr({var})"
            case "string":
                self.emit(f"if len({var}) > {DURABLE_MAX_STRING_BYTES} or not {var}.isascii(): "
                          "raise _Unsettled", depth)
                return f"_quote({var})"
            case "enum":
                table = self.fresh("e")
                self.consts[table] = {v: json.dumps(v) for v in ft.enum_values}
                return f"{table}[{var}]"
            case "date":
                day = self.fresh("d")
                self.emit(f"{day} = {var}.toordinal()", depth)
                self.emit(f"if not {MIN_FACT_DATE.toordinal()} <= {day} <= {MAX_FACT_DATE.toordinal()}: "
                          "raise _Unsettled", depth)
                return f"str({day})"
            case "object":
                assert ft.model is not None
                parts = self.obj(ft.model, var, depth, f"{path}." if path is not None else "")
                return f"'{{' + ','.join({parts}) + '}}'"
            case "list":
                assert ft.item is not None
                items, item = self.fresh("l"), self.fresh("i")
                if path in self.lengths:
                    self.emit(f"{self.lengths[path]} = len({var})", depth)
                self.emit(f"{items} = []", depth)
                self.emit(f"for {item} in {var}:", depth)
                self.emit(f"{items}.append({self.value(ft.item, item, depth + 1)})", depth + 1)
                return f"'[' + ','.join({items}) + ']'"
            case _:
                assert_never(ft.kind)


def compile_message_writer(model: type[BaseModel], list_paths: list[str]) -> tuple[Callable[..., str], str]:
    """The function writing model's messages: `write(facts, case_id)` -> JSON text, raising
    _Unsettled for a case it does not settle; and its source."""
    gen = _Generator(list_paths)
    for length in gen.lengths.values():
        gen.emit(f"{length} = None", 1)
    parts = gen.obj(model, "f", 1)
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
    value by `messages.to_message` (which raises EngineError naming a value beyond a limit)."""

    def __init__(self, model: type[BaseModel], list_paths: list[str]) -> None:
        self.list_paths = list_paths
        self._write, self.source = compile_message_writer(model, list_paths)
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
        return json.dumps(message, ensure_ascii=False)
