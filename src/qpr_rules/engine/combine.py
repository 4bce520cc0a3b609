"""Combining the rules that fired into one outcome: the only place that knows what each
strategy means (docs/policy-format.md, "combine").

- deny-overrides: `deny` if any fired rule gave deny, else as precedence; duties of the winners.
- precedence: the first outcome in the decision's `outcomes` order that fired; duties of the
  rules that gave it.
- first-applicable: the outcome of the first fired rule (priority, then file order); its duties.
- collect-all: the outcome as precedence; the duties of every fired rule.

`deny-overrides` does not depend on the order of `outcomes`: a policy listing `[allow, deny]`
still answers deny whenever a deny rule fires.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar, assert_never

from qpr_rules.policy.model import Combine

R = TypeVar("R")

DENY = "deny"


@dataclass(frozen=True)
class Combined(Generic[R]):
    outcome: str
    winners: tuple[R, ...]  # the rules whose outcome is the answer (they give its reason)
    duty_rules: tuple[R, ...]  # the rules whose obligations the answer carries


def _by_precedence(order: Sequence[str], fired: Sequence[R], outcome_of: Callable[[R], str]) -> str:
    given = {outcome_of(r) for r in fired}
    return next(o for o in order if o in given)


def combine(strategy: Combine, order: Sequence[str], fired: Sequence[R],
            outcome_of: Callable[[R], str]) -> Combined[R] | None:
    """The combined answer for rules that fired, given in evaluation order (priority, then
    file order); None when no rule fired (the decision's default then applies)."""
    if not fired:
        return None
    outcome: str
    match strategy:
        case "first-applicable":
            first = fired[0]
            return Combined(outcome_of(first), (first,), (first,))
        case "deny-overrides":
            outcome = DENY if any(outcome_of(r) == DENY for r in fired) else _by_precedence(
                order, fired, outcome_of)
        case "precedence" | "collect-all":
            outcome = _by_precedence(order, fired, outcome_of)
        case _:
            assert_never(strategy)
    winners = tuple(r for r in fired if outcome_of(r) == outcome)
    duty_rules = tuple(fired) if strategy == "collect-all" else winners
    return Combined(outcome, winners, duty_rules)
