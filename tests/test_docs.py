"""Docs that cannot go stale: every example in README.md and docs/*.md runs, and shows what it prints.

The conventions (```console blocks, placeholders, skip marks) are in CONTRIBUTING.md and
tests/doc_examples.py; Sybil runs them."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.doc_examples import (
    ROOT,
    SKIP_MARK,
    ConsoleMismatch,
    expected_pattern,
    fenced_blocks,
    matches,
    normalise,
    parse_console,
    run_document,
)

DOCS = [ROOT / "README.md", ROOT / "CONTRIBUTING.md", *sorted((ROOT / "docs").glob("*.md"))]
SHELL = {"bash", "sh", "shell", "console", "zsh"}

# Every example that does not run, by file: each has a visible `<!-- doc-test: skip (reason) -->`
# right before it. Adding a mark means adding it here, so that no example stops running unseen.
SKIPPED = {
    "README.md": 2,
    "analyst-guide.md": 1,
    "benchmarks.md": 13,
    "cli.md": 1,
    "interview.md": 1,
    "prove.md": 1,
    "reliability.md": 3,
    "service.md": 12,
}


def rel(path: Path) -> str:
    return str(path.relative_to(ROOT))


@pytest.mark.parametrize("path", DOCS, ids=[rel(p) for p in DOCS])
def test_examples_run_and_show_their_real_output(path: Path, tmp_path: Path) -> None:
    run_document(path, tmp_path)


def test_every_skip_mark_is_listed_with_a_reason() -> None:
    found: dict[str, list[str]] = {}
    for path in DOCS:
        text = path.read_text(encoding="utf-8")
        blocks = {m.start(): block for m, block in fenced_blocks(text)}
        bodies = [(m.start("body"), m.end("body")) for m, _ in fenced_blocks(text)]
        for mark in SKIP_MARK.finditer(text):
            if any(start <= mark.start() < end for start, end in bodies):
                continue  # a mark shown in an example (CONTRIBUTING.md), not a mark
            line = text.count("\n", 0, mark.start()) + 1
            block = blocks.get(mark.start())
            assert block is not None and block.skip, (
                f"{rel(path)}:{line}: a skip mark goes on the line right before a fence, as "
                f"`<!-- doc-test: skip (the reason) -->`")
            found.setdefault(path.name, []).append(f"{rel(path)}:{line}: {block.skip}")
    listing = "\n".join(entry for entries in found.values() for entry in entries)
    print(f"{sum(map(len, found.values()))} example(s) not run:\n{listing}")
    assert {name: len(entries) for name, entries in found.items()} == {
        name: n for name, n in SKIPPED.items() if n}, (
        f"the skip marks are not those listed in SKIPPED (tests/test_docs.py):\n{listing}")


def test_every_shell_example_runs_or_says_why_not() -> None:
    """A shell block is a ```console block (run) or carries a skip mark; `$ ` output is console."""
    wrong = []
    for path in DOCS:
        for _, block in fenced_blocks(path.read_text(encoding="utf-8")):
            where = f"{rel(path)}:{block.line - 1}"
            if block.skip is not None:
                continue
            if block.lang in SHELL - {"console"}:
                wrong.append(f"{where}: ```{block.lang}: make it ```console (`$ ` lines and their "
                             f"output) or mark it `<!-- doc-test: skip (why) -->`")
            elif block.lang in ("text", "") and block.body.startswith("$ "):
                wrong.append(f"{where}: a command and its output: make it ```console")
    assert not wrong, "\n".join(wrong)


LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")


def test_every_linked_file_exists_inside_the_repository() -> None:
    wrong = []
    for path in DOCS:
        text = path.read_text(encoding="utf-8")
        for m in LINK.finditer(text):
            target = m.group(1).split("#")[0]
            if not target or re.match(r"[a-z][a-z0-9+.-]*:", target):  # an anchor, or a URL
                continue
            resolved = (path.parent / target).resolve()
            line = text.count("\n", 0, m.start()) + 1
            if not resolved.is_relative_to(ROOT):
                wrong.append(f"{rel(path)}:{line}: {target} is outside the repository")
            elif not resolved.exists():
                wrong.append(f"{rel(path)}:{line}: {target} does not exist")
        for m in re.finditer(r"`(\.\./[^`\s]+)`", text):  # a document named in code, not linked
            named = (path.parent / m.group(1)).resolve()
            line = text.count("\n", 0, m.start()) + 1
            if named.is_relative_to(ROOT) and not named.exists():
                wrong.append(f"{rel(path)}:{line}: {m.group(1)} does not exist")
            elif not named.is_relative_to(ROOT) and (named.exists() or named.suffix == ".md"):
                # (a hostile input named in code, such as ../../secret.txt, is neither)
                wrong.append(f"{rel(path)}:{line}: {m.group(1)} is outside the repository")
    assert not wrong, "\n".join(wrong)


