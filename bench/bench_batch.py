"""Start-up, load, and batch throughput with peak memory, each in fresh processes (run by
bench_placement.py after its per-decision table; also runnable alone).

    .venv/bin/python bench/bench_batch.py                      # 10^4 and 10^6 cases
    .venv/bin/python bench/bench_batch.py --sizes 2000         # quick

Batches go through the command line exactly as a user runs them,
`qpr-rules decide qpr.placement --batch FILE.jsonl [--evaluator compiled] [--jobs N] > /dev/null`,
over generated placement requests (bench_placement.generate, the same distribution as the
per-decision table) written once to a JSON Lines file in the system temporary directory. Peak
memory is the largest resident set of any process of the run (the CLI or one of its workers).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
CLI = BIN / "qpr-rules"
sys.path.insert(0, str(ROOT / "bench"))


def cases_file(n: int, seed: int = 1) -> Path:
    """n generated placement requests as JSON Lines (made once, then reused)."""
    path = Path(tempfile.gettempdir()) / f"qpr-bench-placement-{n}-{seed}.jsonl"
    if not path.exists():
        from bench_placement import generate

        tmp = path.with_suffix(".part")
        with tmp.open("w", encoding="utf-8") as out:
            done = 0
            while done < n:  # in slices: bounded memory for 10^6 cases too
                size = min(50_000, n - done)
                for case in generate(size, seed * 1_000_003 + done):
                    out.write(json.dumps(case, default=dt.date.isoformat) + "\n")
                done += size
        tmp.rename(path)
    return path


_PEAK = ("import resource, subprocess, sys; r = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL); "
         "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, r.returncode)")


def run_measured(argv: list[str]) -> tuple[float, float, int]:
    """Wall seconds, peak resident MB of the largest process, exit code."""
    start = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", _PEAK, *argv], capture_output=True, text=True, check=True)
    wall = time.perf_counter() - start
    kb, code = out.stdout.split()
    return wall, int(kb) / 1024, int(code)


def startup_rows(repeats: int = 5) -> list[tuple[str, float, float, str]]:
    """(what, median ms, fastest ms, target) measured in fresh processes."""
    py = sys.executable
    load = ("import time; t = time.perf_counter(); from qpr_rules import Engine; t1 = time.perf_counter(); "
            "Engine.from_bundled(evaluator='{ev}'); print(time.perf_counter() - t1)")
    fact = str(ROOT / "examples" / "placement_home_on_hold.yaml")
    timed_import = "import time; t = time.perf_counter(); {stmt}; print(time.perf_counter() - t)"
    # Bytecode cached, as in an installed wheel: a shell that sets PYTHONDONTWRITEBYTECODE would
    # otherwise time the compilation of every changed module on every run.
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    rows = []
    for what, argv, target, inner in [
        ("import qpr_rules (process start excluded)",
         [py, "-c", timed_import.format(stmt="import qpr_rules")], "< 100 ms", "printed"),
        ("from qpr_rules import Engine (pydantic, fact models, YAML, durable_rules)",
         [py, "-c", timed_import.format(stmt="from qpr_rules import Engine")], "", "printed"),
        ("load + validate + compile the bundled policies (fast path)", [py, "-c", load.format(ev="compiled")],
         "< 150 ms", "printed"),
        ("the same, durable path (its rulesets register on first use)", [py, "-c", load.format(ev="durable")],
         "", "printed"),
        ("python -c pass (interpreter start, for reference)", [py, "-c", "pass"], "", "wall"),
        ("qpr-rules decide qpr.placement --facts FILE, whole process",
         [str(CLI), "decide", "qpr.placement", "--facts", fact], "< 300 ms", "wall"),
        ("the same with --evaluator compiled", [str(CLI), "decide", "qpr.placement", "--facts", fact,
                                                "--evaluator", "compiled"], "", "wall"),
    ]:
        samples = []
        subprocess.run(argv, capture_output=True, check=True, env=env)  # writes .pyc files, as pip does
        for _ in range(repeats):
            start = time.perf_counter()
            out = subprocess.run(argv, capture_output=True, text=True, check=True, env=env)
            wall = time.perf_counter() - start
            if inner == "printed":
                samples.append(float(out.stdout.strip()) * 1000)
            else:
                samples.append(wall * 1000)
        rows.append((what, statistics.median(samples), min(samples), target))
    return rows


def batch_rows(sizes: list[int]) -> list[tuple[int, str, int, float, float, int]]:
    """(cases, evaluator, jobs, seconds, peak MB, lines out) for each configuration."""
    rows = []
    for n in sizes:
        path = cases_file(n)
        configs = [("compiled", 1), ("compiled", 2)]
        if n <= 20_000:  # the durable path at 10^6 would take most of an hour here
            configs.append(("durable", 2))
        for evaluator, jobs in configs:
            argv = [str(CLI), "decide", "qpr.placement", "--batch", str(path), "--evaluator", evaluator,
                    "--jobs", str(jobs)]
            wall, peak, code = run_measured(argv)
            if code not in (0, 1):
                raise SystemExit(f"batch failed with exit {code}: {' '.join(argv)}")
            rows.append((n, evaluator, jobs, wall, peak, code))
    return rows


def print_tables(sizes: list[int], repeats: int = 5) -> None:
    console = Console(width=140)
    table = Table(title=f"start-up and load (fresh processes, {repeats} runs after one caching bytecode)")
    table.add_column("what")
    table.add_column("median ms", justify="right")
    table.add_column("fastest ms", justify="right")
    table.add_column("target", justify="right")
    for what, ms, fastest, target in startup_rows(repeats):
        table.add_row(what, f"{ms:.0f}", f"{fastest:.0f}", target)
    console.print(table)
    table = Table(title="qpr-rules decide qpr.placement --batch FILE.jsonl > /dev/null (whole process)")
    for col in ("cases", "evaluator", "jobs", "seconds", "decisions/s", "peak MB (largest process)"):
        table.add_column(col, justify="right")
    for n, evaluator, jobs, wall, peak, _ in batch_rows(sizes):
        table.add_row(f"{n:,}", evaluator, str(jobs), f"{wall:.1f}", f"{n / wall:,.0f}", f"{peak:.0f}")
    console.print(table)
    print(f"(cores: {os.cpu_count()}; target: 1,000,000 placement requests in under 60 s)")


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--sizes", default="10000,1000000", help="comma-separated batch sizes")
    parser.add_argument("--repeats", type=int, default=5, help="fresh processes per start-up row")
    args = parser.parse_args()
    print_tables([int(s) for s in args.sizes.split(",") if s], args.repeats)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
