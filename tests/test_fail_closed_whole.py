"""Fail-closed covers the whole decision (issue 18, item 2).

"Homes on hold are not to receive placements under any circumstances" (000, Homes on hold): no
way of combining a placement decision's rules may let an allow win over a deny that fired. Beyond
placements, an error answer is never silent: it carries a duty to fix the input. And facts beyond
durable_rules' limits get the same answer on both evaluators, because the fact models refuse them.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from qpr_rules import Engine, PolicyError
from qpr_rules.policy.loader import load_policy_set
from tests.policy_text import BASE, write_policy

PENDING_HOLD: dict[str, Any] = {
    "placement": {"date": "2026-03-02", "status": "proposed", "cleared_with_pco": True, "siblings": []},
    "child": {"id": "C-1", "age": 9, "gender": "male", "region": "North Central"},
    "home": {"id": "RH-1", "approval": "rfa", "approval_status": "active",
             "hold": {"kind": "pending_qpr", "placed_on": "2025-01-01"}, "restrictions": None,
             "children_placed": []},
}


def _refused(tmp_path: Path, text: str) -> list[str]:
    write_policy(tmp_path, text)
    with pytest.raises(PolicyError) as info:
        load_policy_set([tmp_path])
    return [p.message for p in info.value.problems]


def test_base_policy_loads(tmp_path: Path) -> None:
    write_policy(tmp_path, BASE)
    engine = Engine.load([tmp_path])
    assert engine.decide("tiny.placement", PENDING_HOLD).outcome == "deny"


def test_precedence_with_allow_before_deny_is_refused(tmp_path: Path) -> None:
    text = BASE.replace("combine: deny-overrides", "combine: precedence").replace(
        "outcomes: [deny, allow]", "outcomes: [allow, deny]")
    messages = _refused(tmp_path, text)
    assert any("can let 'allow' win over a deny that fired" in m for m in messages), messages


def test_collect_all_with_allow_before_deny_is_refused(tmp_path: Path) -> None:
    text = BASE.replace("combine: deny-overrides", "combine: collect-all").replace(
        "outcomes: [deny, allow]", "outcomes: [allow, deny]")
    messages = _refused(tmp_path, text)
    assert any("can let 'allow' win over a deny that fired" in m for m in messages), messages


def test_precedence_with_deny_first_is_accepted(tmp_path: Path) -> None:
    text = BASE.replace("combine: deny-overrides", "combine: precedence")
    write_policy(tmp_path, text)
    assert Engine.load([tmp_path]).decide("tiny.placement", PENDING_HOLD).outcome == "deny"


def test_first_applicable_with_an_allow_ordered_before_a_deny_is_refused(tmp_path: Path) -> None:
    text = BASE.replace("    outcome: allow", "    priority: 1\n    outcome: allow").replace("combine: deny-overrides", "combine: first-applicable")
    messages = _refused(tmp_path, text)
    assert any("tiny.allow" in m and "first-applicable" in m for m in messages), messages


def test_first_applicable_with_every_deny_first_is_accepted(tmp_path: Path) -> None:
    text = BASE.replace("    outcome: allow", "    priority: 500\n    outcome: allow").replace("combine: deny-overrides", "combine: first-applicable")
    write_policy(tmp_path, text)
    assert Engine.load([tmp_path]).decide("tiny.placement", PENDING_HOLD).outcome == "deny"


# ------------------------------------------------------------------ error answers carry a duty

NOT_PLACEMENT = """\
  - id: tiny.hold-note
    title: Is a note needed?
    facts: placement_request
    outcomes: [note, none]
    combine: collect-all
    default: none
    on_error: none
"""


def test_a_silent_error_answer_is_refused(tmp_path: Path) -> None:
    # a non-placement decision over other facts: borrow the concern fact type
    text = BASE.replace("rules:\n", NOT_PLACEMENT.replace("placement_request", "qpr_concern") + "rules:\n", 1)
    messages = _refused(tmp_path, text)
    assert any("tiny.hold-note" in m and "on_error" in m and "duty" in m for m in messages), messages


def test_a_malformed_concern_owes_a_duty() -> None:
    """A concern that cannot be read is not silently `no-route`: someone must fix it."""
    engine = Engine.from_bundled()
    decision = engine.decide("qpr.concern-routing", {"raised_by": "teacher"})
    assert decision.status == "error"
    assert decision.obligations, decision
    assert all(ob.do for ob in decision.obligations)


def test_every_bundled_error_answer_carries_a_duty_or_denies_a_placement() -> None:
    engine = Engine.from_bundled()
    for did in engine.decision_ids:
        decision = engine.decide(did, {"not a fact": 1})
        assert decision.status == "error"
        if engine.spec(did).decision.placement:
            assert decision.outcome == "deny"
        else:
            assert decision.obligations, did


# ------------------------------------------------------------------ limits in the fact models

def _with(path: str, value: Any) -> dict[str, Any]:
    facts = json.loads(json.dumps(PENDING_HOLD))
    facts["home"]["hold"] = None
    *parents, last = path.split(".")
    node = facts
    for p in parents:
        node = node[p]
    node[last] = value
    return facts


BEYOND_LIMITS = {
    "date-before-1800": _with("placement.date", "1799-12-31"),
    "date-after-2399": _with("placement.date", "2400-01-01"),
    "hold-placed-9999": _with("home.hold", {"kind": "time_limited", "placed_on": "9999-12-31"}),
    "text-over-65535-bytes": _with("child.id", "x" * 65536),
    "multibyte-text-over-limit": _with("home.id", "é" * 32768),
}


@pytest.mark.parametrize("name", sorted(BEYOND_LIMITS))
def test_facts_beyond_the_engines_limits_are_refused_alike(name: str) -> None:
    facts = BEYOND_LIMITS[name]
    durable = Engine.from_bundled().decide("qpr.placement", facts)
    compiled = Engine.from_bundled(evaluator="compiled").decide("qpr.placement", facts)
    assert durable.outcome == compiled.outcome == "deny"
    assert durable.status == compiled.status == "error"
    assert durable.errors == compiled.errors
    assert "from 1800-01-01 to 2399-12-31" in durable.reason or "65,535 bytes" in durable.reason


def test_facts_at_the_limits_are_accepted() -> None:
    engine = Engine.from_bundled(evaluator="compiled")
    # (a placement dated 1800 is before the QPR policy's first version: the hold's date is used)
    for facts in (_with("home.hold", {"kind": "time_limited", "placed_on": "1800-01-01"}),
                  _with("placement.date", "2399-12-31"),
                  _with("child.id", "x" * 65535)):
        assert engine.decide("qpr.placement", facts).status == "decided"
