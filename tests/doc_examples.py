"""The executable-Markdown conventions of README.md and docs/*.md (CONTRIBUTING.md, "Examples in the
docs are tested"), as Sybil parsers.

Sybil does the document handling: it splits each file into regions, runs them in order, keeps one
Python namespace per document and reports an example by its file and line. What is ours is only
what Sybil leaves to a project: how a ```console block runs and how its output is compared.

- ```python blocks run with Sybil's Python evaluator, one namespace per file, in the file's order.
- ```console blocks: each `$ ` line is a command (a line ending in `\\` or followed by a `> ` line
  continues it, as a shell's prompts show; a here-document `<<'EOF'` continues it to its `EOF` line); the lines after it, up to the next `$ ` line, are its
  output, standard output and standard error together as a terminal shows them. Every block of a
  file runs in bash, in the same temporary copy of the project (pyproject.toml, policies/,
  examples/, schemas/; a git repository whose branch `main` holds them as checked out), so a command may write files without touching the checkout and a later
  block may read them; the Python interpreter's bin directory (the project's .venv/bin) comes
  first on PATH. A non-zero exit is not itself a failure: show it with `$ echo $?`.
- Output comparison: trailing spaces and trailing blank lines are ignored; a line that is only
  `...` (indentation allowed) stands for any number of lines, zero included; `...` inside a line for
  any text on that line; `<TIME>` for a time, date or duration; `<DIGEST>` for a hexadecimal digest.
  Nothing else varies: numbers, counts and digests that are stable are shown as they are.
- `<!-- doc-test: skip (the reason) -->` on the line right before a fence: the block does not run
  (a server left running, `--watch`, a 20-minute command). tests/test_docs.py lists every mark.
"""

from __future__ import annotations

import difflib
import os
import re
import shutil
import subprocess
import sys
import traceback
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from sybil import Document, Example, Lexeme, Region, Sybil
from sybil.evaluators.python import PythonEvaluator

ROOT = Path(__file__).resolve().parents[1]
# what a temporary copy of the project holds: what the commands in the docs read
PROJECT_PARTS = ("pyproject.toml", "policies", "examples", "schemas")
FENCE = re.compile(r"^(?P<mark><!-- doc-test: skip \((?P<reason>[^\n]*)\) -->\n)?"
                   r"```(?P<lang>[\w-]*)[^\n]*\n(?P<body>.*?)^```[ \t]*$", re.M | re.S)
SKIP_MARK = re.compile(r"<!-- doc-test: skip\b[^\n]*-->")
PLACEHOLDERS = {
    "<TIME>": r"\d[\d:.,TZ+-]*(?: ?(?:µs|us|ms|s|min|h))?",
    "<DIGEST>": r"[0-9a-f]{7,64}",
}
COMMAND_TIMEOUT = 600


@dataclass(frozen=True)
class Block:
    """A fenced block: its language, its text, the line of its first line, its skip reason."""

    lang: str
    body: str
    line: int
    skip: str | None


def fenced_blocks(text: str) -> Iterator[tuple[re.Match[str], Block]]:
    for m in FENCE.finditer(text):
        line = text.count("\n", 0, m.start("body")) + 1
        yield m, Block(m.group("lang"), m.group("body"), line, m.group("reason"))


@dataclass(frozen=True)
class Command:
    """One `$ ` command of a console block and the output the doc shows for it."""

    line: int  # in the Markdown file
    text: str
    expected: list[str]


def parse_console(body: str, first_line: int) -> list[Command]:
    lines = body.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    commands: list[Command] = []
    i = 0
    if lines and not lines[0].startswith("$ "):
        raise ValueError(f"line {first_line}: a console block starts with a `$ ` command line")
    while i < len(lines):
        start = i
        command = [lines[i][2:]]
        heredoc = re.search(r"<<-?\s*'?(\w+)'?", lines[i])
        while i + 1 < len(lines) and (command[-1].endswith("\\") or lines[i + 1].startswith("> ")):
            i += 1
            command.append(lines[i][2:] if lines[i].startswith("> ") else lines[i])
        if heredoc:
            while i + 1 < len(lines) and lines[i] != heredoc.group(1):
                i += 1
                command.append(lines[i])
        i += 1
        output: list[str] = []
        while i < len(lines) and not lines[i].startswith("$ "):
            output.append(lines[i])
            i += 1
        commands.append(Command(first_line + start, "\n".join(command), output))
    return commands


def expected_pattern(expected: list[str]) -> re.Pattern[str]:
    """The regular expression an output must match in full (see the module docstring)."""
    while expected and not expected[-1].strip():
        expected = expected[:-1]
    parts: list[str] = []
    for line in expected:
        line = line.rstrip()
        if line.strip() == "...":
            parts.append(r"(?:[^\n]*\n)*?")
            continue
        pieces = re.split(r"(\.\.\.|<TIME>|<DIGEST>)", line)
        regex = "".join("[^\n]*" if p == "..." else PLACEHOLDERS.get(p) or re.escape(p) for p in pieces)
        parts.append(regex + r"\n")
    return re.compile("".join(parts))


def normalise(output: str) -> str:
    lines = [line.rstrip() for line in output.split("\n")]
    while lines and not lines[-1]:
        lines.pop()
    return "".join(line + "\n" for line in lines)


def matches(expected: list[str], actual: str) -> bool:
    return expected_pattern(expected).fullmatch(normalise(actual)) is not None


