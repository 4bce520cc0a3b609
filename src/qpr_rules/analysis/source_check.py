"""`check`'s source-text findings: every clause quotes its document, and every sentence of the
document is quoted by a clause or marked as not normative in the policy file.

The documents are in `sources/` beside the policy files (shipped in the wheel with them), so the
check always runs: a policy citing a document that is not there is an error, never a skip.
"""

from __future__ import annotations

from pathlib import Path

from qpr_rules.errors import Problem
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


def source_problems(f: LoadedFile, sources: Path | None = None) -> list[Problem]:
    """Errors for a missing document and for quotes not found in it; a warning per sentence that
    no clause quotes and that is not marked as not normative."""
    document = document_path(f, sources)
    if not document.is_file():
        line, col = f.smap.at(("source", "document"))
        where = "the --sources directory" if sources else f"{sources_dir(f.path)}/ beside the policy"
        return [Problem(f.smap.file, line, col, f"source document {f.policy.source.document} not found in "
                        f"{where}; add the document there, or fix `source.document`", "source-missing")]
    text = document.read_text(encoding="utf-8")
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
