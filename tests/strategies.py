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
    if hold["kind"] == "time_limited" and draw(st.booleans()):
        hold["review_after"] = placed_on + dt.timedelta(days=draw(st.integers(0, 500)))
    if hold["kind"] == "time_limited" and draw(st.booleans()):  # reinstated only after a QPR's date
        after = hold.get("review_after", placed_on - dt.timedelta(days=1))
        hold["reinstated_on"] = after + dt.timedelta(days=draw(st.integers(1, 500)))
    return hold


restrictions = st.fixed_dictionaries({}, optional={
    "min_child_age": ages, "max_child_age": ages, "max_children": st.integers(0, 6),
    "genders": st.lists(st.sampled_from(GENDERS), unique=True, max_size=3),
}).map(lambda r: {**r, "min_child_age": r["max_child_age"], "max_child_age": r["min_child_age"]}
       if "min_child_age" in r and "max_child_age" in r and r["min_child_age"] > r["max_child_age"] else r)
children = st.lists(st.fixed_dictionaries({"age": ages, "gender": st.sampled_from(GENDERS)}), max_size=6)


@st.composite
def placement_facts(draw: st.DrawFn, hold: st.SearchStrategy[Any] | None = None) -> dict[str, Any]:
    home: dict[str, Any] = {
        "id": "RH-1",
        "approval": draw(st.sampled_from(["rfa", "lfh"])),
        "approval_status": draw(st.sampled_from(["active", "inactive", "revoked", "rescinded"])),
        "children_placed": draw(children),
    }
    home["hold"] = draw(hold if hold is not None else optional(holds()))
    home["restrictions"] = draw(optional(restrictions))
    status = draw(st.sampled_from(["proposed", "made"]))
    return {
        "placement": {"date": draw(days), "status": status,
                      "siblings": draw(st.lists(st.fixed_dictionaries(
                          {"age": ages, "gender": st.sampled_from(GENDERS)}), max_size=2)),
                      "cleared_with_pco": draw(st.booleans())},
        # a made placement names the child's region (issue 17.7: else the facts are refused)
        "child": {"age": draw(ages), "gender": draw(st.sampled_from(GENDERS)),
                  **({"region": "East"} if status == "made" else draw(st.sampled_from([{}, {"region": "East"}])))},
        "home": home,
    }
