"""Many decisions in one stream: in order, in bounded memory, optionally over processes.

`decide_many` is what `Engine.decide_many`, `qpr-rules decide --batch` and `qpr-rules diff`'s
impact use. With jobs > 1 the cases go, in chunks, to worker processes that each load the same
policy files into their own Engine (checked by digest: a worker that loaded other policies is an
error, never a silent mix) and send back each Decision. At most `2 * jobs` chunks are in flight,
so memory stays bounded however long the input is, and answers come back in input order.

With a decision log, each worker's Engine logs into a list, and sends the records back with the
answers; this process writes them to its one log, in input order, each before its answer is
given back, so the log is one hash chain whatever the number of workers, and no answer is
returned as logged when it is not (the Engine's `on_log_error` applies as in one process).
"""

from __future__ import annotations

import datetime as dt
import itertools
import multiprocessing
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from qpr_rules.errors import EngineError

if TYPE_CHECKING:
    from qpr_rules.engine.engine import Engine, Evaluator

CHUNK = 500  # cases per task sent to a worker: large enough that pickling costs little

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


def _worker_chunk(chunk: list[tuple[str, Any]], as_json: bool, as_of: dt.date | None) -> list[Any]:
    """The chunk's answers; when the caller logs, each as (answer, its log record)."""
    engine: Engine = _WORKER["engine"]
    sink = _WORKER.get("sink")
    out: list[Any] = []
    for decision_id, facts in chunk:
        decision = engine.decide(decision_id, facts, as_of)
        answer: Any = decision.to_json() if as_json else decision
        if sink is not None:
            (record,) = sink.records  # exactly one record per decision
            sink.records.clear()
            answer = (answer, record)
        out.append(answer)
    return out


def decision_json(engine: Engine, decision_id: str, facts: Any, as_of: dt.date | None = None) -> str:
    """One batch output line: the Decision JSON for facts. JSON text (str or bytes) goes to
    decide as it is, to the one reader every door uses."""
    return engine.decide(decision_id, facts, as_of).to_json()


def _chunks(items: Iterable[Any], size: int) -> Iterator[list[Any]]:
    it = iter(items)
    while chunk := list(itertools.islice(it, size)):
        yield chunk


def _parallel(engine: Engine, pairs: Iterable[tuple[str, Any]], jobs: int, as_json: bool,
              as_of: dt.date | None) -> Iterator[Any]:
    logged = engine._log is not None
    recipe = _EngineRecipe(engine.policies.paths, engine.as_of, engine.evaluator, engine.digest,
                           logged, engine.log_mask)
    answers = _pool(recipe, pairs, jobs, as_json, as_of)
    if not logged:
        yield from answers
        return
    for answer, record in answers:
        refused = engine._write_record(record)  # written here, before the answer is given back
        if refused is None:
            yield answer
        else:  # not written, and the Engine fails closed: its error answer instead
            yield refused.to_json() if as_json else refused


def _pool(recipe: _EngineRecipe, pairs: Iterable[tuple[str, Any]], jobs: int, as_json: bool,
          as_of: dt.date | None) -> Iterator[Any]:
    # spawn, not fork: durable_rules' C state and its lock must not be copied mid-use
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(jobs, mp_context=context, initializer=_worker_init,
                             initargs=(recipe,)) as pool:
        pending: deque[Future[list[Any]]] = deque()
        try:
            for chunk in _chunks(pairs, CHUNK):
                pending.append(pool.submit(_worker_chunk, chunk, as_json, as_of))
                if len(pending) >= 2 * jobs:
                    yield from pending.popleft().result()
            while pending:
                yield from pending.popleft().result()
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
        if as_json:
            return (decision_json(engine, d, facts, as_of) for d, facts in pairs)
        return (engine.decide(d, facts, as_of) for d, facts in pairs)
    return _parallel(engine, pairs, jobs, as_json, as_of)


def decide_many(engine: Engine, decision_id: str, cases: Iterable[Any], jobs: int = 1,
                as_json: bool = False, as_of: dt.date | None = None) -> Iterator[Any]:
    """Each case's Decision (or, with as_json, its JSON line), in input order, lazily."""
    engine.spec(decision_id)  # an unknown decision fails now, not in a worker
    return decide_pairs(engine, ((decision_id, facts) for facts in cases), jobs, as_json, as_of)
