"""Safe YAML reading that keeps positions and refuses what PyYAML would silently accept.

PyYAML's safe loader takes the last of duplicate keys and expands aliases, so a
"billion laughs" file costs memory. Here: duplicate keys are errors, anchors and
aliases are refused (policy files gain nothing from them), the file size and
nesting depth are bounded, and every value's line and column is recorded under
its path so that later checks can point at the exact place.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from yaml.composer import Composer
from yaml.constructor import SafeConstructor
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode
from yaml.resolver import Resolver

from qpr_rules.errors import PolicyError, Problem
from qpr_rules.files import decode_utf8, read_regular_file

MAX_BYTES = 5 * 1024 * 1024
MAX_DEPTH = 64

Loc = tuple[str | int, ...]
_PLAIN_TAGS = frozenset(f"tag:yaml.org,2002:{t}" for t in
                        ("str", "int", "float", "bool", "null", "timestamp", "seq", "map"))
_STR_TAG = "tag:yaml.org,2002:str"


@dataclass
class SourceMap:
    """Line and column (1-based) of every key and value of a YAML document, by path."""

    file: str
    positions: dict[Loc, tuple[int, int]] = field(default_factory=dict)

    def at(self, loc: Loc) -> tuple[int, int]:
        """Position of loc, or of its nearest ancestor that has one."""
        loc = tuple(loc)
        while loc:
            if loc in self.positions:
                return self.positions[loc]
            loc = loc[:-1]
        return self.positions.get((), (1, 1))

    def problem(self, loc: Loc, message: str, code: str = "error") -> Problem:
        line, col = self.at(loc)
        return Problem(self.file, line, col, message, code)


# Plain scalars that YAML 1.1 (PyYAML, and many editors' tools) and YAML 1.2 read differently:
# 1.1 reads yes/no/on/off as booleans, 010 as octal 8, 0b101 as binary, 1_000 as 1000 and
# 1:30 as 90 (base 60); 1.2 reads them as text or decimal, and reads 1e3 as a number where 1.1
# sees text. Such a value is refused, never guessed.
_AMBIGUOUS = [
    (re.compile(r"(?:yes|Yes|YES|no|No|NO|on|On|ON|off|Off|OFF)"),
     "is true or false in YAML 1.1 but text in YAML 1.2; write true or false, or quote it for text"),
    (re.compile(r"[-+]?0[0-9_]+"),
     "has a leading zero (octal in YAML 1.1, decimal in YAML 1.2); drop the zero, or quote it for text"),
    (re.compile(r"[-+]?0[bo][0-9a-fA-F_]+"), "is read differently by YAML 1.1 and 1.2; "
                                               "write the number in decimal, or quote it for text"),
    (re.compile(r"[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?"),
     "is a base-60 number in YAML 1.1 (1:30 = 90) but text in YAML 1.2; quote it"),
    (re.compile(r"[-+]?(?:[0-9]+_[0-9_]*)(?:\.[0-9_]*)?"),
     "has an underscore (1_000 is 1000 in YAML 1.1, text in YAML 1.2); write 1000, or quote it"),
    (re.compile(r"[-+]?[0-9]+(?:\.[0-9]*)?[eE][-+]?[0-9]+"),
     "has an exponent, which YAML 1.1 reads as a number only in some spellings (1.0e+3, not 1e3 "
     "or 1.0e3) and YAML 1.2 always; write the number without one, or quote it for text"),
]


#: Every pattern above, and every number of either version, needs its first character in this
#: set: a value that starts with anything else (most policy text) is not ambiguous, without
#: running a regular expression on it.
_AMBIGUOUS_FIRST = frozenset("yYnNoO+-.0123456789")

_NUMBER_LIKE = re.compile(r"[0-9][0-9a-fA-F_]*[._xXeE]")
_INT_TAG, _FLOAT_TAG = "tag:yaml.org,2002:int", "tag:yaml.org,2002:float"
_RESOLVER = Resolver()  # YAML 1.1's implicit tags, as PyYAML resolves them
_NUMBERS = SafeConstructor()

# YAML 1.2's core schema, from the spec (10.3.2): what a plain scalar is read as there.
_CORE_INT = re.compile(r"[-+]?[0-9]+")
_CORE_OCT = re.compile(r"0o[0-7]+")
_CORE_HEX = re.compile(r"0x[0-9a-fA-F]+")
_CORE_FLOAT = re.compile(r"[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?")
_CORE_SPECIAL = re.compile(r"[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN)")


def _yaml12_number(value: str) -> int | float | None:
    """The number YAML 1.2's core schema reads value as, or None when it reads text (or a
    boolean or null, which YAML 1.1 reads alike except yes/no/on/off, refused above)."""
    if _CORE_INT.fullmatch(value):
        return int(value)
    if _CORE_OCT.fullmatch(value):
        return int(value[2:], 8)
    if _CORE_HEX.fullmatch(value):
        return int(value[2:], 16)
    if _CORE_FLOAT.fullmatch(value) or _CORE_SPECIAL.fullmatch(value):
        return float(value.replace(".inf", "inf").replace(".Inf", "inf").replace(".INF", "inf")
                     .replace(".nan", "nan").replace(".NaN", "nan").replace(".NAN", "nan"))
    return None


def _yaml11_number(value: str) -> int | float | None:
    """The number PyYAML (YAML 1.1) reads value as, or None when it reads something else."""
    tag = _RESOLVER.resolve(ScalarNode, value, (True, False))
    try:
        if tag == _INT_TAG:
            return int(_NUMBERS.construct_yaml_int(ScalarNode(tag, value)))
        if tag == _FLOAT_TAG:
            return float(_NUMBERS.construct_yaml_float(ScalarNode(tag, value)))
    except ValueError:  # `._` matches 1.1's float pattern and is no number
        return None
    return None


def _same_number(a: int | float | None, b: int | float | None) -> bool:
    if isinstance(a, float) and isinstance(b, float) and a != a and b != b:  # nan and nan
        return True
    return type(a) is type(b) and a == b


def _described(number: int | float | None) -> str:
    return "text" if number is None else f"the number {number!r}"


def ambiguous_scalar(value: str) -> str | None:
    """Why a plain (unquoted) scalar is ambiguous between YAML 1.1 and 1.2, or None."""
    if not value or value[0] not in _AMBIGUOUS_FIRST:
        return None
    shown = value if len(value) <= 40 else value[:40] + "..."
    for pattern, why in _AMBIGUOUS:
        if pattern.fullmatch(value):
            return f"the unquoted value {shown!r} {why}"
    # what no pattern names (-.5, 0x1_0, 1.5_0, .5e3 ...): the two readings compared, for a value
    # that can be a number other than plain digits (7, 365 and dates read alike and skip this)
    if value[0] not in "+-." and not _NUMBER_LIKE.match(value):
        return None
    old, new = _yaml11_number(value), _yaml12_number(value)
    if not _same_number(old, new):
        return (f"the unquoted value {shown!r} is {_described(old)} in YAML 1.1 but {_described(new)} in "
                "YAML 1.2; write the number plainly (0.5, -16), or quote it for text")
    return None


def _pos(node: Node) -> tuple[int, int]:
    return node.start_mark.line + 1, node.start_mark.column + 1


class _Builder:
    def __init__(self, smap: SourceMap) -> None:
        self.smap = smap
        self.problems: list[Problem] = []
        self._scalars = _ScalarLoader("")  # one constructor for the file's non-text scalars

    def build(self, node: Node, loc: Loc, depth: int = 0) -> Any:
        positions = self.smap.positions
        if loc not in positions:
            positions[loc] = _pos(node)
        if depth > MAX_DEPTH:
            self._error(node, f"nesting deeper than {MAX_DEPTH} levels; flatten the structure")
            return None
        if node.tag not in _PLAIN_TAGS:
            self._error(node, f"the tag {node.tag!r} is not allowed; only plain YAML values (no tags) "
                              "are allowed in policy files")
            return None
        if isinstance(node, ScalarNode):
            return self._scalar(node)
        if isinstance(node, SequenceNode):
            return [self.build(item, (*loc, i), depth + 1) for i, item in enumerate(node.value)]
        if isinstance(node, MappingNode):
            out: dict[Any, Any] = {}
            seen: dict[Any, tuple[int, int]] = {}
            for key_node, value_node in node.value:
                if not isinstance(key_node, ScalarNode):
                    self._error(key_node, "mapping keys must be plain scalars")
                    continue
                key = self._scalar(key_node)
                key_pos = _pos(key_node)
                if key in seen:
                    line, col = seen[key]
                    self._error(
                        key_node,
                        f"duplicate key {key!r} (first defined at line {line}, column {col}); "
                        "each key may appear once in a mapping: merge the two or rename one",
                    )
                    continue
                seen[key] = key_pos
                here = (*loc, key)
                positions[here] = _pos(value_node)
                key_loc = (*here, "__key__")
                if key_loc not in positions:
                    positions[key_loc] = key_pos
                if type(value_node) is ScalarNode and depth < MAX_DEPTH and value_node.tag in _PLAIN_TAGS:
                    out[key] = self._scalar(value_node)  # build()'s checks, inline: most values are text
                else:
                    out[key] = self.build(value_node, here, depth + 1)
            return out
        self._error(node, f"unsupported YAML node {type(node).__name__}")
        return None

    def _scalar(self, node: ScalarNode) -> Any:
        # a plain scalar: style None from PyYAML's Python parser, '' from libyaml's
        if not node.style and (why := ambiguous_scalar(node.value)):
            self._error(node, why)
            return None
        if node.tag == _STR_TAG:  # what SafeConstructor gives for text, without its dispatch
            return node.value
        try:
            return self._scalars.construct_object(node, deep=True)
        except yaml.YAMLError as exc:
            problem = getattr(exc, "problem", None) or str(exc)
            self._error(node, f"{problem}; only plain YAML values (no tags) are allowed")
            return None
        except ValueError as exc:  # e.g. 2020-13-01 looks like a date but is not one
            self._error(node, f"invalid value {node.value!r}: {exc}; dates are YYYY-MM-DD")
            return None

    def _error(self, node: Node, message: str) -> None:
        line, col = _pos(node)
        self.problems.append(Problem(self.smap.file, line, col, message))


class _ScalarLoader(yaml.SafeLoader):
    """SafeLoader that refuses aliases at compose time (before any expansion) and records
    anchors (nodes do not keep them, so the builder cannot see them)."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self.anchor_marks: list[yaml.Mark] = []

    def compose_node(self, parent: Node | None, index: Any) -> Node | None:
        event = self.peek_event()
        if getattr(event, "anchor", None) and not isinstance(event, yaml.AliasEvent):
            self.anchor_marks.append(event.start_mark)
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise yaml.composer.ComposerError(
                None,
                None,
                "YAML aliases (*name) are not allowed in policy files; write the value out",
                event.start_mark,
            )
        return super().compose_node(parent, index)


