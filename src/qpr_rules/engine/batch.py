"""Many decisions in one stream: in order, in bounded memory, optionally over processes.

`decide_many` is what `Engine.decide_many`, `qpr-rules decide --batch` and `qpr-rules diff`'s
impact use. With jobs > 1 the cases go, in chunks, to worker processes that each load the same
policy files into their own Engine (checked by digest: a worker that loaded other policies is an
error, never a silent mix) and send back each Decision. At most `2 * jobs` chunks are in flight,
so memory stays bounded however long the input is, and answers come back in input order.
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


_WORKER: dict[str, Any] = {}


def _worker_init(recipe: _EngineRecipe) -> None:
    from qpr_rules.engine.engine import Engine

    engine = Engine.load(list(recipe.files), as_of=recipe.as_of, evaluator=recipe.evaluator)
    if engine.digest != recipe.digest:
        raise EngineError("a worker process loaded other policies than the caller "
                          f"(digest {engine.digest[:16]}, expected {recipe.digest[:16]})")
    _WORKER["engine"] = engine


def _worker_chunk(chunk: list[tuple[str, Any]], as_json: bool, as_of: dt.date | None) -> list[Any]:
    engine: Engine = _WORKER["engine"]
    if as_json:
        return [decision_json(engine, decision_id, facts, as_of) for decision_id, facts in chunk]
    return [engine.decide(decision_id, facts, as_of) for decision_id, facts in chunk]


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
    recipe = _EngineRecipe(engine.policies.paths, engine.as_of,
                           engine.evaluator, engine.digest)
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
            raise EngineError(f"a worker process failed ({exc}); the policy files may have changed "
                              "since they were loaded, or the worker ran out of memory") from None


def decide_pairs(engine: Engine, pairs: Iterable[tuple[str, Any]], jobs: int = 1,
                 as_json: bool = False, as_of: dt.date | None = None) -> Iterator[Any]:
    """The Decision (or, with as_json, its JSON line) for each (decision id, facts), in input
    order, lazily; one pool of jobs workers serves every decision (as `diff` impact needs).
    as_of: the date the questions are about, for decisions whose facts carry none (decide)."""
    if jobs < 1:
        raise ValueError(f"jobs must be 1 or more, not {jobs}")
    if jobs > 1 and getattr(engine, "_log", None) is not None:
        raise ValueError("an Engine with a decision log decides in one process (jobs=1): worker "
                         "processes would answer without writing the log")
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
