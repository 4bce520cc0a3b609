"""Merge a QPR_TEST_TIMES log (tests/conftest.py) into tests/test_times.json: each test's setup,
call and teardown seconds summed, the tests not in the log keeping their earlier figure."""

from __future__ import annotations

import json
import sys
from pathlib import Path


def main(log: Path, out: Path) -> None:
    times: dict[str, float] = json.loads(out.read_text(encoding="utf-8")) if out.exists() else {}
    measured: dict[str, float] = {}
    for line in log.read_text(encoding="utf-8").splitlines():
        seconds, _phase, _outcome, nodeid = line.split(None, 3)
        measured[nodeid] = measured.get(nodeid, 0.0) + float(seconds)
    times.update({k: round(v, 2) for k, v in measured.items()})
    out.write_text(json.dumps(dict(sorted(times.items())), indent=0) + "\n", encoding="utf-8")
    print(f"{out}: {len(measured)} test(s) measured, {len(times)} in all")


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))
