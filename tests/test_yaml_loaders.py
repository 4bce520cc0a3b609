"""The YAML reader has three paths, which must give the same data, the same positions and the same
refusals: libyaml's composer (in C, for text that holds no anchor or alias, and only to accept: a
document it cannot read, or in which the builder finds a problem, is read again by the next path),
the Python composer over libyaml's events, and the pure-Python parser (PyYAML without libyaml).

test_loader_errors.py runs the hostile-file tests with the default (libyaml here: every refusal
there goes through the C composer's hand-over); this module runs every one of them again with
the pure-Python parser, and compares the three paths on every YAML file in the repository and on
edge cases (non-ASCII before a value, anchors, aliases, tags, duplicate keys, depth, syntax
errors), node by node where the C composer reads the text.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

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


PATHS = {  # (USE_LIBYAML, USE_C_COMPOSER)
    "c-composer": (True, True),
    "python-composer": (True, False),
    "pure-python": (False, False),
}


def _read(text: str, path: str) -> Any:
    libyaml, c_composer = PATHS[path]
    old = yaml_source.USE_LIBYAML, yaml_source.USE_C_COMPOSER
    yaml_source.USE_LIBYAML, yaml_source.USE_C_COMPOSER = libyaml, c_composer
    try:
        data, smap = yaml_source.load_yaml_text(text, "f.yaml")
        return "ok", data, smap.positions
    except PolicyError as exc:
        return "error", [str(p) for p in exc.problems]
    finally:
        yaml_source.USE_LIBYAML, yaml_source.USE_C_COMPOSER = old


def _all_alike(text: str) -> Any:
    fast, events, pure = (_read(text, path) for path in PATHS)
    assert fast == events
    assert events == pure
    return fast


class _Calls:
    """Which composers read a text: the C composer (and whether it accepted) and the others."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.c: list[bool] = []
        self.python: list[str] = []
        load_fast, compose_with = yaml_source._load_fast, yaml_source._compose_with

        def _load_fast(text: str, file: str) -> Any:
            done = load_fast(text, file)
            self.c.append(done is not None)
            return done

        def _compose_with(cls: Any, text: str) -> Any:
            self.python.append(cls.__name__)
            return compose_with(cls, text)

        monkeypatch.setattr(yaml_source, "_load_fast", _load_fast)
        monkeypatch.setattr(yaml_source, "_compose_with", _compose_with)


def test_libyaml_and_its_composer_are_used_where_pyyaml_has_them(monkeypatch: pytest.MonkeyPatch) -> None:
    assert yaml_source._CParser is not None, "this machine's PyYAML has libyaml: the fast path must be tested"
    assert yaml_source.USE_LIBYAML and yaml_source.USE_C_COMPOSER
    assert yaml_source._libyaml_bounds_nesting(), "this libyaml does not bound nesting: the C composer is never used"
    calls = _Calls(monkeypatch)
    assert yaml_source.load_yaml_text("a: 1\nb: x & y\n", "f.yaml")[0] == {"a": 1, "b": "x & y"}
    assert (calls.c, calls.python) == ([True], [])
    with pytest.raises(PolicyError):  # a refusal: handed over, and worded by the Python composer
        yaml_source.load_yaml_text("a: 1\na: 2\n", "f.yaml")
    assert (calls.c, calls.python) == ([True, False], ["_CScalarLoader"])
    with pytest.raises(PolicyError):  # an anchor: never given to the C composer, which forgets them
        yaml_source.load_yaml_text("a: &x 1\n", "f.yaml")
    assert (calls.c, calls.python) == ([True, False], ["_CScalarLoader", "_CScalarLoader"])


@pytest.mark.parametrize(("text", "applies"), [
    ("a: b\n", True),
    ("a: training & orientation\n", True),  # & before a blank is text, never an anchor
    ("a: 2 * 3\n", True),
    ("a: '*'\n", False),  # * before a quote: also handed over
    ("a: &x 1\n", False),
    ("a: *x\n", False),
    ("a: 'Q&A'\n", False),  # text, but the check does not parse: handed to the Python composer
    ("a: [*x]\n", False),
])
def test_the_c_composer_never_sees_an_anchor_or_alias(text: str, applies: bool) -> None:
    assert yaml_source._c_composer_applies(text) is applies


def test_bundled_policies_are_read_by_the_c_composer(monkeypatch: pytest.MonkeyPatch) -> None:
    """Load time depends on it (issue 12: under 150 ms); a file read by the Python composer is
    still read correctly, only twice as slowly."""
    calls = _Calls(monkeypatch)
    for path in sorted((ROOT / "policies").glob("*.yaml")):
        yaml_source.load_yaml_file(path)
        assert (calls.c, calls.python) == ([True], []), (
            f"{path.name} is read by the slower Python composer: it holds `&` or `*` before a "
            "non-blank character (an anchor or alias to YAML; write `and`, or a space after it)")
        calls.c.clear()


def _tree(node: Any) -> Any:
    """A node tree as plain data: kind, tag, style, start and end positions, and value."""
    if node is None:
        return None
    marks = (node.start_mark.line, node.start_mark.column, node.end_mark.line, node.end_mark.column)
    if isinstance(node, yaml.ScalarNode):
        return ("scalar", node.tag, node.style, marks, node.value)
    if isinstance(node, yaml.SequenceNode):
        return ("seq", node.tag, marks, [_tree(n) for n in node.value])
    assert isinstance(node, yaml.MappingNode)
    return ("map", node.tag, marks, [(_tree(k), _tree(v)) for k, v in node.value])


