"""The cost around a decision, against the compiled decide itself, in one run (issue 21, item 6):
`to_json` of a new Decision, a decision written to a decision log, `explain`; on the bundled
`qpr.placement` decision and on generated policies of bench_scale's sizes.

    .venv/bin/python bench/bench_around.py                          # bundled, 10, 100, 1,000 rules
    .venv/bin/python bench/bench_around.py --sizes 10 --cases 200    # quick

Per case (each never seen before), one after another so the machine's load falls on every
figure alike: `Engine(evaluator="compiled").decide` (the baseline), `to_json()` of that new
Decision (the explanations of the rules not fired are built then), `to_json(not_fired=False)`,
the same decide on an Engine logging to a `JsonlDecisionLog` (the line written before it
returns), and `explain`. Printed: the median of each, and its ratio to the median decide.
Targets: to_json <= 1.5x, logged <= 3x, explain <= 5x.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "bench"))

from qpr_rules import Engine  # noqa: E402

TARGETS = {"to_json": 1.5, "logged decide": 3.0, "explain": 5.0}


def measure(paths: list[Path], decision: str, cases: list[dict[str, Any]], log_dir: Path) -> dict[str, float]:
    plain = Engine.load(paths, evaluator="compiled")
    logged = Engine.load(paths, evaluator="compiled", decision_log=log_dir / f"{decision}.jsonl")
    # warm: models built, explainers compiled for the first cases' rules, the log file made
    for facts in cases[:3]:
        plain.decide(decision, facts).to_json()
        logged.decide(decision, facts)
        plain.explain(decision, facts)
    clock = time.perf_counter
    times: dict[str, list[float]] = {k: [] for k in ("decide", "to_json", "to_json(not_fired=False)",
                                                     "logged decide", "explain")}

    def timed(key: str, fn: Callable[[], Any]) -> Any:
        t = clock()
        out = fn()
        times[key].append(clock() - t)
        return out

    for facts in cases[3:]:
        answer = timed("decide", partial(plain.decide, decision, facts))
        timed("to_json", answer.to_json)
        again = plain.decide(decision, facts)  # a new Decision: its explanations not yet built
        timed("to_json(not_fired=False)", partial(again.to_json, not_fired=False))
        timed("logged decide", partial(logged.decide, decision, facts))
        timed("explain", partial(plain.explain, decision, facts))
    return {k: statistics.median(v) for k, v in times.items()}


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--sizes", default="10,100,1000", help="generated policy sizes (rules)")
    parser.add_argument("--cases", type=int, default=2000, help="never-seen facts per policy")
    parser.add_argument("--no-bundled", action="store_true")
    args = parser.parse_args()
    print(f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}; python {sys.version.split()[0]}; "
          f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; {args.cases} cases each; medians")
    rows: list[tuple[str, dict[str, float]]] = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        if not args.no_bundled:
            from bench_placement import generate

            rows.append(("bundled qpr.placement", measure([ROOT / "policies"], "qpr.placement",
                                                          generate(args.cases + 3, seed=21), tmp_path)))
        from scale_policy import facts, write_policy

        for n in [int(s) for s in args.sizes.split(",") if s]:
            path = write_policy(tmp_path / f"gen{n}", n)
            cases = facts(args.cases + 3, seed=n * 7 + 1)
            rows.append((f"generated, {n:,} rules", measure([path], "gen.placement", cases, tmp_path)))
    keys = ["decide", "to_json", "to_json(not_fired=False)", "logged decide", "explain"]
    print(f"{'policy':<24}" + "".join(f"{k:>26}" for k in keys))
    for label, row in rows:
        base = row["decide"]
        cells = [f"{row[k] * 1e6:,.1f} us" + ("" if k == "decide" else f" ({row[k] / base:.2f}x)")
                 for k in keys]
        print(f"{label:<24}" + "".join(f"{c:>26}" for c in cells))
    print("targets: " + ", ".join(f"{k} <= {v}x decide" for k, v in TARGETS.items()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
