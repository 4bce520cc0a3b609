"""`Engine.replay`: every case of a store replayed in one pass, on the compiled evaluator with a
sample cross-checked on durable_rules, gives exactly what `Engine.case` gives for each case (issue
17, item 4: "State is the replay of the events, the same on every replay"): the state, the hold,
the open duties, the departures and, per step, the transition taken and the policy version that
judged it. What the store holds is validated again on replay: an edited row is refused."""

from __future__ import annotations

import json
import random
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from qpr_rules.engine.case import Case
from qpr_rules.engine.engine import Engine
from qpr_rules.errors import EngineError, EventError
from qpr_rules.facts.qpr_events import PlacementMade
from qpr_rules.procedure.memory_store import MemoryStore
from qpr_rules.procedure.sqlite_store import SQLiteStore
from qpr_rules.procedure.store_api import EventStore, StoredEvent, StoreError
from tests.test_case_policy_versions import _POLICY, _concern, _consulted

PROC = "qpr.home"
EXAMPLES = Path("examples/procedure")


@pytest.fixture(scope="module")
def engine() -> Engine:
    return Engine.load(["policies"])


def _example_events() -> dict[str, list[dict[str, Any]]]:
    """Every example history, by case, as the files give them (departures included)."""
    out: dict[str, list[dict[str, Any]]] = {}
    for path in sorted(EXAMPLES.glob("*.jsonl")):
        for line in path.read_text().splitlines():
            event = json.loads(line)
            out.setdefault(f"{path.stem}/{event.pop('case')}", []).append(event)
    return out


def _generated(count: int, seed: int) -> Iterator[list[dict[str, Any]]]:
    """Histories the procedure mostly does not expect: each a run of the examples' events, some
    left out, some repeated, some in another order (so departures, duties of departures and their
    discharge, and transitions from unusual states all occur)."""
    pool = [e for events in _example_events().values() for e in events]
    rng = random.Random(seed)
    for _ in range(count):
        start = rng.randrange(len(pool))
        history = pool[start:start + rng.randrange(1, 16)]
        if rng.random() < 0.5:
            history = [e for e in history if rng.random() < 0.8]
        if rng.random() < 0.3:
            history = history + rng.sample(pool, 3)
        yield history or pool[:1]


def _outcome(case: Case) -> dict[str, Any]:
    """All a case answers: its summary (state, memory, duties, departures, allowed next), the
    hold it establishes, and each step with the transition taken and the version that judged it."""
    hold = case.hold()
    return {"summary": case.summary(), "hold": None if hold is None else hold.model_dump(mode="json"),
            "steps": case.steps}


def _fill(engine: Engine, store: EventStore, histories: dict[str, list[dict[str, Any]]]) -> None:
    for case_id, events in histories.items():
        case = engine.case(PROC, case_id, store)
        for event in events:
            case.record(event)


def _full(engine: Engine, store: EventStore) -> dict[str, dict[str, Any]]:
    """Each case as `Engine.case` replays it from the store: every event cross-checked."""
    return {case_id: _outcome(engine.case(PROC, case_id, store)) for case_id in store.case_ids()}


@pytest.mark.parametrize("every", [0, 1, 3, 50])
def test_replay_gives_what_case_gives_for_every_case(engine: Engine, tmp_path: Path, every: int) -> None:
    histories = _example_events()
    histories.update({f"generated-{n:03d}": h for n, h in enumerate(_generated(60, seed=17))})
    store = SQLiteStore(tmp_path / "events.sqlite")
    _fill(engine, store, histories)
    full = _full(engine, store)
    assert sum(len(o["summary"]["departures"]) for o in full.values()) > 20  # departures were replayed
    assert len({o["summary"]["state"] for o in full.values()}) > 5
    replayed = {case.case_id: _outcome(case) for case in engine.replay(store, cross_check_every=every)}
    assert list(replayed) == list(store.case_ids())
    assert replayed == full
    # and the same again: a replay is a function of the stored events
    assert {case.case_id: _outcome(case) for case in engine.replay(store, cross_check_every=every)} == full


def test_a_replayed_case_goes_on_like_a_case_read_alone(engine: Engine) -> None:
    store = MemoryStore()
    histories = _example_events()
    _fill(engine, store, {k: v[:6] for k, v in histories.items()})
    for case in engine.replay(store, cross_check_every=0):
        alone = engine.case(PROC, case.case_id, MemoryStore.holding(case.case_id, store.events(case.case_id)))
        for event in histories[case.case_id][6:]:
            assert case.check(event) == alone.check(event)
            case.record(event)
            alone.record(event)
        assert _outcome(case) == _outcome(alone)


