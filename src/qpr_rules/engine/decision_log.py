"""The decision log: one JSON line per decision, an audit trail that coverage is computed from.

A line holds the time, an id of its own, the decision asked, the policy digest and revision, the
outcome and status, the rules that fired, every atomic condition's result per rule (as a string
of 0s and 1s in the order of the rule's atoms, see `engine/compiled_atoms.py`), the values of the fact
fields the decision declares loggable (`log_facts:`; the loader allows no free text there), and
(when the caller gave one) `reference`, the caller's case or request id, so that a line can be tied
to a case and replayed, and `erased`, the loggable paths the operator masked; and
`prev`: the SHA-256 of the line before it, so that a removed, reordered or edited line is found
by `qpr-rules coverage log --verify`. The first line of each file also holds `continues`: null in
the log's first file, else the previous file's name and the hash of its last line, so that a
removed first file, or removed first lines, are found too (a removed tail is found against a
checkpoint kept elsewhere: docs/audit.md). An atom that the decision did not need and that
cannot be evaluated (date arithmetic out of range, say) is recorded as `x`: the log records what
the decision computed and never fails a decision that was answered.

Format versions (`v`): 1 had no `continues` and no `x`; 2 adds them. Readers accept both.

Writing is an audit operation, so:
- a line is written with one `write` on a file opened for appending, under an exclusive lock
  (a lock file beside the log, held across processes), so lines of several processes never
  interleave and the hash chain stays one chain; a short write is cut back off the file;
- the write has returned before the decision is returned, so a process killed (even with
  SIGKILL) leaves only whole lines and every decision it returned as logged is in the file
  (`fsync=True` also survives a power loss, at a cost per decision);
- when the file reaches `max_bytes` it is renamed to `NAME.000001` (then `.000002` ...) and a new
  file starts; the chain goes on across files, and nothing is deleted. Rotated parts are found by
  their exact name (NAME, a dot and ASCII digits): no glob, so `dec[prod].log` is no pattern and a
  stray `NAME.²` or `NAME.old` beside the log is ignored;
- a line is the record as compact JSON with its keys sorted, encoded by orjson (a tenth of the
  standard library's cost: bench/bench_around.py); the bytes are json.dumps(sort_keys=True,
  separators=(",", ":"), ensure_ascii=False)'s, but for floats, which orjson writes in their
  shortest form without a `+` in the exponent (1e16, not 1e+16: the same number when read). A
  record orjson cannot encode (an integer beyond 64 bits) is encoded by the standard library;
- a line that cannot be written raises DecisionLogError; the Engine then raises or fails closed,
  as the application chose, and never returns the decision as if it were logged.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import re
import threading
from collections.abc import Collection, Sequence
from contextlib import suppress
from pathlib import Path
from typing import Any, Protocol

import orjson

from qpr_rules.engine.compiled_atoms import RuleAtoms
from qpr_rules.engine.decision import Decision
from qpr_rules.errors import EngineError, QprRulesError

GENESIS = "0" * 64  # `prev` of the first line of a log
LOG_FORMAT = 2
READ_FORMATS = (1, 2)  # the versions readers accept (a v1 log still verifies and is counted)
DEFAULT_MAX_BYTES = 64 * 1024 * 1024


class DecisionLogError(QprRulesError):
    """A decision could not be written to the decision log."""


class DecisionSink(Protocol):
    """Where decision records go: a JsonlDecisionLog, or an application's own sink. `write`
    must raise when the record is not stored; it must never drop one silently."""

    def write(self, record: dict[str, Any]) -> None: ...


def encoded(entry: dict[str, Any]) -> bytes:
    """A log line's JSON (without its newline): compact, keys sorted, text as it is (not escaped
    to ASCII)."""
    try:
        return orjson.dumps(entry, option=orjson.OPT_SORT_KEYS)
    except TypeError:  # orjson.JSONEncodeError: an integer beyond 64 bits, say
        return json.dumps(entry, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def line_hash(line: bytes) -> str:
    """SHA-256 of a log line without its newline: the next line's `prev`."""
    return hashlib.sha256(line.rstrip(b"\n")).hexdigest()


