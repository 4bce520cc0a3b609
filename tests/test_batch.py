"""Batch decisions: Engine.decide_many and `qpr-rules decide --batch`, in order, one answer per
case, a bad case answered with an error and the batch going on, bounded look-ahead, and the same
answers over worker processes as in one."""

from __future__ import annotations

import itertools
import json
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from qpr_rules import Engine
from qpr_rules.analysis.generate import sample
from qpr_rules.engine import batch
from tests.test_cli import run

ENGINE = Engine.from_bundled(evaluator="compiled")
CASES = sample(ENGINE.fact_model("qpr.placement"), 120, seed=zlib.crc32(b"batch"))
BAD = ["{not json", "", '{"placement": 3}', "[1, 2]"]


def _jsonl(tmp_path: Path) -> tuple[Path, list[str]]:
    lines = [json.dumps(c) for c in CASES]
    for i, bad in enumerate(BAD):  # bad lines among good ones, not only at the ends
        lines.insert(10 + 17 * i, bad)
    path = tmp_path / "cases.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path, lines


def test_decide_many_answers_each_case_in_order_like_decide() -> None:
    answers = list(ENGINE.decide_many("qpr.placement", CASES))
    assert [a.to_json() for a in answers] == [ENGINE.decide("qpr.placement", c).to_json() for c in CASES]
    assert len({a.outcome for a in answers}) == 2


