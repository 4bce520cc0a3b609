"""Fail-closed by construction: a placement question can only be written so that every path
that is not an explicit, rule-backed permission answers "deny".

The model (policy/model.py) already requires `on_error: deny` when `placement: true`. Here the
set-level checks: a decision over placement-request facts must declare itself a placement
question, its default (no rule applies) must be a denial too, and a decision without rules is
reported (a warning from `qpr-rules check`: it always answers its default).
"""

from __future__ import annotations

from collections.abc import Sequence

from qpr_rules.facts.base import FactModel, registered_fact_types
from qpr_rules.policy.model import Decision

#: Fact types whose decisions ask whether a child may be placed somewhere: every decision over
#: them must be marked `placement: true`, and so deny on error and by default.
PLACEMENT_FACT_TYPES = frozenset({"placement_request"})

Finding = tuple[str, str, str]  # (field of the decision, message, "error" | "warning")


def is_placement_facts(model: type[FactModel] | None) -> bool:
    """Whether model is a placement-request fact type."""
    types = registered_fact_types()
    return model is not None and any(types.get(name) is model for name in PLACEMENT_FACT_TYPES)


def decision_problems(decision: Decision, model: type[FactModel] | None,
                      rules: Sequence[object]) -> list[Finding]:
    """What keeps decision from failing closed, and decisions that can never answer otherwise."""
    found: list[Finding] = []
    if is_placement_facts(model) and not decision.placement:
        found.append(("facts", f"{decision.id} decides over {decision.facts} facts, so it is a placement "
                               "question: add `placement: true` (it then needs `on_error: deny` and "
                               "`default: deny`)", "error"))
    if decision.placement and decision.default != "deny":
        found.append(("default", f"a placement decision must fail closed: when no rule applies the "
                                 f"answer must be a denial; set `default: deny` (not "
                                 f"{decision.default!r}) and write a rule for each permission", "error"))
    if not rules:
        found.append(("id", f"decision {decision.id} has no rules: it always answers its default "
                            f"{decision.default!r}", "warning"))
    return found