def decision_record(rule_ids: Sequence[str], decision: Decision, digest: str, revision: str,
                    logged: dict[str, Any], erased: Sequence[str] = (), reference: str | None = None,
                    rule_atoms: Sequence[RuleAtoms] | None = None) -> dict[str, Any]:
    """The log record of one decision: logged, the values of the facts it logs that the mask
    keeps (empty when the facts were invalid), erased, the logged paths the mask kept out;
    rule_atoms, per rule of rule_ids (the decision's rules in document order), its atoms'
    results and its value from them (`compiled_atoms`; needed when the decision is no error).

    reference: the caller's own reference (a case or request id), so that a line can be tied to
    a case; checked by `check_reference`. The mask (`log_mask_split`): fact paths (of log_facts,
    or a prefix of them, `home` for every `home.*`) the operator keeps out of the log, as OPA's
    decision-log masking does; the paths erased are listed in `erased`, so a reader knows what
    is missing and why."""
    atoms: dict[str, str] = {}
    if decision.status != "error":
        if rule_atoms is None or len(rule_atoms) != len(rule_ids):
            raise EngineError("the decision log record needs every rule's atoms")
        fired = {r.id for r in decision.fired}
        for rule_id, (bits, result) in zip(rule_ids, rule_atoms, strict=True):
            # result None: an atom the decision did not need (it stopped at an earlier one)
            # cannot be evaluated on these facts; it is recorded as `x` and the rest as computed
            if result is not None and result != (rule_id in fired):
                raise EngineError(f"rule {rule_id}: the evaluation with every condition recorded gives "
                                  f"{result}, the decision {rule_id in fired}")
            atoms[rule_id] = bits
    record = {
        "v": LOG_FORMAT,
        "time": dt.datetime.now(dt.UTC).isoformat(timespec="microseconds"),
        "id": _uuid4_hex(),
        "decision": decision.decision,
        "digest": digest,
        "revision": revision,
        "outcome": decision.outcome,
        "status": decision.status,
        "fired": [r.id for r in decision.fired],
        "atoms": atoms,
        "facts": logged,
    }
    if reference is not None:
        record["reference"] = reference
    if erased:
        record["erased"] = list(erased)
    return record


