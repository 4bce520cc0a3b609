"""Events: facts about something that happened in a procedure (who did it, on which date, what
they decided), and a case's memory (what a procedure remembers from the events it accepted).

Procedures in the policy YAML name event types and case models as decisions name fact types;
the registry here is where those names are looked up. Events are facts, never conclusions: an
event says what someone did or decided, and the procedure says whether that was allowed.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from pydantic import Field

from qpr_rules._suggest import did_you_mean
from qpr_rules.facts.base import FactModel
from qpr_rules.facts.common import Date, Text


class Event(FactModel):
    """What every event carries: who did it (a role id of the policy) and on which date."""

    by: Text = Field(description="The role of whoever did it (a role id under the policy's `roles:`)")
    on: Date = Field(description="The date it happened")


class CaseMemory(FactModel):
    """Base of the facts a procedure remembers about a case (set by its transitions' `record:`)."""


_EVENTS: dict[str, type[Event]] = {}
_CASES: dict[str, type[CaseMemory]] = {}

E = TypeVar("E", bound=type[Event])
C = TypeVar("C", bound=type[CaseMemory])


def event_type(name: str) -> Callable[[E], E]:
    """Class decorator: register an event model under the name procedures use in `events:`."""

    def register(cls: E) -> E:
        if name in _EVENTS and _EVENTS[name] is not cls:
            raise ValueError(f"event type {name!r} is registered twice")
        _EVENTS[name] = cls
        return cls

    return register


def case_model(name: str) -> Callable[[C], C]:
    """Class decorator: register a case memory model under the name procedures use in `case:`."""

    def register(cls: C) -> C:
        if name in _CASES and _CASES[name] is not cls:
            raise ValueError(f"case model {name!r} is registered twice")
        _CASES[name] = cls
        return cls

    return register


def registered_event_types() -> dict[str, type[Event]]:
    from qpr_rules import facts  # noqa: F401  (imports the modules that register)

    return dict(sorted(_EVENTS.items()))


def registered_case_models() -> dict[str, type[CaseMemory]]:
    from qpr_rules import facts  # noqa: F401

    return dict(sorted(_CASES.items()))


def get_event_model(name: str) -> type[Event]:
    types = registered_event_types()
    if name not in types:
        raise KeyError(f"unknown event type {name!r}{did_you_mean(name, types)}")
    return types[name]


__all__ = ["CaseMemory", "Event", "case_model", "event_type", "get_event_model", "registered_case_models",
           "registered_event_types"]