def test_a_case_spanning_a_policy_change_replays_each_event_under_its_version(tmp_path: Path) -> None:
    policies = tmp_path / "policies"
    policies.mkdir()
    (policies / "mini-2020.yaml").write_text(_POLICY.format(effective="2020-01-01", warranted="true",
                                                            rule="a warranted one closes it"))
    (policies / "mini-2022.yaml").write_text(_POLICY.format(effective="2022-01-01", warranted="false",
                                                            rule="one not warranted closes it"))
    engine = Engine.load([policies])
    store = SQLiteStore(tmp_path / "events.sqlite")
    spans = engine.case("mini.home", "spans", store)
    for event in [_concern("2021-06-01"), _consulted("2022-01-01", True), _consulted("2022-02-01", False)]:
        spans.record(event)
    early = engine.case("mini.home", "early", store)
    for event in [_concern("2021-06-01"), _consulted("2021-12-31", True)]:
        early.record(event)
    full = {case_id: _outcome(engine.case("mini.home", case_id, store)) for case_id in store.case_ids()}
    for every in (0, 1):
        replayed = {case.case_id: _outcome(case) for case in engine.replay(store, cross_check_every=every)}
        assert replayed == full
    steps = full["spans"]["steps"]
    assert [s.effective_from.isoformat() for s in steps] == ["2020-01-01", "2022-01-01", "2022-01-01"]
    assert [s.transition is None for s in steps] == [False, True, False]  # 2022: warranted no longer closes
    assert full["spans"]["summary"]["state"] == full["early"]["summary"]["state"] == "closed"


