"""Hypothesis strategies over the whole placement fact space: every enum value, absent
optional fields, empty lists, and dates on both sides of every boundary."""

from __future__ import annotations

import datetime as dt
from typing import Any

from hypothesis import strategies as st

GENDERS = ["female", "male", "nonbinary"]
DAY0 = dt.date(2024, 1, 1)
days = st.integers(min_value=-400, max_value=400).map(lambda n: DAY0 + dt.timedelta(days=n))
ages = st.integers(min_value=0, max_value=25)


def optional(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(st.none(), strategy)


@st.composite
def holds(draw: st.DrawFn) -> dict[str, Any]:
    placed_on = draw(days)
    hold: dict[str, Any] = {"kind": draw(st.sampled_from(["pending_qpr", "time_limited", "permanent"])),
                            "placed_on": placed_on}
    if draw(st.booleans()):
        hold["ends_on"] = placed_on + dt.timedelta(days=draw(st.integers(0, 500)))
    return hold


restrictions = st.fixed_dictionaries({}, optional={
    "min_child_age": ages, "max_child_age": ages, "max_children": st.integers(0, 6),
    "genders": st.lists(st.sampled_from(GENDERS), unique=True, max_size=3),
})
children = st.lists(st.fixed_dictionaries({"age": ages, "gender": st.sampled_from(GENDERS)}), max_size=6)


@st.composite
def placement_facts(draw: st.DrawFn, hold: st.SearchStrategy[Any] | None = None) -> dict[str, Any]:
    home: dict[str, Any] = {
        "id": "RH-1",
        "approval": draw(st.sampled_from(["rfa", "lfh"])),
        "approval_status": draw(st.sampled_from(["active", "inactive", "revoked", "rescinded"])),
        "children_placed": draw(children),
    }
    chosen_hold = draw(hold if hold is not None else optional(holds()))
    if chosen_hold is not None:
        home["hold"] = chosen_hold
    chosen_restrictions = draw(optional(restrictions))
    if chosen_restrictions is not None:
        home["restrictions"] = chosen_restrictions
    return {
        "placement": {"date": draw(days), "status": draw(st.sampled_from(["proposed", "made"])),
                      "cleared_with_pco": draw(st.booleans())},
        "child": {"age": draw(ages), "gender": draw(st.sampled_from(GENDERS))},
        "home": home,
    }
