"""A readable trace of a decision: each rule, fired or not and why, with the quoted text."""

from __future__ import annotations

import functools
import re
import textwrap
from typing import TYPE_CHECKING

from qpr_rules.engine.decision import Decision

if TYPE_CHECKING:
    from qpr_rules.engine.engine import Engine


WIDTH = 92

#: what makes textwrap break a word somewhere other than at a space: a hyphen before a letter
#: (it breaks "pending-qpr" after the hyphen), a run of hyphens (an em-dash), whitespace other
#: than single spaces, or space at either end (kept or dropped by rules of its own)
_NOT_PLAIN = re.compile(r"-[^\W\d]|--|\s(?<! )|  |^ | $")


@functools.lru_cache(maxsize=4096)
def _fill(text: str, indent: str) -> str:
    """textwrap.fill(text, 92, with indent before every line), exactly. Memoised: the same
    sentences recur (the policy's quotations always, the explanations of rules not fired for
    facts alike); bounded in entries, whatever the policy. A text of words and single spaces is
    wrapped here, word by word, as textwrap would: textwrap cost more than the decision it
    explains (tests/test_explain_fill.py compares the two on generated texts)."""
    room = WIDTH - len(indent)
    words = text.split(" ")
    if not text or _NOT_PLAIN.search(text) or max(map(len, words)) > room:
        return textwrap.fill(text, width=WIDTH, initial_indent=indent, subsequent_indent=indent)
    lines: list[str] = []
    line: list[str] = []
    used = -1  # the line's length so far, less the indent, with a space before each word
    for word in words:
        if line and used + 1 + len(word) > room:
            lines.append(indent + " ".join(line))
            line, used = [], -1
        line.append(word)
        used += 1 + len(word)
    lines.append(indent + " ".join(line))
    return "\n".join(lines)


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
