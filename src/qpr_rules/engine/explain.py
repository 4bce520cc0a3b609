"""A readable trace of a decision: each rule, fired or not and why, with the quoted text."""

from __future__ import annotations

import functools
import textwrap
from typing import TYPE_CHECKING

from qpr_rules.engine.decision import Decision

if TYPE_CHECKING:
    from qpr_rules.engine.engine import Engine


@functools.lru_cache(maxsize=4096)
def _fill(text: str, indent: str) -> str:
    """text wrapped at 92 columns, each line indented. Memoised: textwrap costs far more than the
    decision it explains, and the same sentences recur (the policy's quotations always, the
    explanations of rules not fired for facts alike); bounded in entries, whatever the policy."""
    return textwrap.fill(text, width=92, initial_indent=indent, subsequent_indent=indent)


def _quote(text: str, indent: str) -> str:
    return _fill(f"“{text}”", indent)


def render_trace(engine: Engine, decision: Decision) -> str:
    lines = [f"{decision.decision}: {decision.outcome.upper()} ({decision.status})",
             f"  reason: {decision.reason}"]
    if decision.status == "error":
        lines += [f"  error: {e}" for e in decision.errors]
        return "\n".join(lines) + "\n"
    spec = engine.spec(decision.decision)
    lines.append(f"  combine: {spec.decision.combine}; default: {spec.decision.default}")
    lines.append("")
    lines.append("Rules that fired:" if decision.fired else "No rule fired.")
    for rule in decision.fired:
        lines.append(f"  ✔ {rule.id} -> {rule.outcome}: {rule.title}")
        for c in rule.citations:
            lines.append(f"      {c.document} § {c.section} [{c.clause}]")
            lines.append(_quote(c.text, "        "))
    if decision.obligations:
        lines += ["", "Obligations:"]
        for ob in decision.obligations:
            cite = f" [{ob.clause.clause}]" if ob.clause else ""
            lines.append(f"  • {ob.role} ({ob.who}): {ob.do}{cite}")
    if decision.consequences:
        lines += ["", "Consequences (no one is named to act):"]
        for cq in decision.consequences:
            lines.append(f"  • {cq.text} [{cq.clause.clause}]")
    if decision.not_fired:
        lines += ["", "Rules that did not fire:"]
        for nf in decision.not_fired:
            lines.append(f"  ✘ {nf.id}: {nf.title}")
            lines.append(_fill(f"because {nf.failed}", "      "))
    lines += ["", f"policy {decision.policy_revision} digest {decision.policy_digest[:16]}"]
    return "\n".join(lines) + "\n"
