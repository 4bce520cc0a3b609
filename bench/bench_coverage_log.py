"""Coverage of a large decision log in one streaming pass: lines per second and peak memory.

    .venv/bin/python bench/bench_coverage_log.py                  # 1,000,000 lines (~1 GB, a few minutes)
    .venv/bin/python bench/bench_coverage_log.py --lines 100000   # a quicker look
    .venv/bin/python bench/bench_coverage_log.py --verify         # also check the hash chain

The log is made of real records: a pool of decisions over generated facts for every bundled
decision goes through Engine.decide with a memory sink, and the pool is written out again and
again with a fresh id and the hash chain recomputed for every line, so the file is a valid log
that `qpr-rules coverage log --verify` accepts. Then `coverage.collect.read_logs` reads it once,
with a progress bar; the resident memory (the process's peak RSS) is sampled as the read goes,
so a table shows whether memory stays flat as the log grows. Nothing here is a timed test.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn, TransferSpeedColumn

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from qpr_rules import Engine  # noqa: E402
from qpr_rules.analysis.generate import sample  # noqa: E402
from qpr_rules.coverage.collect import read_logs  # noqa: E402
from qpr_rules.coverage.data import CoverageData  # noqa: E402
from qpr_rules.coverage.report_core import build_report  # noqa: E402
from qpr_rules.coverage.textreport import render_text  # noqa: E402
from qpr_rules.engine.decision_log import GENESIS, MemorySink, line_hash  # noqa: E402


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: kilobytes


def record_pool(engine: Engine, per_decision: int) -> list[dict[str, Any]]:
    sink = MemorySink()
    logged = Engine(engine.policies, decision_log=sink)
    for decision in engine.decision_ids:
        for facts in sample(engine.fact_model(decision), per_decision, seed=11):
            logged.decide(decision, facts)
    return sink.records


def write_log(path: Path, pool: list[dict[str, Any]], lines: int) -> None:
    prev = GENESIS
    with path.open("wb") as f:
        for i in range(lines):
            record = {**pool[i % len(pool)], "id": uuid.UUID(int=i).hex, "prev": prev}
            if i == 0:  # the log's first line says it continues from nothing (format v2)
                record["continues"] = None
            line = json.dumps(record, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
            f.write(line + b"\n")
            prev = line_hash(line)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--per-decision", type=int, default=200, help="distinct decisions per question")
    parser.add_argument("--verify", action="store_true", help="check the hash chain while reading")
    parser.add_argument("--log", type=Path, default=None, help="keep the log here (default: a temp file)")
    args = parser.parse_args()

    engine = Engine.load([ROOT / "policies"])
    pool = record_pool(engine, args.per_decision)
    with tempfile.TemporaryDirectory() as tmp:
        log = args.log or Path(tmp) / "decisions.log"
        t0 = time.perf_counter()
        write_log(log, pool, args.lines)
        size = log.stat().st_size
        print(f"wrote {args.lines:,} lines ({size / 1e6:,.0f} MB) from {len(pool):,} distinct decisions "
              f"in {time.perf_counter() - t0:.1f} s")

        data = CoverageData.for_policies(engine.policies)
        before = peak_rss_mb()
        samples: list[tuple[int, float]] = []
        seen = [0, 0]  # lines, bytes
        step = max(1, args.lines // 10)

        with Progress(TextColumn("reading"), BarColumn(), TransferSpeedColumn(), TimeRemainingColumn(),
                      transient=False) as progress:
            task = progress.add_task("read", total=size)

            def advance(n: int) -> None:
                seen[0] += 1
                seen[1] += n
                if seen[0] % 20_000 == 0:
                    progress.update(task, completed=seen[1])
                if seen[0] % step == 0:
                    samples.append((seen[0], peak_rss_mb()))

            t1 = time.perf_counter()
            read = read_logs([log], data, verify=args.verify, progress=advance)
            elapsed = time.perf_counter() - t1
            progress.update(task, completed=size)

    broken = [p for p in read.problems if p.severity == "error"]
    print(f"\nread {read.lines:,} lines in {elapsed:.1f} s: {read.lines / elapsed:,.0f} lines per second "
          f"({size / 1e6 / elapsed:,.0f} MB/s){', chain verified' if args.verify else ''}")
    print(f"peak RSS before reading {before:,.1f} MB, after {peak_rss_mb():,.1f} MB")
    print("\n  lines read   peak RSS (MB)")
    for n, mb in samples:
        print(f"  {n:>10,}   {mb:>13,.1f}")
    if samples:
        growth = samples[-1][1] - samples[0][1]
        print(f"growth from the first to the last tenth: {growth:+.1f} MB "
              f"({'flat' if growth < 5 else 'NOT flat'})")
    print()
    print(render_text(build_report(engine.policies, data)))
    if broken or read.counted != args.lines:
        print(f"error: {len(broken)} chain problem(s), {read.counted:,} of {args.lines:,} lines counted")
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
