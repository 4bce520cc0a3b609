"""`qpr-rules fmt`: one canonical layout for policy and scenario files, comments kept.

Uses ruamel.yaml's round-trip mode (PyYAML drops comments). A file is rewritten only when the
reformatted text loads to exactly the same data, and then atomically (temp file + rename), so a
formatting bug can never lose or half-write policy text.
"""

from __future__ import annotations

import io
import os
import tempfile
from pathlib import Path

from ruamel.yaml import YAML

from qpr_rules.errors import PolicyError, Problem
from qpr_rules.yaml_source import load_yaml_file, load_yaml_text

WIDTH = 4096  # never re-wrap: analysts choose their line breaks, diffs stay small


def _yaml() -> YAML:
    yaml = YAML(typ="rt")
    yaml.indent(mapping=2, sequence=4, offset=2)
    yaml.width = WIDTH
    yaml.preserve_quotes = True
    yaml.explicit_start = False
    return yaml


def format_text(text: str, name: str) -> str:
    """The canonical form of text; PolicyError if it does not load the same afterwards."""
    before, _ = load_yaml_text(text, name)  # our safe loader first: refuse what it refuses
    yaml = _yaml()
    data = yaml.load(text)
    out = io.StringIO()
    yaml.dump(data, out)
    formatted = out.getvalue().rstrip("\n") + "\n"
    formatted = "\n".join(line.rstrip() for line in formatted.split("\n"))
    after, _ = load_yaml_text(formatted, name)
    if after != before:
        raise PolicyError([Problem(name, 1, 1, "formatting would change the file's data; left unchanged "
                                                "(please report this file)", "fmt-unsafe")])
    return formatted


def format_file(path: Path, check_only: bool = False) -> bool:
    """Format path in place (unless check_only); True when the file is (or was) not canonical."""
    original = path.read_text(encoding="utf-8")
    load_yaml_file(path)
    formatted = format_text(original, str(path))
    if formatted == original:
        return False
    if not check_only:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(formatted)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    return True
