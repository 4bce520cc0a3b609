"""The event store in a PostgreSQL database: for an agency whose caseworkers' machines share one
record. Needs the `postgres` extra (psycopg 3).

Each append is one transaction: the case's version read, a stale `expected_version` refused, the
event inserted, committed. Two writers on one case under READ COMMITTED can both read the same
version; the primary key (case_id, version) then makes the second insert wait for the first
transaction and fail, and that failure is reported as `VersionConflict` naming the version. A
client killed inside the transaction leaves nothing: the server rolls back the transaction of a
connection that is gone.

The store never creates roles or grants: the operator gives the role that runs qpr-rules what it
needs (docs/procedure-store.md), because the store is the QPR's own confidential record.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any

from qpr_rules.procedure.store_api import (
    StoredEvent,
    StoreError,
    VersionConflict,
    canonical_json,
    check_append,
)
from qpr_rules.procedure.store_api import grouped_histories as _grouped

if TYPE_CHECKING:
    import psycopg

SCHEMA_VERSION = 1  # in qpr_store_meta; a database of a later schema is refused, not misread
STORE_FORMAT = "qpr-rules event store"

_SCHEMA = (
    """CREATE TABLE qpr_store_meta (
        key   text PRIMARY KEY,
        value text NOT NULL
    )""",
    """CREATE TABLE qpr_events (
        case_id      text COLLATE "C" NOT NULL,  -- code-point order, as the other stores
        version      integer     NOT NULL CHECK (version >= 1),
        procedure_id text        NOT NULL,
        event_type   text        NOT NULL,
        occurred_on  date        NOT NULL,
        recorded_at  timestamptz NOT NULL,
        payload      text        NOT NULL,  -- canonical JSON, kept byte for byte (not jsonb)
        PRIMARY KEY (case_id, version)
    )""",
)

_COLUMNS = "case_id, version, procedure_id, event_type, occurred_on, recorded_at, payload"

# Tests only (tests/test_store_crash.py): called at named points inside the append transaction.
_test_hook: Callable[[str, str, int], None] | None = None


def redact(url: str) -> str:
    """The URL without its password, for messages and logs."""
    return re.sub(r"(://[^:/@]*):[^@/]*@", r"\1:***@", url)


def _event(row: Any) -> StoredEvent:
    # recorded_at comes back in the session's time zone: the other stores give UTC
    return StoredEvent(row[0], row[1], row[2], row[3], row[4], row[5].astimezone(UTC), row[6])


def _psycopg() -> Any:
    try:
        import psycopg
    except ImportError:
        raise StoreError("a postgresql:// event store needs psycopg 3: "
                         "pip install 'qpr-rules[postgres]'") from None
    return psycopg


class PostgresStore:
    """Events in a PostgreSQL database (the tables are created if missing). One connection,
    shared safely across threads; open one store per process."""

    def __init__(self, url: str, *, connect_timeout: int = 10) -> None:
        self.url = url
        self._where = redact(url)
        self._pg = _psycopg()
        self._lock = threading.Lock()
        self._closed = False
        try:
            self._conn: psycopg.Connection[Any] = self._pg.connect(
                url, autocommit=True, connect_timeout=connect_timeout)
        except self._pg.Error as error:
            raise StoreError(f"cannot open event store {self._where}: {_first_line(error)}") from None
        try:
            self._prepare()
        except BaseException:
            self._conn.close()
            raise

    def _prepare(self) -> None:
        pg = self._pg
        try:
            with self._conn.transaction():
                # one creator at a time, if several machines open a new database together
                self._conn.execute("SELECT pg_advisory_xact_lock(hashtext('qpr_store_meta'))")
                # created only when missing: a role granted only SELECT and INSERT opens it too
                row = self._conn.execute("SELECT to_regclass('qpr_store_meta') IS NULL").fetchone()
                if row and row[0]:
                    for statement in _SCHEMA:
                        self._conn.execute(statement)
                    self._conn.execute("INSERT INTO qpr_store_meta (key, value) VALUES ('format', %s), "
                                       "('schema_version', %s)", (STORE_FORMAT, str(SCHEMA_VERSION)))
                meta = dict(self._conn.execute("SELECT key, value FROM qpr_store_meta").fetchall())
        except pg.errors.InsufficientPrivilege as error:
            raise StoreError(f"event store {self._where}: the role may not create or read the store's "
                             f"tables ({_first_line(error)}); the operator grants it "
                             f"(docs/procedure-store.md)") from None
        except pg.Error as error:
            raise StoreError(f"cannot open event store {self._where}: {_first_line(error)}") from None
        if meta.get("format") != STORE_FORMAT:
            raise StoreError(f"{self._where}: table qpr_store_meta is not a qpr-rules event store's "
                             f"(format {meta.get('format')!r})")
        if meta.get("schema_version") != str(SCHEMA_VERSION):
            raise StoreError(f"event store {self._where} has schema version {meta.get('schema_version')}; "
                             f"this qpr-rules reads schema {SCHEMA_VERSION}: use the qpr-rules that wrote it")

    def _connection(self) -> psycopg.Connection[Any]:
        if self._closed:
            raise StoreError(f"event store {self._where} is closed")
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
        pg = self._pg
        with self._lock:
            conn = self._connection()
            try:
                with conn.transaction():
                    if hook:
                        hook("begun", case_id, version)
                    current = conn.execute("SELECT coalesce(max(version), 0) FROM qpr_events "
                                           "WHERE case_id = %s", (case_id,)).fetchone()[0]  # type: ignore[index]
                    if current != expected_version:
                        raise VersionConflict(case_id, expected_version, current)
                    if hook:
                        hook("checked", case_id, version)
                    conn.execute(f"INSERT INTO qpr_events ({_COLUMNS}) VALUES (%s, %s, %s, %s, %s, %s, %s)",
                                 (case_id, version, procedure_id, event_type, occurred_on,
                                  event.recorded_at, payload))
                    if hook:
                        hook("inserted", case_id, version)
            except pg.errors.UniqueViolation:  # a second writer got in between our read and insert
                raise VersionConflict(case_id, expected_version, self._version(case_id)) from None
            except pg.Error as error:
                raise StoreError(f"cannot append to event store {self._where} (case {case_id!r}): "
                                 f"{_first_line(error)}; nothing was written") from None
        return event

    def _version(self, case_id: str) -> int:
        row = self._conn.execute("SELECT coalesce(max(version), 0) FROM qpr_events WHERE case_id = %s",
                                 (case_id,)).fetchone()
        return int(row[0]) if row else 0

    def events(self, case_id: str) -> list[StoredEvent]:
        with self._lock:
            rows = self._read(f"SELECT {_COLUMNS} FROM qpr_events WHERE case_id = %s ORDER BY version",
                              (case_id,))
        return [_event(row) for row in rows]

    def case_ids(self) -> Iterator[str]:
        with self._lock:
            rows = self._read("SELECT DISTINCT case_id FROM qpr_events ORDER BY case_id", ())
        return iter([row[0] for row in rows])

    def histories(self, share: tuple[int, int] = (0, 1)) -> Iterator[list[StoredEvent]]:
        """Every case's events, case by case in `case_ids()` order: one query, read in batches
        through a server-side cursor in one REPEATABLE READ snapshot on its own connection."""
        pg = self._pg
        self._connection()
        try:
            reader = pg.connect(self.url, autocommit=False)
        except pg.Error as error:
            raise StoreError(f"cannot read event store {self._where}: {_first_line(error)}") from None
        try:
            reader.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
            with reader.cursor(name="qpr_replay") as cursor:
                cursor.itersize = 10_000
                cursor.execute(f"SELECT {_COLUMNS} FROM qpr_events "
                               f"ORDER BY case_id, version")
                yield from _grouped(cursor, share, _event)
        except pg.Error as error:
            raise StoreError(f"cannot read event store {self._where}: {_first_line(error)}") from None
        finally:
            reader.close()

    def _read(self, sql: str, args: tuple[object, ...]) -> list[Any]:
        try:
            return self._connection().execute(sql, args).fetchall()
        except self._pg.Error as error:
            raise StoreError(f"cannot read event store {self._where}: {_first_line(error)}") from None

    def close(self) -> None:
        with self._lock:
            if not self._closed:
                self._closed = True
                self._conn.close()


def _first_line(error: BaseException) -> str:
    return str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
