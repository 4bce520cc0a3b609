"""Benchmark the qpr.placement decision, side by side in one process, against a hand-written
Python function (the baseline) and peer engines (GoRules ZEN, rule-engine) when installed.

    .venv/bin/python bench/bench_placement.py            # full run
    .venv/bin/python bench/bench_placement.py --quick --check   # CI smoke: exit 1 on any disagreement

Every implementation must give the baseline's outcome on every generated case before anything is
timed: a benchmark of wrong answers is worthless.
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import statistics
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from qpr_rules import Engine  # noqa: E402
from qpr_rules.engine.messages import to_message  # noqa: E402

GENDERS = ["female", "male", "nonbinary"]
DAY0 = dt.date(2024, 1, 1)


def generate(n: int, seed: int = 1) -> list[dict[str, Any]]:
    """Placement facts over the whole space: every hold kind, restrictions present or not,
    empty and non-empty lists, dates on both sides of an end date."""
    rnd = random.Random(seed)
    cases = []
    for _ in range(n):
        date = DAY0 + dt.timedelta(days=rnd.randint(-200, 200))
        home: dict[str, Any] = {"id": "RH", "approval": rnd.choice(["rfa", "lfh"]),
                                "approval_status": rnd.choice(["active", "active", "active", "inactive"]),
                                "children_placed": [{"age": rnd.randint(0, 17), "gender": rnd.choice(GENDERS)}
                                                    for _ in range(rnd.choice([0, 0, 1, 2, 3]))]}
        if rnd.random() < 0.4:
            hold: dict[str, Any] = {"kind": rnd.choice(["pending_qpr", "time_limited", "permanent"]),
                                    "placed_on": DAY0 - dt.timedelta(days=300)}
            if rnd.random() < 0.6:
                hold["ends_on"] = DAY0 + dt.timedelta(days=rnd.randint(-100, 100))
            home["hold"] = hold
        if rnd.random() < 0.5:
            r: dict[str, Any] = {}
            if rnd.random() < 0.5:
                r["min_child_age"] = rnd.randint(0, 8)
            if rnd.random() < 0.5:
                r["max_child_age"] = rnd.randint(6, 17)
            if rnd.random() < 0.5:
                r["max_children"] = rnd.randint(0, 3)
            if rnd.random() < 0.5:
                r["genders"] = rnd.sample(GENDERS, rnd.randint(0, 2))
            home["restrictions"] = r
        cases.append({"placement": {"date": date, "cleared_with_pco": rnd.random() < 0.85},
                      "child": {"age": rnd.randint(0, 17), "gender": rnd.choice(GENDERS)}, "home": home})
    return cases


def baseline(f: dict[str, Any]) -> str:
    """The qpr.placement rules written by hand: the fastest thing Python can do."""
    p, c, h = f["placement"], f["child"], f["home"]
    hold, r = h.get("hold"), h.get("restrictions") or {}
    if hold is not None and (hold["kind"] != "time_limited" or "ends_on" not in hold
                             or p["date"] <= hold["ends_on"]):
        return "deny"
    if not p["cleared_with_pco"]:
        return "deny"
    if "min_child_age" in r and c["age"] < r["min_child_age"]:
        return "deny"
    if "max_child_age" in r and c["age"] > r["max_child_age"]:
        return "deny"
    if "max_children" in r and len(h["children_placed"]) >= r["max_children"]:
        return "deny"
    if "genders" in r and c["gender"] not in r["genders"]:
        return "deny"
    for placed in h["children_placed"]:  # restrictions hold for the children already placed too
        if ("min_child_age" in r and placed["age"] < r["min_child_age"]) or (
                "max_child_age" in r and placed["age"] > r["max_child_age"]) or (
                "genders" in r and placed["gender"] not in r["genders"]):
            return "deny"
    return "allow" if h["approval_status"] == "active" else "deny"


def flat(f: dict[str, Any]) -> dict[str, Any]:
    """One flat context per case for the expression engines (built before timing)."""
    p, c, h = f["placement"], f["child"], f["home"]
    hold, r = h.get("hold") or {}, h.get("restrictions") or {}
    ends = hold.get("ends_on")
    ages = [x["age"] for x in h["children_placed"]]
    return {"youngest": min(ages, default=None), "oldest": max(ages, default=None),
            "placed_genders": sorted({x["gender"] for x in h["children_placed"]}),
            **{"hold_kind": hold.get("kind"), "ends_on": ends.toordinal() if ends else None,
            "date": p["date"].toordinal(), "cleared": p["cleared_with_pco"], "age": c["age"],
            "gender": c["gender"], "min_age": r.get("min_child_age"), "max_age": r.get("max_child_age"),
            "max_children": r.get("max_children"), "n_children": len(h["children_placed"]),
            "genders": r.get("genders"), "active": h["approval_status"] == "active"}}


DENY_EXPRESSION = (
    "(hold_kind == 'pending_qpr' or hold_kind == 'permanent' or (hold_kind == 'time_limited' and "
    "(ends_on == null or date <= ends_on))) or not cleared "
    "or (min_age != null and age < min_age) or (max_age != null and age > max_age) "
    "or (max_children != null and n_children >= max_children) "
    "or (genders != null and not (gender in genders)) or not active "
    "or (min_age != null and youngest != null and youngest < min_age) "
    "or (max_age != null and oldest != null and oldest > max_age) "
    "or (genders != null and (('female' in placed_genders and not ('female' in genders)) "
    "or ('male' in placed_genders and not ('male' in genders)) "
    "or ('nonbinary' in placed_genders and not ('nonbinary' in genders))))"
)


def peers() -> dict[str, Callable[[dict[str, Any]], str]]:
    found: dict[str, Callable[[dict[str, Any]], str]] = {}
    try:
        import zen

        compiled = zen.compile_expression(DENY_EXPRESSION)
        found["GoRules ZEN (compiled expression)"] = lambda ctx: "deny" if compiled.evaluate(ctx) else "allow"
    except ImportError:
        print("note: zen-engine is not installed (pip install -e '.[bench]'); ZEN skipped")
    try:
        import rule_engine

        rule = rule_engine.Rule(DENY_EXPRESSION.replace("==", "=="))
        found["rule-engine"] = lambda ctx: "deny" if rule.matches(ctx) else "allow"
    except ImportError:
        print("note: rule-engine is not installed (pip install -e '.[bench]'); rule-engine skipped")
    return found


def timed(fn: Callable[[Any], Any], inputs: list[Any], repeats: int) -> float:
    """Median microseconds per call over `repeats` passes (after one warm-up pass)."""
    for x in inputs[: min(200, len(inputs))]:
        fn(x)
    runs = []
    for _ in range(repeats):
        start = time.perf_counter_ns()
        for x in inputs:
            fn(x)
        runs.append((time.perf_counter_ns() - start) / len(inputs) / 1000)
    return statistics.median(runs)


def threaded_throughput(fn: Callable[[Any], Any], inputs: list[Any], threads: int) -> float:
    chunks = [inputs[i::threads] for i in range(threads)]
    workers = [threading.Thread(target=lambda c=c: [fn(x) for x in c]) for c in chunks]
    start = time.perf_counter()
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    return len(inputs) / (time.perf_counter() - start)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="few cases, for a CI smoke run")
    parser.add_argument("--check", action="store_true", help="exit 1 unless all implementations agree")
    parser.add_argument("--cases", type=int, default=None)
    args = parser.parse_args()
    n = args.cases or (300 if args.quick else 5000)
    repeats = 3 if args.quick else 5
    cases = generate(n)
    engine = Engine.load([ROOT / "policies" / "qpr.yaml"])
    runtime = engine._runtimes["qpr.placement"]  # the parts, to time them separately
    models = [engine.validate_facts("qpr.placement", f) for f in cases]
    dumped = [m.model_dump(mode="python") for m in models]
    messages = [to_message(d, runtime.list_paths, f"b{i}") for i, d in enumerate(dumped)]
    contexts = [flat(f) for f in cases]
    expected = [baseline(f) for f in cases]

    def reference(facts: dict[str, Any]) -> str:
        fired = [r.compiled.rule.outcome for r in runtime.rules if r.check(facts)]
        return "deny" if "deny" in fired or "allow" not in fired else "allow"

    def durable_only(message: dict[str, Any]) -> str:
        fired = runtime.durable.evaluate(dict(message, sid=f"{message['sid']}-{time.perf_counter_ns()}"))
        outcomes = {runtime.by_id[r].compiled.rule.outcome for r in fired}
        return "deny" if "deny" in outcomes or "allow" not in outcomes else "allow"

    rows: list[tuple[str, Callable[[Any], str], list[Any]]] = [
        ("hand-written Python (baseline)", baseline, cases),
        ("qpr-rules Engine.decide (validate + durable_rules + reference + explanation)",
         lambda f: engine.decide("qpr.placement", f).outcome, cases),
        ("qpr-rules Engine.decide on a validated model",
         lambda m: engine.decide("qpr.placement", m).outcome, models),
        ("qpr-rules reference evaluator alone (compiled closures)", reference, dumped),
        ("qpr-rules guarded durable_rules alone (messages prebuilt)", durable_only, messages),
    ]
    rows += [(name, fn, contexts) for name, fn in peers().items()]

    disagreements = 0
    for name, fn, inputs in rows:
        wrong = sum(fn(x) != e for x, e in zip(inputs, expected, strict=True))
        if wrong:
            print(f"DISAGREEMENT: {name} differs from the baseline on {wrong} of {n} cases")
            disagreements += wrong
    if disagreements:
        return 1
    print(f"all {len(rows)} implementations agree on all {n} cases "
          f"({expected.count('allow')} allow, {expected.count('deny')} deny)")
    if args.check and args.quick:
        return 0

    base = timed(baseline, cases, repeats)
    table = Table(title=f"qpr.placement, {n} cases, median of {repeats} passes, one process")
    for col in ("implementation", "us/call", "calls/s", "x baseline"):
        table.add_column(col, justify="right" if col != "implementation" else "left")
    for name, fn, inputs in rows:
        us = base if fn is baseline else timed(fn, inputs, repeats)
        table.add_row(name, f"{us:.2f}", f"{1e6 / us:,.0f}", f"{us / base:.1f}")
    Console(width=140).print(table)
    decide = lambda f: engine.decide("qpr.placement", f)  # noqa: E731
    for threads in (1, 2):
        rate = threaded_throughput(decide, cases, threads)
        print(f"Engine.decide with {threads} thread(s): {rate:,.0f} decisions/s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
