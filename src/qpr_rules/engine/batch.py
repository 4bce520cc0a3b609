"""Many decisions in one stream: in order, in bounded memory, optionally over processes.

`decide_many` is what `Engine.decide_many`, `qpr-rules decide --batch` and `qpr-rules diff`'s
impact use. With jobs > 1 the cases go, in chunks, to worker processes that each load the same
policy files into their own Engine (checked by digest: a worker that loaded other policies is an
error, never a silent mix). For `--batch` (as_json) the workers write each finished JSON line and
this process only puts them in order; for Decisions they send back compact answers (the mask of
the rules that fired, and the obligations when those differ per case) from which this process
builds each Decision from its own memo of answers, the explanations of the rules that did not fire
built from the facts only if read, as in one process. At most `2 * jobs` chunks are in flight,
so memory stays bounded however long the input is, and answers come back in input order.

With a decision log, each worker's Engine logs into a list, and sends the records back with the
answers; this process writes them to its one log, in input order, each before its answer is
given back, so the log is one hash chain whatever the number of workers, and no answer is
returned as logged when it is not (the Engine's `on_log_error` applies as in one process).
"""

from __future__ import annotations

import datetime as dt
import io
import itertools
import json
import multiprocessing
import os
import pickle
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from qpr_rules.errors import EngineError

if TYPE_CHECKING:
    from qpr_rules.engine.decision import Decision
    from qpr_rules.engine.engine import Engine, Evaluator

T = TypeVar("T")
R = TypeVar("R")

CHUNK = 500  # cases per task sent to a worker: large enough that pickling costs little
#: Fewer cases than this are decided in this process whatever jobs asks: starting workers (a
#: fresh interpreter each, importing the library and loading the policies) costs more than
#: deciding them here (measured: docs/benchmarks.md, "Processes").
IN_PROCESS_BELOW = 10_000
#: Cases decided here first, then decided again and timed (their answers memoised, as most are
#: in a long run), against what handing the same cases to a worker costs this process (pickled
#: for the worker, and the Decisions rebuilt from its answers): workers are used only when that
#: handoff costs under HANDOFF_SHARE of deciding a case here, in the CPU this process keeps beside
#: its workers (cores / (jobs + 1) of a core). Else this process, which touches every case either
#: way, would be the bottleneck, and workers could only make the whole slower. The share is small
#: because the probe sees only part of the handoff (not the executor's threads, the pipes, the
#: answers held in flight): on the bundled placement decision on 2 cores, handoffs measured at a
#: quarter (compiled) and a seventh (durable_rules) of a decision still made decide_many(jobs=2)
#: 2 to 4 times slower (bench/bench_jobs.py, docs/benchmarks.md "Processes"); a decision of a
#: thousand rules costs milliseconds, its handoff microseconds.
PROBE = 1_000
HANDOFF_SHARE = 0.1

@dataclass(frozen=True)
class _EngineRecipe:
    """How a worker rebuilds the caller's Engine: the very files it loaded."""

    files: tuple[Path, ...]
    as_of: dt.date | None
    evaluator: Evaluator
    digest: str
    logged: bool = False  # the caller logs: the worker sends each answer's record back
    log_mask: tuple[str, ...] = ()


_WORKER: dict[str, Any] = {}


def _worker_init(recipe: _EngineRecipe) -> None:
    from qpr_rules.engine.decision_log import MemorySink
    from qpr_rules.engine.engine import Engine

    sink = MemorySink() if recipe.logged else None
    engine = Engine.load(list(recipe.files), as_of=recipe.as_of, evaluator=recipe.evaluator,
                         decision_log=sink, log_mask=recipe.log_mask)
    _WORKER["sink"] = sink
    if engine.digest != recipe.digest:
        raise EngineError("a worker process loaded other policies than the caller "
                          f"(digest {engine.digest[:16]}, expected {recipe.digest[:16]})")
    _WORKER["engine"] = engine


