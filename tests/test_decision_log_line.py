"""A decision log line's JSON (decision_log.encoded): orjson's bytes, the standard library's
format. Every record reads back as itself; without floats its bytes are exactly
json.dumps(sort_keys=True, separators=(",", ":"), ensure_ascii=False)'s, so lines written before
orjson wrote them and after are one format."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from qpr_rules.engine.decision_log import encoded

_TEXT = st.text(st.characters(codec="utf-8"), max_size=12)  # control characters and U+2028 too
_SCALARS = st.none() | st.booleans() | st.integers(-(2**63), 2**64 - 1) | _TEXT
_EXACT = st.recursive(_SCALARS, lambda inner: st.lists(inner, max_size=4)
                      | st.dictionaries(_TEXT, inner, max_size=4), max_leaves=20)
_ANY = st.recursive(_SCALARS | st.floats(allow_nan=False, allow_infinity=False)
                    | st.integers(min_value=2**64, max_value=2**80),
                    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_TEXT, inner, max_size=4),
                    max_leaves=20)


def _stdlib(entry: dict[str, Any]) -> bytes:
    return json.dumps(entry, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


@settings(max_examples=400)
@given(st.dictionaries(_TEXT, _EXACT, max_size=8))
def test_without_floats_the_bytes_are_the_standard_librarys(entry: dict[str, Any]) -> None:
    assert encoded(entry) == _stdlib(entry)


@settings(max_examples=400)
@given(st.dictionaries(_TEXT, _ANY, max_size=8))
def test_every_record_reads_back_as_itself_on_one_line(entry: dict[str, Any]) -> None:
    line = encoded(entry)
    assert b"\n" not in line
    assert json.loads(line) == entry
    # keys sorted at every level, as the standard library sorts them
    assert json.loads(line, object_pairs_hook=lambda pairs: [k for k, _ in pairs]) == \
        json.loads(_stdlib(entry), object_pairs_hook=lambda pairs: [k for k, _ in pairs])


def test_an_integer_beyond_64_bits_falls_back_to_the_standard_library() -> None:
    entry = {"b": 2**70, "a": "é"}
    assert encoded(entry) == _stdlib(entry) == '{"a":"é","b":1180591620717411303424}'.encode()
