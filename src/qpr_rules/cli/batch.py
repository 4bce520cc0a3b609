"""`qpr-rules decide DECISION --batch FILE.jsonl`: one Decision JSON line per input line.

Streams: the input is read a line at a time and each answer written as soon as it is known
(with --jobs, a bounded number of chunks are in flight), so memory does not grow with the
input. A line that is not valid facts gets the decision's error answer (deny for placements,
naming the problem) and the batch goes on. A progress bar is drawn on standard error only when
it is a terminal.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import IO, Protocol

from qpr_rules.engine.batch import decide_lines
from qpr_rules.engine.engine import Engine
from qpr_rules.facts_input import MAX_FACTS_BYTES
from qpr_rules.files import open_regular


def _lines(stream: IO[bytes], advance: list[int]) -> Iterator[bytes]:
    """Each line as bytes: the engine's one reader decodes and parses it (facts_input.py), so a
    line gets the refusals a --facts file gets, word for word (a bad byte is refused, not
    replaced). A line longer than a facts file may be (MAX_FACTS_BYTES) is read past in pieces,
    never held whole (standard input may be endless: `< /dev/zero`): its first MAX_FACTS_BYTES + 1
    bytes stand for it, which the reader refuses as too large."""
    while raw := stream.readline(MAX_FACTS_BYTES + 1):
        advance[0] += len(raw)
        if len(raw) > MAX_FACTS_BYTES and not raw.endswith(b"\n"):
            while (more := stream.readline(MAX_FACTS_BYTES + 1)) and not more.endswith(b"\n"):
                advance[0] += len(more)
            advance[0] += len(more)
        yield raw.rstrip(b"\r\n")


def run_batch(engine: Engine, decision_id: str, source: str, jobs: int) -> tuple[int, int, int]:
    """Decide every line of source (a file, or - for stdin); write the answers to stdout.
    Returns (lines, error answers, first error line or 0)."""
    engine.spec(decision_id)  # an unknown decision is refused before reading anything
    with ExitStack() as stack:
        if source == "-":
            stream: IO[bytes] = sys.stdin.buffer
            total = None
        else:
            path = Path(source)
            stream = stack.enter_context(open_regular(path))  # a device or FIFO: refused
            total = os.fstat(stream.fileno()).st_size
        read = [0]
        answers = decide_lines(engine, decision_id, _lines(stream, read), jobs=jobs)
        bar = progress_bar(stack, "deciding", "lines")
        out = sys.stdout
        count = errors = first_error = 0
        for text, lines, error_lines in answers:
            out.write(text)
            if error_lines:
                errors += len(error_lines)
                first_error = first_error or count + error_lines[0]
            before, count = count, count + lines
            if bar is not None and count // 256 != before // 256:  # every 256 lines, not each
                # the bar moves by bytes read (the number of lines is not known before the end);
                # the count beside it is of lines answered, never of bytes
                bar(read[0], total or read[0] + 1, count)
        if bar is not None:
            bar(read[0], total or read[0], count)
        out.flush()
    return count, errors, first_error


class Progress(Protocol):
    def __call__(self, done: int, total: int, cases: int | None = None) -> None: ...


def progress_bar(stack: ExitStack, label: str, unit: str = "cases") -> Progress | None:
    """A callback (done, total, cases) drawing a progress bar on stderr until stack closes, or
    None when stderr is not a terminal (piped or redirected: quiet). cases: how many to show
    beside the bar (default: done), as `{cases:,} {unit}`."""
    if not sys.stderr.isatty():
        return None
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    bar = stack.enter_context(Progress(
        TextColumn(label), BarColumn(), TextColumn("{task.fields[cases]:,} " + unit),
        TextColumn("{task.percentage:>3.0f}%"), TimeElapsedColumn(), console=Console(stderr=True)))
    task = bar.add_task(label, total=None, cases=0)

    def update(done: int, total: int, cases: int | None = None) -> None:
        bar.update(task, completed=done, total=total, cases=done if cases is None else cases)

    return update