def _libyaml_parser() -> Any:
    try:
        from yaml import cyaml
    except ImportError:  # PyYAML built without libyaml
        return None
    return getattr(cyaml, "CParser", None)


_CParser: Any = _libyaml_parser()

#: Parse with libyaml's parser when PyYAML has it (the bundled policies load several times
#: faster); the composing above it is the same Python code either way, so anchors, aliases,
#: tags, duplicate keys, depth and size are refused identically (libyaml's own composer, below,
#: only accepts). tests/test_yaml_loaders.py runs the hostile-file tests under each path; set
#: False to use the pure-Python parser only.
USE_LIBYAML = _CParser is not None


if _CParser is not None:

    class _CScalarLoader(_CParser, _ScalarLoader):
        """_ScalarLoader on libyaml's parser: libyaml's events, the Python composer above them
        (not libyaml's own, which would expand aliases before _ScalarLoader could refuse them)."""

        get_single_node = Composer.get_single_node
        get_node = Composer.get_node
        check_node = Composer.check_node

        def __init__(self, stream: str) -> None:
            _CParser.__init__(self, stream)
            Composer.__init__(self)
            SafeConstructor.__init__(self)
            Resolver.__init__(self)
            self.anchor_marks = []


def _compose_with(loader_class: type[_ScalarLoader], text: str) -> tuple[_ScalarLoader, Node | None]:
    loader = loader_class(text)
    try:
        return loader, loader.get_single_node()
    finally:
        loader.dispose()


