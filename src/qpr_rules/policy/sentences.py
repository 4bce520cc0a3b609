"""Split a source document into sentences, each with its line, for source-text coverage.

The sources are plain-text extracts of web pages and PDFs, so the splitter works line by line:

1. Every non-blank line is a block: a paragraph, a heading, a list item or a table row.
   Headings and list items end without a full stop, and still count as one sentence each.
2. A tab separates table cells (the extracts keep them), and HTML block tags (`<p>`, `<ul>`,
   `<li>`, `<br>`) and the bullets `•`, `○`, `▪` separate list items inside a cell: each is its
   own block.
3. List markers (`-`, `*`, `1.`) at the start of a block are not part of the text.
4. A block is cut after `.`, `!`, `?` or `…` (and any closing quote or bracket) when
   whitespace and then an upper-case letter, a digit, a quote or `[` follow, except after the
   abbreviations in `_ABBREVIATIONS` (`e.g.`, `i.e.` ...), so "e.g. place on permanent hold"
   stays whole. `etc.` is not among them: followed by a capital it ends a sentence. A full
   stop inside a word or number ("16507.5", "QPI4kids.org") is never a cut: no space follows.
5. What is left after markdown emphasis, tags and `[links](#)` are removed
   (`sources.normalise`) must hold a letter: separators (`---`) and the bare step numbers of a
   table are not sentences.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from qpr_rules.policy.sources import normalise

_ABBREVIATIONS = ("e.g.", "i.e.", "vs.", "Dr.", "Mr.", "Mrs.", "Ms.", "No.", "St.")
_CUT = re.compile(r"(?<=[.!?…])([\"”’')\]]*)\s+(?=[A-Z0-9\"“‘\[*])")
_BLOCK = re.compile(r"\t|</?(?:p|ul|ol|li|br)\b[^>]*>|[•○▪]")
_MARKER = re.compile(r"^\s*(?:[-*]|\d{1,2}[.)])(?:\s+|$)")
_LETTER = re.compile(r"[^\W\d_]")


@dataclass(frozen=True)
class Sentence:
    line: int  # 1-based line of the source document
    text: str  # as written in the source (one block or part of one)

    @property
    def normalised(self) -> str:
        return normalise(self.text)


def split_sentences(text: str) -> list[Sentence]:
    """The sentences of a source document, in document order (see the module docstring)."""
    out: list[Sentence] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        for cell in _BLOCK.split(raw):
            block = _MARKER.sub("", cell).strip()
            for part in _cut(block):
                if _LETTER.search(normalise(part)):
                    out.append(Sentence(number, part))
    return out


def _cut(block: str) -> list[str]:
    parts: list[str] = []
    start = 0
    for match in _CUT.finditer(block):
        end = match.start() + len(match.group(1))
        piece = block[start:end]
        if piece.endswith(_ABBREVIATIONS) and _is_abbreviation(piece):
            continue
        parts.append(piece.strip())
        start = match.end()
    parts.append(block[start:].strip())
    return [p for p in parts if p]


def _is_abbreviation(piece: str) -> bool:
    """Whether the piece ends in an abbreviation as a whole word ("etc." but not "Fetc.")."""
    for abbr in _ABBREVIATIONS:
        if piece.endswith(abbr):
            before = piece[: -len(abbr)]
            return not before or not before[-1].isalnum()
    return False


@dataclass(frozen=True)
class IndexedSentence:
    sentence: Sentence
    clauses: tuple[str, ...]  # ids of the clauses quoting it (in whole or in part)
    marked: str | None  # the reason, when the policy marks it as not normative

    @property
    def status(self) -> str:
        """"quoted", "not-normative" or "unindexed"."""
        if self.clauses:
            return "quoted"
        return "not-normative" if self.marked is not None else "unindexed"


_MIN_OVERLAP = 3  # characters shared with a quote, so that a shared space at a boundary is not one


def index_sentences(source_text: str, clauses: list[tuple[str, str]],
                    not_normative: list[tuple[str, str]]) -> list[IndexedSentence]:
    """Every sentence of the source with the clauses that quote it and its not-normative mark.

    clauses are (id, quoted text) and not_normative (quoted text, reason). A sentence counts as
    quoted when a clause's quote overlaps it in the normalised document: a clause may quote part
    of a sentence, or run over several. A not-normative quote marks only the sentences it holds
    whole, so that marking the heading "Resources" leaves a sentence that uses the word alone."""
    haystack = normalise(source_text)
    clause_spans = [(cid, span) for cid, text in clauses for span in _spans(haystack, normalise(text))]
    marked_spans = [(reason, span) for text, reason in not_normative
                    for span in _spans(haystack, normalise(text))]
    out: list[IndexedSentence] = []
    for sentence, span in locate_sentences(source_text):
        quoting = tuple(dict.fromkeys(cid for cid, s in clause_spans if _overlap(span, s)))
        reason = next((r for r, s in marked_spans if _inside(span, s)), None)
        out.append(IndexedSentence(sentence, quoting, reason))
    return out


def sentences_held(source_text: str, quote: str) -> list[int]:
    """Indexes (in split_sentences order) of the sentences a quote holds whole."""
    haystack = normalise(source_text)
    spans = _spans(haystack, normalise(quote))
    return [i for i, (_, span) in enumerate(locate_sentences(source_text))
            if any(_inside(span, s) for s in spans)]


def locate_sentences(source_text: str) -> list[tuple[Sentence, tuple[int, int]]]:
    """Each sentence with its (start, end) in `normalise(source_text)`, found in document order;
    (-1, -1) for one that cannot be found (the tests show none on the bundled sources)."""
    haystack = normalise(source_text)
    out: list[tuple[Sentence, tuple[int, int]]] = []
    cursor = 0
    for sentence in split_sentences(source_text):
        needle = sentence.normalised
        at = haystack.find(needle, cursor)
        if at < 0:
            out.append((sentence, (-1, -1)))
            continue
        cursor = at + len(needle)
        out.append((sentence, (at, cursor)))
    return out


def _spans(haystack: str, needle: str) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    if not needle:
        return out
    at = haystack.find(needle)
    while at >= 0:
        out.append((at, at + len(needle)))
        at = haystack.find(needle, at + 1)
    return out


def _inside(a: tuple[int, int], b: tuple[int, int]) -> bool:
    return a[0] >= 0 and b[0] <= a[0] and a[1] <= b[1]


def _overlap(a: tuple[int, int], b: tuple[int, int]) -> bool:
    if a[0] < 0:
        return False
    shared = min(a[1], b[1]) - max(a[0], b[0])
    return shared >= min(_MIN_OVERLAP, a[1] - a[0])
