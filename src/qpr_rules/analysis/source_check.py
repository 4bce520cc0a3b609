"""`check`'s source-text findings: every clause quotes its document, and every sentence of the
document is quoted by a clause or marked as not normative in the policy file.

The documents are in `sources/` beside the policy files (shipped in the wheel with them), so the
check always runs: a policy citing a document that is not there is an error, never a skip.
"""

from __future__ import annotations

from pathlib import Path

from qpr_rules.errors import PolicyError, Problem
from qpr_rules.files import decode_utf8, read_regular_file
from qpr_rules.policy.loader import LoadedFile
from qpr_rules.policy.sentences import IndexedSentence, index_sentences, sentences_held
from qpr_rules.policy.sources import sources_dir, unquoted_clauses


def document_path(f: LoadedFile, sources: Path | None = None) -> Path:
    """The source document a policy file quotes (in sources, or in `sources/` beside the file)."""
    return (sources or sources_dir(f.path)) / f.policy.source.document


def sentence_index(f: LoadedFile, text: str) -> list[IndexedSentence]:
    """The document's sentences with the clauses quoting each and their not-normative marks."""
    return index_sentences(text, [(c.id, c.text) for c in f.policy.clauses],
                           [(m.text, m.reason) for m in f.policy.not_normative])


MAX_DOCUMENT_BYTES = 16 * 1024 * 1024


def read_document(f: LoadedFile, sources: Path | None = None) -> str | Problem:
    """The text of the source document a policy file quotes, or the source-missing problem.

    The document must be a regular file inside the sources directory once every symlink is
    resolved: a link out of it (to /proc/self/environ, or a secret elsewhere) is refused, never
    read, since check and the HTML report print what they read."""
    document = document_path(f, sources)
    directory = (sources or sources_dir(f.path)).resolve()
    line, col = f.smap.at(("source", "document"))
    where = "the --sources directory" if sources else f"{sources_dir(f.path)}/ beside the policy"

    def missing(why: str) -> Problem:
        return Problem(f.smap.file, line, col, f"source document {f.policy.source.document} {why} "
                       f"{where}; add the document there, or fix `source.document`", "source-missing")

    try:
        real = document.resolve(strict=True)
    except (OSError, RuntimeError):  # missing, a dangling link, a link loop
        return missing("not found in")
    if real.parent != directory:
        return missing("is a link to a file outside")
    try:
        return decode_utf8(read_regular_file(real, MAX_DOCUMENT_BYTES), str(document))
    except PolicyError as exc:
        return missing(f"cannot be read ({exc.problems[0].message}) in")


def source_problems(f: LoadedFile, sources: Path | None = None) -> list[Problem]:
    """Errors for a missing document and for quotes not found in it; a warning per sentence that
    no clause quotes and that is not marked as not normative."""
    document = document_path(f, sources)
    text = read_document(f, sources)
    if isinstance(text, Problem):
        return [text]
    problems: list[Problem] = []
    missing = set(unquoted_clauses([(c.id, c.text) for c in f.policy.clauses], text))
    for i, clause in enumerate(f.policy.clauses):
        if clause.id in missing:
            line, col = f.smap.at(("clauses", i, "text"))
            problems.append(Problem(
                f.smap.file, line, col,
                f"clause {clause.id}: text is not a verbatim quote of {f.policy.source.document}; "
                "copy the sentence exactly (whitespace, **bold** and [links](#) may differ)",
                "clause-not-quoted", "error"))
    unfound = set(unquoted_clauses([(str(i), m.text) for i, m in enumerate(f.policy.not_normative)], text))
    for i, _ in enumerate(f.policy.not_normative):
        if str(i) in unfound:
            line, col = f.smap.at(("not_normative", i, "text"))
            problems.append(Problem(f.smap.file, line, col, "not_normative text is not a verbatim quote of "
                                    f"{f.policy.source.document}; copy it exactly",
                                    "not-normative-not-quoted", "error"))
    index = sentence_index(f, text)
    for i, mark in enumerate(f.policy.not_normative):
        held = sentences_held(text, mark.text)
        quoting = sorted({c for k in held for c in index[k].clauses})
        if held and all(index[k].clauses for k in held):
            line, col = f.smap.at(("not_normative", i, "text"))
            problems.append(Problem(f.smap.file, line, col, f"marked not normative, but clause(s) "
                                    f"{', '.join(quoting)} quote it; remove the mark (a sentence is "
                                    "either a rule's source or not)", "not-normative-quoted", "warning"))
    for item in index:
        if item.status == "unindexed":
            s = item.sentence
            problems.append(Problem(
                str(document), s.line, 1,
                f"sentence quoted by no clause of {f.path.name}: “{s.normalised}”; quote it in a clause "
                "(with `computable: false` and a reason if no rule can check it), or list it under "
                "`not_normative:` with the reason", "sentence-not-indexed", "warning"))
    return problems