def _compose(text: str) -> tuple[_ScalarLoader, Node | None]:
    """The document's node tree. With libyaml, a document it cannot parse is parsed again by the
    pure-Python parser, which words the error: messages and positions are then the same
    whichever parser is installed."""
    if USE_LIBYAML and _CParser is not None:
        try:
            return _compose_with(_CScalarLoader, text)
        except (yaml.YAMLError, RecursionError):
            pass
    return _compose_with(_ScalarLoader, text)


# The fast path: libyaml composes the whole tree in C (the Python composer above costs as much
# as the parse itself). libyaml's composer expands aliases and forgets anchors, so it is used
# only on text that cannot hold either: an anchor or alias is `&` or `*` directly followed by
# its name, and text with no `&` or `*` before a non-blank character has neither. It recurses in
# C, so it is used only where libyaml refuses nesting deeper than about a thousand levels
# (`_libyaml_bounds_nesting`); deeper text would otherwise overflow the C stack. And it is used
# only to accept: a document it cannot compose, or whose tree the builder finds any problem in
# (a tag, a duplicate key, depth, an ambiguous or invalid value, an empty file), is read again
# by the path above, so every refusal, its message and its position are the ones that path
# gives. What it accepts, the path above accepts alike: tests/test_yaml_loaders.py compares the
# two trees on every YAML file in the repository and on edge cases.
_ANCHOR_OR_ALIAS = re.compile(r"[&*]\S")

