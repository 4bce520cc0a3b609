"""Generated placement policies of any size, in the project's own YAML format, for bench_scale.py
and the durable_rules size regression test.

The mix is stated so it can be judged no easier than the real policies:

- every rule reads 2 to 6 atoms, nested in all/any/not up to depth 3;
- atoms: comparisons of numbers (child.age, restrictions) and of dates (placement.date against a
  literal, a hold date against the placement date plus days, `within_days`), enum equality and
  `in` over enums, `in` over text lists of 10 to 50 values (child.region, home.id), `present`,
  `contains` over an enum list, `count` over a list, `some` over the children placed;
- every rule starts with a key (the home is one of 10 to 50 named homes, of 1,000), as rules over
  many homes or programs are written, so a case fires a few rules of a large policy, not a tenth;
- a quarter of the rules are built to fire often once their key holds (each of their other atoms
  is one the generated facts satisfy often); bench_scale.py prints the share of the rules that
  fired on some case (over nine in ten) and the rules fired per case;
- rules give deny or allow (deny-overrides), a fifth carry an obligation.

What durable_rules cannot evaluate is left out on purpose (shared/notes/durable-rules.md): a
`some` whose item condition has alternatives over different fields, and a `not` above a
`some`/`every`; so both evaluators must agree on every case.
"""

from __future__ import annotations

import datetime as dt
import json
import random
from pathlib import Path
from typing import Any

REGIONS = [f"region-{i:02d}" for i in range(60)]
HOMES = [f"RH-{i}" for i in range(1000)]
GENDERS = ["female", "male", "nonbinary"]
STATUSES = ["active", "inactive", "revoked", "rescinded"]
HOLD_KINDS = ["pending_qpr", "time_limited", "permanent"]
DAY0 = dt.date(2024, 1, 1)


def _atom(rnd: random.Random, likely: bool) -> dict[str, Any]:
    """One atom; likely: one that typical facts satisfy often (about half the time or more)."""
    kind = rnd.randrange(12)
    if kind == 0:
        op = rnd.choice(["lt", "lte"]) if likely else rnd.choice(["lt", "gt", "eq", "ne", "gte"])
        return {"fact": "child.age", op: rnd.randint(10, 17) if likely else rnd.randint(0, 17)}
    if kind == 1:
        return {"fact": "child.region", "in": rnd.sample(REGIONS, rnd.randint(30 if likely else 10, 50))}
    if kind == 2:
        return {"fact": "home.id", "in": rnd.sample(HOMES, rnd.randint(40 if likely else 10, 50))}
    if kind == 3:
        if likely:
            return {"fact": "home.approval_status", "eq": "active"}
        return {"fact": "home.approval_status", "in": rnd.sample(STATUSES, 2)}
    if kind == 4:
        return {"fact": "child.gender", "in": rnd.sample(GENDERS, 2)}
    if kind == 5:
        day = DAY0 + dt.timedelta(days=rnd.randint(-150, 150))
        return {"fact": "placement.date", rnd.choice(["after", "on_or_after", "before"]): day}
    if kind == 6:
        if likely:
            return {"fact": "home.hold.kind", "present": False}
        return {"fact": "home.hold.placed_on", "on_or_before": {"fact": "placement.date",
                                                               "plus_days": -rnd.randint(0, 400)}}
    if kind == 7:
        day = DAY0 + dt.timedelta(days=rnd.randint(-100, 100))
        return {"fact": "placement.date", "within_days": {"days": rnd.randint(60 if likely else 5, 200),
                                                          "of": day}}
    if kind == 8:
        return {"fact": "home.children_placed", "count": {rnd.choice(["lte", "lt"]) if likely
                                                         else rnd.choice(["gte", "eq", "lte"]):
                                                         rnd.randint(1 if likely else 0, 3)}}
    if kind == 9:
        item: dict[str, Any] = {"fact": "age", rnd.choice(["lt", "gte"]): rnd.randint(3, 15)}
        if not likely and rnd.random() < 0.5:  # an all of item atoms (never alternatives)
            item = {"all": [item, {"fact": "gender", "eq": rnd.choice(GENDERS)}]}
        return {"fact": "home.children_placed", "some": item}
    if kind == 10:
        return {"fact": "home.genders_placed", "contains": rnd.choice(GENDERS)}
    return {"fact": "placement.cleared_with_pco", "eq": True if likely else rnd.choice([True, False])}


def _within_limits(rnd: random.Random, likely: bool) -> dict[str, Any]:
    while True:
        # a key first, as rules over many homes or programs are written: the home is one of
        # 10 to 50 named homes (of 1,000), then the rule's own condition
        key = {"fact": "home.id", "in": rnd.sample(HOMES, rnd.randint(10, 50))}
        body = _condition(rnd, 2, likely)
        cond = {"all": [key, *body["all"]]} if "all" in body else {"all": [key, body]}
        terms, combos = _size(cond)
        if terms <= 250 and combos <= 10:
            return cond


def _has_quantifier(cond: dict[str, Any]) -> bool:
    return "some" in cond or "every" in cond or any(
        _has_quantifier(c) for key in ("all", "any") for c in cond.get(key, ())) or (
        "not" in cond and _has_quantifier(cond["not"]))


def _condition(rnd: random.Random, depth: int, likely: bool) -> dict[str, Any]:
    """A condition nested up to depth (all/any/not); a likely one is an all of likely atoms."""
    if likely:
        items = [_atom(rnd, True) for _ in range(rnd.randint(2, 3))]
        if depth > 1 and rnd.random() < 0.5:  # an any of which one likely atom suffices
            items.append({"any": [_atom(rnd, True), _atom(rnd, False)]})
        return {"all": items}
    if depth == 0 or rnd.random() < 0.3:
        return _atom(rnd, False)
    shape = rnd.randrange(3)
    if shape == 2:
        inner = _condition(rnd, depth - 1, False)
        if _has_quantifier(inner):  # durable_rules gets not-above-some wrong: keep it plain
            inner = _atom(rnd, False)
            while "some" in inner:
                inner = _atom(rnd, False)
        return {"not": inner}
    items = [_condition(rnd, depth - 1, False) for _ in range(rnd.randint(2, 3))]
    return {"all" if shape == 0 else "any": items}


