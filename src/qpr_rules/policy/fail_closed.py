"""Fail-closed by construction: a placement question can only be written so that every path
that is not an explicit, rule-backed permission answers "deny".

The model (policy/model.py) already requires `on_error: deny` when `placement: true`. Here the
set-level checks: a decision over placement-request facts must declare itself a placement
question, its default (no rule applies) must be a denial too, no way of combining its rules may
let another outcome win over a deny that fired, every other decision's error answer carries a duty
to fix the input (an error is never answered silently), and a decision without rules is reported
(a warning from `qpr-rules check`: it always answers its default).

All static: read off the decision and its rules' outcomes and order, no solver needed at load.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, assert_never

from qpr_rules.facts.base import FactModel, registered_fact_types
from qpr_rules.policy.model import Decision, Rule

#: Fact types whose decisions ask whether a child may be placed somewhere: every decision over
#: them must be marked `placement: true`, and so deny on error and by default.
PLACEMENT_FACT_TYPES = frozenset({"placement_request"})

Finding = tuple[str, str, str]  # (field of the decision, message, "error" | "warning")


class OrderedRule(Protocol):
    """What the combining check needs of a rule: its definition and its place in file order."""

    @property
    def rule(self) -> Rule: ...

    @property
    def order(self) -> tuple[int, str, int]: ...


def is_placement_facts(model: type[FactModel] | None) -> bool:
    """Whether model is a placement-request fact type."""
    types = registered_fact_types()
    return model is not None and any(types.get(name) is model for name in PLACEMENT_FACT_TYPES)


def decision_problems(decision: Decision, model: type[FactModel] | None,
                      rules: Sequence[OrderedRule]) -> list[Finding]:
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
    if decision.placement:
        found.extend(_combining_problems(decision, rules))
    elif not decision.on_error_obligations and not is_placement_facts(model):  # (reported above)
        found.append(("on_error", f"decision {decision.id} answers {decision.on_error!r} on error (invalid "
                                  "facts, a failed evaluation) with no duty to anyone, so an error "
                                  "passes silently: add `on_error_obligations:` naming who must fix "
                                  "the input (a role and what they do)", "error"))
    if not rules:
        found.append(("id", f"decision {decision.id} has no rules: it always answers its default "
                            f"{decision.default!r}", "warning"))
    return found


def _combining_problems(decision: Decision, rules: Sequence[OrderedRule]) -> list[Finding]:
    """How the decision's combining could let an outcome other than deny win over a deny rule
    that fired ("Homes on hold are not to receive placements under any circumstances")."""
    match decision.combine:
        case "deny-overrides":
            return []
        case "precedence" | "collect-all":
            order = decision.outcomes
            before = order[:order.index("deny")] if "deny" in order else []
            if not before:
                return []
            return [("combine", f"{decision.combine} with outcomes {decision.outcomes} can let "
                                f"{before[0]!r} win over a deny that fired; a placement decision must "
                                "list `deny` first, or use `combine: deny-overrides`", "error")]
        case "first-applicable":
            ordered = sorted(rules, key=lambda r: r.order)
            denies = [i for i, r in enumerate(ordered) if r.rule.outcome == "deny"]
            early = [r.rule.id for r in ordered[:denies[-1]] if r.rule.outcome != "deny"] if denies else []
            if not early:
                return []
            return [("combine", f"first-applicable answers with the first rule that fires, and "
                                f"{', '.join(early)} (outcome not deny) is ordered before a deny rule, so "
                                "it can win over a deny that fired; give every deny rule a lower "
                                "`priority` than the others, or use `combine: deny-overrides`", "error")]
        case _:
            assert_never(decision.combine)
