"""The writer that tests/test_store_crash.py kills: appends to a few cases round-robin, each event's
payload a function of its case and version (so a reader can tell a whole event from a torn one),
and reports on stdout each event it committed.

usage: store_crash_writer.py URL POINT N
  POINT "begun", "checked" or "inserted": at the Nth append, stop inside the transaction at that
  point (after BEGIN, after the version check, after the INSERT and before COMMIT), print
  "paused CASE VERSION" and wait to be killed;
  POINT "free": append without stopping until killed (the parent kills at a random moment, which
  may be inside COMMIT itself).
"""

from __future__ import annotations

import json
import sys
import time
from datetime import date

from qpr_rules.procedure import postgres_store, sqlite_store
from qpr_rules.procedure.store_api import open_store

CASES = ("home-a", "home-b", "home-c")


def payload(case_id: str, version: int) -> str:
    """What event `version` of `case_id` holds; every fifth one 400 kB, more than the writer's SQLite
    page cache (below), so that its pages are spilled into the WAL before COMMIT."""
    size = 400_000 if version % 5 == 3 else (version * 7919) % 20_000
    return json.dumps({"case": case_id, "version": version, "pad": "é" * (size // 2)},
                      sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def main() -> None:
    url, point, stop_at = sys.argv[1], sys.argv[2], int(sys.argv[3])
    store = open_store(url)
    if isinstance(store, sqlite_store.SQLiteStore):  # 50 pages: a large event spills before COMMIT
        store._conn.execute("PRAGMA cache_size = 50")
    versions = {case_id: len(store.events(case_id)) for case_id in CASES}  # then kept here
    appends = 0

    def hook(where: str, case_id: str, version: int) -> None:
        if where == point and appends + 1 == stop_at:
            print(f"paused {case_id} {version}", flush=True)
            time.sleep(600)  # killed here

    sqlite_store._test_hook = hook
    postgres_store._test_hook = hook
    while True:
        case_id = CASES[appends % len(CASES)]
        version = versions[case_id] + 1
        store.append(case_id, version - 1, "qpr", "note", date(2025, 1, 1), payload(case_id, version))
        versions[case_id] = version
        appends += 1
        print(f"committed {case_id} {version}", flush=True)


if __name__ == "__main__":
    main()