def log_mask_split(log_facts: Sequence[str],
                   mask: Collection[str]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The logged paths the mask keeps, and those it erases."""
    kept = tuple(p for p in log_facts if not masked(p, mask))
    return kept, tuple(p for p in log_facts if p not in kept)


def _uuid4_hex() -> str:
    """uuid.uuid4().hex, without building a UUID object (a logged decision pays it each time)."""
    raw = bytearray(os.urandom(16))
    raw[6] = (raw[6] & 0x0F) | 0x40  # version 4
    raw[8] = (raw[8] & 0x3F) | 0x80  # the RFC 4122 variant
    return raw.hex()


#: What a reference may hold: an id, never a sentence (the log keeps no free text). Letters,
#: digits and `-_.:/#`, up to 128 characters: case numbers, UUIDs, `case:2026-0042`.
REFERENCE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:/#-]{0,127}")


def check_reference(reference: str | None) -> str | None:
    """reference, or ValueError saying what a reference may hold."""
    if reference is not None and (not isinstance(reference, str) or not REFERENCE.fullmatch(reference)):
        raise ValueError(f"reference {reference!r}: a case or request id of letters, digits and "
                         "`-_.:/#`, starting with a letter or digit, at most 128 characters (never "
                         "a name or free text: the decision log keeps none)")
    return reference


def masked(path: str, mask: Collection[str]) -> bool:
    """A fact path is masked by itself or by a path above it (`home` masks `home.hold.kind`)."""
    return any(path == m or path.startswith(f"{m}.") for m in mask)


class MemorySink:
    """Keeps records in a list (tests, and coverage collected in-process)."""

    def __init__(self) -> None:
        self.records: list[dict[str, Any]] = []

    def write(self, record: dict[str, Any]) -> None:
        self.records.append(record)


class JsonlDecisionLog:
    """Append-only, hash-chained JSON-lines log with size-based rotation (see the module doc)."""

    def __init__(self, path: str | Path, max_bytes: int = DEFAULT_MAX_BYTES, fsync: bool = False) -> None:
        if max_bytes < 1:
            raise ValueError("max_bytes must be at least 1")
        self.path = Path(path)
        self.max_bytes = max_bytes
        self.fsync = fsync
        self._thread_lock = threading.Lock()
        self._last: tuple[int, int, str] | None = None  # (inode, size, hash of last line) we wrote
        # the log file kept open between writes, by this process (pid), for the file (device,
        # inode) it was opened on: used again only while the path still names that file
        self._fd: tuple[int, int, tuple[int, int]] | None = None

    def write(self, record: dict[str, Any]) -> None:
        import fcntl  # POSIX only: imported here so that the engine without a log runs anywhere

        try:
            with self._thread_lock:
                lock = os.open(f"{self.path}.lock", os.O_WRONLY | os.O_CREAT | os.O_CLOEXEC, 0o640)
                try:
                    fcntl.flock(lock, fcntl.LOCK_EX)
                    self._append(record)
                finally:
                    os.close(lock)  # closing releases the lock
        except OSError as exc:
            self.close()  # the next write opens the file afresh
            why = exc.strerror or exc
            raise DecisionLogError(f"cannot write the decision log {self.path}: {why}") from exc

    def close(self) -> None:
        """Close the log file kept open between writes (a later write opens it again). In a
        process forked since it was opened, this closes the inherited copy only."""
        kept, self._fd = self._fd, None
        if kept is not None:
            os.close(kept[0])

    def __del__(self) -> None:
        with suppress(OSError):
            self.close()

    def _opened(self) -> tuple[int, os.stat_result]:
        """The log file open for appending, and its state now (under the lock): the file kept
        from the last write while the path still names it (no process rotated or removed it
        since; one stat instead of open, fstat and close), else the path opened afresh. A
        process forked since opens its own."""
        kept = self._fd
        if kept is not None and kept[1] == os.getpid():
            try:
                st = os.stat(self.path)
            except FileNotFoundError:
                st = None
            if st is not None and (st.st_dev, st.st_ino) == kept[2]:
                return kept[0], st
        self.close()
        fd = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o640)
        st = os.fstat(fd)
        self._fd = (fd, os.getpid(), (st.st_dev, st.st_ino))
        return fd, st

    def _append(self, record: dict[str, Any]) -> None:
        fd, st = self._opened()
        if st.st_size >= self.max_bytes:
            self.close()
            self._rotate()
            fd, st = self._opened()
        prev, continues = self._previous(st)
        entry = {**record, "prev": prev}
        if not st.st_size:  # the file's first line says where the log continues from
            entry["continues"] = continues
        line = encoded(entry) + b"\n"
        ours = self._last is not None and self._last[:2] == (st.st_ino, st.st_size)  # ends our line
        if st.st_size and not ours and os.pread(fd, 1, st.st_size - 1) != b"\n":
            # a line cut short (a power loss, or another writer's disk-full): end it, so that it
            # stays as evidence that --verify reports, and this line is not glued to it
            line = b"\n" + line
        written = os.write(fd, line)
        if written != len(line):  # disk full: take the torn line back off
            os.ftruncate(fd, st.st_size)
            raise OSError(0, f"short write ({written} of {len(line)} bytes)")
        if self.fsync:
            os.fsync(fd)
        self._last = (st.st_ino, st.st_size + len(line), line_hash(line.lstrip(b"\n")))

    def _previous(self, st: os.stat_result) -> tuple[str, dict[str, str] | None]:
        """The hash of the line before the one to write, and (for a file's first line) where
        the log continues from: None in its first file, else the last rotated part."""
        if self._last is not None and self._last[:2] == (st.st_ino, st.st_size):
            return self._last[2], None  # nobody wrote since we did
        if st.st_size:
            return line_hash(_last_line(self.path)), None
        rotated = rotated_files(self.path)
        if not rotated:
            return GENESIS, None
        last = line_hash(_last_line(rotated[-1]))
        return last, {"file": rotated[-1].name, "hash": last}

    def _rotate(self) -> None:
        rotated = rotated_files(self.path)
        number = _part_number(self.path.name, rotated[-1].name) + 1 if rotated else 1
        os.rename(self.path, self.path.with_name(f"{self.path.name}.{number:06d}"))


_PART = re.compile(r"\.([0-9]+)", re.ASCII)  # what follows NAME in a rotated part's name


def _part_number(name: str, part: str) -> int:
    return int(part[len(name) + 1:])


def rotated_files(path: Path) -> list[Path]:
    """The rotated parts of a log, oldest first (NAME.000001, NAME.000002, ...): the files of
    the log's directory named exactly NAME, a dot and ASCII digits (no glob: NAME may hold
    `[`, `*` or `?`, and a stray `NAME.²` or `NAME.bak` is not a part)."""
    name = path.name
    try:
        entries = os.listdir(path.parent)
    except OSError:
        return []
    parts = [path.with_name(e) for e in entries if e.startswith(name) and _PART.fullmatch(e, len(name))]
    return sorted(parts, key=lambda p: _part_number(name, p.name))


def _last_line(path: Path) -> bytes:
    """The last whole line of a file, read backwards in blocks."""
    with path.open("rb") as f:
        f.seek(0, os.SEEK_END)
        end = f.tell()
        block, data = 4096, b""
        while end > 0:
            start = max(0, end - block)
            f.seek(start)
            data = f.read(end - start) + data
            end = start
            if data.count(b"\n") >= 2 or end == 0:
                break
        lines = data.rstrip(b"\n").split(b"\n")
        return lines[-1]
