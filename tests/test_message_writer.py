"""The durable_rules message written straight to JSON (engine/messages.MessageWriter) is exactly
the message `to_message` builds value by value, and every value beyond a limit is still refused
with the same words."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest

from qpr_rules import Engine
from qpr_rules.analysis.generate import sample
from qpr_rules.engine.message_writer import MessageWriter, max_properties
from qpr_rules.engine.messages import to_message
from qpr_rules.errors import EngineError
from qpr_rules.facts.paths import list_paths
from qpr_rules.facts.placement import PlacementRequest, Restrictions

ENGINE = Engine.from_bundled(evaluator="compiled")
PLACEMENT: dict[str, Any] = {
    "placement": {"date": "2024-05-01", "status": "proposed", "cleared_with_pco": True, "siblings": []},
    "child": {"age": 7, "gender": "female"},
    "home": {"id": "H", "approval": "rfa", "approval_status": "active", "hold": None, "restrictions": None,
             "children_placed": [{"age": 3, "gender": "male"}]},
}


def _checked(model: Any, sid: str, writer: MessageWriter | None = None) -> str:
    """The message as to_message builds it, value by value (of it, what writer writes), in the
    same JSON form."""
    paths = list_paths(type(model))
    message = to_message(model.model_dump(mode="python"), paths, sid)
    if writer is not None:
        message = writer.written(message)
    return json.dumps(message, ensure_ascii=False, separators=(",", ":"))


@pytest.mark.parametrize("decision_id", ENGINE.decision_ids)
def test_the_written_message_is_to_messages_message_key_for_key(decision_id: str) -> None:
    model_type = ENGINE.fact_model(decision_id)
    whole = MessageWriter(model_type, list_paths(model_type))
    engines = ENGINE._runtimes[decision_id].messages  # what decide() posts: the facts the rules read
    bound = max_properties(model_type)
    assert bound is not None
    cases = sample(model_type, 150, seed=11)
    assert len(cases) >= 100
    for i, facts in enumerate(cases):
        model = model_type.model_validate(facts)
        written = whole.json(model, f"c{i}")
        # compared as text: the same keys, in the same order, with the same values
        assert json.dumps(json.loads(written), separators=(",", ":")) == _checked(model, f"c{i}")
        assert _properties(json.loads(written)) <= bound + len(whole.list_paths) + 3
        read = engines.json(model, f"c{i}")
        assert json.dumps(json.loads(read), separators=(",", ":")) == _checked(model, f"c{i}", engines)


def test_durable_rules_gets_the_facts_the_rules_read_and_every_fact_is_limit_checked() -> None:
    writer = ENGINE._runtimes["qpr.placement"].messages
    model = PlacementRequest.model_validate(PLACEMENT)
    message = json.loads(writer.json(model, "c1"))
    # placement.date, child.id, home.id, home.approval are read by no placement rule (hold_state,
    # derived from the dates, is): left out; nor are the lists of children, read only through
    # what is derived from them (their count, ages and genders: issue 17.7); the lengths of the
    # lists read are kept (an absent derived age is left out, as a null is)
    assert message == {"placement": {"status": "proposed", "cleared_with_pco": True, "sibling_genders": []},
                       "child": {"age": 7, "gender": "female"},
                       "home": {"approval_status": "active",
                                "youngest_placed_age": 3, "oldest_placed_age": 3, "genders_placed": ["male"]},
                       "hold_state": "none", "children_after_placement": 2,
                       "__len__placement__sibling_genders": 0, "__len__home__genders_placed": 1,
                       "__qpr__": 1, "sid": "c1", "id": "c1"}
    # the fact models refuse such a value (facts/common.py); the writer still checks every fact,
    # for a model whose values were put past validation
    too_long = _past_validation(PLACEMENT, "home.id", "x" * 70_000)
    with pytest.raises(EngineError, match=r"home\.id: the text is 70,000 bytes long"):
        writer.json(too_long, "c2")
    decision = Engine.from_bundled().decide("qpr.placement", too_long)
    assert decision.status == "error" and "home.id: the text is 70,000 bytes long" in decision.reason


def _properties(message: dict[str, Any]) -> int:
    return sum(_properties(v) if isinstance(v, dict) else 1 for v in message.values())


def _past_validation(facts: dict[str, Any], path: str, value: Any) -> PlacementRequest:
    """Valid facts, then one value put in past validation (model_copy(update=...) checks nothing),
    as a caller bypassing the fact model would."""
    def put(model: Any, parts: list[str]) -> Any:
        head, *rest = parts
        return model.model_copy(update={head: put(getattr(model, head), rest) if rest else value})
    return put(PlacementRequest.model_validate(facts), path.split("."))


def _refusal(model: PlacementRequest) -> tuple[str, str]:
    """What the writer and to_message each say of facts with a value beyond a limit."""
    writer = MessageWriter(PlacementRequest, list_paths(PlacementRequest))
    with pytest.raises(EngineError) as written:
        writer.json(model, "c1")
    with pytest.raises(EngineError) as checked:
        _checked(model, "c1")
    return str(written.value), str(checked.value)


@pytest.mark.parametrize(("path", "value", "named"), [
    ("placement.date", dt.date(1700, 1, 1), "placement.date: the date 1700-01-01"),
    ("child.id", "x" * 70_000, "child.id: the text is 70,000 bytes"),
    ("child.id", "é" * 40_000, "child.id: the text is 80,000 bytes"),
    ("home.restrictions", Restrictions.model_construct(max_children=2**64),
     "home.restrictions.max_children: the number 18446744073709551616 is out of range"),
])
def test_a_value_beyond_a_limit_is_refused_in_the_same_words(path: str, value: Any, named: str) -> None:
    written, checked = _refusal(_past_validation(PLACEMENT, path, value))
    assert written == checked
    assert named in written


@pytest.mark.parametrize("text", ["Zoë", "x" * 20_000, "1234567890123456789012"])
def test_text_the_short_path_does_not_settle_is_written_by_to_message(text: str) -> None:
    model = PlacementRequest.model_validate({**PLACEMENT, "child": {**PLACEMENT["child"], "id": text}})
    written = MessageWriter(PlacementRequest, list_paths(PlacementRequest)).json(model, "c1")
    assert json.dumps(json.loads(written), separators=(",", ":"), ensure_ascii=False) == _checked(model, "c1")
    assert ENGINE.decide("qpr.placement", model).status == "decided"


def test_the_message_ends_with_the_list_lengths_then_the_marker_sid_and_id() -> None:
    model = PlacementRequest.model_validate(PLACEMENT)
    message = json.loads(MessageWriter(PlacementRequest, list_paths(PlacementRequest)).json(model, "c9"))
    # the facts (derived hold_state last), the lengths of the lists present, then the marker
    assert list(message) == ["placement", "child", "home", "hold_state", "children_after_placement",
                             "__len__placement__siblings", "__len__placement__sibling_genders",
                             "__len__home__children_placed", "__len__home__genders_placed", "__qpr__", "sid", "id"]
    assert (message["__len__home__children_placed"], message["sid"], message["id"]) == (1, "c9", "c9")
    assert message["placement"]["date"] == 739_007 == dt.date(2024, 5, 1).toordinal()  # a day number
