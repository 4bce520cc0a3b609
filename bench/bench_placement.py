"""Benchmark the qpr.placement decision, side by side in one process, against a hand-written
Python function (the baseline) and peer engines (GoRules ZEN, rule-engine) when installed.

    .venv/bin/python bench/bench_placement.py                   # full run: 5,000 cases
    .venv/bin/python bench/bench_placement.py --quick --check   # CI smoke: agreement only, exit 1 if not
    .venv/bin/python bench/bench_placement.py --profile         # also: where Engine.decide spends its time

Every implementation must give the baseline's answer on every generated case before anything is
timed (a benchmark of wrong answers is worthless): the outcome for all of them, and the set of
rules that fired for those that report it (Engine.decide, its two evaluators, the ZEN table).
"""

from __future__ import annotations

import argparse
import cProfile
import datetime as dt
import io
import itertools
import json
import pstats
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
sys.path.insert(0, str(ROOT / "bench"))

from durable_capi import CApiRuleset  # noqa: E402

from qpr_rules import Engine  # noqa: E402
from qpr_rules.engine.durable_compiler import compile_rule_expression  # noqa: E402
from qpr_rules.engine.messages import to_message  # noqa: E402
from qpr_rules.engine.why_not import explain_failure  # noqa: E402

DECISION = "qpr.placement"
P = "qpr.placement."  # rule id prefix
GENDERS = ["female", "male", "nonbinary"]
HOLD_KINDS = ["pending_qpr", "time_limited", "permanent"]
APPROVAL_STATUSES = ["active", "active", "active", "inactive", "revoked", "rescinded"]
DAY0 = dt.date(2024, 1, 1)


# ---------------------------------------------------------------------------------------------
# cases


def generate(n: int, seed: int = 1) -> list[dict[str, Any]]:
    """Placement facts over the whole space: every hold kind (and none), end dates absent, before,
    on and after the placement date, every approval status and placement status, restrictions
    absent, empty or partial, empty and non-empty lists of children placed and of genders."""
    rnd = random.Random(seed)
    cases = []
    for _ in range(n):
        date = DAY0 + dt.timedelta(days=rnd.randint(-200, 200))
        home: dict[str, Any] = {
            "id": "RH-1", "approval": rnd.choice(["rfa", "lfh"]),
            "approval_status": rnd.choice(APPROVAL_STATUSES),
            "children_placed": [{"age": rnd.randint(0, 21), "gender": rnd.choice(GENDERS)}
                                for _ in range(rnd.choice([0, 0, 1, 2, 3]))],
        }
        home["hold"] = home["restrictions"] = None
        if rnd.random() < 0.4:
            # placed before, on or the day after the placement date; reinstated around it
            placed = date - dt.timedelta(days=rnd.choice([300, 300, 0, -1]))
            hold: dict[str, Any] = {"kind": rnd.choice(HOLD_KINDS), "placed_on": placed}
            if hold["kind"] == "time_limited" and rnd.random() < 0.5:
                hold["review_after"] = placed + dt.timedelta(days=rnd.choice([0, 30, 365]))
            if hold["kind"] == "time_limited" and rnd.random() < 0.5:
                # reinstated only after a QPR, after the date it determined (facts/hold.py)
                after = hold.get("review_after", placed - dt.timedelta(days=1)) + dt.timedelta(days=1)
                hold["reinstated_on"] = max(after, date + dt.timedelta(days=rnd.choice([-30, -1, 0, 1, 30])))
            home["hold"] = hold
        if rnd.random() < 0.5:
            r: dict[str, Any] = {}  # sometimes present but empty
            if rnd.random() < 0.5:
                r["min_child_age"] = rnd.randint(0, 8)
            if rnd.random() < 0.5:
                r["max_child_age"] = rnd.randint(6, 17)
            if rnd.random() < 0.5:
                r["max_children"] = rnd.randint(0, 3)
            if rnd.random() < 0.5:
                r["genders"] = rnd.sample(GENDERS, rnd.randint(0, 3))
            if r.get("min_child_age", 0) > r.get("max_child_age", 25):  # incoherent: refused
                r["min_child_age"], r["max_child_age"] = r["max_child_age"], r["min_child_age"]
            home["restrictions"] = r
        child: dict[str, Any] = {"age": rnd.randint(0, 21), "gender": rnd.choice(GENDERS)}
        status = rnd.choice(["proposed", "made"])
        # a made placement names the child's region (the Regional Manager's notice needs it)
        if status == "made" or rnd.random() < 0.5:
            child |= {"id": "C-1", "region": "North"}
        placement: dict[str, Any] = {"date": date, "status": status, "siblings": [],
                                     "cleared_with_pco": rnd.random() < 0.85}
        cases.append({"placement": placement, "child": child, "home": home})
    return cases


