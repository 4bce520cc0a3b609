"""Do processes add throughput? jobs=1 against jobs=N in one run, for `Engine.decide_many` and
`qpr-rules decide --batch`, with both evaluators (issue 21, item 5).

    .venv/bin/python bench/bench_jobs.py                        # 10^5 cases, jobs 1 and 2
    .venv/bin/python bench/bench_jobs.py --cases 2000 --check   # quick; answers compared too

Each configuration runs in a fresh process over the same generated placement requests
(bench_batch.cases_file: JSON Lines, written once): the command line exactly as a user runs it
(`... --batch FILE > /dev/null`), and the API as a script does it (the lines parsed to dicts,
`decide_many(..., jobs=N)`, each Decision's outcome read, as a caller acting on the answers does).
Printed per configuration: wall seconds, CPU seconds of every process of the run (the process and
its workers: the machine may be shared, so wall time alone says little), and jobs=N against
jobs=1 in wall time. With --check, every answer of jobs=N is compared with jobs=1's (the API's
as each Decision's to_json, which builds the explanations in the caller).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

from bench_batch import CLI, cases_file  # noqa: E402

# Runs the API in a child process, reads the outcome of each Decision (or, with check, hashes each
# Decision's JSON), and prints its own wall time around decide_many and a digest of the answers.
_API = """
import hashlib, json, sys, time
from qpr_rules import Engine
path, evaluator, jobs, check = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4] == "1"
def main():
    engine = Engine.from_bundled(evaluator=evaluator)
    with open(path, "rb") as f:
        cases = [json.loads(line) for line in f]
    digest, allowed = hashlib.sha256(), 0
    start = time.perf_counter()
    for decision in engine.decide_many("qpr.placement", cases, jobs=jobs):
        allowed += decision.outcome == "allow"
        if check:
            digest.update(decision.to_json().encode() + b"\\n")
    print(time.perf_counter() - start, allowed, digest.hexdigest())
if __name__ == "__main__":
    main()
"""

# Runs argv, then prints the CPU seconds of every process it started (they are all waited for).
_CPU = ("import resource, subprocess, sys; r = subprocess.run(sys.argv[2:], stdout=open(sys.argv[1], 'wb')); "
        "u = resource.getrusage(resource.RUSAGE_CHILDREN); print(u.ru_utime + u.ru_stime, r.returncode)")


def run(argv: list[str], out: Path) -> tuple[float, float]:
    """Wall and CPU seconds of argv and all its processes (stdout to out)."""
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", _CPU, str(out), *argv], capture_output=True, text=True,
                          check=True)
    wall = time.perf_counter() - start
    cpu, code = done.stdout.split()
    if code not in ("0", "1"):
        raise SystemExit(f"failed with exit {code}: {' '.join(argv)}\n{done.stderr}")
    return wall, float(cpu)


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--jobs", type=int, default=2, help="compared with jobs=1")
    parser.add_argument("--evaluators", default="compiled,durable")
    parser.add_argument("--kinds", default="batch,api", help="batch (the command line), api (decide_many)")
    parser.add_argument("--check", action="store_true", help="compare every answer of jobs=N with jobs=1")
    args = parser.parse_args()
    path = cases_file(args.cases)
    load = os.getloadavg()[0]
    print(f"{args.cases:,} placement cases; {os.cpu_count()} cores, load average {load:.1f} at the start; "
          f"python {sys.version.split()[0]}; {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}")
    print(f"{'what':<34} {'evaluator':>9} {'jobs':>4} {'wall s':>8} {'CPU s':>8} {'x jobs=1 (wall)':>16} "
          f"{'decide_many s':>13}")
    failed = False
    out = Path(os.environ.get("TMPDIR", "/tmp")) / f"qpr-bench-jobs-{os.getpid()}.out"
    try:
        for kind in [k for k in args.kinds.split(",") if k]:
            for evaluator in [e for e in args.evaluators.split(",") if e]:
                base = None
                digests = set()
                for jobs in (1, args.jobs):
                    if kind == "batch":
                        argv = [str(CLI), "decide", "qpr.placement", "--batch", str(path), "--evaluator",
                                evaluator, "--jobs", str(jobs)]
                        label = "qpr-rules decide --batch > file"
                    else:
                        argv = [sys.executable, "-c", _API, str(path), evaluator, str(jobs),
                                "1" if args.check else "0"]
                        label = "Engine.decide_many (outcome read)"
                    wall, cpu = run(argv, out)
                    inner = ""
                    if kind == "batch":
                        digests.add(hashlib.sha256(out.read_bytes()).hexdigest() if args.check else "")
                    else:
                        seconds, _, digest = out.read_text().split()
                        inner = f"{float(seconds):.2f}"
                        digests.add(digest if args.check else "")
                    base = base or wall
                    print(f"{label:<34} {evaluator:>9} {jobs:>4} {wall:8.2f} {cpu:8.2f} {wall / base:16.2f} "
                          f"{inner:>13}", flush=True)
                if len(digests) != 1:
                    print(f"  DIFFERENT ANSWERS between jobs=1 and jobs={args.jobs}")
                    failed = True
    finally:
        out.unlink(missing_ok=True)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
