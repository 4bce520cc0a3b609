"""The old side of `qpr-rules diff --against REV`, run by REV's own code.

This file's text is executed by a fresh interpreter whose `qpr_rules` is the revision's (its
`src/` first on the path, in a git worktree of REV), so a fact-schema change between the
revisions does not stop the old policies from loading. It reads one JSON request on standard
input and writes one JSON answer on standard output; it imports nothing of the running
revision's package, only what both revisions have (Engine, the scenario loader, the fact
generator) and pydantic.
"""

from __future__ import annotations

import json
import sys
import typing
import zlib
from typing import Any

from pydantic import BaseModel


def field_paths(model: type[BaseModel], prefix: str = "") -> list[str]:
    """Every field path of a fact model (list items as NAME[].FIELD), for naming what a schema
    change adds or removes."""
    out: list[str] = []
    for name, info in model.model_fields.items():
        path = f"{prefix}{name}"
        out.append(path)
        stack, seen = [info.annotation], False
        while stack and not seen:
            current = stack.pop()
            if isinstance(current, type) and issubclass(current, BaseModel):
                out += field_paths(current, f"{path}.")
                seen = True
            origin = typing.get_origin(current)
            args = [a for a in typing.get_args(current) if a is not type(None)]
            if origin is list:
                for a in args:
                    if isinstance(a, type) and issubclass(a, BaseModel):
                        out += field_paths(a, f"{path}[].")
                        seen = True
            else:
                stack.extend(args)
    return out


def _answer(decision: Any) -> dict[str, Any]:
    data = decision.to_dict()
    answer = {"outcome": data["outcome"], "status": data.get("status"),
              "fired": sorted(r["id"] for r in data.get("fired", [])),
              "obligations": data.get("obligations", [])}
    return dict(json.loads(json.dumps(answer, default=str)))


def _valid(engine: Any, decision: str, facts: Any) -> bool:
    try:
        engine.fact_model(decision).model_validate(facts)
    except Exception:  # not a valid fact of this revision's schema
        return False
    return True


def main() -> None:
    request = json.load(sys.stdin)
    import qpr_rules

    if not str(qpr_rules.__file__).startswith(request["src"]):
        raise SystemExit(json.dumps({"error": f"qpr_rules came from {qpr_rules.__file__}, not the revision"}))
    from pathlib import Path

    from qpr_rules.analysis.generate import sample
    from qpr_rules.engine.engine import Engine
    from qpr_rules.scenarios.runner import load_scenario_file, scenario_files

    policies = Path(request["policies"])
    engine = Engine.load([policies])
    ps = engine.policies
    out: dict[str, Any] = {
        "decisions": {d: {"spec": engine.spec(d).decision.model_dump(mode="json"),
                          "facts": engine.spec(d).decision.facts,
                          "fields": field_paths(engine.fact_model(d))} for d in engine.decision_ids},
        "rules": {r.id: r.rule.model_dump(mode="json") for r in ps.rules()},
        "clauses": {f"{f.policy.id}:{c.id}": c.model_dump(mode="json")
                    for f in ps.files for c in f.policy.clauses},
        "parameters": {f"{f.policy.id}:{n}": p.model_dump(mode="json")
                       for f in ps.files for n, p in f.policy.parameters.items()},
        "conditions": {f"{f.policy.id}:{n}": {"when": b}
                       for f in ps.files for n, b in f.policy.conditions.items()},
        "cases": {}, "answers": {},
    }
    corpus: dict[str, list[Any]] = {d: [] for d in engine.decision_ids}
    tests = policies / "tests"
    for path in scenario_files([tests] if tests.is_dir() else []):
        try:
            for s in load_scenario_file(path):
                if s.decision in corpus:
                    corpus[s.decision].append(s.scenario.facts)
        except Exception:  # a scenario file this revision cannot read adds no cases
            continue
    for d in corpus:
        corpus[d].extend(sample(engine.fact_model(d), request["generated"], seed=zlib.crc32(d.encode())))
        out["cases"][d] = [{"facts": f, "answer": _answer(engine.decide(d, f)), "valid": _valid(engine, d, f)}
                           for f in corpus[d]]
    # the other side's cases, each with the candidates to try (as given, then mapped back)
    for d, cases in request["ask"].items():
        answers: list[Any] = []
        for case in cases:
            answer = None
            if case["raw"]:  # invalid on the asking side too: both answer it failing closed
                answer = _answer(engine.decide(d, case["facts"][0]))
            for facts in [] if case["raw"] else case["facts"]:
                if _valid(engine, d, facts):
                    answer = _answer(engine.decide(d, facts))
                    break
            answers.append(answer)
        out["answers"][d] = answers
    json.dump(out, sys.stdout, default=str)


if __name__ == "__main__":
    main()
