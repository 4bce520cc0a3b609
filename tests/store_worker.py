"""A writer process for tests/test_event_store.py: appends N events to one case, each after reading
the case's version, retrying on VersionConflict; prints how many conflicts it met.

usage: store_worker.py URL CASE_ID N WORKER GO_FILE (waits until GO_FILE exists, so that all writers
start together)
"""

from __future__ import annotations

import json
import sys
import time
from datetime import date
from pathlib import Path

from qpr_rules.procedure.store_api import VersionConflict, open_store


def main() -> None:
    url, case_id, count, worker, go = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], Path(sys.argv[5])
    store = open_store(url)
    deadline = time.monotonic() + 60
    while not go.exists():
        if time.monotonic() > deadline:
            sys.exit("never told to go")
        time.sleep(0.005)
    conflicts = 0
    for n in range(count):
        while True:
            version = len(store.events(case_id))
            try:
                store.append(case_id, version, "qpr", "note", date(2025, 1, 1),
                             json.dumps({"worker": worker, "n": n}))
                break
            except VersionConflict as conflict:
                assert conflict.expected == version and conflict.actual > version, conflict
                conflicts += 1
    store.close()
    print(f"conflicts {conflicts}")


if __name__ == "__main__":
    main()
