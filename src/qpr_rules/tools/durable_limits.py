"""Measure the limits of durable_rules: grow one dimension at a time until it fails.

    python -m qpr_rules.tools.durable_limits            # search every dimension, print a table
    python -m qpr_rules.tools.durable_limits --check    # each recorded limit: at it passes, one past fails
    python -m qpr_rules.tools.durable_limits --only alternatives --timeout 5

Every attempt runs in its own subprocess with a timeout: beyond some limits durable_rules loops
forever inside its C code holding the GIL, so no thread of the probing process could stop it.
An attempt builds rulesets in the shapes engine/durable_compiler.py writes (the case marker, the
guard rule) and checks the answer, so a wrong answer counts as a failure as much as an error.
The limits found are recorded in policy/limits.py and docs/reliability.md.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from qpr_rules.policy import limits

MARKER = "__qpr__"
Rules = dict[str, Any]
Build = Callable[[int], tuple[Rules, dict[str, Any], set[str]]]  # rules, message, rules that must fire


def _rule(expr: dict[str, Any]) -> dict[str, Any]:
    return {"all": [{"m": {"$and": [{MARKER: 1}, expr]}}]}


def _one(expr: dict[str, Any]) -> Rules:
    return {"r": _rule(expr)}


def _alternatives(n: int) -> tuple[Rules, dict[str, Any], set[str]]:
    """One rule, a membership test of n values (`in`): n alternatives, one holds."""
    return _one({"$or": [{"x": i} for i in range(n)]}), {"x": n - 1}, {"r"}


def _rules(n: int) -> tuple[Rules, dict[str, Any], set[str]]:
    """n rules of one equality each; one fires."""
    return {f"r{i}": _rule({"x": i}) for i in range(n)}, {"x": n - 1}, {f"r{n - 1}"}


def _matches(n: int) -> tuple[Rules, dict[str, Any], set[str]]:
    """One rule of n alternatives that all hold for the message."""
    return _one({"$or": [{"$gt": {"x": i}} for i in range(n)]}), {"x": n}, {"r"}


def _matching_rules(n: int) -> tuple[Rules, dict[str, Any], set[str]]:
    """n rules that all fire for the message."""
    return {f"r{i}": _rule({"$gt": {"x": i}}) for i in range(n)}, {"x": n}, {f"r{i}" for i in range(n)}


def _rule_terms(n: int) -> tuple[Rules, dict[str, Any], set[str]]:
    """One rule, `all` of n two-way `any`s: 2**n alternatives in normal form."""
    expr = {"$and": [{"$or": [{f"p{i}": 1}, {f"q{i}": 1}]} for i in range(n)]}
    return _one(expr), {f"p{i}": 1 for i in range(n)}, {"r"}


def _nesting(n: int) -> tuple[Rules, dict[str, Any], set[str]]:
    """`all` and `any` nested n deep, one alternative each."""
    expr: dict[str, Any] = {"x": 1}
    for i in range(n):
        expr = {"$and" if i % 2 else "$or": [expr, {"$ex": {"x": 1}}] if i % 2 else [expr]}
    return _one(expr), {"x": 1}, {"r"}


def _binary_tree(n: int) -> tuple[Rules, dict[str, Any], set[str]]:
    """A full binary tree of `$and`s n levels deep over one test: 2**n - 1 combinators."""
    expr: dict[str, Any] = {"$gte": {"x": 0}}
    for _ in range(n):
        expr = {"$and": [expr, expr]}
    return _one(expr), {"x": 1}, {"r"}


def _string_bytes(n: int) -> tuple[Rules, dict[str, Any], set[str]]:
    """Equality of text of n bytes with text that differs only in its last byte: must not fire."""
    rules = {"same": _rule({"s": "a" * n}), "other": _rule({"t": "a" * n})}
    return rules, {"s": "a" * n, "t": "a" * (n - 1) + "b"}, {"same"}


def _int_value(n: int) -> tuple[Rules, dict[str, Any], set[str]]:
    """A number n compared with n - 1 and with n: greater, not equal."""
    rules = {"gt": _rule({"$gt": {"x": n - 1}}), "eq": _rule({"x": n - 1})}
    return rules, {"x": n}, {"gt"}


def _day_offset(n: int) -> tuple[Rules, dict[str, Any], set[str]]:
    """A date (day number) compared with another plus n days, as `plus_days` compiles."""
    shifted = {"$add": {"$l": {"$m": "e"}, "$r": n}}
    rules = {"lte": _rule({"$lte": {"d": shifted}}), "gt": _rule({"$gt": {"d": shifted}})}
    return rules, {"e": 730000, "d": 730000 + n}, {"lte"}


def _message_bytes(n: int) -> tuple[Rules, dict[str, Any], set[str]]:
    """A message holding text of n bytes (n in KiB would be n * 1024)."""
    return _one({"$ex": {"s": 1}}), {"s": "a" * n}, {"r"}


def _list_items(n: int) -> tuple[Rules, dict[str, Any], set[str]]:
    """`some` over a list of n items, the last one matching."""
    expr = {"$iany": {"items": {"$i.x": 1}}}
    return _one(expr), {"items": [{"x": 0}] * (n - 1) + [{"x": 1}]}, {"r"}


def _properties(n: int) -> tuple[Rules, dict[str, Any], set[str]]:
    """A message of n properties in all (the marker, sid and id included)."""
    return _one({"$ex": {"f0": 1}}), {f"f{i}": i for i in range(n - 3)}, {"r"}


@dataclass(frozen=True)
class Dimension:
    name: str
    build: Build
    start: int
    cap: int
    recorded: int | None  # the largest size that works, as recorded in policy/limits.py
    what: str


DIMENSIONS = {d.name: d for d in [
    Dimension("alternatives", _alternatives, 2, 4096, limits.DURABLE_MAX_TERMS - 1,
              "alternatives in one ruleset besides the guard (`in` values, `any` items)"),
    Dimension("rules", _rules, 2, 4096, limits.DURABLE_MAX_TERMS - 1,
              "rules in one ruleset besides the guard"),
    Dimension("matches", _matches, 2, 4096, limits.DURABLE_MAX_MATCHES - 1,
              "alternatives of one rule holding at once besides the guard"),
    Dimension("matching_rules", _matching_rules, 2, 4096, limits.DURABLE_MAX_MATCHES - 1,
              "rules firing at once besides the guard"),
    Dimension("rule_terms", _rule_terms, 1, 24, limits.DURABLE_MAX_COMBINATORS - 2,
              "two-way `$or`s under one `$and` (2**n alternatives, n + 2 combinators with the marker's)"),
    Dimension("binary_tree", _binary_tree, 1, 12, 3, "levels of a full binary tree of `$and`s "
              "(2**n - 1 combinators; the next level, 31, is past the limit)"),
    Dimension("nesting", _nesting, 2, 4096, limits.DURABLE_MAX_COMBINATORS - 1,
              "levels of `$and`/`$or` nested under the case marker's `$and`"),
    Dimension("string_bytes", _string_bytes, 2, 1 << 22, limits.DURABLE_MAX_STRING_BYTES,
              "bytes of text compared for equality"),
    Dimension("int_value", _int_value, 2, 1 << 70, limits.DURABLE_MAX_INT, "magnitude of whole numbers"),
    Dimension("day_offset", _day_offset, 2, 1 << 40, None, "days added to a date by `plus_days`"),
    Dimension("message_bytes", _message_bytes, 1024, 1 << 26, limits.DURABLE_MAX_MESSAGE_BYTES,
              "bytes of text in one message"),
    Dimension("list_items", _list_items, 2, 1 << 20, None,
              "items of one list under `some` (slow, not a limit: bounded by the message size)"),
    Dimension("properties", _properties, 4, 4096, limits.DURABLE_MAX_PROPERTIES,
              "properties of one message (marker, sid and id included)"),
]}


def attempt_here(name: str, n: int) -> dict[str, Any]:
    """Run one attempt in this process (what the subprocess does): ok, wrong or error. Rules go
    through the engine's own host (engine/durable_host.py: guard rule, priorities, sids)."""
    from qpr_rules.engine.durable_host import CompiledDurableRule, DurableRuleset

    rules, message, expected = DIMENSIONS[name].build(n)
    try:
        ruleset = DurableRuleset("probe", [CompiledDurableRule(rule_name, rule["all"][0]["m"], 100)
                                           for rule_name, rule in rules.items()])
        # the order of a message's properties changes how durable_rules fails (measured: an
        # error 303 with the marker last, an endless loop with it first): try both
        for sid, case in (("1", {**message, MARKER: 1}), ("2", {MARKER: 1, **message})):
            fired = set(ruleset.evaluate({**case, "sid": sid, "id": sid}))
            if fired != expected:
                detail = f"fired {sorted(fired)[:5]}, expected {sorted(expected)[:5]}"
                return {"status": "wrong", "detail": detail}
    except Exception as exc:
        return {"status": "error", "detail": str(exc)[:200]}
    return {"status": "ok", "detail": ""}


