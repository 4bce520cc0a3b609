"""The differential soak as CI runs it: 10,000 generated cases per bundled decision through
durable_rules and the reference evaluator, no disagreement and no error (about 30 s of CPU;
python -m qpr_rules.tools.soak runs 1,000,000 per decision, see docs/reliability.md)."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys

from qpr_rules import Engine
from qpr_rules.tools.soak import soak_decision


def test_ten_thousand_cases_per_bundled_decision_agree() -> None:
    result = subprocess.run([sys.executable, "-m", "qpr_rules.tools.soak", "--cases", "10000", "--format", "json"],
                            capture_output=True, text=True, timeout=1200)
    report = json.loads(result.stdout)
    assert {d["decision"] for d in report["decisions"]} == set(Engine.from_bundled().decision_ids)
    for d in report["decisions"]:
        assert (d["decision"], d["cases"], d["disagreements"], d["errors"]) == (d["decision"], 10000, 0, 0), d
        assert d["cases_per_second"] > 0
    assert result.returncode == 0
    assert report["peak_memory_mb"] < 500


def test_the_soak_reports_a_disagreement_when_the_evaluators_differ() -> None:
    engine = Engine.from_bundled()
    runtime = engine._runtimes["qpr.placement"]
    first = runtime.rules[0]
    runtime.rules[0] = dataclasses.replace(first, check=lambda facts: not first.check(facts))
    result = soak_decision(engine, "qpr.placement", 200)
    assert len(result.disagreements) == 200  # every case: the altered rule now always disagrees
    shown = result.disagreements[0]
    assert set(shown) == {"facts", "durable_rules", "reference"}
    assert (first.compiled.id in shown["durable_rules"]) != (first.compiled.id in shown["reference"])