def _worker_chunk(blob: bytes, as_json: bool, as_of: dt.date | None) -> list[Any]:
    """The chunk's answers: JSON lines, or compact answers: the mask of the rules that fired (an
    int), or (the version's date, or None for the caller's own policies; the mask; the
    obligations when they differ per case), or a whole Decision for an error answer. Never
    pickled Decisions: pickling one builds the explanations of every rule that did not fire, and
    unpickling them cost the caller more than deciding. When the caller logs, each answer as
    (answer, its log record)."""
    engine: Engine = _WORKER["engine"]
    sink = _WORKER.get("sink")
    out: list[Any] = []
    for decision_id, facts in _unpacked(blob):
        used, decision = engine._answer(decision_id, facts, as_of)
        answer: Any
        if as_json:
            answer = decision.to_json()
        else:
            answer = _compact_answer(decision, None if used is engine else used.as_of)
        if sink is not None:
            (record,) = sink.records  # exactly one record per decision
            sink.records.clear()
            answer = (answer, record)
        out.append(answer)
    return out


def _compact_answer(decision: Decision, version: dt.date | None) -> Any:
    """What a worker sends back for a Decision (read by `_revive`): the mask of the rules that
    fired alone in the common case, else (version: the date of the policy version that answered,
    None for the caller's own; the mask; the obligations when they differ per case); a whole
    Decision for an error answer, which is not built from the answers."""
    from qpr_rules.engine.answers import compact

    small = compact(decision)
    if small is None:
        return decision
    if version is None and small[1] is None:
        return small[0]
    return (version, *small)


def _packed(pairs: Iterator[tuple[str, Any]], size: int) -> tuple[list[str], bytes]:
    """The next size pairs pickled one by one as each is pulled (so a caller that reuses one dict
    for the next case sends each case as it was), and their decision ids."""
    ids: list[str] = []
    out = io.BytesIO()
    pickler = pickle.Pickler(out, pickle.HIGHEST_PROTOCOL)
    for pair in itertools.islice(pairs, size):
        pickler.dump(pair)
        pickler.clear_memo()  # nothing shared with the next case: each is read as it was
        ids.append(pair[0])
    return ids, out.getvalue()


def _unpacked(blob: bytes) -> list[tuple[str, Any]]:
    source = io.BytesIO(blob)
    pairs = []
    while source.tell() < len(blob):  # one unpickler each: each pair was pickled with a memo of its own
        pairs.append(pickle.load(source))
    return pairs


class _Sent:
    """The facts of one chunk as sent to a worker (pickled once, here): the Decisions rebuilt from
    compact answers read them again only if their explanations are read, from this copy, so a
    caller reusing a dict for the next case changes nothing."""

    def __init__(self, blob: bytes) -> None:
        self.blob = blob
        self._pairs: list[tuple[str, Any]] | None = None

    def facts(self, index: int) -> Any:
        if self._pairs is None:
            self._pairs = _unpacked(self.blob)
        return self._pairs[index][1]


def _revive(engine: Engine, decision_id: str, answer: Any, sent: _Sent, index: int) -> Decision:
    """The Decision for a worker's answer: built here from its compact form, its explanations
    from the facts sent when first read; a whole Decision as it came."""
    if type(answer) is int:
        version, mask, obligations = None, answer, None
    elif isinstance(answer, tuple):
        version, mask, obligations = answer
    else:
        return answer
    used = engine if version is None else engine._version_engine(version)
    runtime = used._runtime(decision_id)
    return runtime.answers.revived(mask, obligations, lambda: used._model(runtime, sent.facts(index)))


def _worker_lines(blob: bytes, decision_id: str, as_of: dt.date | None) -> tuple[str, int, list[int]]:
    """A chunk of `--batch` input lines (joined with newlines; no line holds one) answered as
    `_lines_answered` does, in a worker: the whole chunk's output is one text."""
    return _lines_answered(_WORKER["engine"], decision_id, blob.split(b"\n"), as_of)


