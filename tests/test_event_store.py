"""The event store contract, the same tests over every store: in memory, SQLite, and PostgreSQL
on a real server started for the run (tests/pg_cluster.py).

Each test gets `opener`: a function giving a new handle on one fresh store (a new connection for
SQLite and PostgreSQL, the same object in memory), so that two handles are two writers.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import stat
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path

import pytest

from qpr_rules.procedure.memory_store import MemoryStore
from qpr_rules.procedure.replay import fold_case, replay
from qpr_rules.procedure.store_api import EventStore, StoredEvent, StoreError, VersionConflict, open_store
from tests import pg_cluster as cluster_module
from tests.pg_cluster import Cluster, running_cluster

ROOT = Path(__file__).resolve().parents[1]
DAY = date(2025, 1, 10)
Opener = Callable[[], EventStore]


@pytest.fixture(scope="module")
def pg_cluster() -> Iterator[Cluster]:
    with running_cluster() as cluster:
        yield cluster


@pytest.fixture(params=["memory", "sqlite", "postgres"])
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def _url(kind: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    if kind == "sqlite":
        return str(tmp_path / "events.db")
    if kind == "postgres":
        cluster: Cluster = request.getfixturevalue("pg_cluster")
        return cluster.database()
    raise AssertionError(kind)


@pytest.fixture
def opener(kind: str, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Opener]:
    handles: list[EventStore] = []
    if kind == "memory":
        shared = MemoryStore()

        def new_handle() -> EventStore:
            return shared
    else:
        url = _url(kind, tmp_path, request)

        def new_handle() -> EventStore:
            handle = open_store(url)
            handles.append(handle)
            return handle
    yield new_handle
    for handle in handles:
        handle.close()


@pytest.fixture
def store(opener: Opener) -> EventStore:
    return opener()


@pytest.fixture(params=["sqlite", "postgres"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A persistent store's URL: for writers in other processes."""
    return _url(str(request.param), tmp_path, request)


def payload(**fields: object) -> str:
    return json.dumps(fields)


def append_n(store: EventStore, case_id: str, count: int, start: int = 0) -> list[StoredEvent]:
    return [store.append(case_id, start + n, "qpr", f"step{n}", date(2025, 1, 1 + n % 28),
                         payload(n=start + n)) for n in range(count)]


# -- append, read, order ---------------------------------------------------------------------------


def test_appended_events_read_back_in_order_with_every_field(store: EventStore) -> None:
    written = append_n(store, "home-1", 5)
    assert [event.version for event in written] == [1, 2, 3, 4, 5]
    read = store.events("home-1")
    assert read == written
    assert [event.event_type for event in read] == ["step0", "step1", "step2", "step3", "step4"]
    assert read[2].occurred_on == date(2025, 1, 3) and read[2].procedure_id == "qpr"
    assert json.loads(read[4].payload) == {"n": 4}
    assert all(event.recorded_at.utcoffset() is not None for event in read)  # aware, UTC


def test_replay_is_the_same_on_every_replay_and_every_handle(opener: Opener) -> None:
    first = opener()
    for case_id in ("b", "a", "c"):
        append_n(first, case_id, 3)
    again = opener()
    assert first.events("a") == again.events("a") == first.events("a")
    assert list(first.case_ids()) == list(again.case_ids()) == ["a", "b", "c"]
    histories = list(again.histories())
    assert histories == [first.events(case_id) for case_id in ("a", "b", "c")]
    assert histories == list(first.histories())


def test_an_unknown_case_is_empty_and_not_listed(store: EventStore) -> None:
    assert store.events("never-seen") == []
    append_n(store, "known", 1)
    assert store.events("never-seen") == []
    assert list(store.case_ids()) == ["known"]


def test_an_empty_store_has_no_cases(store: EventStore) -> None:
    assert list(store.case_ids()) == [] and list(store.histories()) == []


