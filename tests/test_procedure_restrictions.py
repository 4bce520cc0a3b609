"""A placement into a home restricted at a QPR, as the procedure records it (issue 17.7): "QPR
actions and scope" lets a QPR "Restrict age range, number, or gender of children placed in the
resource home" (../shared/seeds/000_4b5b4e0ce51b2960.txt). A placement records the children it
placed, each with age and gender, as a caseworker knows them; every one of them is checked
against the restriction, and the number counts them all, added to the children already living in
the home. A placement outside the restriction is a departure citing actions.restrict-children."""

from __future__ import annotations

from typing import Any

import pytest

from qpr_rules.engine.engine import Engine

ENGINE = Engine.from_bundled()
SENTENCE = "Restrict age range, number, or gender of children placed in the resource home."
# Steps 1 to 5, the RF agrees, and the QPR restricts the home to girls aged 5 to 10, two at most.
RESTRICTED: list[dict[str, Any]] = [
    {"type": "qpr.concern-raised", "by": "referring-sw", "on": "2025-01-02", "raised_by": "social_worker",
     "after_state_denial": False},
    {"type": "qpr.consultation-held", "by": "referring-sw", "on": "2025-01-03", "warranted": True},
    {"type": "qpr.form-submitted", "by": "referring-sw", "on": "2025-01-04"},
    {"type": "qpr.referral-screened", "by": "pco", "on": "2025-01-06", "appropriate": True},
    {"type": "qpr.hold-assessed", "by": "pco-pss", "on": "2025-01-06", "hold": False},
    {"type": "qpr.information-gathered", "by": "pco", "on": "2025-01-08", "units_knowing_home": ["rfa"]},
    {"type": "qpr.internal-review-completed", "by": "pco", "on": "2025-01-09", "recommended": ["restrict_children"]},
    {"type": "qpr.rf-called", "by": "pco-pss", "on": "2025-01-10", "rf_agrees": True},
    {"type": "qpr.qpr-concluded", "by": "pco", "on": "2025-01-10", "actions": ["restrict_children"],
     "at_meeting": False,
     "restrictions": {"min_child_age": 5, "max_child_age": 10, "max_children": 2, "genders": ["female"]}},
]


def placed(*children: tuple[int, str], in_home: int = 0) -> dict[str, Any]:
    return {"type": "qpr.placement-made", "by": "placing-sw", "on": "2025-03-01", "child_region": "east",
            "children": [{"age": age, "gender": gender} for age, gender in children],
            "children_in_home": in_home}


def case_after(*events: dict[str, Any]) -> Any:
    case = ENGINE.case("qpr.home", "home-r")
    for event in [*RESTRICTED, *events]:
        case.record(event)
    return case


def test_the_restriction_is_what_the_case_remembers() -> None:
    case = case_after()
    assert case.state == "good-standing" and case.departures == []
    r = case.memory.restrictions  # type: ignore[attr-defined]
    assert (r.min_child_age, r.max_child_age, r.max_children, r.genders) == (5, 10, 2, ["female"])


def test_children_within_the_restriction_are_no_departure() -> None:
    case = case_after(placed((6, "female"), (9, "female"), in_home=0))
    assert case.state == "good-standing" and case.departures == []


@pytest.mark.parametrize(("children", "in_home", "why"), [
    # siblings placed at once count each: two, beside the one living there, are three
    (((6, "female"), (9, "female")), 1, "3 children"),
    # every child placed is checked, not only the first: a sibling older than the range
    (((6, "female"), (12, "female")), 0, "aged 6 to 12"),
    # and younger than it
    (((4, "female"), (9, "female")), 0, "aged 4 to 9"),
    # a sibling of a gender the home is restricted from
    (((6, "female"), (7, "male")), 0, "female, male"),
])
def test_a_placement_outside_the_restriction_is_a_departure(children: tuple[tuple[int, str], ...], in_home: int,
                                                            why: str) -> None:
    case = case_after(placed(*children, in_home=in_home))
    (dep,) = case.departures
    assert (dep.event_type, dep.clause, dep.state) == ("qpr.placement-made", "actions.restrict-children",
                                                        "good-standing")
    assert why in dep.text, dep.text
    assert case.state == "good-standing"  # recorded, and the state the policy recognises is unchanged


def test_the_clause_quotes_the_sentence() -> None:
    (clause,) = [c for c in ENGINE.policies.procedures["qpr.home"].file.policy.clauses
                 if c.id == "actions.restrict-children"]
    assert " ".join(clause.text.split()) == SENTENCE


def test_a_restriction_needs_its_bounds_and_only_with_restrict_children() -> None:
    from qpr_rules.errors import EventError

    case = ENGINE.case("qpr.home", "home-s")
    for event in RESTRICTED[:-1]:
        case.record(event)
    bare = {k: v for k, v in RESTRICTED[-1].items() if k != "restrictions"}
    with pytest.raises(EventError, match="restrictions"):
        case.check(bare)
    stray = {**RESTRICTED[-1], "actions": ["corrective_measures"]}
    with pytest.raises(EventError, match="restrictions"):
        case.check(stray)


def test_a_bound_the_qpr_did_not_set_restricts_nothing() -> None:
    only_number = {**RESTRICTED[-1], "restrictions": {"max_children": 2}}
    case = ENGINE.case("qpr.home", "home-n")
    for event in [*RESTRICTED[:-1], only_number, placed((15, "male"), (2, "nonbinary"), in_home=0)]:
        case.record(event)
    assert case.departures == []
    case.record(placed((15, "male"), in_home=2))
    (dep,) = case.departures
    assert dep.clause == "actions.restrict-children" and "making 3 children in the home" in dep.text
    assert "ages min child age not given to max child age not given" in dep.text  # said, not invented


def test_a_later_qpr_without_the_action_lifts_the_restriction() -> None:
    case = case_after()
    again = [{**e, "on": f"2026-{e['on'][5:]}"} for e in RESTRICTED[:-1]]
    concluded = {**RESTRICTED[-1], "on": "2026-01-10", "actions": ["corrective_measures"]}
    concluded.pop("restrictions")
    for event in [*again, concluded, {**placed((15, "male"), in_home=3), "on": "2026-03-01"}]:
        case.record(event)
    assert case.state == "good-standing" and case.departures == []
