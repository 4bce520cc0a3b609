"""An event store held in memory: for tests, scenarios and one-off `qpr-rules case` runs."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, date, datetime

from qpr_rules.procedure.store_api import StoredEvent, VersionConflict, canonical_json, check_append


class MemoryStore:
    """Events per case in a dict; a lock makes each append atomic across threads."""

    def __init__(self) -> None:
        self._cases: dict[str, list[StoredEvent]] = {}
        self._lock = threading.Lock()

    @classmethod
    def holding(cls, case_id: str, events: list[StoredEvent]) -> MemoryStore:
        """A store holding one case's events as given (a copy to try more events on)."""
        store = cls()
        if events:
            store._cases[case_id] = list(events)
        return store

    def append(self, case_id: str, expected_version: int, procedure_id: str, event_type: str,
               occurred_on: date, payload: str) -> StoredEvent:
        # the same refusals and the same stored bytes as the SQLite and PostgreSQL stores
        check_append(case_id, expected_version, procedure_id, event_type, occurred_on)
        payload = canonical_json(payload)
        with self._lock:
            history = self._cases.get(case_id)
            current = len(history) if history else 0
            if current != expected_version:  # nothing recorded: a refused new case is no case
                raise VersionConflict(case_id, expected_version, current)
            event = StoredEvent(case_id, expected_version + 1, procedure_id, event_type,
                                occurred_on, datetime.now(UTC), payload)
            if history is None:
                history = self._cases[case_id] = []
            history.append(event)
            return event

    def events(self, case_id: str) -> list[StoredEvent]:
        with self._lock:
            return list(self._cases.get(case_id, ()))

    def case_ids(self) -> Iterator[str]:
        with self._lock:
            ids = sorted(self._cases)
        return iter(ids)

    def histories(self, share: tuple[int, int] = (0, 1)) -> Iterator[list[StoredEvent]]:
        part, parts = share
        with self._lock:
            cases = [list(self._cases[case_id]) for n, case_id in enumerate(sorted(self._cases))
                     if n % parts == part]
        return iter(cases)

    def close(self) -> None:
        pass
