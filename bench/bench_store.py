"""The SQLite event store: append, then replay, 10^5 cases of 10 events each (issue 17.4).

Appends go through `SQLiteStore.append` (one BEGIN IMMEDIATE transaction per event, the version
check, canonical JSON), events of different cases interleaved as they arrive in an agency, beside
raw sqlite3 doing the same transactions with none of the store's checks. Replay reads every case's
events in version order and folds them through a function (`--fold`; the procedure's state machine
plugs in here), beside raw sqlite3 reading the same rows with nothing built from them. Every
replayed case is checked: 10 contiguous versions, each payload the one appended.

    .venv/bin/python bench/bench_store.py                  # 10^5 cases x 10 events
    .venv/bin/python bench/bench_store.py --cases 200      # tests/test_bench_smoke.py
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import platform
import sqlite3
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from qpr_rules.procedure.replay import replay
from qpr_rules.procedure.sqlite_store import SQLiteStore
from qpr_rules.procedure.store_api import StoredEvent

EVENT_TYPES = ("concern-raised", "consulted", "referral-submitted", "pco-reviewed", "accepted",
               "information-gathered", "internal-review", "call-held", "outcome", "written-request")


def event_payload(case: int, version: int) -> str:
    return json.dumps({"case": case, "version": version, "by": {"role": "PCO", "name": f"worker {case % 97}"},
                       "decided": "proceed", "notes": "é" * (version * 3)})


def count_fold(state: dict[str, Any], event: StoredEvent) -> dict[str, Any]:
    """The default fold: what a state machine does at the least (reads the event, moves on)."""
    body = json.loads(event.payload)
    state["last"] = event.event_type
    state["events"] += 1
    state["ok"] = state["ok"] and body["version"] == event.version
    return state


def initial(case_id: str) -> dict[str, Any]:
    return {"last": None, "events": 0, "ok": True}


def load_fold(spec: str) -> Callable[[Any, StoredEvent], Any]:
    module, _, name = spec.partition(":")
    fold: Callable[[Any, StoredEvent], Any] = getattr(importlib.import_module(module), name)
    return fold


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--events", type=int, default=10)
    parser.add_argument("--synchronous", default="NORMAL",
                        help="SQLite's synchronous for the fill (NORMAL: durable against a crash of the "
                             "program; FULL, the store's default, also against a power cut: timed on "
                             "--full-sample events)")
    parser.add_argument("--full-sample", type=int, default=1000)
    parser.add_argument("--fold", default="", help="module:function folding (state, StoredEvent)")
    parser.add_argument("--dir", default=None, help="where the store file goes (default: a temporary dir)")
    args = parser.parse_args()
    fold = load_fold(args.fold) if args.fold else count_fold
    total = args.cases * args.events
    workdir = Path(tempfile.mkdtemp(prefix="qpr-bench-store-", dir=args.dir))
    print(f"{platform.python_implementation()} {platform.python_version()}, SQLite {sqlite3.sqlite_version}, "
          f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}; store in {workdir}")

    path = workdir / "events.db"
    store = SQLiteStore(path, synchronous=args.synchronous)
    day = date(2025, 1, 1)
    started = time.perf_counter()
    for version in range(1, args.events + 1):  # round by round: cases interleaved, as events arrive
        for case in range(args.cases):
            store.append(f"home-{case:07d}", version - 1, "qpr", EVENT_TYPES[(version - 1) % 10],
                         day + timedelta(days=version), event_payload(case, version))
    append_s = time.perf_counter() - started
    store.close()

    raw_path = workdir / "raw.db"
    raw = sqlite3.connect(raw_path, isolation_level=None)
    raw.execute("PRAGMA journal_mode=WAL")
    raw.execute(f"PRAGMA synchronous={args.synchronous}")
    raw.execute("CREATE TABLE e (case_id TEXT, version INTEGER, procedure_id TEXT, event_type TEXT, "
                "occurred_on TEXT, recorded_at TEXT, payload TEXT, PRIMARY KEY (case_id, version)) "
                "WITHOUT ROWID")
    sample = min(total, 100_000)
    started = time.perf_counter()
    for n in range(sample):
        case, version = n % args.cases, n // args.cases + 1
        raw.execute("BEGIN IMMEDIATE")
        raw.execute("INSERT INTO e VALUES (?, ?, 'qpr', ?, ?, ?, ?)",
                    (f"home-{case:07d}", version, EVENT_TYPES[(version - 1) % 10], "2025-01-02",
                     "2026-01-01T00:00:00+00:00", event_payload(case, version)))
        raw.execute("COMMIT")
    raw_append_s = time.perf_counter() - started
    raw.close()

    full = SQLiteStore(workdir / "full.db", synchronous="FULL")
    started = time.perf_counter()
    for n in range(args.full_sample):
        full.append(f"home-{n:07d}", 0, "qpr", "concern-raised", day, event_payload(n, 1))
    full_s = time.perf_counter() - started
    full.close()

    # replay: every case, one pass, folded; checked
    store = SQLiteStore(path)
    started = time.perf_counter()
    states = 0
    for case_id, state in replay(store, fold, initial):
        states += 1
        if fold is count_fold and not (state["events"] == args.events and state["ok"]):
            print(f"error: case {case_id} replayed wrong: {state}")
            return 1
    replay_s = time.perf_counter() - started
    if states != args.cases:
        print(f"error: {states} cases replayed, {args.cases} appended")
        return 1
    # per case, as the Case API reads one: events(case_id), 1 in 10 cases
    ids = list(store.case_ids())[:: 10]
    started = time.perf_counter()
    for case_id in ids:
        history = store.events(case_id)
        assert len(history) == args.events
    per_case_us = (time.perf_counter() - started) / len(ids) * 1e6
    store.close()

    reader = sqlite3.connect(path)
    started = time.perf_counter()
    rows = 0
    for _row in reader.execute("SELECT case_id, version, procedure_id, event_type, occurred_on, recorded_at, "
                               "payload FROM qpr_events ORDER BY case_id, version"):
        rows += 1
    raw_read_s = time.perf_counter() - started
    reader.close()
    if rows != total:
        print(f"error: {rows} rows, {total} appended")
        return 1

    print(f"{args.cases:,} cases x {args.events} events = {total:,} events "
          f"({path.stat().st_size / 1e6:,.0f} MB); every case replayed whole and in order")
    print(f"{'':52} {'seconds':>9} {'events/s':>11} {'us/event':>9} {'x baseline':>10}")

    def row(label: str, seconds: float, events: int, baseline: float | None) -> None:
        per = seconds / events * 1e6
        ratio = f"{per / baseline:.1f}" if baseline else "1.0"
        print(f"{label:52} {seconds:9.2f} {events / seconds:11,.0f} {per:9.1f} {ratio:>10}")

    raw_append_us = raw_append_s / sample * 1e6
    row(f"append, raw sqlite3 ({args.synchronous}; baseline, {sample:,} events)", raw_append_s, sample, None)
    row(f"append, SQLiteStore ({args.synchronous})", append_s, total, raw_append_us)
    row(f"append, SQLiteStore (FULL, the default; {args.full_sample:,} events)", full_s, args.full_sample,
        raw_append_us)
    raw_read_us = raw_read_s / total * 1e6
    row("read all rows in order, raw sqlite3 (baseline)", raw_read_s, total, None)
    row("replay: histories() folded through the fold", replay_s, total, raw_read_us)
    print(f"one case read alone with events(): {per_case_us:.0f} us ({len(ids):,} cases)")
    target = 60.0 * total / 1_000_000
    print(f"target: replay of {total:,} events under {target:.0f} s: "
          f"{replay_s:.1f} s ({'met' if replay_s < target else 'NOT met'})")
    for file in workdir.iterdir():
        file.unlink()
    workdir.rmdir()
    return 0


if __name__ == "__main__":
    sys.exit(main())
