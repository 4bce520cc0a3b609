"""The source documents ship with the policies, are split into sentences without losing text, and
`check` names every sentence that no clause quotes and no `not_normative` entry marks."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qpr_rules.analysis.lint import check
from qpr_rules.policy.loader import parse_policy_file, policy_files
from qpr_rules.policy.sentences import index_sentences, locate_sentences, split_sentences
from qpr_rules.policy.sources import normalise, read_index, sources_dir

ROOT = Path(__file__).resolve().parents[1]
SOURCES = ROOT / "policies" / "sources"
DOCUMENTS = sorted(SOURCES.glob("*.txt"))
LETTER = re.compile(r"[^\W\d_]")


def test_index_lists_exactly_the_shipped_documents_and_every_policy_cites_one() -> None:
    index = read_index(SOURCES)
    assert sorted(d.file for d in index) == [p.name for p in DOCUMENTS]
    assert all(d.title and d.publisher and d.date for d in index)
    cited = {parse_policy_file(p).policy.source.document for p in policy_files([ROOT / "policies"])}
    assert cited == {p.name for p in DOCUMENTS}
    assert all(sources_dir(p) == SOURCES for p in policy_files([ROOT / "policies"]))


@pytest.mark.parametrize("path", DOCUMENTS, ids=lambda p: p.name)
def test_splitter_loses_no_text(path: Path) -> None:
    """Every sentence is found, in order, in the normalised document, and what lies between
    sentences holds no letter: only list markers, step numbers, tags and separators."""
    text = path.read_text(encoding="utf-8")
    haystack = normalise(text)
    located = locate_sentences(text)
    assert located and all(span[0] >= 0 for _, span in located)
    starts = [span[0] for _, span in located]
    assert starts == sorted(starts)
    covered = [False] * len(haystack)
    for _, (a, b) in located:
        covered[a:b] = [True] * (b - a)
    left = "".join(ch for ch, c in zip(haystack, covered, strict=True) if not c)
    assert not LETTER.search(left), left
    lines = text.splitlines()
    for sentence, _ in located:  # the line given is where the sentence is
        assert normalise(sentence.text)[:20] in normalise(lines[sentence.line - 1])


EXPECTED = {  # counts as read by hand from the documents; a change to the splitter shows here
    "000_4b5b4e0ce51b2960.txt": 112,
    "001_b9f9ba0ceb59c69b.txt": 30,
    "002_b3ed55c58506029c.txt": 66,
    "003_e7d4774082a67b99.txt": 32,
    "004_e807c189a1cbf589.txt": 130,
}


@pytest.mark.parametrize("path", DOCUMENTS, ids=lambda p: p.name)
def test_sentence_counts(path: Path) -> None:
    assert len(split_sentences(path.read_text(encoding="utf-8"))) == EXPECTED[path.name]


def _texts(name: str) -> list[tuple[int, str]]:
    return [(s.line, s.normalised) for s in split_sentences((SOURCES / name).read_text(encoding="utf-8"))]


def test_splitter_cases_from_the_sources() -> None:
    qpr = _texts("000_4b5b4e0ce51b2960.txt")
    # abbreviations do not cut; a number with a full stop does not cut; "etc." before a capital does
    assert (51, "Permanently restrict the resource home from taking placements e.g. place on permanent "
                "hold.") in qpr
    assert (112, "According to WIC 16507.5, the granting of a license or approval does not entitle a "
                 "resource parent to placement.") in qpr
    assert any(t.endswith("meetings with a mentor, etc.") for _, t in qpr)
    # table cells and the bullets inside an HTML cell are sentences; bare step numbers are not
    assert (93, "Step") in qpr and (94, "Upon receipt of 04-233") not in qpr
    assert (95, "Upon receipt of 04-233") in qpr
    assert (94, "If a referral is warranted, SW will complete 04-233 and submit to PCO.") in qpr
    assert not any(t.strip() in {"1", "2", "3", "4", "5"} for _, t in qpr)
    # headings and links are sentences of their own
    assert (53, "When to refer") in qpr and (7, "Form") in qpr
    pqcr = _texts("001_b9f9ba0ceb59c69b.txt")
    assert (19, "Results from the interviews are not case specific….") in pqcr
    assert (19, "The reviewers are looking for common themes.") in pqcr
    practice = _texts("004_e807c189a1cbf589.txt")
    assert (24, "People can and do make positive changes.") in practice  # "<p>4." marker dropped
    assert (8, "1a - Exposure of Threats to Harm") in practice  # a list item inside a table cell


def test_split_sentences_on_made_up_text() -> None:
    text = "Title\n\n- First item. Second sentence!\n1. Numbered item\tNext cell? Yes.\n---\n"
    assert [(s.line, s.text) for s in split_sentences(text)] == [
        (1, "Title"), (3, "First item."), (3, "Second sentence!"), (4, "Numbered item"),
        (4, "Next cell?"), (4, "Yes."),
    ]


def test_marks_cover_whole_sentences_only_and_clauses_may_quote_part() -> None:
    text = "Resources\n\nResources, including staff time. Staff must attend.\n"
    index = index_sentences(text, [("c1", "Staff must")], [("Resources", "a heading")])
    assert [(i.sentence.text, i.status, i.clauses) for i in index] == [
        ("Resources", "not-normative", ()),
        ("Resources, including staff time.", "unindexed", ()),  # shares the word, not marked
        ("Staff must attend.", "quoted", ("c1",)),
    ]


@pytest.fixture()
def policies(tmp_path: Path) -> Path:
    target = tmp_path / "policies"
    shutil.copytree(ROOT / "policies", target)
    return target


def _codes(policies: Path) -> list[tuple[str, str, str, int]]:
    report = check([policies])
    return [(p.code, p.severity, Path(p.file).name, p.line) for p in report.problems if p.severity != "info"]


def test_bundled_policies_index_every_sentence(policies: Path) -> None:
    assert _codes(policies) == []


def test_unmarked_sentence_is_reported_with_its_line(policies: Path) -> None:
    path = policies / "qpi_site.yaml"
    path.write_text(path.read_text().replace("  - text: Site Coordinator\n    reason: A section heading.\n", ""))
    assert _codes(policies) == [("sentence-not-indexed", "warning", "003_e7d4774082a67b99.txt", 27)]


def test_missing_document_is_an_error_not_a_skip(policies: Path) -> None:
    (policies / "sources" / "001_b9f9ba0ceb59c69b.txt").unlink()
    codes = _codes(policies)
    assert codes == [("source-missing", "error", "pqcr.yaml", 10)]


def test_not_normative_text_must_be_a_quote(policies: Path) -> None:
    path = policies / "qpi_site.yaml"
    path.write_text(path.read_text().replace("  - text: Next Steps\n", "  - text: Next steps to take\n"))
    codes = _codes(policies)
    assert ("not-normative-not-quoted", "error", "qpi_site.yaml") in [c[:3] for c in codes]
    assert ("sentence-not-indexed", "warning", "003_e7d4774082a67b99.txt", 35) in codes


WORDS = st.sampled_from(["Homes", "on", "hold", "are", "not", "to", "receive", "placements", "e.g.", "i.e.",
                         "etc.", "16507.5", "WIC", "(PCO).", "“quoted”", "**bold**", "[link](#)", "<i>model</i>",
                         "a", "SW", "04-233", "Step", "x.y", "QPI4kids.org", "…that’s", "right…"])
ENDS = st.sampled_from(["", ".", "!", "?", "…", ":", ";", ",", ".”", ".)"])
SEPARATORS = st.sampled_from([" ", " ", " ", "\t", " • ", " ○ ", "<p>", "</p>", "<ul>", "\n", "\n\n", "\n- ",
                              "\n1. ", "\n---\n"])


@st.composite
def documents(draw: st.DrawFn) -> str:
    parts = []
    for _ in range(draw(st.integers(1, 30))):
        parts.append(draw(WORDS) + draw(ENDS))
        parts.append(draw(SEPARATORS))
    return "".join(parts)


@given(documents())
@settings(max_examples=300, deadline=None)
def test_splitter_loses_no_letter_of_any_document(text: str) -> None:
    """Over made-up documents (the sources' words, punctuation, cells, bullets, tags, markers):
    every sentence is found in order, and no letter of the document is outside a sentence."""
    haystack = normalise(text)
    located = locate_sentences(text)
    assert all(span[0] >= 0 for _, span in located)
    covered = [False] * len(haystack)
    for sentence, (a, b) in located:
        assert sentence.text.strip() == sentence.text and sentence.text
        covered[a:b] = [True] * (b - a)
    left = "".join(ch for ch, c in zip(haystack, covered, strict=True) if not c)
    assert not LETTER.search(left), (left, [s.text for s, _ in located])


def test_a_mark_on_text_a_clause_quotes_is_reported(policies: Path) -> None:
    """Marking quoted text as not normative contradicts the clause; for example when a clause is
    added for a sentence marked earlier, the mark must go."""
    path = policies / "qpi_site.yaml"
    text = path.read_text()
    clause = ("clauses:\n  - id: next.heading\n    section: Next Steps\n    text: Next Steps\n"
              "    computable: false\n    reason: A heading, quoted here only for this test.\n")
    assert text.count("clauses:\n") == 1
    path.write_text(text.replace("clauses:\n", clause, 1))
    codes = _codes(policies)
    assert [c[:3] for c in codes] == [("not-normative-quoted", "warning", "qpi_site.yaml")]


@pytest.mark.parametrize("document", ["/proc/self/environ", "../../secret.txt", "../qpr.yaml", "sub/../../x.txt",
                                      "..", ".", "a\\..\\b.txt"])
def test_source_document_must_be_a_file_name_in_sources(policies: Path, document: str) -> None:
    from click.testing import CliRunner

    import qpr_rules.cli.analyst  # noqa: F401  (registers check)
    from qpr_rules.cli.app import cli

    (policies.parent / "secret.txt").write_text("SECRET-VALUE in the secret file")
    qpr = policies / "qpr.yaml"
    text = qpr.read_text()
    anchor = "  document: 000_4b5b4e0ce51b2960.txt\n"
    assert text.count(anchor) == 1
    qpr.write_text(text.replace(anchor, f"  document: {json.dumps(document)}\n"))
    for command in ("validate", "check"):
        result = CliRunner().invoke(cli, [command, str(policies)])
        assert result.exit_code == 1, (command, result.output)
        assert "qpr.yaml:9:" in result.output and "source.document" in result.output, result.output
        assert "SECRET-VALUE" not in result.output and "PATH=" not in result.output


def test_a_symlink_in_sources_pointing_outside_is_refused(policies: Path) -> None:
    secret = policies.parent / "secret.txt"
    secret.write_text("SECRET-VALUE")
    document = sources_dir(policies / "qpr.yaml") / "000_4b5b4e0ce51b2960.txt"
    document.unlink()
    document.symlink_to(secret)
    problems = [p for p in check([policies]).problems if p.severity == "error"]
    assert any("outside" in p.message and p.code == "source-missing" for p in problems), problems
    assert not any("SECRET-VALUE" in p.message for p in problems)
