"""An application using the typed facts API, checked by `mypy --strict` in
tests/test_typed_api.py: what a placement system writes against qpr-rules."""

from __future__ import annotations

import datetime as dt

from qpr_rules import Decision, Engine, Hold, HoldState, PlacementRequest
from qpr_rules.facts.hold import HoldKind
from qpr_rules.facts.placement import (
    ApprovalKind,
    ApprovalStatus,
    Child,
    Gender,
    Home,
    Placement,
    PlacementStatus,
)


def request_for(child_age: int, on: dt.date, hold: Hold | None) -> PlacementRequest:
    return PlacementRequest(
        placement=Placement(date=on, status=PlacementStatus.PROPOSED, cleared_with_pco=True, siblings=[]),
        child=Child(age=child_age, gender=Gender.FEMALE),
        home=Home(id="RH-1", approval=ApprovalKind.RFA, approval_status=ApprovalStatus.ACTIVE,
                  hold=hold, restrictions=None, children_placed=[]),
    )


def ask(engine: Engine, raw: dict[str, object]) -> tuple[int, HoldState, Decision]:
    facts = engine.validate_facts("qpr.placement", raw, PlacementRequest)
    age: int = facts.child.age
    state: HoldState = facts.hold_state
    decision = engine.decide("qpr.placement", facts.model_dump())
    return age, state, decision


def main() -> bool:
    engine = Engine.from_bundled()
    held = Hold(kind=HoldKind.PENDING_QPR, placed_on=dt.date(2026, 1, 5))
    typed = request_for(7, dt.date(2026, 2, 1), held)
    age, state, decision = ask(engine, typed.model_dump(mode="json"))
    same: bool = engine.decide("qpr.placement", typed.model_dump_json()).to_json() == decision.to_json()
    return age == 7 and state is HoldState.IN_FORCE and not decision.allowed and same


if __name__ == "__main__":
    raise SystemExit(0 if main() else 1)