# The comparison itself: each convention can fail.

def test_console_blocks_split_into_commands_and_their_output() -> None:
    body = "$ echo a \\\n  b\na b\n$ cat > f <<'EOF'\nx: 1\nEOF\n$ cat f\nx: 1\n"
    commands = parse_console(body, 10)
    assert [(c.line, c.text, c.expected) for c in commands] == [
        (10, "echo a \\\n  b", ["a b"]), (13, "cat > f <<'EOF'\nx: 1\nEOF", []), (16, "cat f", ["x: 1"])]
    case = parse_console("$ case 3 in\n>   3) echo three ;;\n> esac\nthree\n", 1)
    assert [(c.text, c.expected) for c in case] == [("case 3 in\n  3) echo three ;;\nesac", ["three"])]
    with pytest.raises(ValueError, match="starts with a `\\$ ` command"):
        parse_console("output first\n$ true\n", 1)


@pytest.mark.parametrize("expected, actual, ok", [
    (["a", "b"], "a\nb\n", True),
    (["a", "b"], "a  \nb\n\n\n", True),          # trailing spaces and blank lines
    (["a", "b"], "a\nc\n", False),
    (["a", "b"], "a\nb\nc\n", False),            # an extra line is a difference
    (["a", "...", "z"], "a\nz\n", True),         # `...` alone: any lines, zero included
    (["a", "  ...", "z"], "a\nb\nc\nz\n", True),
    (["a", "...", "z"], "a\nb\n", False),
    (["took ... here"], "took 3 s here\n", True),  # `...` in a line: any text on it
    (["took ... here"], "took 3 s\nhere\n", False),
    (["in <TIME>"], "in 1.25 s\n", True),
    (["at <TIME>"], "at 2026-12-07T05:19:31Z\n", True),
    (["in <TIME>"], "in soon\n", False),
    (["digest <DIGEST>"], "digest 5f0c9a1b2c3d\n", True),
    (["digest <DIGEST>"], "digest not-hex\n", False),
    (["260 scenarios"], "261 scenarios\n", False),  # numbers are compared as they are
])
def test_output_comparison(expected: list[str], actual: str, ok: bool) -> None:
    assert matches(expected, actual) is ok, (expected_pattern(expected).pattern, normalise(actual))


def test_a_wrong_output_names_the_doc_line_and_shows_the_difference(tmp_path: Path) -> None:
    doc = tmp_path / "doc.md"
    doc.write_text("Some text.\n\n```console\n$ echo one\ntwo\n$ echo three\nthree\n```\n")
    with pytest.raises(AssertionError) as failure:
        run_document(doc, tmp_path / "work")
    message = str(failure.value)
    assert f"{doc}:4: $ echo one" in message and "-two" in message and "+one" in message
    assert "echo three" not in message  # the right one is not reported
    assert isinstance(ConsoleMismatch("x", []), AssertionError)


def test_commands_run_in_a_copy_of_the_project_and_see_exit_codes(tmp_path: Path) -> None:
    doc = tmp_path / "doc.md"
    doc.write_text("```console\n$ ls -d policies examples\nexamples\npolicies\n$ touch written\n"
                   "$ false\n$ echo $?\n1\n$ command -v qpr-rules\n...bin/qpr-rules\n```\n\n"
                   "```python\nimport pathlib\nfound = pathlib.Path('written').exists()\n```\n\n"
                   "```python\nassert found\n```\n")
    assert run_document(doc, tmp_path / "work") == 3
    assert (tmp_path / "work" / "written").exists() and not (ROOT / "written").exists()