def test_decide_many_is_lazy_and_looks_ahead_a_bounded_amount(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(batch, "CHUNK", 5)
    monkeypatch.setattr(batch, "IN_PROCESS_BELOW", 0)  # workers however few the cases
    pulled = itertools.count()

    def endless() -> Iterator[dict[str, Any]]:
        for case in itertools.cycle(CASES):
            next(pulled)
            yield case

    first = list(itertools.islice(ENGINE.decide_many("qpr.placement", endless()), 7))
    assert len(first) == 7 and next(pulled) <= 8
    pulled = itertools.count()
    answers = ENGINE.decide_many("qpr.placement", endless(), jobs=2)
    first = list(itertools.islice(answers, 7))
    answers.close()  # type: ignore[attr-defined]  # a generator: shuts its workers down
    assert [a.to_json() for a in first] == [ENGINE.decide("qpr.placement", c).to_json() for c in CASES[:7]]
    assert next(pulled) <= (2 * 2 + 1) * 5 + 1  # at most 2 * jobs chunks in flight, and the one being read


def test_decide_many_over_processes_gives_the_same_answers_in_order(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(batch, "IN_PROCESS_BELOW", 0)  # workers however few the cases
    durable = Engine.from_bundled()
    one = [d.to_json() for d in durable.decide_many("qpr.placement", CASES)]
    two = [d.to_json() for d in durable.decide_many("qpr.placement", CASES, jobs=2)]
    assert one == two
    lines = list(batch.decide_many(durable, "qpr.placement", CASES, jobs=2, as_json=True))
    assert lines == one  # the finished lines, written by the workers


def test_few_cases_are_decided_here_without_starting_workers(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_workers(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("workers started for fewer cases than IN_PROCESS_BELOW")

    monkeypatch.setattr(batch, "_parallel", no_workers)
    few = CASES[:batch.IN_PROCESS_BELOW - 1] if len(CASES) >= batch.IN_PROCESS_BELOW else CASES
    answers = [d.to_json() for d in ENGINE.decide_many("qpr.placement", few, jobs=2)]
    assert answers == [ENGINE.decide("qpr.placement", c).to_json() for c in few]
    monkeypatch.setattr(batch, "IN_PROCESS_BELOW", 3)
    with pytest.raises(AssertionError, match="workers started"):
        list(ENGINE.decide_many("qpr.placement", CASES[:3], jobs=2))


@pytest.mark.parametrize("as_json", [False, True])
def test_workers_start_only_when_handing_a_case_over_costs_less_than_deciding_it(
        monkeypatch: pytest.MonkeyPatch, as_json: bool) -> None:
    # the first tenth of what is read ahead is decided here and timed against the cost of handing
    # the same cases to a worker; the answers are the same, in order, whichever way is chosen
    monkeypatch.setattr(batch, "IN_PROCESS_BELOW", 40)
    alone = list(batch.decide_many(ENGINE, "qpr.placement", CASES, as_json=as_json))
    expected = [a if as_json else a.to_json() for a in alone]
    spread: list[int] = []
    real = batch._parallel

    def counted(engine: Engine, pairs: Any, *args: Any) -> Any:
        pairs = list(pairs)
        spread.append(len(pairs))
        return real(engine, pairs, *args)

    monkeypatch.setattr(batch, "_parallel", counted)
    for share, workers in ((0.0, False), (float("inf"), True)):  # never pays / always pays
        monkeypatch.setattr(batch, "HANDOFF_SHARE", share)
        spread.clear()
        got = list(batch.decide_many(ENGINE, "qpr.placement", CASES, jobs=2, as_json=as_json))
        assert [a if as_json else a.to_json() for a in got] == expected
        assert spread == ([len(CASES) - 4] if workers else [])  # the probe's 4 cases decided here


def test_a_logged_engine_logs_each_case_once_whatever_the_jobs(monkeypatch: pytest.MonkeyPatch) -> None:
    # the probe decides cases twice to time them: never on an Engine that logs its decisions
    from qpr_rules.engine.decision_log import MemorySink

    monkeypatch.setattr(batch, "IN_PROCESS_BELOW", 40)
    sink = MemorySink()
    logged = Engine.from_bundled(evaluator="compiled", decision_log=sink)
    got = [d.to_json() for d in logged.decide_many("qpr.placement", CASES, jobs=2)]
    assert got == [ENGINE.decide("qpr.placement", c).to_json() for c in CASES]
    assert len(sink.records) == len(CASES)


def test_decide_many_refuses_an_unknown_decision_and_no_jobs() -> None:
    from qpr_rules import UnknownDecisionError

    with pytest.raises(UnknownDecisionError):
        ENGINE.decide_many("qpr.nope", CASES)
    with pytest.raises(ValueError, match="jobs"):
        ENGINE.decide_many("qpr.placement", CASES, jobs=0)


@pytest.mark.parametrize("extra", [[], ["--evaluator", "compiled", "--jobs", "2"]])
def test_cli_batch_one_line_per_input_line_and_bad_lines_answered(tmp_path: Path, extra: list[str]) -> None:
    path, lines = _jsonl(tmp_path)
    result = run("decide", "qpr.placement", "--batch", str(path), *extra)
    out = result.stdout.splitlines()
    assert len(out) == len(lines)
    for line, answer in zip(lines, out, strict=True):
        decision = json.loads(answer)
        if line in BAD:
            assert decision["status"] == "error" and decision["outcome"] == "deny", answer
        else:
            assert answer == ENGINE.decide("qpr.placement", json.loads(line)).to_json()
    assert result.returncode == 1
    first_bad = lines.index(BAD[0]) + 1
    assert f"4 of {len(lines)} line(s) got an error answer" in result.stderr
    assert f"the first at line {first_bad}" in result.stderr
    assert "deciding" not in result.stderr  # no progress bar when stderr is not a terminal


def test_cli_batch_from_stdin_all_good_exits_0() -> None:
    text = "".join(json.dumps(c) + "\n" for c in CASES[:20])
    result = run("decide", "qpr.placement", "--batch", "-", stdin=text)
    assert result.returncode == 0, result.stderr
    assert len(result.stdout.splitlines()) == 20 and result.stderr == ""


def test_cli_decide_needs_exactly_one_of_facts_and_batch(tmp_path: Path) -> None:
    path, _ = _jsonl(tmp_path)
    both = run("decide", "qpr.placement", "--batch", str(path), "--facts", str(path))
    neither = run("decide", "qpr.placement")
    for result in (both, neither):
        assert result.returncode == 2 and "exactly one of --facts FILE and --batch" in result.stderr


def test_workers_refuse_policies_changed_since_the_engine_loaded_them(tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    from qpr_rules import EngineError

    monkeypatch.setattr(batch, "IN_PROCESS_BELOW", 0)  # workers however few the cases
    policy = tmp_path / "qpr.yaml"
    text = (Path(__file__).resolve().parents[1] / "policies" / "qpr.yaml").read_text(encoding="utf-8")
    policy.write_text(text, encoding="utf-8")
    engine = Engine.load([policy], evaluator="compiled")
    policy.write_text(text.replace("jurisdiction: ", "jurisdiction: Changed ", 1), encoding="utf-8")
    with pytest.raises(EngineError, match="a worker process failed"):
        list(engine.decide_many("qpr.placement", CASES, jobs=2))


def test_diff_impact_goes_through_the_batch_path_and_reports_progress() -> None:
    from qpr_rules.analysis.diff import diff

    root = Path(__file__).resolve().parents[1]
    calls: list[tuple[int, int]] = []
    report = diff(str(root / "policies"), str(root / "policies"), root, generated=30, evaluator="compiled",
                  progress=lambda done, total: calls.append((done, total)))
    cases = sum(i.cases for i in report.impacts)
    assert cases > 30 * len(report.impacts) - 1 and calls[-1] == (cases, cases)
    assert [d for d, _ in calls] == sorted(d for d, _ in calls)
    assert all(i.changed == 0 and i.reasons_changed == 0 for i in report.impacts)


@pytest.mark.parametrize("evaluator", ["compiled", "durable"])
def test_batch_workers_write_the_lines_the_caller_writes_alone(monkeypatch: pytest.MonkeyPatch,
                                                               evaluator: str) -> None:
    """`decide --batch --jobs 2`: workers answer whole chunks of input lines and send back the
    text; it is byte for byte the text of one process, chunk boundaries anywhere, with the
    error answers at the lines that are bad."""
    monkeypatch.setattr(batch, "CHUNK", 7)
    monkeypatch.setattr(batch, "IN_PROCESS_BELOW", 0)  # workers however few the lines
    lines = [json.dumps(c).encode() for c in CASES[:40]]
    lines[3:3] = [b.encode() for b in BAD]
    lines.append("{\"placement\": \"\u00e9\"}".encode())
    engine = Engine.from_bundled(evaluator=evaluator)
    alone = list(batch.decide_lines(engine, "qpr.placement", lines, jobs=1))
    spread = list(batch.decide_lines(engine, "qpr.placement", lines, jobs=2))
    assert len(spread) == -(-len(lines) // 7)  # chunks, answered by workers
    assert "".join(t for t, _, _ in spread) == "".join(t for t, _, _ in alone)
    text = "".join(t for t, _, _ in spread).splitlines()
    assert text == [engine.decide("qpr.placement", line).to_json() for line in lines]

    def errors(chunks: list[tuple[str, int, list[int]]]) -> list[int]:
        out, seen = [], 0
        for _, n, at in chunks:
            out += [seen + i for i in at]
            seen += n
        return out

    assert errors(spread) == errors(alone) == [4, 5, 6, 7, len(lines)]