def test_a_thousand_events_over_ten_interleaved_cases(store: EventStore) -> None:
    for n in range(1000):
        case_id = f"case-{n % 10}"
        store.append(case_id, n // 10, "qpr", "note", DAY, payload(n=n))
    ids = list(store.case_ids())
    assert ids == [f"case-{k}" for k in range(10)]
    for k, history in enumerate(store.histories()):
        assert [event.version for event in history] == list(range(1, 101))
        assert [json.loads(event.payload)["n"] for event in history] == list(range(k, 1000, 10))
        assert history == store.events(f"case-{k}")
    # a share of the cases, for one of n processes replaying: the cases at k, k+n, ... whole
    for parts in (1, 3, 4):
        shares = [list(store.histories((k, parts))) for k in range(parts)]
        assert [h[0].case_id for h in shares[1 % parts]] == ids[1 % parts::parts]
        assert sorted((h for share in shares for h in share), key=lambda h: h[0].case_id) == list(store.histories())


# -- conflicts -------------------------------------------------------------------------------------


def test_two_writers_on_one_case_cannot_both_append(opener: Opener) -> None:
    alice, bob = opener(), opener()
    append_n(alice, "home-7", 2)
    seen_by_alice, seen_by_bob = len(alice.events("home-7")), len(bob.events("home-7"))
    assert seen_by_alice == seen_by_bob == 2
    alice.append("home-7", seen_by_alice, "qpr", "call", DAY, payload(by="alice"))
    with pytest.raises(VersionConflict) as conflict:
        bob.append("home-7", seen_by_bob, "qpr", "call", DAY, payload(by="bob"))
    assert (conflict.value.case_id, conflict.value.expected, conflict.value.actual) == ("home-7", 2, 3)
    assert "'home-7' is at version 3, not 2" in str(conflict.value)
    history = bob.events("home-7")
    assert [event.version for event in history] == [1, 2, 3]
    assert json.loads(history[-1].payload) == {"by": "alice"}  # bob's event is not half there


def test_an_expected_version_ahead_of_the_case_is_a_conflict_too(store: EventStore) -> None:
    append_n(store, "c", 2)
    with pytest.raises(VersionConflict) as conflict:
        store.append("c", 5, "qpr", "note", DAY, "{}")
    assert (conflict.value.expected, conflict.value.actual) == (5, 2)
    with pytest.raises(VersionConflict):
        store.append("new-case", 1, "qpr", "note", DAY, "{}")  # a new case is at 0
    assert len(store.events("c")) == 2 and store.events("new-case") == []
    assert list(store.case_ids()) == ["c"]  # the refused new case is not a case
    assert [history[0].case_id for history in store.histories()] == ["c"]


def test_threads_racing_on_one_case_lose_no_event(opener: Opener) -> None:
    writers, per_writer = 6, 20
    go = threading.Barrier(writers)
    errors: list[BaseException] = []

    def write(worker: int) -> None:
        handle = opener()
        go.wait()
        try:
            for n in range(per_writer):
                while True:
                    version = len(handle.events("shared"))
                    try:
                        handle.append("shared", version, "qpr", "note", DAY, payload(worker=worker, n=n))
                        break
                    except VersionConflict:
                        continue
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=write, args=(w,)) for w in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    _assert_every_write_once(opener().events("shared"), writers, per_writer)