def _lines_answered(engine: Engine, decision_id: str, lines: list[bytes],
                    as_of: dt.date | None) -> tuple[str, int, list[int]]:
    """The Decision JSON line of each input line, joined (each ending with a newline), how many,
    and the 1-based positions of the error answers among them."""
    out: list[str] = []
    errors: list[int] = []
    for n, line in enumerate(lines, 1):
        decision = engine.decide(decision_id, line, as_of)
        if decision.status == "error":
            errors.append(n)
        out.append(decision.to_json())
    out.append("")
    return "\n".join(out), len(lines), errors


def decide_lines(engine: Engine, decision_id: str, lines: Iterable[bytes], jobs: int = 1,
                 as_of: dt.date | None = None) -> Iterator[tuple[str, int, list[int]]]:
    """`qpr-rules decide --batch`: the input lines (bytes, without their newline) answered in
    chunks, in input order: each chunk's output text (one Decision JSON line per input line), its
    number of lines and the 1-based positions of its error answers.

    With jobs > 1 (and IN_PROCESS_BELOW lines or more) a chunk of lines goes to a worker as one
    block of bytes and comes back as one text, which this process only writes: the worker reads,
    decides and writes the JSON, so the work a line costs here is reading it. An Engine with a
    decision log sends its lines through `decide_many`, whose workers send each record back to
    be written here, in order, to the one log."""
    engine.spec(decision_id)  # an unknown decision is refused before reading anything
    if jobs < 1:
        raise ValueError(f"jobs must be 1 or more, not {jobs}")
    stream = iter(lines)
    head = list(itertools.islice(stream, IN_PROCESS_BELOW)) if jobs > 1 and engine._log is None else []
    if jobs == 1 or engine._log is not None or len(head) < IN_PROCESS_BELOW:
        # line by line: each answer is out as soon as it is known (a caller may feed standard
        # input one line at a time and wait for each answer)
        rest = itertools.chain(head, stream)
        if engine._log is not None and jobs > 1:
            for line in decide_many(engine, decision_id, rest, jobs, as_json=True, as_of=as_of):
                yield line + "\n", 1, ([1] if _is_error_line(line) else [])
            return
        for line in rest:
            yield _lines_answered(engine, decision_id, [line], as_of)
        return
    recipe = _EngineRecipe(engine.policies.paths, engine.as_of, engine.evaluator, engine.digest)
    source = itertools.chain(head, stream)
    chunks = iter(lambda: list(itertools.islice(source, CHUNK)), [])
    tasks = ((None, _worker_lines, (b"\n".join(chunk), decision_id, as_of)) for chunk in chunks)
    for _, answered in _in_order(recipe, jobs, tasks):
        yield answered


def _is_error_line(line: str) -> bool:
    return '"status":"error"' in line and json.loads(line)["status"] == "error"


def decision_json(engine: Engine, decision_id: str, facts: Any, as_of: dt.date | None = None) -> str:
    """One batch output line: the Decision JSON for facts. JSON text (str or bytes) goes to
    decide as it is, to the one reader every door uses."""
    return engine.decide(decision_id, facts, as_of).to_json()


def _parallel(engine: Engine, pairs: Iterable[tuple[str, Any]], jobs: int, as_json: bool,
              as_of: dt.date | None) -> Iterator[Any]:
    logged = engine._log is not None
    recipe = _EngineRecipe(engine.policies.paths, engine.as_of, engine.evaluator, engine.digest,
                           logged, engine.log_mask)
    for ids, sent, answers in _pool(recipe, pairs, jobs, as_json, as_of):
        for index, (decision_id, answer) in enumerate(zip(ids, answers, strict=True)):
            if logged:
                answer, record = answer
                refused = engine._write_record(record)  # written here, before the answer is given back
                if refused is not None:  # not written, and the Engine fails closed: its error answer
                    yield refused.to_json() if as_json else refused
                    continue
            yield answer if as_json else _revive(engine, decision_id, answer, sent, index)


