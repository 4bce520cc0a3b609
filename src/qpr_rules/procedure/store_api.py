"""The event store's interface: what a case's history is made of, and what every store promises.

A case is the ordered list of events recorded against it. Events are only ever appended (a
correction is a later compensating event), so a case's state is the replay of its events and is
the same on every replay. Each append names the version the writer last saw: two writers on one
case cannot both append the same version; the second gets `VersionConflict` naming it.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Protocol

from qpr_rules.errors import QprRulesError


@dataclass(frozen=True)
class StoredEvent:
    """One event as the store holds it."""

    case_id: str
    version: int  # the event's position in its case, from 1; the case's version after it
    procedure_id: str
    event_type: str
    occurred_on: date  # when it happened: the policy version in force on this date applies to it
    recorded_at: datetime  # when the store took it (UTC)
    payload: str  # the event model as canonical JSON (sorted keys, no spaces)


class StoreError(QprRulesError):
    """The event store could not be opened, read or written. Nothing half-written is kept."""


class VersionConflict(StoreError):
    """Another writer appended to the case first: the version the caller expected is stale."""

    def __init__(self, case_id: str, expected: int, actual: int) -> None:
        self.case_id = case_id
        self.expected = expected
        self.actual = actual
        super().__init__(
            f"case {case_id!r} is at version {actual}, not {expected}: another writer appended "
            f"first; read the case again and retry"
        )


class EventStore(Protocol):
    """What every store (memory, SQLite, PostgreSQL) provides."""

    def append(self, case_id: str, expected_version: int, procedure_id: str, event_type: str,
               occurred_on: date, payload: str) -> StoredEvent:
        """Append one event in one transaction if the case is at `expected_version` (0 for a new
        case), else raise `VersionConflict`. Returns the event as stored."""
        ...

    def events(self, case_id: str) -> list[StoredEvent]:
        """The case's events in order (empty for an unknown case)."""
        ...

    def case_ids(self) -> Iterator[str]:
        """Every case id in the store, in a stable order."""
        ...

    def histories(self, share: tuple[int, int] = (0, 1)) -> Iterator[list[StoredEvent]]:
        """Every case's events, case by case in `case_ids()` order, as one pass over the store
        (what a full replay reads: one query, not one per case). share=(k, n): only the cases at
        positions k, k+n, k+2n, ... of that order (one of n processes sharing a replay); the
        other rows are passed over without being made into events."""
        ...

    def close(self) -> None:
        ...


def grouped_histories(rows: Iterable[Any], share: tuple[int, int],
                      event: Callable[[Any], StoredEvent]) -> Iterator[list[StoredEvent]]:
    """Rows ordered by case id then version (case id first in each row) as each case's events:
    only the cases at positions k, k+n, ... for share=(k, n); event(row) is called only for those,
    so a process's share costs it the reading of the other rows, not their making."""
    part, parts = share
    history: list[StoredEvent] = []
    case_id: Any = None
    position = -1
    for row in rows:
        if row[0] != case_id:
            if history:
                yield history
                history = []
            case_id, position = row[0], position + 1
        if position % parts == part:
            history.append(event(row))
    if history:
        yield history


def canonical_json(payload: str) -> str:
    """`payload` as canonical JSON (sorted keys, no spaces, UTF-8 text kept as is), so that the same
    event is stored as the same bytes whoever wrote it. Refuses text that is not one JSON value."""
    try:
        value = json.loads(payload)
    except (TypeError, ValueError) as error:
        raise StoreError(f"an event's payload must be JSON text (the event model dumped): {error}") from None
    try:
        return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    except ValueError as error:  # NaN or Infinity: not JSON, and no other reader would take it back
        raise StoreError(f"an event's payload must be JSON text, without NaN or Infinity: {error}") from None


def check_append(case_id: str, expected_version: int, procedure_id: str, event_type: str,
                 occurred_on: date) -> None:
    """Refuse what no store may hold, before any store is touched: every store says the same."""
    for name, value in (("case_id", case_id), ("procedure_id", procedure_id), ("event_type", event_type)):
        if not isinstance(value, str) or not value or "\x00" in value:
            raise StoreError(f"an event's {name} must be a non-empty string without NUL characters, "
                             f"not {value!r}")
    if isinstance(expected_version, bool) or not isinstance(expected_version, int) or expected_version < 0:
        raise StoreError(f"expected_version must be the case's version as last read (0 for a new case), "
                         f"not {expected_version!r}")
    if isinstance(occurred_on, datetime) or not isinstance(occurred_on, date):
        raise StoreError(f"occurred_on must be a date (the day the event happened), not {occurred_on!r}")


def open_store(url: str | os.PathLike[str]) -> EventStore:
    """Open the store a URL or path names (docs/procedure-store.md):

    - `memory:`: a new, empty store held in memory;
    - `sqlite:///abs/path.db`, `sqlite:relative/path.db`, or a bare path: a SQLite file, created
      (mode 0600) if it does not exist;
    - `postgresql://user@host/db` (or `postgres://`): a PostgreSQL database; needs the `postgres`
      extra (psycopg 3).
    """
    text = os.fspath(url)
    if text == "memory:":
        from qpr_rules.procedure.memory_store import MemoryStore

        return MemoryStore()
    if text.startswith(("postgresql://", "postgres://")):
        from qpr_rules.procedure.postgres_store import PostgresStore

        return PostgresStore(text)
    if text.startswith("sqlite:"):
        text = text.removeprefix("sqlite:")
        if text.startswith("//"):  # sqlite:///abs/path: the URL form, empty host
            text = text[2:]
        if not text:
            raise StoreError("a sqlite: store URL needs a path: sqlite:///abs/path.db or sqlite:rel/path.db")
    elif "://" in text:
        scheme = text.split("://", 1)[0]
        raise StoreError(f"unknown store URL scheme {scheme!r} in {text!r}: use a path, sqlite:PATH, "
                         f"postgresql://... or memory:")
    from qpr_rules.procedure.sqlite_store import SQLiteStore

    return SQLiteStore(text)