# ---------------------------------------------------------------------------------------------
# the baseline: the rules written by hand


def baseline(f: dict[str, Any]) -> str:
    """The qpr.placement outcome written by hand: the fastest thing Python can do."""
    p, c, h = f["placement"], f["child"], f["home"]
    hold, r = h.get("hold"), h.get("restrictions") or {}
    if hold is not None and hold["placed_on"] <= p["date"] and (
            hold.get("reinstated_on") is None or p["date"] < hold["reinstated_on"]):
        return "deny"  # the hold is in force: placed and not reinstated
    if not p["cleared_with_pco"]:
        return "deny"
    lo, hi, most, genders = (r.get("min_child_age"), r.get("max_child_age"), r.get("max_children"),
                             r.get("genders"))
    if (lo is not None and c["age"] < lo) or (hi is not None and c["age"] > hi):
        return "deny"
    if most is not None and len(h["children_placed"]) >= most:
        return "deny"
    if genders is not None and c["gender"] not in genders:
        return "deny"
    return "allow" if h["approval_status"] == "active" else "deny"


def expected_fired(f: dict[str, Any]) -> frozenset[str]:
    """Every qpr.placement rule that applies, by hand (for the agreement check, not timed)."""
    p, c, h = f["placement"], f["child"], f["home"]
    hold, r = h.get("hold") or {}, h.get("restrictions") or {}
    kind = hold.get("kind")
    in_force = bool(hold) and hold["placed_on"] <= p["date"] and (
        hold.get("reinstated_on") is None or p["date"] < hold["reinstated_on"])
    lo, hi, most, genders = (r.get("min_child_age"), r.get("max_child_age"), r.get("max_children"),
                             r.get("genders"))
    ages = [x["age"] for x in h["children_placed"]]
    siblings = p["siblings"]  # placed together with the child, each checked as the child is
    cleared_active = p["cleared_with_pco"] and h["approval_status"] == "active"
    checks = {
        "hold-pending-qpr": in_force and kind == "pending_qpr",
        "hold-permanent": in_force and kind == "permanent",
        "hold-time-limited": in_force and kind == "time_limited",
        "made-into-home-on-hold": p.get("status") == "made" and in_force,
        "not-cleared-with-pco": not p["cleared_with_pco"],
        "cleared-active-home": p["cleared_with_pco"] and h["approval_status"] == "active",
        "child-below-age-range": lo is not None and c["age"] < lo,
        "child-above-age-range": hi is not None and c["age"] > hi,
        "number-restriction-reached": most is not None and len(ages) + 1 + len(siblings) > most,
        "gender-restricted": genders is not None and c["gender"] not in genders,
        "sibling-below-age-range": lo is not None and any(x["age"] < lo for x in siblings),
        "sibling-above-age-range": hi is not None and any(x["age"] > hi for x in siblings),
        "sibling-gender-restricted": genders is not None and any(x["gender"] not in genders
                                                                 for x in siblings),
        "placed-child-outside-restriction": cleared_active and (
            (lo is not None and bool(ages) and min(ages) < lo)
            or (hi is not None and bool(ages) and max(ages) > hi)
            or (genders is not None and any(x["gender"] not in genders for x in h["children_placed"]))),
    }
    return frozenset(P + k for k, v in checks.items() if v)


