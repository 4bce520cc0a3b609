"""The event store's interface: what a case's history is made of, and what every store promises.

A case is the ordered list of events recorded against it. Events are only ever appended (a
correction is a later compensating event), so a case's state is the replay of its events and is
the same on every replay. Each append names the version the writer last saw: two writers on one
case cannot both append the same version; the second gets `VersionConflict` naming it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from typing import Protocol

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

    def close(self) -> None:
        ...
