"""The dates a procedure's proof tries, and why they are enough.

A guard can read a date only by comparing it: an event's date with a date the case carries (or
another date of the event), shifted by a fixed number of days (`plus_days`), or with a date
written in the policy. So what decides a guard is where each date falls among the others, not
the dates themselves. This module walks the guards' condition trees to establish that (a date
read any other way, in a set or a list, is named as not covered), and gives:

- the offsets the comparisons shift dates by (D: the guards' offsets, their differences, 0);
- for an event, the dates to try for each of its date fields: every date one day before, on and
  one day after each date the state carries shifted by each offset in D, and one far before and
  far after them all. Every comparison a guard makes of that field (date ⋈ x + c) falls the same
  way for every date between two consecutive tried dates, so these are one date from each of
  the field's classes: every ordering of the field among the state's dates;
- a state's key: its dates by their order, each against each other shifted by each of D (two
  states whose dates fall in the same order are taken as one: that is the proof's bound).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, assert_never

from qpr_rules.policy.condition_format import render
from qpr_rules.policy.condition_nodes import (
    All,
    AnyOf,
    Compare,
    Condition,
    Contains,
    Count,
    FactRef,
    InSet,
    Literal_,
    Not,
    Present,
    Quantified,
    fact_paths,
)

BASE = dt.date(2025, 1, 1)  # the first event's date when the state carries none


@dataclass(frozen=True)
class DateComparisons:
    """How a set of conditions reads dates."""

    offsets: frozenset[int]  # days one side of a date comparison is shifted by, both signs, and 0
    literals: frozenset[dt.date]  # dates written in the conditions
    uncovered: tuple[str, ...]  # atoms reading a date other than by comparing it (rendered)
    compared: frozenset[str] = frozenset()  # the fact paths compared as dates (outside list items)

    @property
    def shifts(self) -> frozenset[int]:
        """D: the offsets and their differences (x ⋈ e + a and e ⋈ y + b relate x and y by a - b)."""
        return frozenset(a - b for a in self.offsets for b in self.offsets) | self.offsets

    @property
    def bound(self) -> int:
        """How far before or after all the known dates the far dates are tried."""
        return 2 * max(abs(d) for d in self.shifts) + 2


def date_comparisons(conditions: Iterable[Condition]) -> DateComparisons:
    offsets: set[int] = {0}
    literals: set[dt.date] = set()
    uncovered: list[str] = []
    compared: set[str] = set()

    def walk(cond: Condition, in_item: bool) -> None:
        match cond:
            case All(items=items) | AnyOf(items=items):
                for c in items:
                    walk(c, in_item)
            case Not(item=item):
                walk(item, in_item)
            case Compare(ftype=ftype, right=right):
                if ftype.kind != "date":
                    return
                if in_item:  # a date inside a list's items: the proof makes no such lists
                    uncovered.append(render(cond))
                    return
                compared.update(fact_paths(cond))
                if isinstance(right, FactRef):
                    offsets.update((right.plus_days, -right.plus_days))
                elif isinstance(right, Literal_) and isinstance(right.value, dt.date):
                    literals.add(right.value)
                else:
                    uncovered.append(render(cond))
            case InSet(ftype=ftype):
                if ftype.kind == "date":
                    uncovered.append(render(cond))
            case Contains(ftype=ftype):
                if ftype.item is not None and ftype.item.kind == "date":
                    uncovered.append(render(cond))
            case Present() | Count():
                pass  # whether a date is given, how long a list is: no date compared
            case Quantified(cond=inner):
                walk(inner, True)
            case _:
                assert_never(cond)

    for c in conditions:
        walk(c, False)
    return DateComparisons(frozenset(offsets), frozenset(literals), tuple(dict.fromkeys(uncovered)),
                           frozenset(compared))


def merged(*parts: DateComparisons) -> DateComparisons:
    return DateComparisons(frozenset().union(*(p.offsets for p in parts)),
                           frozenset().union(*(p.literals for p in parts)),
                           tuple(dict.fromkeys(u for p in parts for u in p.uncovered)),
                           frozenset().union(*(p.compared for p in parts)))


def tried_dates(known: Iterable[dt.date], dc: DateComparisons) -> list[dt.date]:
    """One date of each class a new date falls in among `known` (and the policy's own dates):
    the day before, the day of and the day after each known date shifted by each of D, and one
    far before and far after them all."""
    points = {k + dt.timedelta(days=d) for k in known for d in dc.shifts} | set(dc.literals)
    if not points:
        return [BASE]
    far = dt.timedelta(days=dc.bound + 1)
    one = dt.timedelta(days=1)
    out = {p + s * one for p in points for s in (-1, 0, 1)} | {min(points) - far, max(points) + far}
    return sorted(out)


def _sign(n: int) -> int:
    return (n > 0) - (n < 0)


def _hashable(value: Any) -> Any:
    """A nested value of the memory (a restriction's bounds) as a key part, compared whole."""
    if isinstance(value, (dict, list)):
        return json.dumps(value, sort_keys=True, default=str)
    return value


def date_key(memory: Mapping[str, Any], dc: DateComparisons) -> tuple[Any, ...]:
    """The memory with its dates replaced by their order: for each two of them (and the
    policy's own dates), whether one is before, on or after the other shifted by each of D."""
    plain = tuple(sorted((k, _hashable(v)) for k, v in memory.items() if not isinstance(v, dt.date)))
    dates = sorted((k, v) for k, v in memory.items() if isinstance(v, dt.date))
    dates += [(f"literal {d.isoformat()}", d) for d in sorted(dc.literals)]
    shifts = sorted(dc.shifts)
    order = tuple((a, b, tuple(_sign((va - vb).days - d) for d in shifts))
                  for i, (a, va) in enumerate(dates) for b, vb in dates[i + 1:])
    return plain, tuple(k for k, _ in dates), order