def outcome_of(fired: frozenset[str] | set[str], outcome: dict[str, str]) -> str:
    """deny-overrides with default deny, from the rule ids that fired."""
    outcomes = {outcome[r] for r in fired}
    return "deny" if "deny" in outcomes or "allow" not in outcomes else "allow"


# ---------------------------------------------------------------------------------------------
# peer engines


def jsonable(f: dict[str, Any]) -> dict[str, Any]:
    """The nested facts as JSON values (dates as day ordinals, as durable_rules gets them)."""
    return json.loads(json.dumps(f, default=lambda d: d.toordinal()))


#: The qpr.placement rules as ZEN expressions over the nested facts, one decision-table row each.
IN_FORCE = ("(home.hold != null and home.hold.placed_on <= placement.date and "
            "(home.hold.reinstated_on == null or placement.date < home.hold.reinstated_on))")
ZEN_ROWS = {
    "hold-pending-qpr": f"{IN_FORCE} and home.hold.kind == 'pending_qpr'",
    "hold-permanent": f"{IN_FORCE} and home.hold.kind == 'permanent'",
    "hold-time-limited": f"{IN_FORCE} and home.hold.kind == 'time_limited'",
    "made-into-home-on-hold": f"placement.status == 'made' and {IN_FORCE}",
    "not-cleared-with-pco": "placement.cleared_with_pco == false",
    "cleared-active-home": "home.approval_status == 'active' and placement.cleared_with_pco == true",
    "child-below-age-range": "home.restrictions.min_child_age != null and "
                             "child.age < home.restrictions.min_child_age",
    "child-above-age-range": "home.restrictions.max_child_age != null and "
                             "child.age > home.restrictions.max_child_age",
    "number-restriction-reached": "home.restrictions.max_children != null and "
                                  "len(home.children_placed) + 1 + len(placement.siblings) > "
                                  "home.restrictions.max_children",
    "gender-restricted": "home.restrictions.genders != null and "
                         "not (child.gender in home.restrictions.genders)",
    "sibling-below-age-range": "home.restrictions.min_child_age != null and "
                               "some(placement.siblings, #.age < home.restrictions.min_child_age)",
    "sibling-above-age-range": "home.restrictions.max_child_age != null and "
                               "some(placement.siblings, #.age > home.restrictions.max_child_age)",
    "sibling-gender-restricted": "home.restrictions.genders != null and "
                                 "some(placement.siblings, not (#.gender in home.restrictions.genders))",
    "placed-child-outside-restriction": (
        "home.approval_status == 'active' and placement.cleared_with_pco == true and "
        "((home.restrictions.min_child_age != null and "
        "some(home.children_placed, #.age < home.restrictions.min_child_age)) or "
        "(home.restrictions.max_child_age != null and "
        "some(home.children_placed, #.age > home.restrictions.max_child_age)) or "
        "(home.restrictions.genders != null and some(home.children_placed, "
        "not (#.gender in home.restrictions.genders))))"),
}


def zen_table() -> dict[str, Any]:
    """A JDM graph: request -> one decision table (hit policy collect, a row per rule) -> response."""
    rows = [{"_id": str(i), "c": expr, "r": json.dumps(P + rid)}
            for i, (rid, expr) in enumerate(ZEN_ROWS.items())]
    position = {"x": 0, "y": 0}
    return {
        "nodes": [
            {"id": "request", "type": "inputNode", "name": "request", "position": position, "content": {}},
            {"id": "rules", "type": "decisionTableNode", "name": DECISION, "position": position,
             "content": {"hitPolicy": "collect", "inputs": [{"id": "c", "name": "condition"}],
                         "outputs": [{"id": "r", "name": "rule", "field": "rule"}], "rules": rows}},
            {"id": "response", "type": "outputNode", "name": "response", "position": position, "content": {}},
        ],
        "edges": [{"id": "e1", "type": "edge", "sourceId": "request", "targetId": "rules"},
                  {"id": "e2", "type": "edge", "sourceId": "rules", "targetId": "response"}],
    }