def project_copy(into: Path) -> Path:
    """A copy of the project's files that the docs' commands read, where they may write freely."""
    into.mkdir(parents=True, exist_ok=True)
    for part in PROJECT_PARTS:
        src = ROOT / part
        if src.is_dir():
            shutil.copytree(src, into / part, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            shutil.copy2(src, into / part)
    # a git repository whose `main` is the checkout's files: `git:main`, diff-cover's
    # --compare-branch=main and `git diff` in an example see what the example itself changed
    git = ["git", "-c", "user.name=docs", "-c", "user.email=docs@localhost", "-c", "init.defaultBranch=main"]
    for args in (["init", "-q"], ["add", "-A"], ["commit", "-q", "-m", "the checkout"]):
        subprocess.run([*git, *args], cwd=into, check=True, capture_output=True)
    return into


def command_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("QPR_", "PYTEST_", "COV_", "FORCE_COLOR", "CLICOLOR"))}
    env.update(PATH=f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}",
               NO_COLOR="1", TERM="dumb", COLUMNS="120", PYTHONIOENCODING="utf-8", LC_ALL="C.UTF-8")
    return env


def run_commands(commands: list[Command], cwd: Path) -> list[str]:
    """Run the commands in one bash, in order, and split the output back by command."""
    marker = f"--doc-test-{uuid.uuid4().hex}--"
    script = ["exec 2>&1"]
    for c in commands:
        # the marker keeps the previous command's exit status, so `$ echo $?` shows the real one
        script += [c.text, f"__status=$?; printf '\\n%s\\n' '{marker}'; (exit $__status)"]
    proc = subprocess.run(["bash", "-c", "\n".join(script)], cwd=cwd, env=command_env(),
                          stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, text=True,
                          encoding="utf-8", errors="replace", timeout=COMMAND_TIMEOUT)
    outputs = proc.stdout.split(f"\n{marker}\n")
    if len(outputs) < len(commands):
        outputs += [""] * (len(commands) - len(outputs))
    return outputs[: len(commands)]


class ConsoleMismatch(AssertionError):
    def __init__(self, message: str, wrong: list[tuple[Command, str]]) -> None:
        super().__init__(message)
        self.wrong = wrong


def evaluate_console(example: Example) -> None:
    commands: list[Command] = example.parsed
    cwd = example.namespace["__doc_test_cwd__"]
    failures = []
    wrong = []
    for command, actual in zip(commands, run_commands(commands, cwd), strict=True):
        if not matches(command.expected, actual):
            wrong.append((command, actual))
            diff = "\n".join(difflib.unified_diff(
                [line.rstrip() for line in command.expected], normalise(actual).split("\n")[:-1],
                "shown in the doc", "real output", lineterm=""))
            failures.append(f"{example.path}:{command.line}: $ {command.text}\n{diff}")
    if failures:
        raise ConsoleMismatch("\n\n".join(failures), wrong)


def parse_blocks(document: Document) -> Iterable[Region]:
    python = PythonEvaluator()
    for m, block in fenced_blocks(document.text):
        start, end = m.start() + len(m.group("mark") or ""), m.end()
        if block.skip is not None:  # not run; tests/test_docs.py lists every mark
            continue
        if block.lang == "python":
            # line_offset 0: the code's first line is the line after the fence (Example.line)
            yield Region(start, end, Lexeme(block.body, m.start("body"), 0), python)
        elif block.lang == "console":
            yield Region(start, end, parse_console(block.body, block.line), evaluate_console)


def doc_sybil() -> Sybil:
    return Sybil(parsers=[parse_blocks], patterns=["*.md"])


def run_document(path: Path, workdir: Path) -> int:
    """Run a document's examples in order, its console commands in a project copy in workdir.

    Every example runs even after a failure; the failures are raised together. Returns how many
    examples ran."""
    __tracebackhide__ = True
    document = doc_sybil().parse(path)
    document.namespace["__doc_test_cwd__"] = project_copy(workdir)
    failures: list[str] = []
    wrong: list[tuple[Command, str]] = []
    count = 0
    old_cwd = Path.cwd()
    os.chdir(workdir)  # Python examples that write files write them in the copy too
    try:
        for example in document.examples():
            count += 1
            try:
                example.evaluate()
            except ConsoleMismatch as exc:
                failures.append(str(exc))
                wrong.extend(exc.wrong)
            except Exception as exc:  # a Python example that raises: its line in the doc
                trace = "".join(traceback.format_exception(exc)[-4:])
                failures.append(f"{path}:{example.line}: the example raised\n{trace}")
    finally:
        os.chdir(old_cwd)
    if wrong and os.environ.get("QPR_DOCS_UPDATE") == "1":
        write_real_output(path, wrong)
    if failures:
        raise AssertionError("\n\n".join(failures))
    return count


def write_real_output(path: Path, wrong: list[tuple[Command, str]]) -> None:
    """QPR_DOCS_UPDATE=1: replace each wrong shown output with the real one (then review the diff,
    and put back `...` or a placeholder where the output varies or is too long to show)."""
    lines = path.read_text(encoding="utf-8").split("\n")
    for command, actual in sorted(wrong, key=lambda w: -w[0].line):
        first = command.line + command.text.count("\n")  # 1-based line of the first output line
        lines[first: first + len(command.expected)] = normalise(actual).split("\n")[:-1]
    path.write_text("\n".join(lines), encoding="utf-8")
