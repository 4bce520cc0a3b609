"""One front door for facts (issue 18, item 1): every way facts enter a decision reaches the same
reader, with the same refusals word for word, and the same answer.

The doors: a dict, JSON as str and as bytes, a fact-model instance, a dict holding (unvalidated)
model instances, `decide_many` with jobs=1 and jobs=2, and the command line's `--facts FILE`,
`--facts -` (stdin) and `--batch`. Each hostile fact set goes through every door that can carry it;
the outcome and the error text must agree, and no hostile set may be answered `allow`.
"""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from qpr_rules import Engine
from qpr_rules.engine import batch
from qpr_rules.facts.hold import Hold
from qpr_rules.facts.placement import Child, Home, PlacementRequest

CLI = Path(sys.executable).with_name("qpr-rules")
DECISION = "qpr.placement"

CLEAR: dict[str, Any] = {
    "placement": {"date": "2026-03-02", "status": "proposed", "cleared_with_pco": True, "siblings": []},
    "child": {"id": "C-1", "age": 9, "gender": "male", "region": "North Central"},
    "home": {"id": "RH-1", "approval": "rfa", "approval_status": "active", "hold": None,
             "restrictions": None, "children_placed": []},
}
PERMANENT = '{"kind": "permanent", "placed_on": "2025-01-01"}'


def _text(facts: dict[str, Any]) -> str:
    return json.dumps(facts)


# A permanent hold, then `"hold": null` after it: Python's json (and pydantic's JSON parser) keep
# the last value, so the home reads as never held. "Homes on hold are not to receive placements
# under any circumstances" (000, Homes on hold).
DUPLICATE_HOLD = _text(CLEAR).replace('"hold": null', f'"hold": {PERMANENT}, "hold": null')
# the same key spelled with an escape: still the same key
ESCAPED_DUPLICATE = _text(CLEAR).replace('"hold": null', f'"hold": {PERMANENT}, "\\u0068old": null')


@pytest.fixture(scope="module")
def engine() -> Engine:
    return Engine.from_bundled()


@pytest.fixture(scope="module")
def fast() -> Engine:
    return Engine.from_bundled(evaluator="compiled")


# ------------------------------------------------------------------ JSON text doors


TEXT_CASES = {
    "duplicate-hold": DUPLICATE_HOLD,
    "escaped-duplicate-hold": ESCAPED_DUPLICATE,
    "invalid-utf8": _text(CLEAR).replace("C-1", "C-\udcff"),  # written as bytes below
    "nan-age": _text(CLEAR).replace('"age": 9', '"age": NaN'),
}


def _bytes(name: str) -> bytes:
    text = TEXT_CASES[name]
    if name == "invalid-utf8":
        return text.encode("utf-8", "surrogateescape")
    return text.encode()


def _text_doors(engine: Engine, raw: bytes, tmp_path: Path) -> dict[str, tuple[str, str]]:
    """(outcome, error text) per door for one JSON document."""
    answers: dict[str, tuple[str, str]] = {}

    def take(door: str, decision: Any) -> None:
        answers[door] = (decision.outcome, "; ".join(decision.errors))

    take("bytes", engine.decide(DECISION, raw))
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        text = None
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(batch, "IN_PROCESS_BELOW", 0)  # jobs=2 through workers, however few the cases
        if text is not None:
            take("str", engine.decide(DECISION, text))
            take("many-jobs-1-str", next(engine.decide_many(DECISION, [text], jobs=1)))
            take("many-jobs-2-str", next(engine.decide_many(DECISION, [text], jobs=2)))
        take("many-jobs-2-bytes", next(engine.decide_many(DECISION, [raw], jobs=2)))

    path = tmp_path / "facts.json"
    path.write_bytes(raw)
    for door, args, stdin in (("cli-facts", ["--facts", str(path)], None),
                              ("cli-stdin", ["--facts", "-"], raw),
                              ("cli-batch", ["--batch", str(path)], None),
                              ("cli-batch-stdin", ["--batch", "-"], raw)):
        result = subprocess.run([str(CLI), "decide", DECISION, *args, "--format", "json"],
                                input=stdin, capture_output=True, timeout=120)
        assert b"Traceback" not in result.stderr, result.stderr.decode()
        assert result.returncode == 1, (door, result.stdout, result.stderr)
        decision = json.loads(result.stdout)
        answers[door] = (decision["outcome"], "; ".join(decision.get("errors", [])))
    return answers