def flat(f: dict[str, Any]) -> dict[str, Any]:
    """One flat context per case for the single-expression peers (built before timing)."""
    p, c, h = f["placement"], f["child"], f["home"]
    hold, r = h.get("hold") or {}, h.get("restrictions") or {}
    placed, reinstated = hold.get("placed_on"), hold.get("reinstated_on")
    ages = [x["age"] for x in h["children_placed"]]
    return {"youngest": min(ages, default=None), "oldest": max(ages, default=None),
            "placed_genders": sorted({x["gender"] for x in h["children_placed"]}),
            "hold_kind": hold.get("kind"), "placed_on": placed.toordinal() if placed else None,
            "reinstated_on": reinstated.toordinal() if reinstated else None,
            "date": p["date"].toordinal(), "cleared": p["cleared_with_pco"], "age": c["age"],
            "gender": c["gender"], "min_age": r.get("min_child_age"), "max_age": r.get("max_child_age"),
            "max_children": r.get("max_children"), "n_children": len(h["children_placed"]),
            "genders": r.get("genders"), "active": h["approval_status"] == "active"}


#: Whether qpr.placement denies, as one boolean expression over flat() (ZEN and rule-engine
#: share the syntax used here).
DENY_EXPRESSION = (
    "(hold_kind != null and placed_on <= date and (reinstated_on == null or date < reinstated_on)) "
    "or not cleared "
    "or (min_age != null and age < min_age) or (max_age != null and age > max_age) "
    "or (max_children != null and n_children >= max_children) "
    "or (genders != null and not (gender in genders)) or not active"
)

Row = tuple[str, Callable[[Any], Any], list[Any], str]  # name, fn, inputs, "fired" | "outcome"


def peers(cases: list[dict[str, Any]]) -> list[Row]:
    """The peer engines that import and build here; each one missing is skipped with a note."""
    found: list[Row] = []
    try:
        import zen

        # evaluated by key through a loader: measured twice as fast as ZenDecision.evaluate
        # (create_decision / get_decision) in zen-engine 2.1
        graph = json.dumps(zen_table())
        zen_engine = zen.ZenEngine({"loader": lambda key: graph})
        compiled = zen.compile_expression(DENY_EXPRESSION)
    except Exception as exc:  # not installed, or an API this script does not know
        print(f"note: GoRules ZEN skipped (pip install -e '.[bench]'): {exc!r}")
    else:
        found.append(("GoRules ZEN, JDM decision table (collect)",
                      lambda ctx: frozenset(r["rule"] for r in zen_engine.evaluate(DECISION, ctx)["result"]),
                      [jsonable(f) for f in cases], "fired"))
        found.append(("GoRules ZEN, one compiled expression",
                      lambda ctx: "deny" if compiled.evaluate(ctx) else "allow",
                      [flat(f) for f in cases], "outcome"))
    try:
        import rule_engine

        rule = rule_engine.Rule(DENY_EXPRESSION)
    except Exception as exc:
        print(f"note: rule-engine skipped (pip install -e '.[bench]'): {exc!r}")
    else:
        found.append(("rule-engine, one rule", lambda ctx: "deny" if rule.matches(ctx) else "allow",
                      [flat(f) for f in cases], "outcome"))
    try:
        from json_logic import jsonLogic

        logic = json.loads(JSONLOGIC_DENY)
    except Exception as exc:
        print(f"note: JsonLogic skipped (pip install -e '.[bench]'): {exc!r}")
    else:
        found.append(("JsonLogic (panzi-json-logic), one rule",
                      lambda ctx: "deny" if jsonLogic(logic, ctx) else "allow",
                      [flat(f) for f in cases], "outcome"))
    try:
        import cedarpy

        cedar_policies = cedarpy.PolicySet.from_str(CEDAR_POLICIES)
        cedar_entities = cedarpy.Entities.from_json_str("[]")
    except Exception as exc:
        print(f"note: cedarpy skipped (pip install -e '.[bench]'): {exc!r}")
    else:
        found.append(("Cedar (cedarpy), permit + forbid policies",
                      lambda request: "allow" if cedarpy.is_authorized(
                          request, cedar_policies, cedar_entities).allowed else "deny",
                      [cedar_request(f) for f in cases], "outcome"))
    return found


