"""The event store in one SQLite file: the default store, for an agency that runs on one machine.

Write-ahead log (WAL): readers never block the writer nor see half an append. Each append is one
`BEGIN IMMEDIATE` transaction: it takes the file's write lock first, reads the case's version,
refuses a stale `expected_version` (`VersionConflict`), inserts, commits. The primary key
(case_id, version) is the second guard: no two events of a case can share a version, whoever
writes. A writer killed anywhere inside the transaction leaves nothing of its event (SQLite rolls
back the uncommitted WAL frames when the file is next opened); tests/test_store_crash.py kills
writers there.

The file is created with mode 0600: the store is the QPR's own record (referrals "are confidential
and are not to be uploaded to CWS/CMS"), readable only by the account the operator runs it under
or grants it to (docs/procedure-store.md).
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from pathlib import Path

from qpr_rules.procedure.store_api import (
    StoredEvent,
    StoreError,
    VersionConflict,
    canonical_json,
    check_append,
)
from qpr_rules.procedure.store_api import grouped_histories as _grouped

# 'QPR1' in the file header (PRAGMA application_id): a SQLite file that is some other program's
# database is refused, never written into
APPLICATION_ID = 0x51505231
SCHEMA_VERSION = 1  # PRAGMA user_version; a file of a later schema is refused, not misread
BUSY_TIMEOUT_S = 10.0  # how long an append waits for another writer's transaction to end

_SCHEMA = """
CREATE TABLE qpr_events (
    case_id      TEXT    NOT NULL,
    version      INTEGER NOT NULL CHECK (version >= 1),
    procedure_id TEXT    NOT NULL,
    event_type   TEXT    NOT NULL,
    occurred_on  TEXT    NOT NULL,  -- ISO date
    recorded_at  TEXT    NOT NULL,  -- ISO date-time, UTC
    payload      TEXT    NOT NULL,  -- canonical JSON
    PRIMARY KEY (case_id, version)
) WITHOUT ROWID;
"""

_COLUMNS = "case_id, version, procedure_id, event_type, occurred_on, recorded_at, payload"

# Tests only (tests/test_store_crash.py): called at named points inside the append transaction
# ("begun", "checked", "inserted") so a writer can be killed exactly there. None in production.
_test_hook: Callable[[str, str, int], None] | None = None


def _event(row: tuple[str, int, str, str, str, str, str]) -> StoredEvent:
    return StoredEvent(row[0], row[1], row[2], row[3], date.fromisoformat(row[4]),
                       datetime.fromisoformat(row[5]), row[6])


class SQLiteStore:
    """Events in a SQLite file (created if missing). Safe to share across threads; several
    processes may open the same file."""

    def __init__(self, path: str | os.PathLike[str], *, synchronous: str = "FULL",
                 busy_timeout: float = BUSY_TIMEOUT_S) -> None:
        """`synchronous="FULL"` (the default) syncs the WAL at each commit, so an acknowledged event
        survives a power cut; "NORMAL" survives a crash of the program but not of the machine
        (SQLite's own terms), and appends about 15x faster (docs/benchmarks.md)."""
        if synchronous.upper() not in ("FULL", "NORMAL", "EXTRA"):
            raise StoreError(f"synchronous must be FULL, NORMAL or EXTRA, not {synchronous!r}")
        self.path = Path(path)
        self._busy_timeout = busy_timeout
        self._lock = threading.Lock()
        self._closed = False
        self._conn = self._open(synchronous.upper())

    # -- opening ---------------------------------------------------------------------------------

    def _open(self, synchronous: str) -> sqlite3.Connection:
        path = self.path
        if path.is_dir():
            raise StoreError(f"cannot open event store {path}: it is a directory; give a file path")
        if not path.parent.is_dir():
            raise StoreError(f"cannot open event store {path}: directory {path.parent} does not exist")
        try:  # create it ourselves so that it is 0600 from the first byte (WAL files follow the mode)
            os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
        except FileExistsError:
            pass
        except OSError as error:
            raise StoreError(f"cannot create event store {path}: {error.strerror}") from None
        try:
            conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False,
                                   timeout=self._busy_timeout)
        except sqlite3.Error as error:
            raise StoreError(f"cannot open event store {path}: {error}") from None
        try:
            self._prepare(conn, synchronous)
        except BaseException:
            conn.close()
            raise
        return conn

    def _prepare(self, conn: sqlite3.Connection, synchronous: str) -> None:
        path = self.path
        try:
            app_id = conn.execute("PRAGMA application_id").fetchone()[0]
            if app_id != APPLICATION_ID:
                conn.execute("BEGIN IMMEDIATE")  # one creator only, if two processes open a new file
                try:
                    self._create(conn)
                    conn.execute("COMMIT")
                except BaseException:
                    if conn.in_transaction:
                        conn.execute("ROLLBACK")
                    raise
            schema = conn.execute("PRAGMA user_version").fetchone()[0]
            if schema != SCHEMA_VERSION:
                raise StoreError(f"event store {path} has schema version {schema}; this qpr-rules reads "
                                 f"schema {SCHEMA_VERSION}: use the qpr-rules that wrote it")
            mode = conn.execute("PRAGMA journal_mode=WAL").fetchone()[0]
            if str(mode).lower() != "wal":
                raise StoreError(f"event store {path}: SQLite cannot use its write-ahead log here "
                                 f"(journal mode stays {mode!r}); put the store on a local disk")
            conn.execute(f"PRAGMA synchronous={synchronous}")
        except sqlite3.DatabaseError as error:  # "file is not a database", a locked file, an I/O error
            raise StoreError(f"cannot open event store {path}: {error} (is it a qpr-rules event "
                             f"store, a SQLite file this process can read and write?)") from None

    def _create(self, conn: sqlite3.Connection) -> None:
        app_id = conn.execute("PRAGMA application_id").fetchone()[0]
        if app_id == APPLICATION_ID:  # another process created it while we waited for the lock
            return
        tables = [row[0] for row in conn.execute("SELECT name FROM sqlite_schema")]
        if app_id != 0 or tables:
            raise StoreError(f"{self.path} is a SQLite database but not a qpr-rules event store "
                             f"(application id {app_id:#x}, tables {', '.join(tables) or 'none'}); "
                             f"give a new file or an event store")
        conn.execute(_SCHEMA)
        conn.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
        conn.execute(f"PRAGMA application_id={APPLICATION_ID}")

    def _connection(self) -> sqlite3.Connection:
        if self._closed:
            raise StoreError(f"event store {self.path} is closed")
        return self._conn

    # -- the EventStore interface ----------------------------------------------------------------

    def append(self, case_id: str, expected_version: int, procedure_id: str, event_type: str,
               occurred_on: date, payload: str) -> StoredEvent:
        check_append(case_id, expected_version, procedure_id, event_type, occurred_on)
        payload = canonical_json(payload)
        version = expected_version + 1
        event = StoredEvent(case_id, version, procedure_id, event_type, occurred_on,
                            datetime.now(UTC), payload)
        hook = _test_hook
        with self._lock:
            conn = self._connection()
            try:
                conn.execute("BEGIN IMMEDIATE")  # the write lock first: the check below stays true
                try:
                    if hook:
                        hook("begun", case_id, version)
                    current = conn.execute("SELECT max(version) FROM qpr_events WHERE case_id = ?",
                                           (case_id,)).fetchone()[0] or 0
                    if current != expected_version:
                        raise VersionConflict(case_id, expected_version, current)
                    if hook:
                        hook("checked", case_id, version)
                    conn.execute(f"INSERT INTO qpr_events ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)",
                                 (case_id, version, procedure_id, event_type, occurred_on.isoformat(),
                                  event.recorded_at.isoformat(), payload))
                    if hook:
                        hook("inserted", case_id, version)
                    conn.execute("COMMIT")
                except BaseException:
                    if conn.in_transaction:
                        conn.execute("ROLLBACK")
                    raise
            except sqlite3.IntegrityError:  # the key caught a second writer the check did not
                raise VersionConflict(case_id, expected_version, self._version(case_id)) from None
            except sqlite3.OperationalError as error:
                raise StoreError(f"cannot append to event store {self.path} (case {case_id!r}): "
                                 f"{error}; nothing was written") from None
        return event

    def _version(self, case_id: str) -> int:
        row = self._conn.execute("SELECT max(version) FROM qpr_events WHERE case_id = ?",
                                 (case_id,)).fetchone()
        return int(row[0] or 0)

    def events(self, case_id: str) -> list[StoredEvent]:
        with self._lock:
            rows = self._read(f"SELECT {_COLUMNS} FROM qpr_events WHERE case_id = ? ORDER BY version",
                              (case_id,))
        return [_event(row) for row in rows]

    def case_ids(self) -> Iterator[str]:
        with self._lock:
            rows = self._read("SELECT DISTINCT case_id FROM qpr_events ORDER BY case_id", ())
        return iter([row[0] for row in rows])

    def histories(self, share: tuple[int, int] = (0, 1)) -> Iterator[list[StoredEvent]]:
        """Every case's events, case by case in `case_ids()` order, read in one pass over one
        snapshot (a separate read-only connection: appends go on meanwhile)."""
        self._connection()
        try:
            reader = sqlite3.connect(f"{self.path.resolve().as_uri()}?mode=ro", uri=True,
                                     timeout=self._busy_timeout)
        except sqlite3.Error as error:
            raise StoreError(f"cannot read event store {self.path}: {error}") from None
        try:
            rows = reader.execute(f"SELECT {_COLUMNS} FROM qpr_events ORDER BY case_id, version")
            yield from _grouped(rows, share, _event)
        except sqlite3.Error as error:
            raise StoreError(f"cannot read event store {self.path}: {error}") from None
        finally:
            reader.close()

    def _read(self, sql: str, args: tuple[object, ...]) -> list[tuple[str, int, str, str, str, str, str]]:
        try:
            return self._connection().execute(sql, args).fetchall()
        except sqlite3.Error as error:
            raise StoreError(f"cannot read event store {self.path}: {error}") from None

    def close(self) -> None:
        with self._lock:
            if not self._closed:
                self._closed = True
                self._conn.close()
