"""The compiled evaluator's index of keyed rules (engine/compiled.py, INDEX_MIN_RULES): on a
generated policy whose rules start with `home.id in [...]`, the indexed mask gives the reference
evaluator's answer and durable_rules' on every case. Speed: bench/bench_scale.py."""

from __future__ import annotations

import sys
from pathlib import Path

from qpr_rules import Engine
from qpr_rules.engine import compiled

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
from scale_policy import facts, write_policy


def test_indexed_rules_answer_as_the_reference_and_durable_rules(tmp_path: Path) -> None:
    path = write_policy(tmp_path / "gen", 60, seed=3)
    fast = Engine.load([path], evaluator="compiled")
    runtime = fast._runtimes["gen.placement"]
    assert "_ix0.get(" in runtime.compiled.source  # the rules went through the index
    validator = runtime.validator()
    fired = 0
    for case in facts(400, seed=11):
        model = validator.validate_python(case)
        dumped = model.model_dump(mode="python")
        reference = sum(1 << i for i, r in enumerate(runtime.rules) if r.check(dumped))
        assert runtime.compiled.mask(model) == reference
        fired |= reference
    assert bin(fired).count("1") >= 12  # the index let rules fire, not only refused them
    durable = Engine.load([path])
    for case in facts(60, seed=12):
        answer = durable.decide("gen.placement", case)
        assert answer.status != "error", answer.reason  # a disagreement would be an error answer
        assert answer == fast.decide("gen.placement", case)


def test_few_keyed_rules_stay_inline(tmp_path: Path) -> None:
    path = write_policy(tmp_path / "gen", compiled.INDEX_MIN_RULES - 1, seed=3)
    runtime = Engine.load([path], evaluator="compiled")._runtimes["gen.placement"]
    assert "_ix" not in runtime.compiled.source
