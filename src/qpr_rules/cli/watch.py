"""`--watch` for `qpr-rules test` and `check`: run, then run again each time a watched file is saved.

The file watching is watchfiles (the `watch` extra, imported only here): it debounces an editor's
burst of writes into one change set, and sees atomic saves (a temporary file renamed over the
original), which a watch on the file itself would lose. Directories are watched, never single
files, for that reason."""

from __future__ import annotations

import signal
import sys
from collections.abc import Callable, Iterable
from datetime import datetime
from pathlib import Path

import click

from qpr_rules.cli.app import EXIT_USAGE

MISSING = ("--watch needs the watch extra: pip install 'qpr-rules[watch]' (watchfiles); "
           "missing: {}")
# what an analyst edits: policies, scenarios, the source documents, the project's settings
WATCHED_SUFFIXES = (".yaml", ".yml", ".txt", ".toml")


def watched_dirs(paths: Iterable[Path]) -> list[Path]:
    """The directories to watch for the paths a command reads: a file's directory, a directory
    itself; nested ones dropped (a watch is recursive)."""
    dirs = sorted({(p if p.is_dir() else p.parent).resolve() for p in paths if p.exists()})
    return [d for d in dirs if not any(d != o and d.is_relative_to(o) for o in dirs)]


def run_once(run: Callable[[], None]) -> int:
    """Run the command body; its exit code, without leaving (a failure is a result to show)."""
    try:
        run()
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else 1
    return 0


def watch(paths: Iterable[Path], run: Callable[[], None]) -> None:
    """Run, then rerun on every change under paths until interrupted (Ctrl-C or SIGTERM)."""
    try:
        import watchfiles
    except ImportError as exc:
        click.echo(MISSING.format(exc.name or exc), err=True)
        raise SystemExit(EXIT_USAGE) from None

    dirs = watched_dirs(paths)
    if not dirs:
        raise click.UsageError("--watch: none of the paths exists, so there is nothing to watch")

    class Edits(watchfiles.DefaultFilter):  # editors' swap and backup files, .git, caches: ignored
        def __call__(self, change: watchfiles.Change, path: str) -> bool:
            return path.endswith(WATCHED_SUFFIXES) and super().__call__(change, path)

    def stop(signum: int, frame: object) -> None:  # SIGTERM ends the watch as Ctrl-C does
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    # One watcher for the whole session, so that a save made while the command runs is not lost.
    # The generator starts watching at its first next(): that first call (back within 300 ms,
    # empty) comes before the first run, so that "watching" is printed only once it is true.
    changes_seen = watchfiles.watch(*dirs, watch_filter=Edits(), raise_interrupt=True,
                                    yield_on_timeout=True, rust_timeout=300)
    try:
        next(changes_seen)
        code = run_once(run)
        while True:
            click.echo(f"[watch] exit {code}; watching {', '.join(map(str, dirs))} for changes "
                       f"(Ctrl-C to stop)")
            sys.stdout.flush()
            changes: set[tuple[watchfiles.Change, str]] = set()
            while not changes:
                changes = next(changes_seen)
            here = Path.cwd()
            names = sorted({str(Path(p).relative_to(here)) if Path(p).is_relative_to(here) else p
                            for _, p in changes})
            click.echo(f"\n[watch] {datetime.now():%H:%M:%S} changed: {', '.join(names)}; running again")
            code = run_once(run)
    except KeyboardInterrupt:
        click.echo("[watch] stopped")
