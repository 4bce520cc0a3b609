"""Match quoted clause text against the source documents it claims to quote."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from qpr_rules.errors import PolicyError
from qpr_rules.yaml_source import load_yaml_file

_LINK = re.compile(r"\[([^\]]*)\]\(#\)")
_TAG = re.compile(r"<[^>]+>")
_SPACE_BEFORE_PUNCT = re.compile(r" ([,.;:!?])")


def normalise(text: str) -> str:
    """Text with markdown emphasis, [links](#), HTML tags and bullets removed, whitespace collapsed."""
    text = _LINK.sub(r"\1", text)
    text = _TAG.sub(" ", text)
    text = text.replace("*", "")  # markdown emphasis
    text = text.replace("•", " ").replace("○", " ").replace("▪", " ")  # bullets
    text = " ".join(text.split())
    return _SPACE_BEFORE_PUNCT.sub(r"\1", text)  # "<i>model</i>, is" leaves "model , is"


SOURCES_DIR = "sources"  # beside the policy files, shipped with them in the wheel


def sources_dir(policy_file: Path) -> Path:
    """Where the source documents of a policy file are: `sources/` beside it."""
    return policy_file.parent / SOURCES_DIR


@dataclass(frozen=True)
class SourceDocument:
    file: str
    title: str
    publisher: str
    date: str  # as printed on the document ("2019-01-03", "2020-12") or "undated"


def read_index(directory: Path) -> list[SourceDocument]:
    """The documents listed in `index.yaml` of a sources directory."""
    data, smap = load_yaml_file(directory / "index.yaml")
    docs = data.get("documents") if isinstance(data, dict) else None
    if not isinstance(docs, list):
        raise PolicyError([smap.problem((), "index.yaml needs `documents:`, a list of "
                                            "{file, title, publisher, date}")])
    out: list[SourceDocument] = []
    for i, d in enumerate(docs):
        keys = ("file", "title", "publisher", "date")
        if not isinstance(d, dict) or set(d) != set(keys) or not all(isinstance(d[k], str) for k in keys):
            raise PolicyError([smap.problem(("documents", i), "each document has exactly `file`, `title`, "
                                                             "`publisher` and `date`, all text")])
        out.append(SourceDocument(d["file"], d["title"], d["publisher"], d["date"]))
    return out


def unquoted_clauses(clauses: list[tuple[str, str]], source_text: str) -> list[str]:
    """Ids of the (id, text) clauses whose text is not found in the source text."""
    haystack = normalise(source_text)
    return [cid for cid, text in clauses if normalise(text) not in haystack]
