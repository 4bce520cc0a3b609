"""Facts read from files and standard input as strictly as policies are.

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
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise _DuplicateKey(key)
        out[key] = value
    return out


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number facts can hold")


def _position(text: str, key: str) -> tuple[int, int]:
    """Line and column of the second `"key":` in text (where the duplicate is), best effort."""
    pattern = re.compile(re.escape(json.dumps(key)) + r"\s*:")
    found = list(pattern.finditer(text))
    at = found[1].start() if len(found) > 1 else 0
    line = text.count("\n", 0, at) + 1
    return line, at - (text.rfind("\n", 0, at) + 1) + 1


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


def load_facts_bytes(raw: bytes, name: str = "<stdin>") -> Any:
    """Facts from bytes already read (standard input): at most MAX_FACTS_BYTES, UTF-8, JSON or YAML."""
    if len(raw) > MAX_FACTS_BYTES:
        raise unreadable(name, f"the input is larger than {MAX_FACTS_BYTES} bytes")
    return load_facts_text(decode_utf8(raw, name), name)
