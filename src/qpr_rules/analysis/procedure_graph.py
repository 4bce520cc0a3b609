"""A procedure's statechart as a diagram: Mermaid (stateDiagram-v2) or Graphviz dot.

Nested states are drawn as composite states (Mermaid) or clusters (dot); each transition is an
edge labelled with its event and, when it has one, its guard in the condition language's words.
A transition without `to:` (it records what happened and stays) is a loop on its state.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from qpr_rules.policy.conditions import render
from qpr_rules.policy.procedures import ProcedureSpec, StateSpec, TransitionSpec

FORMATS = ("mermaid", "dot")


def label(t: TransitionSpec) -> str:
    """The edge's label: the event, and its guard in brackets."""
    guard = f" [{render(t.guard)}]" if t.guard is not None else ""
    return f"{t.transition.event}{guard}"


def _children(spec: ProcedureSpec, parent: str | None) -> list[StateSpec]:
    depth = 1 if parent is None else len(spec.states[parent].path) + 1
    return [s for s in spec.states.values()
            if len(s.path) == depth and (parent is None or s.path[-2] == parent)]


# -- Mermaid -----------------------------------------------------------------------------------

def _mid(state_id: str) -> str:
    """A Mermaid state id: letters, digits and underscores (a hyphen would read as an arrow)."""
    return re.sub(r"[^A-Za-z0-9_]", "_", state_id)


def _mtext(text: str) -> str:
    """Text safe in a Mermaid label: no statement separator, comment or quote characters."""
    text = " ".join(text.split()).replace(";", ",")
    return re.sub(r"[#\"{}%]", " ", text)


def mermaid(spec: ProcedureSpec) -> str:
    lines = ["stateDiagram-v2", f"    %% {spec.id}: {_mtext(spec.procedure.title or '')}"]

    def states(parent: str | None, indent: str) -> Iterator[str]:
        kids = _children(spec, parent)
        initial = spec.procedure.initial if parent is None else \
            (spec.states[parent].state.initial or kids[0].id)
        yield f"{indent}[*] --> {_mid(initial)}"
        for s in kids:
            if s.leaf:
                yield f'{indent}state "{s.id}" as {_mid(s.id)}'
                if s.state.final:
                    yield f"{indent}{_mid(s.id)} --> [*]"
            else:
                yield f"{indent}state {_mid(s.id)} {{"
                yield from states(s.id, indent + "    ")
                yield f"{indent}}}"

    lines.extend(states(None, "    "))
    for t in spec.transitions:
        to = t.transition.to or t.transition.from_
        lines.append(f"    {_mid(t.transition.from_)} --> {_mid(to)} : {_mtext(label(t))}")
    return "\n".join(lines) + "\n"


# -- Graphviz dot ------------------------------------------------------------------------------

def _q(text: str) -> str:
    """A dot quoted id or label."""
    return '"' + " ".join(text.split()).replace("\\", "\\\\").replace('"', '\\"') + '"'


def dot(spec: ProcedureSpec) -> str:
    lines = [f"digraph {_q(spec.id)} {{", "    rankdir=LR;", "    compound=true;",
             "    node [shape=box, style=rounded];", '    "__start" [shape=point, label=""];',
             f'    "__start" -> {_q(spec.procedure.initial)};']

    def states(parent: str | None, indent: str) -> Iterator[str]:
        for s in _children(spec, parent):
            if s.leaf:
                extra = ", peripheries=2" if s.state.final else ""
                yield f"{indent}{_q(s.id)} [label={_q(s.id)}, tooltip={_q(s.state.title or s.id)}{extra}];"
                continue
            yield f"{indent}subgraph {_q('cluster_' + s.id)} {{"
            yield f"{indent}    label={_q(s.id)};"
            # the composite state itself: transitions from or to it start or end here
            yield f'{indent}    {_q(s.id)} [shape=point, label="", tooltip={_q(s.state.title or s.id)}];'
            first = s.state.initial or s.state.states[0].id
            yield f"{indent}    {_q(s.id)} -> {_q(first)} [style=dotted];"
            yield from states(s.id, indent + "    ")
            yield f"{indent}}}"

    lines.extend(states(None, "    "))
    for t in spec.transitions:
        to = t.transition.to or t.transition.from_
        lines.append(f"    {_q(t.transition.from_)} -> {_q(to)} [label={_q(label(t))}];")
    lines.append("}")
    return "\n".join(lines) + "\n"


def draw(spec: ProcedureSpec, fmt: str) -> str:
    if fmt == "mermaid":
        return mermaid(spec)
    if fmt == "dot":
        return dot(spec)
    raise ValueError(f"unknown diagram format {fmt!r}; formats: {', '.join(FORMATS)}")
