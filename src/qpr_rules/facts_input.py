"""Facts read from files, standard input and text as strictly as policies are: the one reader of
a facts document. `Engine.decide` reads JSON given as str or bytes with `parse_json_facts`, and
the command line reads `--facts`, stdin and each `--batch` line with the same function, so every
door refuses the same documents with the same words (tests/test_front_door.py).

JSON: a duplicate key is an error (Python's json keeps the last one silently, so
`"cleared_with_pco": false, "cleared_with_pco": true` would read as true), and NaN/Infinity
are refused. YAML: the policy reader's rules (no duplicate keys, anchors, tags, or scalars that
YAML 1.1 and 1.2 read differently). Both: regular files only, at most MAX_FACTS_BYTES, UTF-8.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from qpr_rules._truncate import truncate
from qpr_rules.errors import PolicyError, Problem
from qpr_rules.files import decode_utf8, read_regular_file, unreadable
from qpr_rules.yaml_source import SourceMap, load_yaml_text

#: Facts are one case: a megabyte is far beyond any real one.
MAX_FACTS_BYTES = 1024 * 1024


class _DuplicateKey(ValueError):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out = dict(pairs)  # in C: the common case, no duplicate, costs one comparison of lengths
    if len(out) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise _DuplicateKey(key)
            seen.add(key)
    return out


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number facts can hold")


_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|[{}\[\]:,]')


def _position(text: str, key: str) -> tuple[int, int]:
    """Line and column of the key that repeats one before it in the same object (the duplicate
    json refused), however it is spelled (`"\\u0068old"` is `"hold"`). The text parsed up to
    that key, so a scan of its strings and brackets is enough."""
    objects: list[set[str] | None] = []  # per open bracket: the keys seen ({) or None ([)
    tokens = list(_TOKEN.finditer(text))
    for i, token in enumerate(tokens):
        part = token.group()
        if part in "{[":
            objects.append(set() if part == "{" else None)
        elif part in "}]":
            if objects:
                objects.pop()
        elif part.startswith('"') and i + 1 < len(tokens) and tokens[i + 1].group() == ":":
            keys = objects[-1] if objects else None
            name = json.loads(part)
            if keys is not None:
                if name == key and name in keys:
                    at = token.start()
                    return text.count("\n", 0, at) + 1, at - (text.rfind("\n", 0, at) + 1) + 1
                keys.add(name)
    return 1, 1


def load_json_text(text: str, name: str) -> Any:
    """Parse JSON strictly; PolicyError naming file:line:column on any problem."""
    try:
        return json.loads(text, object_pairs_hook=_no_duplicates, parse_constant=_no_constant)
    except _DuplicateKey as exc:
        line, col = _position(text, exc.key)
        message = (f"duplicate key {truncate(exc.key)!r} in a JSON object; each key may appear once: "
                   "keep the one you mean")
        raise PolicyError([Problem(name, line, col, message)]) from None
    except json.JSONDecodeError as exc:
        raise PolicyError([Problem(name, exc.lineno, exc.colno, f"invalid JSON: {exc.msg}")]) from None
    except ValueError as exc:
        raise PolicyError([Problem(name, 1, 1, f"invalid JSON: {exc}")]) from None
    except RecursionError:
        raise PolicyError([Problem(name, 1, 1, "JSON nested too deeply")]) from None


def load_facts_text(text: str, name: str) -> Any:
    """Facts from text of unknown format (standard input): JSON when it parses as JSON (strictly:
    a duplicate key or NaN is an error, not a reason to try YAML), else YAML."""
    try:
        return json.loads(text, object_pairs_hook=_no_duplicates, parse_constant=_no_constant)
    except json.JSONDecodeError:  # not JSON: read it as YAML (of which JSON is a subset)
        data, _ = load_yaml_text(text, name)
        return data
    except (ValueError, RecursionError):
        pass  # JSON, refused: load_json_text says why, with the position
    return load_json_text(text, name)


def load_facts_file(path: Path) -> tuple[Any, SourceMap | None]:
    """Facts from a .json file (JSON) or any other file (YAML, of which JSON is a subset), and
    where each value is in the file, so that an invalid fact is reported as file:line:column
    (None when positions cannot be had: such errors then name the field only)."""
    text = decode_utf8(read_regular_file(path, MAX_FACTS_BYTES), str(path))
    if path.suffix == ".json":
        return load_json_text(text, str(path)), _json_positions(text, str(path))
    return load_yaml_text(text, str(path))


def _json_positions(text: str, name: str) -> SourceMap | None:
    """Positions of a JSON document, read by the YAML reader (JSON is YAML's flow style)."""
    try:
        return load_yaml_text(text, name)[1]
    except PolicyError:
        return None


def parse_json_facts(data: str | bytes | bytearray, name: str = "<facts>") -> Any:
    """Facts given as one JSON document (str, or bytes in UTF-8; a leading byte-order mark is
    dropped, as a JSON reader may): what every door that takes JSON text reads with.
    PolicyError naming the line and column of the first problem."""
    if isinstance(data, str):
        return load_json_text(data.removeprefix("\ufeff"), name)
    if len(data) > MAX_FACTS_BYTES:
        raise PolicyError([Problem(name, 1, 1, f"the facts are larger than {MAX_FACTS_BYTES} bytes")])
    return load_json_text(decode_utf8(bytes(data), name), name)


def document_errors(exc: PolicyError) -> list[str]:
    """A facts document's problems as a decision's errors: `line L, column C: message`. No file
    name: the same document gives the same words at every door (the command line names the file
    on standard error)."""
    return [f"line {p.line}, column {p.column}: {p.message}" if p.line > 0 else p.message
            for p in exc.problems]


def load_facts_bytes(raw: bytes, name: str = "<stdin>") -> Any:
    """Facts from bytes already read (standard input): at most MAX_FACTS_BYTES, UTF-8, JSON or YAML."""
    if len(raw) > MAX_FACTS_BYTES:
        raise unreadable(name, f"the input is larger than {MAX_FACTS_BYTES} bytes")
    return load_facts_text(decode_utf8(raw, name), name)
