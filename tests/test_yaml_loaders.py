"""The YAML reader parses with libyaml where PyYAML has it and with the pure-Python parser
otherwise: both must give the same data, the same positions and the same refusals.

test_loader_errors.py runs the hostile-file tests with the default (libyaml here); this module
runs every one of them again with the pure-Python parser, and compares the two parsers on every
YAML file in the repository and on edge cases (non-ASCII before a value, anchors, aliases, tags,
duplicate keys, depth, syntax errors).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from qpr_rules import yaml_source
from qpr_rules.errors import PolicyError
from tests.test_loader_errors import *  # noqa: F403  (re-collected: run again with the pure-Python parser)

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def pure_python_parser(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The tests imported from test_loader_errors run with the pure-Python parser here."""
    if request.function.__module__ == "tests.test_loader_errors":
        monkeypatch.setattr(yaml_source, "USE_LIBYAML", False)
    yield


def _read(text: str, libyaml: bool) -> Any:
    old = yaml_source.USE_LIBYAML
    yaml_source.USE_LIBYAML = libyaml
    try:
        data, smap = yaml_source.load_yaml_text(text, "f.yaml")
        return "ok", data, smap.positions
    except PolicyError as exc:
        return "error", [str(p) for p in exc.problems]
    finally:
        yaml_source.USE_LIBYAML = old


def test_libyaml_is_used_where_pyyaml_has_it() -> None:
    assert yaml_source._CParser is not None, "this machine's PyYAML has libyaml: the fast path must be tested"
    assert yaml_source.USE_LIBYAML
    calls: list[str] = []
    real = yaml_source._compose_with
    yaml_source._compose_with = lambda cls, text: (calls.append(cls.__name__), real(cls, text))[1]  # type: ignore[assignment]
    try:
        yaml_source.load_yaml_text("a: 1\n", "f.yaml")
    finally:
        yaml_source._compose_with = real  # type: ignore[assignment]
    assert calls == ["_CScalarLoader"]


YAML_FILES = sorted(p for d in ("policies", "tests/fixtures", "examples") for p in (ROOT / d).rglob("*.y*ml"))


@pytest.mark.parametrize("path", YAML_FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_both_parsers_read_every_repository_file_alike(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    fast, pure = _read(text, True), _read(text, False)
    assert fast == pure


EDGE_CASES = {
    "non-ascii before values": "title: “Quoted” – é ü 日本\nrules: [{id: a, note: ünï}, {id: b}]\nx:   1\n",
    "flow and block mixed": "a: {b: [1, 2, {c: d}], e: 'f: g'}\nh:\n  - i\n  - j: k\n    l: 2024-01-02\n",
    "multi-line strings": "a: |\n  one\n  two\nb: >\n  three\n  four\nc: plain\n  continued\n",
    "comments and documents": "# c\n---\na: 1 # c\n...\n",
    "bom": "\ufeffa: 1\n",
    "anchor": "a: &x 1\nb: 2\n",
    "alias": "a: &x [1, 2]\nb: *x\n",
    "alias bomb": "a: &a [x, x]\nb: &b [*a, *a]\nc: [*b, *b]\n",
    "tag": "a: !!python/object/apply:os.system [echo hi]\n",
    "local tag": "a: !thing 1\n",
    "duplicate keys": "a: 1\nb: 2\na: 3\n",
    "deep": "a: " + "[" * 70 + "]" * 70 + "\n",
    "very deep": "a: " + "[" * 5000 + "]" * 5000 + "\n",
    "syntax error": "a: [1, 2\nb: 3\n",
    "bad indentation": "a:\n  b: 1\n c: 2\n",
    "tab": "a:\n\tb: 1\n",
    "two documents": "a: 1\n---\nb: 2\n",
    "empty": "",
    "bad date": "a: 2020-13-01\n",
    "complex key": "? [a, b]\n: 1\n",
}


@pytest.mark.parametrize("name", EDGE_CASES)
def test_both_parsers_agree_on_edge_cases(name: str) -> None:
    fast, pure = _read(EDGE_CASES[name], True), _read(EDGE_CASES[name], False)
    assert fast == pure
    if name in ("anchor", "alias", "alias bomb", "tag", "local tag", "duplicate keys", "deep", "very deep",
                "syntax error", "bad indentation", "tab", "two documents", "empty", "bad date", "complex key"):
        assert fast[0] == "error", name
    else:
        assert fast[0] == "ok", name