def _pool(recipe: _EngineRecipe, pairs: Iterable[tuple[str, Any]], jobs: int, as_json: bool,
          as_of: dt.date | None) -> Iterator[tuple[list[str], _Sent, list[Any]]]:
    """Each chunk's decision ids, its facts as sent, and its answers, in input order."""
    stream = iter(pairs)

    def tasks() -> Iterator[tuple[tuple[list[str], _Sent], Callable[..., list[Any]], tuple[Any, ...]]]:
        while True:
            ids, blob = _packed(stream, CHUNK)
            if not ids:
                return
            yield (ids, _Sent(blob)), _worker_chunk, (blob, as_json, as_of)

    for (ids, sent), answers in _in_order(recipe, jobs, tasks()):
        yield ids, sent, answers


def _in_order(recipe: _EngineRecipe, jobs: int,
              tasks: Iterator[tuple[T, Callable[..., R], tuple[Any, ...]]]) -> Iterator[tuple[T, R]]:
    """Each task (a tag, a function and its arguments) run by one of jobs workers built from
    recipe, its result given back with its tag in the order of the tasks; the tasks are pulled
    as results are given, at most 2 * jobs in flight, so memory stays bounded."""
    # spawn, not fork: durable_rules' C state and its lock must not be copied mid-use
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(jobs, mp_context=context, initializer=_worker_init,
                             initargs=(recipe,)) as pool:
        pending: deque[tuple[T, Future[R]]] = deque()
        try:
            for tag, function, args in tasks:
                pending.append((tag, pool.submit(function, *args)))
                if len(pending) >= 2 * jobs:
                    done, future = pending.popleft()
                    yield done, future.result()
            while pending:
                done, future = pending.popleft()
                yield done, future.result()
        except BrokenProcessPool as exc:  # a worker could not start (e.g. other policies) or died
            raise EngineError(f"a worker process failed ({exc}); {_why_workers_fail()}") from None


def _why_workers_fail() -> str:
    """The likeliest reason a worker died. Workers are started afresh (spawn) and import the
    caller's script again: a script calling decide_many(jobs>1) at its top level, without
    `if __name__ == "__main__":`, makes each worker start workers of its own, which
    multiprocessing refuses, and the pool breaks. Said first when the script has no such guard."""
    import sys

    main = sys.modules.get("__main__")
    script = getattr(main, "__file__", None)
    unguarded = False
    if script and getattr(main, "__spec__", None) is None:  # a script, not `python -m` or a REPL
        try:
            unguarded = "__main__" not in Path(script).read_text(encoding="utf-8", errors="replace")
        except OSError:
            unguarded = False
    guard = (f"the script {script} has no `if __name__ == \"__main__\":` guard: worker processes "
             "import it afresh, so its top-level code runs again in each of them and starts workers of "
             "its own, which Python refuses; put the code that calls decide_many (or Engine.load and "
             "everything after it) under that guard")
    if unguarded:
        return guard
    return ("if the calling script runs decide_many at its top level, put it under "
            "`if __name__ == \"__main__\":` (worker processes import the script afresh); else the policy "
            "files may have changed since they were loaded, or a worker ran out of memory")


def decide_pairs(engine: Engine, pairs: Iterable[tuple[str, Any]], jobs: int = 1,
                 as_json: bool = False, as_of: dt.date | None = None) -> Iterator[Any]:
    """The Decision (or, with as_json, its JSON line) for each (decision id, facts), in input
    order, lazily; one pool of jobs workers serves every decision (as `diff` impact needs).
    as_of: the date the questions are about, for decisions whose facts carry none (decide)."""
    if jobs < 1:
        raise ValueError(f"jobs must be 1 or more, not {jobs}")
    if jobs == 1:
        return _in_process(engine, pairs, as_json, as_of)
    return _spread(engine, pairs, jobs, as_json, as_of)


