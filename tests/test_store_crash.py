"""A writer killed with SIGKILL inside the append transaction leaves no torn event.

50 times a writer process is stopped at a point inside its append transaction (after BEGIN, after
the version check, after the INSERT and before COMMIT: tests/store_crash_writer.py's hook) and
killed there; 10 more times it is killed at a random moment of a free append loop, which lands
inside COMMIT too. After each kill a fresh reader finds every case's versions contiguous from 1,
every event whole (its payload exactly what the writer wrote for that case and version), every
event the writer reported committed, the event it was killed inside absent, and a replay that
reads the same twice. SQLite and PostgreSQL (a throwaway server, tests/pg_cluster.py).
"""

from __future__ import annotations

import contextlib
import json
import random
import signal
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from qpr_rules.procedure.store_api import open_store
from tests.pg_cluster import Cluster, running_cluster
from tests.store_crash_writer import CASES, payload

ROOT = Path(__file__).resolve().parents[1]
POINTS = ("begun", "checked", "inserted")
TARGETED_KILLS = 50
RANDOM_KILLS = 10


@pytest.fixture(scope="module")
def pg_cluster() -> Iterator[Cluster]:
    with running_cluster() as cluster:
        yield cluster


@pytest.fixture(params=["sqlite", "postgres"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return str(tmp_path / "events.db")
    cluster: Cluster = request.getfixturevalue("pg_cluster")
    return cluster.database()


def _writer(url: str, point: str, stop_at: int) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, str(ROOT / "tests" / "store_crash_writer.py"), url, point,
                             str(stop_at)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT)


def _kill(proc: subprocess.Popen[str]) -> tuple[list[str], str]:
    proc.send_signal(signal.SIGKILL)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == -signal.SIGKILL, err
    return out.splitlines(), err


def _check_store(url: str, committed: set[tuple[str, int]],
                 absent: set[tuple[str, int]]) -> set[tuple[str, int]]:
    store = open_store(url)
    try:
        replay = list(store.histories())
        assert replay == list(store.histories())  # the same on every replay
        found: set[tuple[str, int]] = set()
        for history in replay:
            case_id = history[0].case_id
            assert case_id in CASES
            assert [event.version for event in history] == list(range(1, len(history) + 1)), case_id
            for event in history:
                assert event.payload == payload(case_id, event.version), f"torn event {case_id} v{event.version}"
                assert json.loads(event.payload)["version"] == event.version
                found.add((case_id, event.version))
            assert history == store.events(case_id)
        assert committed <= found, f"committed events lost: {sorted(committed - found)}"
        assert not (absent & found), f"an event killed before COMMIT is stored: {sorted(absent & found)}"
        return found
    finally:
        store.close()


def test_writers_killed_inside_the_append_transaction_leave_no_torn_event(url: str) -> None:
    rng = random.Random(17)
    committed: set[tuple[str, int]] = set()
    killed_inside: set[tuple[str, int]] = set()
    for kill in range(TARGETED_KILLS):
        point = POINTS[kill % len(POINTS)]
        proc = _writer(url, point, rng.randint(1, 4))
        assert proc.stdout is not None
        for line in proc.stdout:  # wait until it stops inside the transaction
            words = line.split()
            if words[0] == "committed":
                committed.add((words[1], int(words[2])))
            elif words[0] == "paused":
                paused = (words[1], int(words[2]))
                break
        else:
            pytest.fail(f"writer ended without reaching {point}: {proc.communicate()[1]}")
        _kill(proc)
        killed_inside.add(paused)
        found = _check_store(url, committed, {paused})
        assert found == committed, f"kill {kill} at {point}: {len(found)} stored, {len(committed)} committed"
    # the version a writer was killed inside is free: most were later written whole by the next writer
    assert len(killed_inside & committed) >= len(killed_inside) - 3

    for _ in range(RANDOM_KILLS):  # anywhere, COMMIT included: what was reported is there
        proc = _writer(url, "free", 0)
        with contextlib.suppress(subprocess.TimeoutExpired):  # it runs until killed
            proc.wait(timeout=rng.uniform(0.6, 1.5))
        lines, err = _kill(proc)
        committed |= {(w[1], int(w[2])) for w in map(str.split, lines) if w[0] == "committed"}
        found = _check_store(url, committed, set())
        assert len(found - committed) <= 1, err  # killed after COMMIT, before it printed so
        committed = found


def test_sqlite_file_is_intact_after_the_kills(tmp_path: Path) -> None:
    path = tmp_path / "events.db"
    for kill in range(6):
        proc = _writer(str(path), POINTS[kill % len(POINTS)], 2)
        assert proc.stdout is not None
        for line in proc.stdout:
            if line.startswith("paused"):
                break
        _kill(proc)
    with sqlite3.connect(path) as raw:
        assert raw.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        assert raw.execute("SELECT count(*) FROM qpr_events").fetchone()[0] >= 6