#: Compose in C where the text allows (above); False: always the Python composer.
USE_C_COMPOSER = _CParser is not None


if _CParser is not None:

    class _CComposer(_CParser, Resolver):
        """libyaml's parser and composer with PyYAML's tag resolver, and no constructor."""

        def __init__(self, stream: str) -> None:
            _CParser.__init__(self, stream)
            Resolver.__init__(self)

        def resolve(self, kind: type[Node], value: Any, implicit: Any) -> str:
            """Resolver.resolve, answering at once for a scalar that no implicit resolver can
            claim (quoted, or plain and starting with a character none is registered for)."""
            if (kind is ScalarNode and not self.yaml_path_resolvers and value
                    and (not implicit[0] or (value[0] not in self.yaml_implicit_resolvers
                                             and None not in self.yaml_implicit_resolvers))):
                return self.DEFAULT_SCALAR_TAG
            return Resolver.resolve(self, kind, value, implicit)


def _compose_in_c(text: str) -> Node | None:
    return _CComposer(text).get_single_node()


_NESTING_BOUNDED: bool | None = None


def _libyaml_bounds_nesting() -> bool:
    """Whether this libyaml refuses deep nesting (the one here stops at 1,000 levels; a build
    without the limit would not), found once per process by composing a document 1,100 levels
    deep: about a millisecond, and harmless for the C stack either way."""
    global _NESTING_BOUNDED
    if _NESTING_BOUNDED is None:
        depth = 1100
        try:
            _compose_in_c("[" * depth + "]" * depth)
            _NESTING_BOUNDED = False
        except yaml.YAMLError:
            _NESTING_BOUNDED = True
    return _NESTING_BOUNDED


def _c_composer_applies(text: str) -> bool:
    if not (USE_C_COMPOSER and USE_LIBYAML and _CParser is not None):
        return False
    if ("&" in text or "*" in text) and _ANCHOR_OR_ALIAS.search(text):
        return False
    return _libyaml_bounds_nesting()


def _load_fast(text: str, file: str) -> tuple[Any, SourceMap] | None:
    """The document read by the C composer, or None where the reference path must read it."""
    try:
        node = _compose_in_c(text)
    except (yaml.YAMLError, RecursionError):
        return None
    if node is None:
        return None
    smap = SourceMap(file)
    builder = _Builder(smap)
    data = builder.build(node, ())
    return None if builder.problems else (data, smap)


#: Line breaks in YAML 1.1 (PyYAML, ruamel's round trip) that YAML 1.2 and most editors read as
#: ordinary characters: the same text would be other lines, or other values, to each.
_VERSION_BREAKS = {"\x85": "U+0085 (next line)", "\u2028": "U+2028 (line separator)",
                   "\u2029": "U+2029 (paragraph separator)"}


def _version_breaks(text: str, file: str) -> list[Problem]:
    problems = []
    for char, name in _VERSION_BREAKS.items():
        at = text.find(char)
        if at >= 0:
            line = text.count("\n", 0, at) + 1
            column = at - (text.rfind("\n", 0, at) + 1) + 1
            problems.append(Problem(file, line, column, f"the character {name} is a line break in YAML 1.1 "
                                    "but not in YAML 1.2 (nor in most editors); replace it with a newline "
                                    "or a space"))
    return sorted(problems, key=lambda p: (p.line, p.column))