def test_processes_racing_on_one_case_lose_no_event(url: str, tmp_path: Path) -> None:
    writers, per_writer = 4, 25
    go = tmp_path / "go"
    procs = [subprocess.Popen([sys.executable, str(ROOT / "tests" / "store_worker.py"), url, "shared",
                               str(per_writer), str(w), str(go)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT)
             for w in range(writers)]
    go.touch()
    outputs = [proc.communicate(timeout=300) for proc in procs]
    for proc, (out, err) in zip(procs, outputs, strict=True):
        assert proc.returncode == 0, out + err
        assert out.startswith("conflicts ")
    store = open_store(url)
    try:
        _assert_every_write_once(store.events("shared"), writers, per_writer)
    finally:
        store.close()


def _assert_every_write_once(history: list[StoredEvent], writers: int, per_writer: int) -> None:
    assert [event.version for event in history] == list(range(1, writers * per_writer + 1))
    by_writer: dict[str, list[object]] = {}
    for event in history:
        written = json.loads(event.payload)
        by_writer.setdefault(str(written["worker"]), []).append(written["n"])
    # every event of every writer once, each writer's in the order it wrote them
    assert by_writer == {str(w): list(range(per_writer)) for w in range(writers)}


# -- what is stored --------------------------------------------------------------------------------

UNICODE_IDS = ["maison-é", "家-12", "שלום", "🏠-1", "e\u0301-combining", "tab\tand space"]


def test_unicode_case_ids_and_payloads_round_trip(store: EventStore) -> None:
    for number, case_id in enumerate(UNICODE_IDS):
        text = f"{case_id} «notes» \u2028 line; emoji 👩‍👧; NUL-free"
        stored = store.append(case_id, 0, "qpr", "concern-raised", DAY, payload(text=text, n=number))
        assert json.loads(stored.payload) == {"text": text, "n": number}
        assert "👩‍👧" in stored.payload  # kept as UTF-8, not \u-escaped
    assert list(store.case_ids()) == sorted(UNICODE_IDS)  # code-point order in every store
    for case_id in UNICODE_IDS:
        (event,) = store.events(case_id)
        assert event.case_id == case_id and case_id in json.loads(event.payload)["text"]


def test_payloads_are_stored_as_canonical_json(store: EventStore) -> None:
    a = store.append("a", 0, "qpr", "x", DAY, '{ "b": [1, 2.5, {"d": null, "c": true}], "a": "\\u00e9" }')
    b = store.append("b", 0, "qpr", "x", DAY, json.dumps({"a": "é", "b": [1, 2.5, {"c": True, "d": None}]}))
    assert a.payload == b.payload == '{"a":"é","b":[1,2.5,{"c":true,"d":null}]}'
    assert store.events("a")[0].payload == a.payload


@pytest.mark.parametrize(("args", "message"), [
    (("", 0, "qpr", "x", DAY, "{}"), "case_id must be a non-empty string"),
    (("c", -1, "qpr", "x", DAY, "{}"), "expected_version must be the case's version"),
    (("c", True, "qpr", "x", DAY, "{}"), "expected_version must be the case's version"),
    (("c", 0, "", "x", DAY, "{}"), "procedure_id must be a non-empty string"),
    (("c", 0, "qpr", "a\x00b", DAY, "{}"), "event_type must be a non-empty string without NUL"),
    (("c", 0, "qpr", "x", "2025-01-10", "{}"), "occurred_on must be a date"),
    (("c", 0, "qpr", "x", DAY, "{not json"), "payload must be JSON text"),
    (("c", 0, "qpr", "x", DAY, '{"a": NaN}'), "without NaN or Infinity"),
])
def test_what_no_store_may_hold_is_refused_and_nothing_written(store: EventStore, args: tuple[object, ...],
                                                               message: str) -> None:
    with pytest.raises(StoreError, match=message):
        store.append(*args)  # type: ignore[arg-type]
    assert list(store.case_ids()) == []


# -- opening: paths, URLs, files -------------------------------------------------------------------


def test_sqlite_store_is_created_0600_in_wal_mode(tmp_path: Path) -> None:
    path = tmp_path / "qpr.db"
    store = open_store(f"sqlite://{path}")
    append_n(store, "c", 1)
    for file in (path, Path(f"{path}-wal")):
        assert stat.S_IMODE(file.stat().st_mode) == 0o600, file
    with sqlite3.connect(path) as raw:
        assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert raw.execute("PRAGMA user_version").fetchone()[0] == 1
    store.close()
    with pytest.raises(StoreError, match="is closed"):
        store.events("c")
    assert open_store(f"sqlite:{path}").events("c")[0].version == 1


def _text_file(tmp_path: Path) -> Path:
    path = tmp_path / "notes.txt"
    path.write_text("not a database\n" * 200)
    return path


def _other_sqlite(tmp_path: Path) -> Path:
    path = tmp_path / "other.db"
    with sqlite3.connect(path) as raw:
        raw.execute("CREATE TABLE placements (id INTEGER)")
    return path


def _later_schema(tmp_path: Path) -> Path:
    path = tmp_path / "later.db"
    open_store(path).close()
    with sqlite3.connect(path) as raw:
        raw.execute("PRAGMA user_version = 2")
    return path


@pytest.mark.parametrize(("make", "message"), [
    (lambda tmp: tmp / "no-such-dir" / "events.db", "cannot open event store {path}: directory {parent} does not exist"),
    (lambda tmp: tmp, "cannot open event store {path}: it is a directory"),
    (_text_file, "cannot open event store {path}: file is not a database"),
    (_other_sqlite, "{path} is a SQLite database but not a qpr-rules event store (application id 0x0, tables placements)"),
    (_later_schema, "event store {path} has schema version 2; this qpr-rules reads schema 1"),
])
def test_a_path_that_is_not_a_store_is_refused_naming_it(tmp_path: Path, make: Callable[[Path], Path],
                                                         message: str) -> None:
    path = make(tmp_path)
    before = path.read_bytes() if path.is_file() else None
    with pytest.raises(StoreError) as error:
        open_store(path)
    assert message.format(path=path, parent=path.parent) in str(error.value)
    if before is not None:
        assert path.read_bytes() == before  # never written into


def test_store_urls(tmp_path: Path) -> None:
    assert isinstance(open_store("memory:"), MemoryStore)
    with pytest.raises(StoreError, match="unknown store URL scheme 'mysql'"):
        open_store("mysql://host/db")
    with pytest.raises(StoreError, match="needs a path"):
        open_store("sqlite:")
    relative = open_store(f"sqlite:{os.path.relpath(tmp_path / 'rel.db')}")
    relative.close()
    assert (tmp_path / "rel.db").exists()


def test_postgres_url_that_cannot_be_opened_names_it_without_the_password(pg_cluster: Cluster) -> None:
    with pytest.raises(StoreError) as error:
        open_store(pg_cluster.url("no_such_db"))
    assert f"cannot open event store {pg_cluster.url('no_such_db')}" in str(error.value)
    assert 'database "no_such_db" does not exist' in str(error.value)
    with pytest.raises(StoreError) as error:
        open_store("postgresql://clerk:s3cret@/x?host=/nonexistent-dir&port=1&connect_timeout=2")
    assert "postgresql://clerk:***@/x" in str(error.value) and "s3cret" not in str(error.value)


def test_postgres_database_with_a_later_schema_is_refused(pg_cluster: Cluster) -> None:
    import psycopg

    url = pg_cluster.database()
    open_store(url).close()
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("UPDATE qpr_store_meta SET value = '2' WHERE key = 'schema_version'")
    with pytest.raises(StoreError, match="has schema version 2; this qpr-rules reads schema 1"):
        open_store(url)


def test_postgres_role_without_grants_cannot_read_the_store(pg_cluster: Cluster) -> None:
    """The operator grants the role: a role without grants reads nothing (docs/procedure-store.md)."""
    import psycopg

    url = pg_cluster.database()
    store = open_store(url)
    append_n(store, "confidential", 1)
    store.close()
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CREATE ROLE clerk LOGIN")
        conn.execute("REVOKE CREATE ON SCHEMA public FROM PUBLIC")
    try:
        with pytest.raises(StoreError, match="the role may not create or read the store's tables"):
            open_store(url.replace("postgres@", "clerk@"))
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("GRANT SELECT, INSERT ON qpr_events, qpr_store_meta TO clerk")
        granted = open_store(url.replace("postgres@", "clerk@"))
        assert [event.case_id for event in granted.events("confidential")] == ["confidential"]
        granted.close()
    finally:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("DROP OWNED BY clerk")
            conn.execute("DROP ROLE clerk")


# -- replay ----------------------------------------------------------------------------------------


def test_replay_folds_every_case_in_order(store: EventStore) -> None:
    for case_id in ("b", "a"):
        append_n(store, case_id, 4)

    def fold(state: list[str], event: StoredEvent) -> list[str]:
        return [*state, f"{event.version}:{event.event_type}"]

    states = list(replay(store, fold, lambda case_id: [case_id]))
    assert states == [("a", ["a", "1:step0", "2:step1", "3:step2", "4:step3"]),
                      ("b", ["b", "1:step0", "2:step1", "3:step2", "4:step3"])]
    assert states == list(replay(store, fold, lambda case_id: [case_id]))


def test_a_history_with_a_gap_is_refused_not_folded() -> None:
    store = MemoryStore()
    events = append_n(store, "c", 3)
    with pytest.raises(StoreError, match="case 'c': event 2 is 'c' version 3; the history is not contiguous"):
        fold_case([events[0], events[2]], lambda state, event: state + 1, 0)
    assert fold_case(events, lambda state, event: state + 1, 0) == 3


def test_postgres_url_without_psycopg_says_which_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "psycopg", None)  # as in an install without the extra
    with pytest.raises(StoreError, match=r"needs psycopg 3: pip install 'qpr-rules\[postgres\]'"):
        open_store("postgresql://qpr@/qpr")


