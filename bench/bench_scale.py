"""How the library scales with the size of a policy: generated placement policies of 10, 100, 1,000
and 5,000 rules (bench/scale_policy.py states the mix), each measured with both evaluators.

    .venv/bin/python bench/bench_scale.py                          # every size (long: see --help)
    .venv/bin/python bench/bench_scale.py --sizes 10,100 --cases 2000

Per size and evaluator: load (Engine.load and the first decision, which registers durable_rules'
rulesets) and the memory it took; decide on never-seen facts (p50 and mean per call); to_json;
explain; the memo of answers (entries, bytes, hit rate); `prove` with its static checks; a
coverage run (`coverage run --probe`). Beside each figure, its growth order from the previous
size: log(t2 / t1) / log(n2 / n1), so 1.0 is linear, 0 is flat. Every case is answered by both
evaluators and must agree (the bench stops if not). Figures are ratios and orders within one
run; the absolute times depend on the machine and its load.
"""

from __future__ import annotations

import argparse
import gc
import math
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "bench"))

from scale_policy import facts, write_policy  # noqa: E402

from qpr_rules import Engine  # noqa: E402

DECISION = "gen.placement"


def rss_mb() -> float:
    """Resident memory of this process now (Linux), in MB."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4096 / 1e6


def per_call(fn: Callable[[Any], Any], items: list[Any]) -> tuple[float, float]:
    """p50 and mean seconds per call of fn over items (each timed alone)."""
    times = []
    clock = time.perf_counter
    for item in items:
        t = clock()
        fn(item)
        times.append(clock() - t)
    return statistics.median(times), sum(times) / len(times)


def measure(path: Path, n_rules: int, evaluator: str, cases: list[dict[str, Any]], sample: int,
            prove_max: int, prove_baseline_max: int = 0) -> dict[str, float | str]:
    gc.collect()
    before = rss_mb()
    t = time.perf_counter()
    engine = Engine.load([path], evaluator=evaluator)  # type: ignore[arg-type]
    first = engine.decide(DECISION, cases[0])
    load = time.perf_counter() - t
    row: dict[str, float | str] = {"load": load, "load_mb": rss_mb() - before}
    if first.status == "error":
        row["error"] = first.reason[:200]
        return row
    decisions: list[Any] = []
    p50, mean = per_call(lambda f: decisions.append(engine.decide(DECISION, f)), cases[1:])
    row.update(decide_p50=p50, decide_mean=mean)
    errors = [d for d in decisions if d.status == "error"]
    if errors:
        row["error"] = errors[0].reason[:200]
    fired = [len(d.fired) for d in decisions]
    row["fired_mean"] = sum(fired) / len(fired)
    row["fired_share"] = len({r.id for d in decisions for r in d.fired}) / n_rules
    book = engine._runtimes[DECISION].answers
    stats = book.stats() if hasattr(book, "stats") else {}
    row.update({f"memo_{k}": v for k, v in stats.items()})
    few = decisions[:sample]
    row["to_json_p50"], _ = per_call(lambda d: d.to_json(), few)
    row["to_json_lean_p50"], _ = per_call(lambda d: d.to_json(not_fired=False), few) \
        if _has_lean_json(few[0]) else (float("nan"), 0.0)
    row["explain_p50"], _ = per_call(lambda f: engine.explain(DECISION, f), cases[1:sample + 1])
    row["_decisions"] = decisions  # type: ignore[assignment]
    if evaluator == "compiled":
        from qpr_rules.coverage.collect import probe
        from qpr_rules.coverage.report_core import build_report

        t = time.perf_counter()
        data = probe(engine, min(sample, 1000))
        build_report(engine.policies, data)
        row["coverage"] = time.perf_counter() - t
        if n_rules <= prove_max:
            from qpr_rules.analysis.static_checks import check_all

            t = time.perf_counter()
            findings = check_all(engine.policies.decisions, examples="first")  # as `prove` prints
            row["prove"] = time.perf_counter() - t
            row["prove_unknown"] = sum(1 for f in findings if f.kind == "unknown")
            row["prove_conflicts"] = sum(1 for f in findings if f.kind == "conflict")
            if n_rules <= prove_baseline_max:  # the route before parts: a solver question a pair
                t = time.perf_counter()
                before = check_all(engine.policies.decisions, examples="first", method="grouped")
                row["prove_grouped"] = time.perf_counter() - t
                same = _claims(before) == _claims(findings)
                row["prove_same"] = "same findings" if same else "FINDINGS DIFFER"
    return row


def _claims(findings: list[Any]) -> set[tuple[str, tuple[str, ...], str]]:
    """What each finding claims (a conflict's example, and so its answer, may differ)."""
    return {(f.kind, tuple(r.id for r in f.rules), f.message.split(";")[0]) for f in findings}


def _has_lean_json(decision: Any) -> bool:
    import inspect

    return "not_fired" in inspect.signature(decision.to_json).parameters


def order(rows: list[tuple[int, dict[str, Any]]], i: int, key: str) -> str:
    if i == 0 or key not in rows[i][1] or key not in rows[i - 1][1]:
        return ""
    (n1, r1), (n2, r2) = rows[i - 1], rows[i]
    a, b = r1[key], r2[key]
    if not (isinstance(a, float) and isinstance(b, float)) or a <= 0 or b <= 0 or a != a or b != b:
        return ""
    return f" (^{math.log(b / a) / math.log(n2 / n1):.2f})"


def fmt(row: dict[str, Any], key: str, scale: float = 1e6, unit: str = "us") -> str:
    value = row.get(key)
    if value is None or (isinstance(value, float) and value != value):
        return "-"
    if scale == 1:
        return f"{value:.2f} {unit}".strip()
    return f"{value * scale:,.1f} {unit}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10,100,1000,5000", help="rule counts, comma-separated")
    parser.add_argument("--cases", type=int, default=10_000, help="never-seen facts per size (compiled)")
    parser.add_argument("--durable-cases", type=int, default=2_000,
                        help="never-seen facts per size for the durable path (it is slower)")
    parser.add_argument("--sample", type=int, default=300, help="decisions for to_json / explain")
    parser.add_argument("--prove-max", type=int, default=1000, help="largest size to run prove on")
    parser.add_argument("--prove-baseline-max", type=int, default=100,
                        help="largest size to also run prove's static checks the way before parts on "
                             "(a solver question per pair: hours at 1,000 rules), for the ratio")
    parser.add_argument("--evaluators", default="compiled,durable")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",") if s]
    evaluators = [e for e in args.evaluators.split(",") if e]
    print(f"python {sys.version.split()[0]}, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, "
          f"cases: {args.cases} compiled, {args.durable_cases} durable (all never seen), "
          f"sample {args.sample}")
    results: dict[str, list[tuple[int, dict[str, Any]]]] = {e: [] for e in evaluators}
    with tempfile.TemporaryDirectory() as tmp:
        for n in sizes:
            path = write_policy(Path(tmp) / str(n), n)
            for ev in evaluators:
                count = args.cases if ev == "compiled" else args.durable_cases
                cases = facts(count + 1, seed=n * 31 + len(ev))  # new facts for every run
                row = measure(path, n, ev, cases, args.sample, args.prove_max, args.prove_baseline_max)
                results[ev].append((n, row))
                shown = {k: (f"{v:.6g}" if isinstance(v, float) else v) for k, v in row.items()
                         if not k.startswith("_")}
                print(f"  measured {n} rules, {ev}: {shown}", file=sys.stderr, flush=True)
    keys = [("load", 1e3, "ms"), ("load_mb", 1, "MB"), ("decide_p50", 1e6, "us"), ("decide_mean", 1e6, "us"),
            ("to_json_p50", 1e6, "us"), ("to_json_lean_p50", 1e6, "us"), ("explain_p50", 1e6, "us"),
            ("coverage", 1, "s"), ("prove", 1, "s")]
    for ev in evaluators:
        rows = results[ev]
        print(f"\n{ev} evaluator (growth order from the previous size in brackets)")
        header = ["rules", "fired/case", "rules ever fired", *[k for k, _, _ in keys], "memo"]
        print(" | ".join(header))
        for i, (n, row) in enumerate(rows):
            cells = [f"{n:,}", f"{row.get('fired_mean', 0):.1f}", f"{row.get('fired_share', 0):.0%}"]
            cells += [fmt(row, k, s, u) + order(rows, i, k) for k, s, u in keys]
            memo = (f"{row['memo_entries']:,} entries, {row['memo_bytes'] / 1e6:.1f} MB, "
                    f"{row['memo_hit_rate']:.0%} hits") if "memo_entries" in row else "-"
            if "prove_unknown" in row:
                memo += (f"; prove unknown: {row['prove_unknown']}, "
                         f"conflicting pairs: {row['prove_conflicts']:,}")
            if "error" in row:
                memo += f"; ERROR: {row['error']}"
            print(" | ".join([*cells, memo]))
    # ratios against the 10-rule (first) size, compiled decide
    for ev in evaluators:
        rows = results[ev]
        if rows and "decide_p50" in rows[0][1]:
            base = rows[0][1]["decide_p50"]
            print(f"\n{ev} decide p50 against {rows[0][0]} rules: " + ", ".join(
                f"{n:,}: {row['decide_p50'] / base:.1f}x" for n, row in rows if "decide_p50" in row))
            for key in ("to_json_p50", "to_json_lean_p50", "explain_p50"):
                print(f"{ev} {key.removesuffix('_p50')} / decide (p50): " + ", ".join(
                    f"{n:,}: {row[key] / row['decide_p50']:.2f}x"
                    for n, row in rows if "decide_p50" in row and key in row))
    # prove's static checks against the route before parts (one solver question a pair)
    for ev in evaluators:
        compared = [(n, row) for n, row in results[ev] if "prove_grouped" in row]
        if compared:
            print("\nprove static checks, parts against a solver question a pair (grouped): " + ", ".join(
                f"{n:,}: {row['prove']:.1f} s against {row['prove_grouped']:.1f} s "
                f"({row['prove'] / row['prove_grouped']:.2f}x, {row['prove_same']})" for n, row in compared))
    # agreement: the durable path checks every decision against the compiled evaluator and
    # answers an error on a disagreement, which the tables above show as ERROR
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