def test_the_sample_runs_on_durable_rules_and_a_disagreement_fails_closed(
        engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    store = MemoryStore()
    _fill(engine, store, {f"h{n}": _example_events()["home-23/home-23"] for n in range(7)})
    runtime = engine._procedure_runtime(PROC)
    durable = runtime._durable
    assert durable is not None
    asked: list[str] = []
    real = durable.evaluate

    def spy(message: dict[str, Any]) -> Any:
        asked.append(message["__event__"])
        return real(message)

    monkeypatch.setattr(durable, "evaluate", spy)
    assert len(list(engine.replay(store, cross_check_every=0))) == 7 and asked == []
    list(engine.replay(store, cross_check_every=3))  # cases 0, 3 and 6
    assert len(asked) == 3 * 10
    asked.clear()
    list(engine.replay(store, cross_check_every=1))
    assert len(asked) == 7 * 10
    # durable_rules answering otherwise than the compiled evaluator: the sampled case fails closed
    monkeypatch.setattr(durable, "evaluate", lambda message: ["t0"])
    assert len(list(engine.replay(store, cross_check_every=0))) == 7
    with pytest.raises(EngineError, match="disagree"):
        list(engine.replay(store, cross_check_every=5))


def test_shares_split_the_cases_and_keep_the_sample_positions(engine: Engine,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    store = MemoryStore()
    _fill(engine, store, {f"h{n}": _example_events()["home-23/home-23"][:3] for n in range(7)})
    whole = [case.case_id for case in engine.replay(store)]
    parts = [[case.case_id for case in engine.replay(store, share=(k, 3))] for k in range(3)]
    assert sorted(c for part in parts for c in part) == whole and parts[1] == whole[1::3]
    sampled: list[str] = []
    real = Case.__init__

    def record(self: Case, *args: Any, **kwargs: Any) -> None:
        real(self, *args, **kwargs)
        if kwargs["cross_check"]:
            sampled.append(self.case_id)

    monkeypatch.setattr(Case, "__init__", record)
    for k in range(3):
        list(engine.replay(store, cross_check_every=2, share=(k, 3)))
    assert sorted(sampled) == whole[::2]
    for bad in [(3, 3), (-1, 2), (0, 0)]:
        with pytest.raises(ValueError, match="share"):
            list(engine.replay(store, share=bad))
    with pytest.raises(ValueError, match="cross_check_every"):
        list(engine.replay(store, cross_check_every=-1))


def _edit(path: Path, case_id: str, version: int, payload: str) -> None:
    with sqlite3.connect(path) as db:
        db.execute("UPDATE qpr_events SET payload = ? WHERE case_id = ? AND version = ?",
                   (payload, case_id, version))


def test_an_edited_row_is_refused_on_replay(engine: Engine, tmp_path: Path) -> None:
    """The rows were validated when they were appended; a replay validates them again, so a row
    edited in the file behind the store's back (a field out of range, a derived count that no
    longer matches the children) is refused, naming the event and the field."""
    path = tmp_path / "events.sqlite"
    store = SQLiteStore(path)
    events = _example_events()["home-17/home-17"]
    _fill(engine, store, {"home-17": events[:7]})
    placed = store.events("home-17")[5]
    assert placed.event_type == "qpr.placement-made"
    body = json.loads(placed.payload)
    assert body["count"] == 2  # a dump gives the derived fields back; they are checked, not believed
    for field, value, said in [("count", 3, "count is derived"), ("children_in_home", -1, "children_in_home")]:
        _edit(path, "home-17", 6, json.dumps({**body, field: value}, sort_keys=True, separators=(",", ":")))
        for replay in (lambda: list(engine.replay(store)), lambda: engine.case(PROC, "home-17", store)):
            with pytest.raises(EventError, match=said):
                replay()
    _edit(path, "home-17", 6, placed.payload)
    assert [c.state for c in engine.replay(store)] == [engine.case(PROC, "home-17", store).state]


def test_a_history_with_a_gap_is_refused(engine: Engine) -> None:
    store = MemoryStore()
    _fill(engine, store, {"h": _example_events()["home-23/home-23"][:3]})
    history = store.events("h")

    class Gapped(MemoryStore):
        def histories(self, share: tuple[int, int] = (0, 1)) -> Iterator[list[StoredEvent]]:
            yield [history[0], history[2]]

    with pytest.raises(StoreError, match="not contiguous"):
        list(engine.replay(Gapped()))


def test_a_dump_read_back_is_validated_as_the_json_it_is() -> None:
    """`model_validate_dump_json` (what a replay reads a stored event with) takes a dump's derived
    fields out first; the same model as model_validate_json, the same refusals."""
    placed = PlacementMade.model_validate({"by": "placing-sw", "on": "2025-01-07", "children_in_home": 1,
                                           "children": [{"age": 7, "gender": "female"}],
                                           "child_region": "east"})
    dump = placed.model_dump_json()
    assert PlacementMade.model_validate_dump_json(dump) == PlacementMade.model_validate_json(dump) == placed
    given = json.loads(dump)
    for edited in [{**given, "count": 2}, {**given, "on": "2025-13-01"}, {**given, "surprise": 1}]:
        with pytest.raises(ValueError) as fast:
            PlacementMade.model_validate_dump_json(json.dumps(edited))
        with pytest.raises(ValueError) as slow:
            PlacementMade.model_validate_json(json.dumps(edited))
        assert [e["loc"] for e in fast.value.errors()] == [e["loc"] for e in slow.value.errors()]  # type: ignore[attr-defined]
    with pytest.raises(ValueError):
        PlacementMade.model_validate_dump_json("{not json")


def test_an_event_instance_made_without_validation_is_refused_before_it_is_stored(engine: Engine) -> None:
    """The case builds its guards' facts from validated events without validating them again, so
    an Event instance a caller gives is validated first (model_construct makes one that never was)."""
    case = engine.case(PROC, "h")
    forged = PlacementMade.model_construct(by="placing-sw", on="not a date", children=[],
                                           children_in_home=-5, child_region="east")
    with pytest.raises(EventError, match="children_in_home"):
        case.record(forged)
    assert case.store.events("h") == [] and case.version == 0


def test_an_event_instance_validated_is_recorded_as_its_mapping_is(engine: Engine) -> None:
    placed = {"by": "placing-sw", "on": "2025-01-07", "children": [{"age": 7, "gender": "female"}],
              "children_in_home": 0, "child_region": "east"}
    by_instance, by_mapping = engine.case(PROC, "a"), engine.case(PROC, "b")
    stored = by_instance.record(PlacementMade.model_validate(placed))
    assert stored.payload == by_mapping.record({"type": "qpr.placement-made", **placed}).payload
    assert by_instance.steps == by_mapping.steps
    assert by_instance.summary() == by_mapping.summary() | {"case": "a"}


def test_a_derived_count_edited_to_true_is_refused(engine: Engine, tmp_path: Path) -> None:
    """A placement of one child with its derived `count` edited to `true` in the file: JSON's
    true is not 1, so the row is refused like any other edited derived value."""
    path = tmp_path / "events.sqlite"
    store = SQLiteStore(path)
    one_child = {"type": "qpr.placement-made", "by": "placing-sw", "on": "2025-01-07", "children_in_home": 0,
                 "children": [{"age": 7, "gender": "female"}], "child_region": "east"}
    engine.case(PROC, "h", store).record(one_child)
    body = json.loads(store.events("h")[0].payload)
    assert body["count"] == 1
    _edit(path, "h", 1, json.dumps({**body, "count": True}, sort_keys=True, separators=(",", ":")))
    with pytest.raises(EventError, match="count is derived"):
        list(engine.replay(store))