#: DENY_EXPRESSION in JsonLogic over the same flat context.
JSONLOGIC_DENY = json.dumps({"or": [
    # a hold of any kind in force: placed on or before the date and not reinstated by it
    {"and": [{"!==": [{"var": "hold_kind"}, None]}, {"<=": [{"var": "placed_on"}, {"var": "date"}]},
             {"or": [{"===": [{"var": "reinstated_on"}, None]},
                     {"<": [{"var": "date"}, {"var": "reinstated_on"}]}]}]},
    {"!": {"var": "cleared"}},
    {"and": [{"!==": [{"var": "min_age"}, None]}, {"<": [{"var": "age"}, {"var": "min_age"}]}]},
    {"and": [{"!==": [{"var": "max_age"}, None]}, {">": [{"var": "age"}, {"var": "max_age"}]}]},
    {"and": [{"!==": [{"var": "max_children"}, None]},
             {">=": [{"var": "n_children"}, {"var": "max_children"}]}]},
    {"and": [{"!==": [{"var": "genders"}, None]}, {"!": {"in": [{"var": "gender"}, {"var": "genders"}]}}]},
    {"!": {"var": "active"}},
]})

#: qpr.placement in Cedar: permit a cleared placement into an active home, forbid each denial
#: (Cedar has no null: an absent restriction is an absent context attribute, tested with `has`).
CEDAR_POLICIES = "\n".join([
    'permit(principal, action, resource) when { context.active && context.cleared };',
    'forbid(principal, action, resource) when { context has hold_kind && context.placed_on <= context.date '
    '&& (!(context has reinstated_on) || context.date < context.reinstated_on) };',
    'forbid(principal, action, resource) when { context has min_age && context.age < context.min_age };',
    'forbid(principal, action, resource) when { context has max_age && context.age > context.max_age };',
    'forbid(principal, action, resource) when { context has max_children && '
    'context.n_children >= context.max_children };',
    'forbid(principal, action, resource) when { context has genders && '
    '!context.genders.contains(context.gender) };',
])


def cedar_request(f: dict[str, Any]) -> dict[str, Any]:
    """A Cedar request: the flat context without its absent (null) values."""
    context = {k: v for k, v in flat(f).items() if v is not None}
    return {"principal": 'Worker::"w"', "action": 'Action::"place"', "resource": 'Home::"h"',
            "context": context}


# ---------------------------------------------------------------------------------------------
# timing


def timed(fn: Callable[[Any], Any], inputs: list[Any], repeats: int) -> float:
    """Microseconds per call in the fastest of `repeats` passes over all inputs, after warming up
    on the first 500 (the fastest pass: on a shared machine, slower passes measure the neighbours)."""
    for x in inputs[: min(500, len(inputs))]:
        fn(x)
    runs = []
    for _ in range(repeats):
        start = time.perf_counter_ns()
        for x in inputs:
            fn(x)
        runs.append((time.perf_counter_ns() - start) / len(inputs) / 1000)
    return min(runs)