def _structure_problem(exc: yaml.MarkedYAMLError, text: str, file: str) -> Problem:
    """A YAML structure error at the line of the mistake, in words: PyYAML's own words
    ("while parsing a block collection expected <block end>, but found '?'") name the token it
    stumbled on, often a line after the real mistake (a key without its colon is read as text
    continued on the next line, which then fails). The commonest mistakes are recognised here;
    anything else keeps PyYAML's words, with its position."""
    mark = exc.problem_mark or exc.context_mark
    line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
    detail = " ".join(str(p) for p in (exc.context, exc.problem) if p)
    lines = text.split("\n")
    problem = str(exc.problem or "")

    def indent(n: int) -> int:
        return len(lines[n - 1]) - len(lines[n - 1].lstrip(" "))

    def content_before(n: int) -> int | None:  # the line of content above line n (no comment, no blank)
        for k in range(n - 1, 0, -1):
            stripped = lines[k - 1].strip()
            if stripped and not stripped.startswith("#"):
                return k
        return None

    def opens(n: int) -> str:
        """The indentations a line after line n may have: n's own, and each enclosing block's."""
        levels = [indent(n)]
        for k in range(n - 1, 0, -1):
            stripped = lines[k - 1].strip()
            if stripped and not stripped.startswith("#") and indent(k) < levels[-1]:
                levels.append(indent(k))
        item = lines[n - 1].lstrip(" ")
        if item.startswith("- "):  # a list item's keys sit after its dash
            levels.insert(0, indent(n) + 2)
        return ", ".join(str(n) for n in sorted(set(levels), reverse=True))

    if not (0 < line <= len(lines)):
        return Problem(file, line, col, f"invalid YAML: {detail}")
    if "\t" in problem or "'\\t'" in problem:
        return Problem(file, line, col, "invalid YAML: a tab where YAML needs spaces; indent with "
                                        "spaces only")
    before = content_before(line)
    if problem.startswith("expected <block end>") and before is not None and indent(line) != indent(before):
        return Problem(file, line, indent(line) + 1, (
            f"invalid YAML: line {line} is indented {indent(line)} space(s), which continues no block "
            f"above it; line {before} is at {indent(before)}: indent line {line} to one of "
            f"{opens(before)} spaces, as the lines it belongs with (YAML: {detail})"))
    if problem.startswith("mapping values are not allowed") and before is not None:
        above = lines[before - 1].strip()
        if ":" not in above.removeprefix("- ") and not above.startswith(("[", "{", '"', "'")):
            return Problem(file, before, indent(before) + 1, (
                f"invalid YAML: line {before} ({above!r}) has no colon, so YAML reads line {line} as "
                f"more of its text; write `{above.removeprefix('- ')}:` if it names what follows"))
        if indent(line) > indent(before):
            return Problem(file, line, indent(line) + 1, (
                f"invalid YAML: line {line} is indented deeper ({indent(line)} spaces) than line "
                f"{before} ({indent(before)}), so YAML reads it as more of line {before}'s value; "
                f"indent it to {indent(before)} spaces, as the keys it belongs with"))
    if problem.startswith("could not find expected ':'") and exc.context_mark is not None:
        key = exc.context_mark.line + 1
        return Problem(file, key, exc.context_mark.column + 1, (
            f"invalid YAML: line {key} ({lines[key - 1].strip()!r}) needs a colon after its key "
            "(`key: value`), or to be indented as more of the line above"))
    return Problem(file, line, col, f"invalid YAML: {detail}")


def load_yaml_text(text: str, file: str) -> tuple[Any, SourceMap]:
    """Parse one YAML document; raise PolicyError listing every problem found."""
    if len(text.encode("utf-8", "replace")) > MAX_BYTES:
        raise PolicyError([Problem(file, 1, 1, f"file is larger than {MAX_BYTES} bytes")])
    if ("\x85" in text or "\u2028" in text or "\u2029" in text) and (breaks := _version_breaks(text, file)):
        raise PolicyError(breaks)
    if _c_composer_applies(text) and (done := _load_fast(text, file)) is not None:
        return done
    smap = SourceMap(file)
    try:
        loader, node = _compose(text)
    except yaml.MarkedYAMLError as exc:
        raise PolicyError([_structure_problem(exc, text, file)]) from None
    except yaml.YAMLError as exc:
        raise PolicyError([Problem(file, 1, 1, f"invalid YAML: {exc}")]) from None
    except RecursionError:  # PyYAML composes recursively: thousands of nested brackets
        raise PolicyError([Problem(file, 1, 1, f"nesting deeper than {MAX_DEPTH} levels; "
                                               "flatten the structure")]) from None
    if node is None:
        raise PolicyError([Problem(file, 1, 1, "the file is empty; expected a mapping")])
    builder = _Builder(smap)
    data = builder.build(node, ())
    anchors = [Problem(file, m.line + 1, m.column + 1,
                       "YAML anchors (&name) are not allowed in policy files; write the value out")
               for m in loader.anchor_marks]
    if builder.problems or anchors:
        raise PolicyError([*anchors, *builder.problems])
    return data, smap


def load_yaml_file(path: Path) -> tuple[Any, SourceMap]:
    """Read and parse a YAML file (UTF-8, a regular file of at most MAX_BYTES)."""
    return load_yaml_text(decode_utf8(read_regular_file(path, MAX_BYTES), str(path)), str(path))