def _size(cond: dict[str, Any], negate: bool = False) -> tuple[int, int]:
    """A generous estimate of (alternatives, all/any combinations) as durable_rules counts them
    (policy/limits.py has the exact count): candidates over its per-rule limits are drawn again."""
    if "not" in cond:
        return _size(cond["not"], not negate)
    for key in ("all", "any"):
        if key in cond:
            sizes = [_size(c, negate) for c in cond[key]]
            combos = 1 + sum(c for _, c in sizes)
            product = (key == "all") != negate
            terms = 1
            for t, _ in sizes:
                terms = terms * t if product else terms + t
            return (terms if product else terms - 1), combos
    if "in" in cond:
        return (3, 1) if negate else (len(cond["in"]), 1)
    return (3, 2) if negate else (1, 1 if "some" in cond else 0)


def policy_yaml(n_rules: int, seed: int = 7) -> str:
    """A valid policy file of n_rules rules for placement_request facts (one decision)."""
    rnd = random.Random(seed * 1_000_003 + n_rules)
    clauses = [{"id": f"c{i}", "section": f"Section {i}", "text": f"Clause {i} of the generated policy."}
               for i in range(max(1, n_rules // 10))]
    rules = []
    for i in range(n_rules):
        likely = rnd.random() < 0.25
        rule: dict[str, Any] = {
            "id": f"gen.placement.r{i}", "decision": "gen.placement", "title": f"Generated rule {i}",
            "clauses": [f"c{i % len(clauses)}"],
            "when": _within_limits(rnd, likely),
            "outcome": "allow" if likely and rnd.random() < 0.7 else rnd.choice(["deny", "allow"]),
        }
        if rnd.random() < 0.2:
            rule["obligations"] = [{"who": "pco", "do": f"Act on generated rule {i}.",
                                    "clause": rule["clauses"][0]}]
        rules.append(rule)
    doc = {
        "format": "qpr-rules/v1", "id": "gen", "title": f"Generated policy of {n_rules} rules",
        "source": {"document": "gen-source.txt", "title": "Generated source"},
        "jurisdiction": "Test", "revision": "2024-01-01", "effective_from": "2020-01-01",
        "roles": [{"id": "pco", "title": "Placement Coordinators Office"}],
        "clauses": clauses,
        "decisions": [{
            "id": "gen.placement", "title": "May the child be placed in the home?",
            "facts": "placement_request", "outcomes": ["deny", "allow"], "combine": "deny-overrides",
            "default": "deny", "default_reason": "no rule allows the placement", "on_error": "deny",
            "placement": True}],
        "rules": rules,
    }
    # JSON is YAML, one rule a line (compact: a 5,000-rule file stays under the loader's 5 MB);
    # dates as their ISO text unquoted, which the loader reads as dates (quoted they'd be text)
    rules_text = ",\n".join(json.dumps(r, separators=(",", ":"), default=_iso) for r in doc.pop("rules"))
    head = json.dumps(doc, indent=1)[:-2]
    text = head + ',\n "rules": [\n' + rules_text + "\n]}\n"
    text = text.replace('"@@', "").replace('@@"', "")
    for key in ("revision", "effective_from"):
        text = text.replace(f'"{key}": "{doc[key]}"', f'"{key}": {doc[key]}')
    return text


def _iso(day: dt.date) -> str:
    return f"@@{day.isoformat()}@@"


def write_policy(directory: Path, n_rules: int, seed: int = 7) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"gen_{n_rules}.yaml"
    path.write_text(policy_yaml(n_rules, seed), encoding="utf-8")
    # the source document the clauses quote (coverage reports read it)
    (directory / "sources").mkdir(exist_ok=True)
    (directory / "sources" / "gen-source.txt").write_text(
        "".join(f"Clause {i} of the generated policy.\n" for i in range(max(1, n_rules // 10))),
        encoding="utf-8")
    return path


def facts(n: int, seed: int = 1) -> list[dict[str, Any]]:
    """n distinct placement facts (each case is new: its child id is unique)."""
    rnd = random.Random(seed)
    out = []
    for i in range(n):
        date = DAY0 + dt.timedelta(days=rnd.randint(-200, 200))
        hold: dict[str, Any] | None = None
        if rnd.random() < 0.3:
            placed = date - dt.timedelta(days=rnd.choice([400, 300, 10, 0]))
            hold = {"kind": rnd.choice(HOLD_KINDS), "placed_on": placed.isoformat()}
        out.append({
            "placement": {"date": date.isoformat(), "status": rnd.choice(["proposed", "proposed", "made"]),
                          "cleared_with_pco": rnd.random() < 0.7, "siblings": []},
            "child": {"id": f"C-{seed}-{i}", "age": rnd.randint(0, 17), "gender": rnd.choice(GENDERS),
                      "region": rnd.choice(REGIONS)},
            "home": {"id": rnd.choice(HOMES), "approval": rnd.choice(["rfa", "lfh"]),
                     "approval_status": rnd.choice(["active"] * 4 + STATUSES[1:]),
                     "hold": hold, "restrictions": None,
                     "children_placed": [{"age": rnd.randint(0, 17), "gender": rnd.choice(GENDERS)}
                                         for _ in range(rnd.choice([0, 1, 1, 2, 3]))]},
        })
    return out