def test_layers_engine_and_policy_do_not_import_the_stores() -> None:
    """The stores sit under procedure/; the decision engine and the policy loader know none of
    the persistent ones. The engine's case API (engine/case.py, opened by Engine.case) is handed a
    store and sees it only through the abstract interface (procedure/store_api.py, which imports
    nothing of ours but errors), with the in-memory store as the default when none is given: the
    application chooses SQLite or PostgreSQL, and the engine cannot tell which."""
    src = ROOT / "src" / "qpr_rules"
    case_api = {src / "engine" / "case.py", src / "engine" / "engine.py"}
    for package in ("engine", "policy"):
        for module in (src / package).rglob("*.py"):
            text = module.read_text()
            for store in ("sqlite_store", "postgres_store", "procedure.replay"):
                assert store not in text, f"{module.relative_to(ROOT)} imports {store}"
            if module not in case_api:
                for store in ("store_api", "memory_store"):
                    assert store not in text, f"{module.relative_to(ROOT)} imports {store}"
    for module in (src / "procedure").glob("*store*.py"):  # the stores import only errors and stdlib
        imports = [line for line in module.read_text().splitlines() if line.startswith(("import ", "from "))]
        ours = [line for line in imports if "qpr_rules" in line]
        assert all(line.startswith(("from qpr_rules.errors", "from qpr_rules.procedure.")) for line in ours), ours


def test_a_server_that_cannot_start_fails_under_ci_and_says_what_failed(monkeypatch: pytest.MonkeyPatch) -> None:
    """.ci/run installs PostgreSQL: under CI a missing or broken server is a failure naming the
    step that failed, never a skip; elsewhere a skip with the same reason."""
    fake = Path(tempfile.mkdtemp(prefix="qpr-fake-pg-"))
    try:
        (fake / "initdb").write_text("#!/bin/sh\necho 'initdb: error: cannot be run here' >&2\nexit 1\n")
        (fake / "initdb").chmod(0o755)
        fake.chmod(0o755)
        monkeypatch.setattr(cluster_module, "_bindir", lambda: fake)
        monkeypatch.setenv("CI", "true")
        with pytest.raises(pytest.fail.Exception) as failed, cluster_module.running_cluster():
            pass
        message = str(failed.value)
        assert "no PostgreSQL server for the store tests: initdb failed (exit 1)" in message
        assert "initdb: error: cannot be run here" in message and ".ci/run should have installed it" in message
        monkeypatch.delenv("CI")
        with pytest.raises(pytest.skip.Exception, match="initdb failed"), cluster_module.running_cluster():
            pass
    finally:
        shutil.rmtree(fake, ignore_errors=True)
