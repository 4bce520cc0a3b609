"""Benchmark Engine.decide_partial on `qpr.placement` (issue 23.4): partial facts as a form holds
them while a caseworker fills it in, each answered beside Engine.decide on the whole facts, in
one run.

    .venv/bin/python bench/bench_partial.py                 # 300 partial cases
    .venv/bin/python bench/bench_partial.py --cases 30 --check  # exit 1 on an unknown or a disagreement

The cases: the generated placement facts of bench_placement.py, each with every fact left out
(unknown) with a probability of 0.2, 0.5 or 0.8, at every depth, the children placed included
(a list keeps its items; their fields may be unknown). Every answer is checked against the whole
facts it came from (they are one valid completion): a `determined` answer must be their outcome,
an `open` one must list it. Wall time and this thread's CPU time are both printed (the solver
runs in the calling thread, so CPU time is what the call costs when the machine is shared), each
as p50, p90 and max, with the p50 and p90 as multiples of Engine.decide's on the whole facts of
the same cases (durable; measured in the same run), and the count of unknown answers. The
headline is issue 23.4's: the slowest case and how many cases took 100 ms or more. What the
first call costs (the encoding and the solvers built once per decision, at load) is printed
apart from the cases.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import random
import statistics
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "bench"))

from bench_placement import generate  # noqa: E402

from qpr_rules import Engine  # noqa: E402

DECISION = "qpr.placement"
SHARES = (0.2, 0.5, 0.8)
BUDGET_MS = 100.0


def forget(facts: Any, rnd: random.Random, p: float) -> Any:
    """facts with each field left out with probability p, at every depth; lists keep their items."""
    if isinstance(facts, dict):
        return {k: forget(v, rnd, p) for k, v in facts.items() if rnd.random() >= p}
    if isinstance(facts, list):
        return [forget(v, rnd, p) if isinstance(v, dict) else v for v in facts]
    return facts


def timed(call: Callable[[], Any]) -> tuple[Any, float, float]:
    """The result, the wall time and this thread's CPU time, in milliseconds."""
    wall, cpu = time.perf_counter(), time.thread_time()
    result = call()
    return result, (time.perf_counter() - wall) * 1000, (time.thread_time() - cpu) * 1000


def pick(values: list[float], q: float) -> float:
    """The q-quantile (nearest rank) of values."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def row(name: str, values: list[float], baseline: list[float] | None) -> str:
    """p50, p90 and max, and (given a baseline) the p50 and p90 as multiples of the baseline's."""
    p50, p90 = statistics.median(values), pick(values, 0.9)
    ratios = (f" {_times(p50 / statistics.median(baseline))} {_times(p90 / pick(baseline, 0.9))}"
              if baseline is not None else "")
    return f"{name:<48} {p50:9.2f} {p90:9.2f} {max(values):9.2f}{ratios}"


def _times(ratio: float) -> str:
    return f"{ratio:11.1f}x" if ratio < 10 else f"{ratio:11.0f}x"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=300)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--check", action="store_true", help="exit 1 on any unknown answer or disagreement")
    args = parser.parse_args()

    rnd = random.Random(args.seed)
    wholes = generate(args.cases, args.seed)
    cases = [(whole, forget(whole, rnd, SHARES[i % len(SHARES)])) for i, whole in enumerate(wholes)]
    engine = Engine.from_bundled()
    fast = Engine.from_bundled(evaluator="compiled")
    # the first call builds the encoding and the solvers the questions use, once per decision
    # (and warms them): what loading costs, not a case
    load_cpu = time.thread_time()
    load_started = time.perf_counter()
    engine.decide_partial(DECISION, {})
    encode_ms = (time.perf_counter() - load_started) * 1000
    encode_cpu_ms = (time.thread_time() - load_cpu) * 1000
    for whole, _ in cases[:20]:
        engine.decide(DECISION, whole)
        fast.decide(DECISION, whole)

    times: dict[str, list[float]] = {k: [] for k in (
        "partial wall", "partial cpu", "partial, no questions wall", "partial, no questions cpu",
        "decide wall", "decide cpu", "fast wall", "fast cpu")}
    statuses: Counter[str] = Counter()
    answered: list[str] = []  # each case's status, in order
    wrong: list[str] = []
    for whole, known in cases:
        answer, wall, cpu = timed(lambda known=known: engine.decide_partial(DECISION, known))
        times["partial wall"].append(wall)
        times["partial cpu"].append(cpu)
        _, wall, cpu = timed(lambda known=known: engine.decide_partial(DECISION, known, questions=False))
        times["partial, no questions wall"].append(wall)
        times["partial, no questions cpu"].append(cpu)
        decision, wall, cpu = timed(lambda whole=whole: engine.decide(DECISION, whole))
        times["decide wall"].append(wall)
        times["decide cpu"].append(cpu)
        _, wall, cpu = timed(lambda whole=whole: fast.decide(DECISION, whole))
        times["fast wall"].append(wall)
        times["fast cpu"].append(cpu)
        statuses[answer.status] += 1
        answered.append(answer.status)
        if answer.status == "determined" and answer.outcome != decision.outcome:
            wrong.append(f"determined {answer.outcome!r}, the whole facts get {decision.outcome!r}: {known}")
        if answer.status == "open" and decision.outcome not in answer.outcomes:
            wrong.append(f"open {answer.outcomes}, the whole facts get {decision.outcome!r}: {known}")

    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"{dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC; {platform.machine()} {os.cpu_count()} core(s), "
          f"Python {platform.python_version()}, load average {load:.1f} (CPU time is this thread's: the "
          "figure to read on a shared machine; wall time counts waiting for a core)")
    over = sum(1 for t in times["partial cpu"] if t >= BUDGET_MS)
    print(f"{len(cases)} partial {DECISION} cases: {statuses['determined']} determined, "
          f"{statuses['open']} open, {statuses['unknown']} unknown; load, once per decision (the first "
          f"call builds the encoding and the solvers, and warms them): {encode_cpu_ms:.0f} ms of CPU, "
          f"{encode_ms:.0f} ms wall")
    slowest = max(times["partial cpu"])
    print(f"headline (issue 23.4: every case under {BUDGET_MS:.0f} ms): slowest case {slowest:.1f} "
          f"ms of CPU with questions; {over} of {len(cases)} cases at {BUDGET_MS:.0f} ms or more; "
          f"{statuses['unknown']} unknown answers")
    print(f"{'per case, ms':<48} {'p50':>9} {'p90':>9} {'max':>9} {'p50/decide':>12} {'p90/decide':>12}")
    labels = {
        "partial": "Engine.decide_partial (with questions)",
        "partial, no questions": "Engine.decide_partial(questions=False)",
        "decide": "Engine.decide, the whole facts (durable)",
        "fast": "Engine.decide, the whole facts (compiled)",
    }
    for clock in ("CPU", "wall"):
        key_clock = clock.lower()
        baseline = times[f"decide {key_clock}"]
        for key, label in labels.items():
            against = None if key == "decide" else baseline
            print(row(f"{label}, {clock}", times[f"{key} {key_clock}"], against))
    opened = [t for t, status in zip(times["partial cpu"], answered, strict=True) if status == "open"]
    if opened:
        print(row("open answers only, with questions, CPU", opened, None))
    print(f"cases over {BUDGET_MS:.0f} ms of CPU (with questions): {over} of {len(cases)}; "
          f"unknown answers: {statuses['unknown']}")
    print(f"disagreements with the whole facts: {len(wrong)}")
    for line in wrong[:5]:
        print("  " + line)
    if args.check and (wrong or statuses["unknown"]):
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