@pytest.mark.parametrize("name", sorted(TEXT_CASES))
def test_every_text_door_gives_the_same_refusal(engine: Engine, tmp_path: Path, name: str) -> None:
    answers = _text_doors(engine, _bytes(name), tmp_path)
    assert {outcome for outcome, _ in answers.values()} == {"deny"}, answers
    errors = {error for _, error in answers.values()}
    assert len(errors) == 1, answers  # word for word
    assert errors.pop()


def test_a_duplicate_key_is_named_where_it_is(engine: Engine) -> None:
    decision = engine.decide(DECISION, ESCAPED_DUPLICATE)
    at = ESCAPED_DUPLICATE.index('"\\u0068old"') + 1
    assert decision.errors == (
        f"line 1, column {at}: duplicate key 'hold' in a JSON object; each key may appear once: "
        "keep the one you mean",)


def test_a_byte_order_mark_is_read_alike_at_every_door(engine: Engine, tmp_path: Path) -> None:
    """A UTF-8 byte-order mark at the start of a document is dropped at every door (JSON allows
    a reader to ignore it), never refused at one and read at another."""
    raw = "\ufeff".encode() + _text(CLEAR).encode()
    path = tmp_path / "bom.json"
    path.write_bytes(raw)
    outcomes = {"bytes": engine.decide(DECISION, raw).outcome,
                "str": engine.decide(DECISION, raw.decode("utf-8")).outcome}
    for door, args, stdin in (("cli-facts", ["--facts", str(path)], None),
                              ("cli-stdin", ["--facts", "-"], raw),
                              ("cli-batch", ["--batch", str(path)], None)):
        result = subprocess.run([str(CLI), "decide", DECISION, *args, "--format", "json"],
                                input=stdin, capture_output=True, timeout=120)
        outcomes[door] = json.loads(result.stdout)["outcome"]
    assert set(outcomes.values()) == {"allow"}, outcomes


# ------------------------------------------------------------------ model-instance doors


def _construct_cases() -> dict[str, Callable[[], dict[str, Any]]]:
    def home(hold: Any) -> Any:
        return Home.model_construct(id="RH-1", approval="rfa", approval_status="active", hold=hold,
                                    restrictions=None, children_placed=[])

    def with_home(value: Any) -> dict[str, Any]:
        return {**CLEAR, "home": value}

    return {
        # a permanent hold "reinstated": "RF placed on permanent hold are not eligible for
        # reinstatement" (000, Reinstatement of privileges)
        "permanent-reinstated": lambda: with_home(home(Hold.model_construct(
            kind="permanent", placed_on=dt.date(2025, 1, 1), reinstated_on=dt.date(2025, 2, 1)))),
        # a hold pending QPR "reinstated" before it was placed
        "pending-reinstated-before-placed": lambda: with_home(home(Hold.model_construct(
            kind="pending_qpr", placed_on=dt.date(2026, 1, 1), reinstated_on=dt.date(2025, 2, 1)))),
        "child-age-negative": lambda: {**CLEAR, "child": Child.model_construct(age=-5, gender="male")},
    }


@pytest.mark.parametrize("name", sorted(_construct_cases()))
def test_unvalidated_models_are_validated_at_every_door(engine: Engine, fast: Engine, name: str) -> None:
    facts = _construct_cases()[name]()
    top = PlacementRequest.model_construct(**facts)
    answers = {
        "dict-holding-models": engine.decide(DECISION, facts),
        "model": engine.decide(DECISION, top),
        "compiled-dict": fast.decide(DECISION, facts),
        "many-jobs-1": next(engine.decide_many(DECISION, [facts], jobs=1)),
    }
    assert {d.outcome for d in answers.values()} == {"deny"}, answers
    assert {d.status for d in answers.values()} == {"error"}, answers
    assert len({d.errors for d in answers.values()}) == 1, answers


def test_valid_models_nested_in_a_dict_still_decide(engine: Engine) -> None:
    home = Home.model_validate(CLEAR["home"])
    assert engine.decide(DECISION, {**CLEAR, "home": home}).outcome == "allow"
