"""Match quoted clause text against the source documents it claims to quote."""

from __future__ import annotations

import re
from pathlib import Path

_LINK = re.compile(r"\[([^\]]*)\]\(#\)")
_TAG = re.compile(r"<[^>]+>")
_SPACE_BEFORE_PUNCT = re.compile(r" ([,.;:!?])")


def normalise(text: str) -> str:
    """Text with markdown emphasis, [links](#), HTML tags and bullets removed, whitespace collapsed."""
    text = _LINK.sub(r"\1", text)
    text = _TAG.sub(" ", text)
    text = text.replace("*", "").replace("•", " ").replace("○", " ")  # markdown emphasis, bullets
    text = " ".join(text.split())
    return _SPACE_BEFORE_PUNCT.sub(r"\1", text)  # "<i>model</i>, is" leaves "model , is"


def default_sources_dir(start: Path) -> Path | None:
    """`shared/seeds` beside the checkout holding start, if there is one."""
    for parent in [start.resolve(), *start.resolve().parents]:
        candidate = parent.parent / "shared" / "seeds"
        if (parent / "pyproject.toml").exists() and candidate.is_dir():
            return candidate
    return None


def unquoted_clauses(clauses: list[tuple[str, str]], source_text: str) -> list[str]:
    """Ids of the (id, text) clauses whose text is not found in the source text."""
    haystack = normalise(source_text)
    return [cid for cid, text in clauses if normalise(text) not in haystack]