def latencies(fn: Callable[[Any], Any], inputs: list[Any]) -> tuple[float, float]:
    """p50 and p99 of single calls, in microseconds (one pass, each call timed alone: the
    clock read adds about 0.1 us to each)."""
    samples = []
    clock = time.perf_counter_ns
    for x in inputs:
        start = clock()
        fn(x)
        samples.append(clock() - start)
    samples.sort()
    return samples[len(samples) // 2] / 1000, samples[min(len(samples) - 1, len(samples) * 99 // 100)] / 1000


def threaded_throughput(fn: Callable[[Any], Any], inputs: list[Any], threads: int, repeats: int) -> float:
    """Median calls/s over `repeats` passes of all inputs split across `threads` threads."""
    rates = []
    for _ in range(repeats):
        chunks = [inputs[i::threads] for i in range(threads)]
        workers = [threading.Thread(target=lambda c=c: [fn(x) for x in c]) for c in chunks]
        start = time.perf_counter_ns()
        for w in workers:
            w.start()
        for w in workers:
            w.join()
        rates.append(len(inputs) / ((time.perf_counter_ns() - start) / 1e9))
    return statistics.median(rates)


def profile(engine: Engine, cases: list[dict[str, Any]]) -> None:
    """cProfile of Engine.decide over the cases: the functions with the most time of their own."""
    profiler = cProfile.Profile()
    profiler.enable()
    for f in cases:
        engine.decide(DECISION, f)
    profiler.disable()
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    stats.sort_stats("cumulative").print_stats(r"qpr_rules|durable|pydantic|json", 25)
    stats.sort_stats("tottime").print_stats(12)
    print(f"\ncProfile of Engine.decide over {len(cases)} cases (cumulative, then own time):")
    root = str(ROOT) + "/"
    print("\n".join(line.replace(root, "") for line in out.getvalue().splitlines()
                    if line.strip() and not line.lstrip().startswith(("Ordered by", "List reduced"))))


# ---------------------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="300 cases, 3 passes: a CI smoke run")
    parser.add_argument("--check", action="store_true", help="check agreement only; exit 1 unless all agree")
    parser.add_argument("--profile", action="store_true", help="also profile Engine.decide with cProfile")
    parser.add_argument("--cases", type=int, default=None, help="number of generated cases")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--batch-sizes", default=None,
                        help="batch sizes for the start-up/batch/memory tables (default 10000,1000000; "
                             "2000 with --quick; empty to skip)")
    args = parser.parse_args()
    if args.batch_sizes is None:
        args.batch_sizes = "2000" if args.quick else "10000,1000000"
    n = args.cases or (300 if args.quick else 10_000)
    repeats = 3 if args.quick else 7

    cases = generate(n, args.seed)
    engine = Engine.load([ROOT / "policies" / "qpr.yaml"])
    fast = Engine.load([ROOT / "policies" / "qpr.yaml"], evaluator="compiled")
    runtime = engine._runtimes[DECISION]  # the engine's parts, to time them separately
    assert runtime.durable is not None
    ruleset = runtime.durable
    outcome = {r.compiled.id: r.compiled.rule.outcome for r in runtime.rules}
    missing = set(outcome) ^ {P + k for k in ZEN_ROWS}
    if missing:  # the policy changed: the hand-written versions must follow it
        print(f"DISAGREEMENT: the hand-written rules and policies/qpr.yaml differ on {sorted(missing)}")
        return 1
    models = [engine.validate_facts(DECISION, f) for f in cases]
    dumped = [m.model_dump(mode="python") for m in models]
    texts = [json.dumps(f, default=dt.date.isoformat) for f in cases]
    messages = [to_message(d, runtime.messages.list_paths, f"b{i}") for i, d in enumerate(dumped)]
    fresh = itertools.count()
    capi = CApiRuleset("placement", [(r.compiled.id, compile_rule_expression(r.condition),
                                      r.compiled.rule.priority) for r in runtime.rules])
    validate = engine.fact_model(DECISION).model_validate

    def reference(facts: dict[str, Any]) -> frozenset[str]:
        return frozenset(r.compiled.id for r in runtime.rules if r.check(facts))

    # the messages as decide() writes them (its state is deleted after each case, so a case's
    # sid can be posted again in the next pass)
    written = [(runtime.messages.json(m, f"h{i}"), f"h{i}") for i, m in enumerate(models)]

    def durable_only(message: tuple[str, str]) -> frozenset[str]:
        return frozenset(ruleset.evaluate_json(*message))

    # what decide() posts (the facts the rules read), as dicts: the raw row over those
    read_messages = [json.loads(text) for text, _ in written]

    def durable_capi(message: dict[str, Any]) -> frozenset[str]:
        sid = f"capi-{next(fresh)}"
        return frozenset(capi.evaluate(json.dumps(dict(message, sid=sid, id=sid)), sid))

    def decide_fired(facts: Any) -> frozenset[str]:
        d = engine.decide(DECISION, facts)
        if d.status == "error":  # never an answer: e.g. the two evaluators disagreed
            return frozenset({f"error: {d.reason}"})
        return frozenset(r.id for r in d.fired)

    def fast_fired(facts: Any) -> frozenset[str]:
        d = fast.decide(DECISION, facts)
        if d.status == "error":
            return frozenset({f"error: {d.reason}"})
        return frozenset(r.id for r in d.fired)

    mask, fired_sets = runtime.compiled.mask, {}  # the fired rules per mask, as the answers memo them

    def compiled_alone(model: Any) -> frozenset[str]:
        bits = mask(model)
        found = fired_sets.get(bits)
        if found is None:
            found = fired_sets[bits] = frozenset(runtime.answers.fired_ids(bits))
        return found

    def floor(facts: dict[str, Any]) -> frozenset[str]:
        validate(facts)  # what any typed entry point pays
        return expected_fired(facts)

    rows: list[Row] = [
        ("hand-written Python (baseline), outcome", baseline, cases, "outcome"),
        ("floor: pydantic validation + hand-written fired rules", floor, cases, "fired"),
        ("fast path: Engine(evaluator='compiled').decide, dict", fast_fired, cases, "fired"),
        ("fast path, JSON text", fast_fired, texts, "fired"),
        ("fast path given a validated model", fast_fired, models, "fired"),
        ("durable path: Engine.decide (default), dict", decide_fired, cases, "fired"),
        ("reference evaluator alone (closures, dumped facts)", reference, dumped, "fired"),
        ("durable_rules under the guarded host (C API), JSON given", durable_only, written, "fired"),
        ("raw durable_rules: its C API, fresh state, deleted", durable_capi, messages, "fired"),
        ("raw durable_rules, the message decide posts", durable_capi, read_messages, "fired"),
        ("compiled evaluator alone, validated model (fired rules)", compiled_alone, models, "fired"),
        *peers(cases),
    ]

    # agreement first
    fired = [expected_fired(f) for f in cases]
    expected = [baseline(f) for f in cases]
    disagreements = sum(outcome_of(x, outcome) != e for x, e in zip(fired, expected, strict=True))
    if disagreements:
        print(f"DISAGREEMENT: the hand-written outcome and fired rules differ on {disagreements} cases")
    for name, fn, inputs, kind in rows:
        want = fired if kind == "fired" else expected
        wrong = [i for i, (x, w) in enumerate(zip(inputs, want, strict=True)) if fn(x) != w]
        if wrong:
            i = wrong[0]
            print(f"DISAGREEMENT: {name} differs from the baseline on {len(wrong)} of {n} cases; "
                  f"first, case {i}:"
                  f"\n  facts {cases[i]}\n  got {fn(inputs[i])}\n  expected {want[i]}")
            disagreements += len(wrong)
    if disagreements:
        return 1
    print(f"all {len(rows)} implementations agree on all {n} cases with the baseline "
          f"({expected.count('allow')} allow, {expected.count('deny')} deny; "
          f"{sum(len(x) for x in fired) / n:.1f} rules fire per case)")
    if args.check:
        return 0

    # then timing
    results = []
    for name, fn, inputs, _ in rows:
        us = timed(fn, inputs, repeats)
        p50, p99 = latencies(fn, inputs)
        results.append((name, us, p50, p99))
    base = results[0][1]
    table = Table(title=f"{DECISION}: {n} distinct cases, fastest of {repeats} passes, one process")
    table.add_column("implementation")
    for col in ("us/decision", "decisions/s", "x hand-written", "p50 us", "p99 us"):
        table.add_column(col, justify="right")
    for name, us, p50, p99 in results:
        table.add_row(name, f"{us:.2f}", f"{1e6 / us:,.0f}", f"{us / base:,.1f}", f"{p50:.1f}", f"{p99:.1f}")
    Console(width=140).print(table)
    by_name = {name: us for name, us, _, _ in results}
    floor_us, fast_us = by_name[rows[1][0]], by_name[rows[2][0]]
    capi_us, host_us, capi_read_us = by_name[rows[8][0]], by_name[rows[7][0]], by_name[rows[9][0]]
    print(f"targets: fast path {fast_us:.2f} us (<= 10 us: {'met' if fast_us <= 10 else 'NOT met'}); "
          f"{fast_us / floor_us:.2f}x the floor of {floor_us:.2f} us (<= 1.5x: "
          f"{'met' if fast_us <= 1.5 * floor_us else 'NOT met'}); durable path "
          f"{by_name[rows[5][0]] / capi_us:.2f}x raw durable_rules (<= 1.5x: "
          f"{'met' if by_name[rows[5][0]] <= 1.5 * capi_us else 'NOT met'}), "
          f"{by_name[rows[5][0]] / capi_read_us:.2f}x raw durable_rules given the message decide posts; "
          f"the guarded host alone is {host_us / capi_read_us:.2f}x that raw row (whose time includes "
          "encoding its message)")

    # Engine.decide's parts, each timed alone over the same cases
    model_type = engine.fact_model(DECISION)
    not_fired = [[r for r in runtime.rules if not r.check(d)] for d in dumped]
    masks = [runtime.compiled.mask(m) for m in models]
    parts = [
        ("pydantic validation", model_type.__pydantic_validator__.validate_python, cases),
        ("durable message, written to JSON", lambda m: runtime.messages.json(m, "x1"), models),
        ("durable_rules under the guarded host", durable_only, written),
        ("compiled evaluator (the cross-check)", runtime.compiled.mask, models),
        ("the Decision, from the answer for its fired rules",
         lambda i: runtime.answers.decision(masks[i], models[i]), list(range(n))),
        ("(not in decide) explanations of the rules not fired, when read",
         lambda i: [explain_failure(r.compiled.condition, dumped[i], model_type) for r in not_fired[i]],
         list(range(n))),
        ("(not in decide) reference evaluator, over dumped facts", reference, dumped),
    ]
    split = Table(title="where Engine.decide's time goes (each part timed alone)")
    split.add_column("part")
    split.add_column("us/call", justify="right")
    split.add_column("share of decide", justify="right")
    decide_us = by_name[rows[5][0]]
    for name, fn, inputs in parts:
        us = timed(fn, inputs, repeats)
        split.add_row(name, f"{us:.2f}", f"{us / decide_us:.0%}")
    Console(width=130).print(split)

    for threads in (1, 2):
        rate = threaded_throughput(lambda f: engine.decide(DECISION, f), cases, threads, max(3, repeats // 2))
        print(f"Engine.decide, {threads} thread(s) sharing one Engine: {rate:,.0f} decisions/s")
    if args.profile:
        profile(engine, cases[: min(n, 2000)])
    if args.batch_sizes:
        from bench_batch import print_tables

        print_tables([int(x) for x in args.batch_sizes.split(",") if x])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
