"""decide_many over processes (issue 21, item 5): workers send compact answers (the mask of the
rules that fired, the obligations when they differ per case), never pickled Decisions, and this
process builds each Decision from them: equal, field for field and byte for byte, to the one
jobs=1 gives, on many generated facts, with both evaluators."""

from __future__ import annotations

import copy
import datetime as dt
import json
import pickle
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from qpr_rules import Engine
from qpr_rules.analysis.generate import sample
from qpr_rules.engine import batch
from qpr_rules.engine.answers import LazyDecision
from tests.policy_text import BASE, placement_facts, write_policy

# qpr.placement, and qpr.hold-placed, whose obligations repeat per region (for_each): the
# obligations then differ per case and travel with the compact answer
DECISIONS = ("qpr.placement", "qpr.hold-placed")


@pytest.fixture(autouse=True)
def _always_workers(monkeypatch: pytest.MonkeyPatch) -> None:
    # small chunks, so many chunks cross; workers whatever the size (no in-process fallback)
    monkeypatch.setattr(batch, "CHUNK", 37)
    monkeypatch.setattr(batch, "IN_PROCESS_BELOW", 0)


def _pairs(engine: Engine, count: int) -> list[tuple[str, Any]]:
    out: list[tuple[str, Any]] = []
    for decision_id in DECISIONS:
        model = engine.fact_model(decision_id)
        out += [(decision_id, f) for f in sample(model, count, seed=zlib.crc32(decision_id.encode()))]
    return out


@pytest.mark.parametrize("evaluator", ["compiled", "durable"])
def test_decisions_from_workers_equal_those_of_one_process(evaluator: str) -> None:
    engine = Engine.from_bundled(evaluator=evaluator)
    pairs = _pairs(engine, 300)
    one = list(batch.decide_pairs(engine, pairs, jobs=1))
    two = list(batch.decide_pairs(engine, pairs, jobs=2))
    assert len(two) == len(pairs)
    assert {"allow", "deny", "notify-regional-managers"} <= {d.outcome for d in one}
    assert any(d.obligations for d in one if d.decision == "qpr.hold-placed")
    assert [d.to_json() for d in two] == [d.to_json() for d in one]
    assert [d.to_json(not_fired=False) for d in two] == [d.to_json(not_fired=False) for d in one]
    assert two == one  # field for field, the explanations of the rules not fired included
    # pickled onwards, a rebuilt Decision is a plain Decision with the same bytes
    assert pickle.loads(pickle.dumps(two[0])).to_json() == one[0].to_json()


def test_workers_answer_with_masks_not_decisions() -> None:
    engine = Engine.from_bundled(evaluator="compiled")
    pairs = _pairs(engine, 40)
    batch._worker_init(batch._EngineRecipe(engine.policies.paths, None, "compiled", engine.digest))
    try:
        answers = batch._worker_chunk(batch._packed(iter(pairs), len(pairs))[1], False, None)
    finally:
        batch._WORKER.clear()
    assert len(answers) == len(pairs)
    for (decision_id, _), answer in zip(pairs, answers, strict=True):
        # the mask of the rules that fired; with the obligations when they differ per case
        if decision_id == "qpr.placement":
            assert type(answer) is int
        else:
            assert type(answer) is int or (answer[0] is None and type(answer[1]) is int and answer[2])
    # whole Decisions (with their explanations) would be tens of times larger
    placements = [(answer, engine.decide(d, f)) for (d, f), answer in zip(pairs, answers, strict=True)
                  if d == "qpr.placement"]
    assert len(pickle.dumps([a for a, _ in placements])) * 20 < len(pickle.dumps([d for _, d in placements]))


def test_a_dict_reused_for_every_case_explains_the_facts_it_held_when_given() -> None:
    engine = Engine.from_bundled(evaluator="compiled")
    cases = [f for d, f in _pairs(engine, 80) if d == "qpr.placement"]

    def reused() -> Iterator[dict[str, Any]]:
        held: dict[str, Any] = {}
        for case in cases:
            held.clear()
            held.update(copy.deepcopy(case))
            yield held

    two = list(engine.decide_many("qpr.placement", reused(), jobs=2))
    assert [d.to_json() for d in two] == [engine.decide("qpr.placement", c).to_json() for c in cases]


@pytest.mark.parametrize("evaluator", ["compiled", "durable"])
def test_each_answer_rebuilt_from_the_version_its_worker_applied(tmp_path: Path, evaluator: str) -> None:
    dated = "    placement: true\n    dated_by: placement.date\n"
    later = BASE.replace("effective_from: 2024-01-01", "effective_from: 2030-01-01").replace(
        "revision: 2024-01-01", "revision: 2030-01-01").replace(
        "    when: {fact: home.hold.kind, eq: pending_qpr}", "    when: {fact: home.hold.kind, eq: permanent}")
    write_policy(tmp_path, BASE.replace("    placement: true\n", dated), "v1.yaml")
    write_policy(tmp_path, later.replace("    placement: true\n", dated), "v2.yaml")
    engine = Engine.load([tmp_path], evaluator=evaluator)  # type: ignore[arg-type]
    on_hold = placement_facts(hold={"kind": "pending_qpr", "placed_on": "2024-01-01"})
    cases = []
    for i in range(120):
        case = json.loads(json.dumps(on_hold))
        case["placement"]["date"] = (dt.date(2029, 12, 1) + dt.timedelta(days=i)).isoformat()
        cases.append(case)
    one = [d.to_json() for d in engine.decide_many("tiny.placement", cases)]
    two = list(engine.decide_many("tiny.placement", cases, jobs=2))
    assert [d.to_json() for d in two] == one
    revisions = {d.policy_revision for d in two}
    assert len(revisions) == 2 and {d.outcome for d in two} == {"allow", "deny"}
    assert all(isinstance(d, LazyDecision) for d in two)