def _python_composed(text: str) -> Any:
    try:
        return _tree(yaml_source._compose_with(yaml_source._CScalarLoader, text)[1])
    except (yaml.YAMLError, RecursionError) as exc:
        return type(exc).__name__


def _c_composed(text: str) -> Any:
    try:
        return _tree(yaml_source._compose_in_c(text))
    except (yaml.YAMLError, RecursionError) as exc:
        return type(exc).__name__


YAML_FILES = sorted(p for d in ("policies", "tests/fixtures", "examples") for p in (ROOT / d).rglob("*.y*ml"))


@pytest.mark.parametrize("path", YAML_FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_path_reads_every_repository_file_alike(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    _all_alike(text)
    composed = _python_composed(text)
    if yaml_source._c_composer_applies(text) and not isinstance(composed, str):  # str: the error's name
        assert _c_composed(text) == composed


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
    "too deep for Python's composer, not libyaml's": "a: " + "[" * 600 + "]" * 600 + "\n",
    "deep block nesting": "a:\n" + "".join("  " * i + "- \n" for i in range(1, 80)),
    "compact nesting": "a: " + "- " * 900 + "x\n",
    "ambiguous values": "a: [yes, 010, 0b1, 1:30, 1_000, 1e3, 'yes', no_thing, 0.5, -1, +2]\n",
    "values of every type": "a: [1, -2, 0.5, true, false, null, ~, 2024-02-29, '', \"\", x]\nb:\n",
    "syntax error": "a: [1, 2\nb: 3\n",
    "bad indentation": "a:\n  b: 1\n c: 2\n",
    "tab": "a:\n\tb: 1\n",
    "two documents": "a: 1\n---\nb: 2\n",
    "empty": "",
    "bad date": "a: 2020-13-01\n",
    "complex key": "? [a, b]\n: 1\n",
}


@pytest.mark.parametrize("name", EDGE_CASES)
def test_every_path_agrees_on_edge_cases(name: str) -> None:
    text = EDGE_CASES[name]
    fast = _all_alike(text)
    composed = _python_composed(text)
    if yaml_source._c_composer_applies(text) and not isinstance(composed, str):  # str: the error's name
        assert _c_composed(text) == composed
    if name in ("anchor", "alias", "alias bomb", "tag", "local tag", "duplicate keys", "deep", "very deep",
                "too deep for Python's composer, not libyaml's", "deep block nesting", "compact nesting",
                "ambiguous values", "syntax error", "bad indentation", "tab", "two documents", "empty",
                "bad date", "complex key"):
        assert fast[0] == "error", name
    else:
        assert fast[0] == "ok", name


# ---------------------------------------------- issue 18.8: every scalar YAML 1.1 and 1.2 read apart


@pytest.mark.parametrize("value", ["-.5", "+.5", "0x1_0", "-0x10", "+0x10", "1.5_0", ".5e3", ".5_0", "-.5e-3"])
@pytest.mark.parametrize("path", PATHS)
def test_scalars_read_apart_by_the_yaml_versions_are_refused(value: str, path: str) -> None:
    result = _read(f"a: {value}\n", path)
    assert result[0] == "error" and result[1][0].startswith(f"f.yaml:1:4: the unquoted value {value!r}"), result
    assert _read(f"a: '{value}'\n", path)[:2] == ("ok", {"a": value})  # quoted: text, as both read it


def _yaml12_core(value: str) -> Any:
    """What YAML 1.2's core schema reads a plain scalar as (the spec's regular expressions)."""
    import math
    import re

    if re.fullmatch(r"null|Null|NULL|~|", value):
        return None
    if re.fullmatch(r"true|True|TRUE|false|False|FALSE", value):
        return value.lower() == "true"
    if re.fullmatch(r"[-+]?[0-9]+", value):
        return int(value)
    if re.fullmatch(r"0o[0-7]+", value):
        return int(value[2:], 8)
    if re.fullmatch(r"0x[0-9a-fA-F]+", value):
        return int(value[2:], 16)
    if re.fullmatch(r"[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?", value):
        return float(value)
    if re.fullmatch(r"[-+]?\.(?:inf|Inf|INF)", value):
        return -math.inf if value.startswith("-") else math.inf
    if re.fullmatch(r"\.(?:nan|NaN|NAN)", value):
        return math.nan
    return value


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float) and a != a and b != b:
        return True
    return type(a) is type(b) and a == b


def test_every_number_like_scalar_the_versions_read_apart_is_refused() -> None:
    """Every short string over the characters of numbers: where PyYAML (YAML 1.1) and YAML 1.2's
    core schema read it apart, the loader refuses it; where they agree, it reads what both read."""
    import datetime as dt
    import itertools

    alphabet = "01789._eE+-xXob:"
    missed = []
    for size in range(1, 5):
        for chars in itertools.product(alphabet, repeat=size):
            value = "".join(chars)
            try:
                old = yaml.safe_load(f"a: {value}\n")
            except (yaml.YAMLError, ValueError):
                continue  # not a plain scalar here, or PyYAML itself fails on it
            if not isinstance(old, dict) or "a" not in old or isinstance(old["a"], dt.date | list | dict):
                continue
            try:
                data, _ = yaml_source.load_yaml_text(f"a: {value}\n", "f.yaml")
            except PolicyError:
                continue
            if not (_same(old["a"], _yaml12_core(value)) and _same(data["a"], old["a"])):
                missed.append(value)
    assert missed == []
