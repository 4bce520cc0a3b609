"""`qpr-rules fmt`: one canonical layout for policy and scenario files, comments kept.

Uses ruamel.yaml's round-trip mode (PyYAML drops comments). A file is rewritten only when the
reformatted text loads to exactly the same data, and then atomically (temp file + rename), so a
formatting bug can never lose or half-write policy text.
"""

from __future__ import annotations

import io
import os
import stat
import tempfile
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq

from qpr_rules.errors import PolicyError, Problem
from qpr_rules.files import decode_utf8, read_regular_file
from qpr_rules.yaml_source import MAX_BYTES, load_yaml_text

WIDTH = 4096  # never re-wrap: analysts choose their line breaks, diffs stay small


class _Null(str):
    """A null the file spells out (`hold: null`, `~`): ruamel.yaml writes every null as nothing
    (`hold:`), which reads the same but says less to the person reading a facts file ("no hold"
    is a fact they gave); kept as it was written."""


def _represent_null(representer: Any, value: _Null) -> Any:
    return representer.represent_scalar("tag:yaml.org,2002:null", str(value))


_NULLS = ("null", "Null", "NULL", "~")


def _written_null(lines: list[str], line: int, col: int) -> str | None:
    """The null spelled at (line, col) of the source (0-based), if one is."""
    if not 0 <= line < len(lines):
        return None
    rest = lines[line][col:].split(" #", 1)[0].strip()
    return rest if rest in _NULLS else None


def _keep_nulls(node: Any, lines: list[str]) -> None:
    """Mark each null the source spells out, so that it is written back the same."""
    if isinstance(node, CommentedMap):
        for key, value in node.items():
            if value is None:
                where = node.lc.data.get(key) if node.lc.data else None
                spelled = _written_null(lines, where[2], where[3]) if where and len(where) > 3 else None
                if spelled:
                    node[key] = _Null(spelled)
            else:
                _keep_nulls(value, lines)
    elif isinstance(node, CommentedSeq):
        for i, value in enumerate(node):
            if value is None:
                where = node.lc.data.get(i) if node.lc.data else None
                spelled = _written_null(lines, where[0], where[1]) if where else None
                if spelled:
                    node[i] = _Null(spelled)
            else:
                _keep_nulls(value, lines)


def _yaml() -> YAML:
    yaml = YAML(typ="rt")
    yaml.indent(mapping=2, sequence=4, offset=2)
    yaml.width = WIDTH
    yaml.preserve_quotes = True
    yaml.explicit_start = False
    yaml.representer.add_representer(_Null, _represent_null)
    return yaml


def format_text(text: str, name: str) -> str:
    """The canonical form of text; PolicyError if it does not load the same afterwards."""
    before, _ = load_yaml_text(text, name)  # our safe loader first: refuse what it refuses
    yaml = _yaml()
    data = yaml.load(text)
    _keep_nulls(data, text.split("\n"))
    out = io.StringIO()
    yaml.dump(data, out)
    formatted = out.getvalue().rstrip("\n") + "\n"
    formatted = "\n".join(line.rstrip() for line in formatted.split("\n"))
    after, _ = load_yaml_text(formatted, name)
    if after != before:
        raise PolicyError([Problem(name, 1, 1, "formatting would change the file's data; left unchanged "
                                                "(please report this file)", "fmt-unsafe")])
    return formatted


TEMP_MARK = ".qpr-fmt-"  # in the name of fmt's temporary files: .NAME.qpr-fmt-PID-RANDOM.tmp


def format_file(path: Path, check_only: bool = False) -> bool:
    """Format path in place (unless check_only); True when the file is (or was) not canonical.

    A symlink is followed: its target is rewritten and the link stays a link. The file keeps its
    permissions. The new text is written to a temporary file next to the target (named so that no
    tool takes it for a policy: it ends in .tmp and starts with a dot) and renamed over it; the
    temporary files an interrupted run left behind are removed by the next run."""
    original = decode_utf8(read_regular_file(path, MAX_BYTES), str(path))  # a link loop: refused here
    target = Path(os.path.realpath(path)) if path.is_symlink() else path
    formatted = format_text(original, str(path))
    if formatted == original:
        return False
    if not check_only:
        remove_stale_temporaries(target.parent)
        mode = stat.S_IMODE(target.stat().st_mode)
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}{TEMP_MARK}{os.getpid()}-", suffix=".tmp",
                                   dir=target.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(formatted)
                handle.flush()
                os.fsync(handle.fileno())
            os.chmod(tmp, mode)
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    return True


def remove_stale_temporaries(directory: Path) -> list[Path]:
    """Delete fmt's temporary files in directory whose writing process is gone; return them."""
    removed = []
    for tmp in directory.glob(f".*{TEMP_MARK}*.tmp"):
        pid_text = tmp.name.split(TEMP_MARK, 1)[1].split("-", 1)[0]
        if pid_text.isdigit() and int(pid_text) != os.getpid() and not _alive(int(pid_text)):
            tmp.unlink(missing_ok=True)
            removed.append(tmp)
    return removed


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    return True