def _in_process(engine: Engine, pairs: Iterable[tuple[str, Any]], as_json: bool,
                as_of: dt.date | None) -> Iterator[Any]:
    if as_json:
        return (decision_json(engine, d, facts, as_of) for d, facts in pairs)
    return (engine.decide(d, facts, as_of) for d, facts in pairs)


def _spread(engine: Engine, pairs: Iterable[tuple[str, Any]], jobs: int, as_json: bool,
            as_of: dt.date | None) -> Iterator[Any]:
    """Over jobs workers, unless the input ends within IN_PROCESS_BELOW cases (read ahead when
    the first answer is asked for): then here, where it is sooner done than workers started.
    The first PROBE cases are decided here, then timed; the rest go to workers only if handing a
    case over costs this process less than deciding it (`_handoff_pays`), else they are decided
    here too (the answers are the same either way). An Engine with a decision log always uses
    workers (its records are written here either way, and a probe would log its cases twice)."""
    it = iter(pairs)
    head = list(itertools.islice(it, IN_PROCESS_BELOW))
    if len(head) < IN_PROCESS_BELOW:
        yield from _in_process(engine, head, as_json, as_of)
        return
    size = min(PROBE, IN_PROCESS_BELOW // 10)  # a tenth of what was read ahead at most
    if engine._log is not None or not size:  # a logged Engine: no case is decided twice
        yield from _parallel(engine, itertools.chain(head, it), jobs, as_json, as_of)
        return
    probe, rest = head[:size], head[size:]
    answered = list(_in_process(engine, probe, as_json, as_of))
    yield from answered
    # timed on a second pass over the same cases: the answers memoised, as they mostly are in a
    # long run (the first answers of a run are slower, and would make workers look cheap)
    clock = time.perf_counter
    started = clock()
    for _ in _in_process(engine, probe, as_json, as_of):
        pass
    decide_cost = clock() - started
    if not _handoff_pays(engine, probe, answered, jobs, as_json, as_of, decide_cost):
        yield from _in_process(engine, itertools.chain(rest, it), as_json, as_of)
        return
    yield from _parallel(engine, itertools.chain(rest, it), jobs, as_json, as_of)


def _handoff_pays(engine: Engine, probe: list[tuple[str, Any]], answered: list[Any], jobs: int,
                  as_json: bool, as_of: dt.date | None, decide_cost: float) -> bool:
    """Whether handing the probe's cases to workers would cost this process less than deciding
    them here (decide_cost), in the CPU this process keeps beside jobs workers on this machine's
    cores, with HANDOFF_SHARE to spare: their pickling, and the Decisions rebuilt from their
    compact answers (with as_json, the lines unpickled)."""
    clock = time.perf_counter
    started = clock()
    _, blob = _packed(iter(probe), len(probe))
    if as_json:
        pickle.loads(pickle.dumps(answered, pickle.HIGHEST_PROTOCOL))
    else:
        sent = _Sent(blob)
        try:
            for index, ((decision_id, _), decision) in enumerate(zip(probe, answered, strict=True)):
                _revive(engine, decision_id, _compact_answer(decision, None), sent, index)
        except Exception:  # a cost estimate only (a case another policy version answered, rebuilt
            return True  # against this one's rules, say): workers, as before the estimate
    # jobs workers and this process share the cores: this process keeps cores / (jobs + 1) of one
    share = min(1.0, (os.cpu_count() or 1) / (jobs + 1))
    return clock() - started < HANDOFF_SHARE * share * decide_cost


def decide_many(engine: Engine, decision_id: str, cases: Iterable[Any], jobs: int = 1,
                as_json: bool = False, as_of: dt.date | None = None) -> Iterator[Any]:
    """Each case's Decision (or, with as_json, its JSON line), in input order, lazily."""
    engine.spec(decision_id)  # an unknown decision fails now, not in a worker
    return decide_pairs(engine, ((decision_id, facts) for facts in cases), jobs, as_json, as_of)
