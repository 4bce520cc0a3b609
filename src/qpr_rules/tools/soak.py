"""The differential soak: generated cases for every bundled decision through durable_rules (the
engine of record) and the reference evaluator, every fired-rule set compared.

    python -m qpr_rules.tools.soak                      # 1,000,000 cases per bundled decision
    python -m qpr_rules.tools.soak --cases 10000        # what CI runs (tests/test_soak.py)
    python -m qpr_rules.tools.soak --decision qpr.placement --seed 7 --policies policies/

Facts come from analysis/generate.py (every enum value, both booleans, absent optional fields,
empty and short lists, numbers at their bounds, dates over two years), each validated as
Engine.decide validates it. For each case the reference evaluator's fired rules are compared
with durable_rules' (the same comparison Engine.decide makes, without building explanations).
Reports disagreements (must be 0, the first ones printed in full), engine errors, cases per
second and the process's peak memory; exits 1 on any disagreement or error.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from qpr_rules.analysis.generate import generate
from qpr_rules.engine.engine import Engine
from qpr_rules.errors import EngineError


@dataclass
class SoakResult:
    decision: str
    cases: int = 0
    skipped: int = 0  # generated facts the model refused (drawn again)
    errors: list[str] = field(default_factory=list)
    disagreements: list[dict[str, Any]] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def per_second(self) -> float:
        return self.cases / self.seconds if self.seconds else 0.0


def soak_decision(engine: Engine, decision_id: str, cases: int, seed: int = 0, keep: int = 5) -> SoakResult:
    """Run `cases` generated cases of decision_id through both evaluators."""
    runtime = engine._runtimes[decision_id]
    model = runtime.spec.fact_model
    rnd = random.Random(f"{seed}:{decision_id}")
    result = SoakResult(decision_id)
    started = time.perf_counter()
    while result.cases < cases:
        raw = generate(model, rnd)
        try:
            validated = model.model_validate(raw)
            facts = validated.model_dump(mode="python")
        except ValidationError:
            result.skipped += 1
            if result.skipped > 20 * cases + 1000:
                result.errors.append("the generator gives almost no valid facts for this model")
                break
            continue
        sid = f"soak{result.cases}"
        reference = {r.compiled.id for r in runtime.rules if r.check(facts)}
        try:
            fired = set(runtime.evaluate(runtime.messages.json(validated, sid), sid))
        except EngineError as exc:
            if len(result.errors) < keep:
                result.errors.append(f"{exc} for {json.dumps(raw, default=str)}")
            else:
                result.errors.append(str(exc)[:100])
            result.cases += 1
            continue
        if fired != reference:
            result.disagreements.append({"facts": raw, "durable_rules": sorted(fired),
                                         "reference": sorted(reference)} if len(result.disagreements) < keep
                                        else {})
        result.cases += 1
    result.seconds = time.perf_counter() - started
    return result


def peak_memory_mb() -> float:
    """Peak resident memory of this process: VmHWM where /proc has it (ru_maxrss survives exec on
    Linux, so it would report the parent's peak when the parent was larger), else ru_maxrss (KiB)."""
    try:
        status = Path("/proc/self/status").read_text()
        (line,) = [x for x in status.splitlines() if x.startswith("VmHWM:")]
        return int(line.split()[1]) / 1024
    except (OSError, ValueError):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m qpr_rules.tools.soak", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", type=int, default=1_000_000, help="cases per decision (default 1,000,000)")
    parser.add_argument("--decision", action="append", help="only this decision (repeatable)")
    parser.add_argument("--policies", action="append", help="policy files or directories (default: bundled)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--format", choices=["text", "json"], default="text")
    args = parser.parse_args(argv)
    engine = Engine.load([Path(p) for p in args.policies]) if args.policies else Engine.from_bundled()
    decisions = args.decision or engine.decision_ids
    results = []
    total_started = time.perf_counter()
    for did in decisions:
        result = soak_decision(engine, did, args.cases, args.seed)
        results.append(result)
        if args.format == "text":
            print(f"{did:40} {result.cases:>10,} cases  {len(result.disagreements)} disagreements  "
                  f"{len(result.errors)} errors  {result.per_second:>8,.0f} cases/s", flush=True)
            for d in [d for d in result.disagreements if d][:3]:
                print("    disagreement:", json.dumps(d, default=str), flush=True)
            for e in result.errors[:3]:
                print("    error:", e[:500], flush=True)
    seconds = time.perf_counter() - total_started
    cases = sum(r.cases for r in results)
    bad = sum(len(r.disagreements) + len(r.errors) for r in results)
    if args.format == "json":
        print(json.dumps({"decisions": [{"decision": r.decision, "cases": r.cases, "skipped": r.skipped,
                                         "disagreements": len(r.disagreements), "errors": len(r.errors),
                                         "cases_per_second": round(r.per_second),
                                         "first": [d for d in r.disagreements if d][:3] + r.errors[:3]}
                                        for r in results],
                          "cases": cases, "seconds": round(seconds, 1),
                          "peak_memory_mb": round(peak_memory_mb(), 1)}, default=str, indent=2))
    else:
        print(f"total: {cases:,} cases in {seconds:,.1f} s ({cases / seconds:,.0f} cases/s), "
              f"{bad} disagreements or errors, peak memory {peak_memory_mb():,.0f} MB")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
