"""Replaying a store through the procedure: 10^5 cases of 10 events each to each case's real state
(issue 17.4), beside raw sqlite3 reading the same rows, in one run.

The store is filled with the QPR procedure's own events (policies/qpr.yaml, `qpr.home`): the
example histories of examples/procedure/ and every run of 10 consecutive events of them (so
departures, departures' duties and holds occur), each at 100 date shifts, recorded through
`Engine.case(...).record` (validated, run on durable_rules and cross-checked by the compiled
evaluator, appended to a store). Their rows, as the store wrote them, are then copied under 10^5
case ids into one SQLite store in one transaction (appending 10^6 events one transaction each is
bench_store.py's subject, not this one's).

Timed, in one run: raw sqlite3 reading every row in order (the baseline); the store's
`histories()` (rows to StoredEvents); `Engine.replay` (each event validated again from its JSON,
run on the compiled evaluator, every `--cross-check-every`-th case on durable_rules too), reading
each case's state, hold, open duties and departures, in 1 process and in `--jobs` processes; and
`Engine.case` alone on a sample of cases (every event on both evaluators), whose results must be
exactly the replay's for the same cases. Each replaying process collects cycles as the qpr-rules
process does (every 50,000 allocations, start-up's objects frozen: cli/app.py).

    .venv/bin/python bench/bench_replay.py                  # 10^5 cases x 10 events
    .venv/bin/python bench/bench_replay.py --cases 300      # tests/test_bench_smoke.py
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import gc
import hashlib
import json
import multiprocessing
import os
import platform
import re
import resource
import sqlite3
import sys
import tempfile
import time
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

from qpr_rules.engine.case import Case
from qpr_rules.engine.engine import REPLAY_CROSS_CHECK_EVERY, Engine
from qpr_rules.procedure.memory_store import MemoryStore
from qpr_rules.procedure.sqlite_store import SQLiteStore

ROOT = Path(__file__).resolve().parents[1]
PROC = "qpr.home"
EVENTS = 10
SHIFTS = 100
CHECK_EVERY = 1000  # every 1000th case is replayed alone by Engine.case too, and compared
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def templates() -> list[list[dict[str, Any]]]:
    """Histories of 10 events: each example's first 10, and every run of 10 consecutive events of
    the examples one after the other (a run across two histories: departures, out-of-order steps)."""
    pool: list[dict[str, Any]] = []
    out: list[list[dict[str, Any]]] = []
    for path in sorted((ROOT / "examples" / "procedure").glob("*.jsonl")):
        events = [json.loads(line) for line in path.read_text().splitlines()]
        for event in events:
            event.pop("case")
        out.append(events[:EVENTS])
        pool.extend(events)
    out.extend(pool[start:start + EVENTS] for start in range(len(pool) - EVENTS + 1))
    return out


def shifted(event: dict[str, Any], days: int) -> dict[str, Any]:
    return {k: (dt.date.fromisoformat(v) + dt.timedelta(days=days)).isoformat()
            if isinstance(v, str) and _DATE.match(v) else v for k, v in event.items()}


def outcome(case: Case) -> str:
    """A digest of all a case answers: its summary (state, memory, duties, departures, allowed
    next), its hold, and each step with the transition taken and the version that judged it."""
    hold = case.hold()
    held = None if hold is None else hold.model_dump(mode="json")
    text = json.dumps({"summary": case.summary(), "hold": held,
                       "steps": [dataclasses.asdict(s) for s in case.steps]}, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def replay_share(path: str, share: tuple[int, int], every: int, engine: Engine | None = None
                 ) -> tuple[int, int, Counter[str], dict[str, str]]:
    """Replay this process's share of the store: (cases, events, states counted, a digest of each
    case at a position that is a multiple of CHECK_EVERY). Reads what a caller of the replay reads
    of every case: state, hold, open duties, departures."""
    engine = engine or Engine.from_bundled()
    # the collector as the qpr-rules process sets it (cli/app.py): rarer collections, and what
    # start-up made (the engine, its models) frozen out of them
    gc.set_threshold(50_000, *gc.get_threshold()[1:])
    gc.freeze()
    store = SQLiteStore(path)
    states: Counter[str] = Counter()
    digests: dict[str, str] = {}
    cases = events = 0
    for n, case in enumerate(engine.replay(store, cross_check_every=every, share=share)):
        position = share[0] + n * share[1]
        hold = case.hold()
        states[f"{case.state}{' (hold)' if hold is not None and hold.reinstated_on is None else ''}"] += 1
        states["open duties"] += len(case.duties)
        states["departures"] += len(case.departures)
        cases += 1
        events += case.version
        if position % CHECK_EVERY == 0:
            digests[case.case_id] = outcome(case)
    store.close()
    return cases, events, states, digests


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--jobs", type=int, default=2,
                        help="processes for the parallel replay (1 process is timed as well)")
    parser.add_argument("--cross-check-every", type=int, default=REPLAY_CROSS_CHECK_EVERY,
                        help="every Nth case also on durable_rules (default %(default)s; 1: all)")
    parser.add_argument("--dir", default=None, help="where the store file goes (default: a temporary dir)")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="qpr-bench-replay-", dir=args.dir))
    print(f"{dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC; {platform.python_implementation()} "
          f"{platform.python_version()}, SQLite {sqlite3.sqlite_version}, {os.cpu_count()} cores, load "
          f"average {os.getloadavg()[0]:.1f}; store in {workdir}")

    engine = Engine.from_bundled()
    recorded = MemoryStore()
    kinds = templates()
    for k, history in enumerate(kinds):
        for shift in range(SHIFTS):
            case = engine.case(PROC, f"t{k:02d}-{shift:03d}", recorded)
            for event in history:
                case.record(shifted(event, 7 * shift))
    rows = {case_id: recorded.events(case_id) for case_id in recorded.case_ids()}
    sources = list(rows)
    path = workdir / "events.db"
    SQLiteStore(path, synchronous="NORMAL").close()  # the store's own file: schema, WAL, 0600
    with sqlite3.connect(path) as db:
        db.executemany("INSERT INTO qpr_events VALUES (?, ?, ?, ?, ?, ?, ?)",
                       ((f"home-{n:07d}", e.version, e.procedure_id, e.event_type, e.occurred_on.isoformat(),
                         e.recorded_at.isoformat(), e.payload)
                        for n in range(args.cases) for e in rows[sources[n % len(sources)]]))
    total = args.cases * EVENTS
    print(f"{args.cases:,} cases x {EVENTS} events = {total:,} events ({path.stat().st_size / 1e6:,.0f} MB), "
          f"copied from {len(sources):,} histories recorded through Engine.case ({len(kinds)} kinds x "
          f"{SHIFTS} date shifts)")

    reader = sqlite3.connect(path)
    started, cpu = time.perf_counter(), time.process_time()
    count = sum(1 for _ in reader.execute("SELECT case_id, version, procedure_id, event_type, occurred_on, "
                                          "recorded_at, payload FROM qpr_events ORDER BY case_id, version"))
    raw_s, raw_cpu = time.perf_counter() - started, time.process_time() - cpu
    reader.close()
    store = SQLiteStore(path)
    started, cpu = time.perf_counter(), time.process_time()
    read = sum(len(h) for h in store.histories())
    histories_s, histories_cpu = time.perf_counter() - started, time.process_time() - cpu
    store.close()
    if count != total or read != total:
        print(f"error: {count:,} rows and {read:,} events read, {total:,} written")
        return 1

    every = args.cross_check_every
    started, cpu = time.perf_counter(), time.process_time()
    one = replay_share(str(path), (0, 1), every, engine)
    one_s, one_cpu = time.perf_counter() - started, time.process_time() - cpu
    context = multiprocessing.get_context("spawn")  # durable_rules' C state is not copied
    started, children = time.perf_counter(), _children_cpu()
    with ProcessPoolExecutor(args.jobs, mp_context=context) as pool:
        shares = [(k, args.jobs) for k in range(args.jobs)]
        parts = list(pool.map(replay_share, [str(path)] * args.jobs, shares, [every] * args.jobs))
    jobs_s, jobs_cpu = time.perf_counter() - started, _children_cpu() - children  # workers joined
    states: Counter[str] = Counter()
    digests: dict[str, str] = {}
    for _, _, part_states, part_digests in parts:
        states.update(part_states)
        digests.update(part_digests)
    counted = (sum(p[0] for p in parts), sum(p[1] for p in parts))
    if (one[0], one[1]) != (args.cases, total) or counted != (args.cases, total) or \
            states != one[2] or digests != one[3]:
        print(f"error: the replays differ: 1 process {one[:3]}, {args.jobs} processes {states}")
        return 1

    # Engine.case, each case alone (every event on both evaluators), on the replay's sample
    store = SQLiteStore(path)
    started, cpu = time.perf_counter(), time.process_time()
    alone = {case_id: outcome(engine.case(PROC, case_id, store)) for case_id in one[3]}
    alone_s, alone_cpu = time.perf_counter() - started, time.process_time() - cpu
    store.close()
    wrong = [case_id for case_id in alone if alone[case_id] != one[3][case_id]]
    if wrong:
        print(f"error: Engine.replay and Engine.case differ on {len(wrong)} case(s): {wrong[:5]}")
        return 1
    print(f"every case replayed; {len(alone):,} (1 in {CHECK_EVERY:,}) replayed alone by Engine.case too: "
          f"the same state, hold, duties, departures and steps; every {every}th case cross-checked on "
          f"durable_rules")
    print("states: " + ", ".join(f"{name} {n:,}" for name, n in sorted(one[2].items())))
    print(f"{'':62} {'wall s':>8} {'CPU s':>8} {'us/event':>9} {'x baseline':>10} {'CPU us/event':>12}")
    raw_us = raw_s / total * 1e6

    def row(label: str, seconds: float, cpu: float, events: int) -> None:
        per, cpu_per = seconds / events * 1e6, cpu / events * 1e6
        print(f"{label:62} {seconds:8.2f} {cpu:8.2f} {per:9.1f} {per / raw_us:10.1f} {cpu_per:12.1f}")

    row("read all rows in order, raw sqlite3 (baseline)", raw_s, raw_cpu, total)
    row("read every case, histories() (StoredEvents, no procedure)", histories_s, histories_cpu, total)
    row("Engine.replay to each case's state, 1 process", one_s, one_cpu, total)
    row(f"Engine.replay to each case's state, {args.jobs} processes (start-up in)", jobs_s, jobs_cpu, total)
    row(f"Engine.case, each case alone ({len(alone):,} cases, both evaluators)", alone_s, alone_cpu,
        len(alone) * EVENTS)
    target = 60.0 * total / 1_000_000
    best = min(one_s, jobs_s)
    print(f"target: {total:,} events replayed to each case's state in under {target:.0f} s: "
          f"{best:.1f} s wall ({'met' if best < target else 'NOT met'}; "
          f"load average now {os.getloadavg()[0]:.1f}); "
          f"Engine.case alone would take {alone_s / (len(alone) * EVENTS) * total:.0f} s")
    for file in workdir.iterdir():
        file.unlink()
    workdir.rmdir()
    return 0


if __name__ == "__main__":
    sys.exit(main())
