"""A case's state is the fold of its events: the same events, in version order, give the same
state on every replay. `replay` folds every case of a store in one pass over it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TypeVar

from qpr_rules.procedure.store_api import EventStore, StoredEvent, StoreError

S = TypeVar("S")


def fold_case(history: list[StoredEvent], fold: Callable[[S, StoredEvent], S], initial: S) -> S:
    """Fold one case's events, refusing a history with a gap or a foreign event (a store that
    returns one is broken, and a state built from it would be wrong)."""
    state = initial
    for expected, event in enumerate(history, start=1):
        if event.version != expected or event.case_id != history[0].case_id:
            raise StoreError(f"case {history[0].case_id!r}: event {expected} is "
                             f"{event.case_id!r} version {event.version}; the history is not contiguous")
        state = fold(state, event)
    return state


def replay(store: EventStore, fold: Callable[[S, StoredEvent], S],
           initial: Callable[[str], S]) -> Iterator[tuple[str, S]]:
    """(case id, state) for every case of the store, in `case_ids()` order; `initial(case_id)`
    gives the state before a case's first event."""
    for history in store.histories():
        case_id = history[0].case_id
        yield case_id, fold_case(history, fold, initial(case_id))