def attempt(name: str, n: int, timeout: float) -> dict[str, Any]:
    """One attempt in a subprocess: ok, wrong, error, hang (timed out) or crash (killed by a signal)."""
    started = time.monotonic()
    try:
        command = [sys.executable, "-m", "qpr_rules.tools.durable_limits", "--attempt", name, str(n)]
        proc = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"status": "hang", "detail": f"no answer within {timeout:g} s"}
    if proc.returncode < 0:
        return {"status": "crash", "detail": f"killed by signal {-proc.returncode}"}
    try:
        result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    except (IndexError, ValueError):
        return {"status": "crash", "detail": f"exit {proc.returncode}: {proc.stderr.strip()[-200:]}"}
    result["seconds"] = round(time.monotonic() - started, 2)
    return result


@dataclass
class Found:
    name: str
    last_ok: int | None
    first_failure: int | None
    failure: dict[str, Any] | None


def search(name: str, timeout: float) -> Found:
    """Double the size until an attempt fails (or the cap), then bisect to the exact limit."""
    dim = DIMENSIONS[name]
    n, last_ok = dim.start, None
    while n <= dim.cap:
        result = attempt(name, n, timeout)
        if result["status"] != "ok":
            break
        last_ok, n = n, n * 2
    else:
        return Found(name, last_ok, None, None)
    low, high, failure = (last_ok or 0), n, result
    while high - low > 1:
        mid = (low + high) // 2
        result = attempt(name, mid, timeout)
        if result["status"] == "ok":
            low = mid
        else:
            high, failure = mid, result
    return Found(name, low or None, high, failure)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m qpr_rules.tools.durable_limits", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", action="append", choices=sorted(DIMENSIONS), help="dimensions to probe")
    parser.add_argument("--timeout", type=float, default=10.0,
                        help="seconds before an attempt counts as hung")
    parser.add_argument("--check", action="store_true", help="check the recorded limits only")
    parser.add_argument("--attempt", nargs=2, metavar=("DIMENSION", "N"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.attempt:
        print(json.dumps(attempt_here(args.attempt[0], int(args.attempt[1]))), flush=True)
        return 0
    names = args.only or list(DIMENSIONS)
    failed = 0
    for name in names:
        dim = DIMENSIONS[name]
        if args.check:
            if dim.recorded is None:
                continue
            at = attempt(name, dim.recorded, args.timeout)
            past = attempt(name, dim.recorded + 1, args.timeout)
            ok = at["status"] == "ok" and past["status"] != "ok"
            failed += not ok
            print(f"{name:15} {dim.recorded:>22,}: {at['status']}; {dim.recorded + 1:,}: {past['status']} "
                  f"{past['detail']}  {'as recorded' if ok else 'MOVED'}", flush=True)
            continue
        found = search(name, args.timeout)
        if found.first_failure is None:
            print(f"{name:15} no failure up to {dim.cap:,} ({dim.what})", flush=True)
        else:
            assert found.failure is not None
            moved = "" if dim.recorded in (None, found.last_ok) else f"  MOVED (recorded {dim.recorded:,})"
            failed += bool(moved)
            print(f"{name:15} works up to {found.last_ok or 0:,}; {found.first_failure:,}: "
                  f"{found.failure['status']} {found.failure['detail']} ({dim.what}){moved}", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
