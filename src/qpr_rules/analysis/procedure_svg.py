"""A procedure's statechart drawn as SVG, laid out here in pure Python (no Graphviz, no script).

The HTML report of `procedure check` embeds it inline, so that a filed report needs nothing from
the network and nothing installed beside it (Graphviz is not on every machine an auditor uses).
The layout follows the procedure's story: each leaf state is a box on the row of its step (its
distance, in transitions, from the initial state), and each top-level state keeps a band of
columns of its own, so that a compound state (the QPR and its steps, the time-limited hold and
its reconsideration) is a frame drawn around its boxes. Each transition is an arrow with its
number in `transitions:` (the report lists them with their events and guards; the full label is
the arrow's tooltip); a transition that stays where it is (it records what happened) is listed
on its state as a loop.

A case is drawn on it: its current state filled, the states where a departure was recorded
outlined in red with their count, and the transitions its events took drawn bold.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from html import escape

from qpr_rules.analysis.procedure_graph import label
from qpr_rules.policy.procedures import ProcedureSpec

BOX_W, BOX_H = 156, 38  # a leaf state's box
COL_GAP, ROW_GAP = 56, 46  # room between boxes for a compound state's frame and its name
PAD, LABEL_H = 9, 15  # a frame's padding per level of nesting, and its name's line
MARGIN = 16

_INK, _MUTED, _CURRENT, _DEPARTURE, _TAKEN = "#1b1b1b", "#8a8a8a", "#2b6cb0", "#c53030", "#2b6cb0"


@dataclass(frozen=True)
class _Rect:
    x: float
    y: float
    w: float
    h: float

    @property
    def centre(self) -> tuple[float, float]:
        return self.x + self.w / 2, self.y + self.h / 2

    def border_towards(self, px: float, py: float) -> tuple[float, float]:
        """Where the line from the centre to (px, py) leaves the rectangle."""
        cx, cy = self.centre
        dx, dy = px - cx, py - cy
        if dx == 0 and dy == 0:
            return cx, cy
        scale = min(self.w / 2 / abs(dx) if dx else math.inf, self.h / 2 / abs(dy) if dy else math.inf)
        return cx + dx * scale, cy + dy * scale


def _initial_leaf(spec: ProcedureSpec, state_id: str) -> str:
    """The leaf a transition into state_id enters (a compound state's initial state, down)."""
    s = spec.states[state_id]
    while not s.leaf:
        first = s.state.initial or s.state.states[0].id
        s = spec.states[first]
    return s.id


def ranks(spec: ProcedureSpec) -> dict[str, int]:
    """Each leaf's step: its distance in transitions from the initial state (a transition from
    a compound state leaves from each of its leaves). A leaf no transition reaches comes last."""
    leaves = [sid for sid, s in spec.states.items() if s.leaf]
    out = {spec.initial_leaf: 0}
    queue = deque([spec.initial_leaf])
    while queue:
        at = queue.popleft()
        for t in spec.transitions:
            to = t.transition.to
            if to is None or t.transition.from_ not in spec.states[at].path:
                continue
            leaf = _initial_leaf(spec, to)
            if leaf not in out:
                out[leaf] = out[at] + 1
                queue.append(leaf)
    last = max(out.values()) + 1
    return {sid: out.get(sid, last) for sid in leaves}


@dataclass(frozen=True)
class Layout:
    rects: dict[str, _Rect]  # every state, leaf or compound
    width: float
    height: float


def layout(spec: ProcedureSpec) -> Layout:
    rank = ranks(spec)
    depth = {sid: len(s.path) for sid, s in spec.states.items()}
    below = {sid: max(depth[leaf] for leaf, ls in spec.states.items() if ls.leaf and sid in ls.path)
             - depth[sid] for sid in spec.states}
    top = [sid for sid, s in spec.states.items() if len(s.path) == 1]
    rects: dict[str, _Rect] = {}
    column = 0
    for band in top:  # each top-level state: its own columns, its leaves on their step's row
        rows: dict[int, list[str]] = {}
        for sid, s in spec.states.items():
            if s.leaf and s.path[0] == band:
                rows.setdefault(rank[sid], []).append(sid)
        for r, ids in rows.items():
            for i, sid in enumerate(ids):
                x = MARGIN + 2 * PAD * 2 + (column + i) * (BOX_W + COL_GAP)
                y = MARGIN + LABEL_H + PAD * 2 + r * (BOX_H + ROW_GAP)
                rects[sid] = _Rect(x, y, BOX_W, BOX_H)
        column += max(len(ids) for ids in rows.values())
    for sid, s in spec.states.items():  # a compound state: a frame around its leaves
        if s.leaf:
            continue
        inner = [rects[leaf] for leaf, ls in spec.states.items() if ls.leaf and sid in ls.path]
        pad = PAD * below[sid]
        x0 = min(r.x for r in inner) - pad
        y0 = min(r.y for r in inner) - pad - LABEL_H
        x1 = max(r.x + r.w for r in inner) + pad
        y1 = max(r.y + r.h for r in inner) + pad
        rects[sid] = _Rect(x0, y0, x1 - x0, y1 - y0)
    width = max(r.x + r.w for r in rects.values()) + MARGIN
    height = max(r.y + r.h for r in rects.values()) + MARGIN
    return Layout(rects, width, height)


def svg(spec: ProcedureSpec, *, uid: str = "chart", current: str | None = None,
        departures: Mapping[str, int] | None = None, taken: Collection[int] = ()) -> str:
    """The statechart as an <svg> element (for inline use in HTML). `uid` makes its element ids
    unique in a page that holds several; `current` (a leaf), `departures` (a count per leaf) and
    `taken` (transition indexes) draw a case on it."""
    departures = departures or {}
    lay = layout(spec)
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" class="statechart" id="{uid}" role="img" '
           f'width="{lay.width:.0f}" height="{lay.height:.0f}" '
           f'viewBox="0 0 {lay.width:.0f} {lay.height:.0f}" '
           f'font-family="system-ui, sans-serif" font-size="12">',
           f"<title>{escape(spec.id)}: {escape(spec.procedure.title or '')}</title>",
           "<defs>"]
    for name, colour in (("arrow", _MUTED), ("arrow-taken", _TAKEN)):
        out.append(f'<marker id="{uid}-{name}" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" '
                   f'markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" '
                   f'fill="{colour}"/></marker>')
    out.append("</defs>")
    loops: dict[str, list[int]] = {}
    for t in spec.transitions:
        if t.transition.to is None:
            loops.setdefault(t.transition.from_, []).append(t.index + 1)
    # frames first (outermost first), then the boxes, then the arrows over them
    compound = sorted((sid for sid, s in spec.states.items() if not s.leaf),
                      key=lambda sid: len(spec.states[sid].path))
    for sid in compound:
        out.append(_state(spec, sid, lay.rects[sid], current, departures, loops))
    for sid, s in spec.states.items():
        if s.leaf:
            out.append(_state(spec, sid, lay.rects[sid], current, departures, loops))
    start = lay.rects[spec.initial_leaf]
    out.append(f'<path class="initial" d="M{start.x - 2 * PAD - 4:.1f},{start.y + BOX_H / 2:.1f} '
               f'H{start.x:.1f}" stroke="{_INK}" fill="none" marker-end="url(#{uid}-arrow)"/>'
               f'<circle cx="{start.x - 2 * PAD - 4:.1f}" cy="{start.y + BOX_H / 2:.1f}" r="4" '
               f'fill="{_INK}"/>')
    pairs: dict[tuple[str, str], int] = {}
    for t in spec.transitions:
        to = t.transition.to
        if to is None:
            continue
        key = (t.transition.from_, to)
        nth = pairs.get(key, 0)
        pairs[key] = nth + 1
        out.append(_arrow(uid, t.index, label(t), t.transition.clause, lay.rects[key[0]], lay.rects[to],
                          nth, t.index in taken))
    out.append("</svg>")
    return "\n".join(out)


def _state(spec: ProcedureSpec, sid: str, r: _Rect, current: str | None, departures: Mapping[str, int],
           loops: Mapping[str, list[int]]) -> str:
    s = spec.states[sid]
    classes = ["state", "leaf" if s.leaf else "compound"]
    fill, stroke, width, ink = ("#ffffff", _INK, 1.2, _INK) if s.leaf else ("none", _MUTED, 1, _MUTED)
    if sid == current:
        classes.append("current")
        fill, stroke, width, ink = _CURRENT, _CURRENT, 2, "#ffffff"
    n_dep = departures.get(sid, 0)
    if n_dep:
        classes.append("departure")
        stroke, width = _DEPARTURE, 3
    tip = f"{sid}: {s.state.title or ''}" + (" (final)" if s.state.final else "")
    if n_dep:
        tip += f"; {n_dep} departure(s) recorded here"
    dash = ' stroke-dasharray="5 3"' if not s.leaf else ""
    rx = 8 if s.leaf else 12
    parts = [f'<g class="{" ".join(classes)}" data-state="{escape(sid)}"><title>{escape(tip)}</title>',
             f'<rect x="{r.x:.1f}" y="{r.y:.1f}" width="{r.w:.1f}" height="{r.h:.1f}" rx="{rx}" '
             f'fill="{fill}" stroke="{stroke}" stroke-width="{width}"{dash}/>']
    if s.state.final:  # drawn twice round, as statecharts draw a final state
        parts.append(f'<rect x="{r.x + 3:.1f}" y="{r.y + 3:.1f}" width="{r.w - 6:.1f}" '
                     f'height="{r.h - 6:.1f}" '
                     f'rx="{rx - 2}" fill="none" stroke="{stroke}" stroke-width="1"/>')
    loop = f"  \u21bb {' '.join(map(str, loops[sid]))}" if sid in loops else ""
    if s.leaf:
        weight = ' font-weight="bold"' if sid == current else ""
        parts.append(f'<text x="{r.x + r.w / 2:.1f}" y="{r.y + (15 if loop else 23):.1f}" '
                     f'text-anchor="middle" '
                     f'fill="{ink}"{weight}>{escape(sid)}</text>')
        if loop:
            parts.append(f'<text class="loops" x="{r.x + r.w / 2:.1f}" y="{r.y + 30:.1f}" '
                         f'text-anchor="middle" '
                         f'font-size="10" fill="{ink}">{escape(loop.strip())}</text>')
    else:
        parts.append(f'<text x="{r.x + 8:.1f}" y="{r.y + 12:.1f}" fill="{ink}" font-weight="bold">'
                     f'{escape(sid)}<tspan class="loops" font-weight="normal" font-size="10">{escape(loop)}'
                     f'</tspan></text>')
    if n_dep:
        parts.append(f'<text class="departures" x="{r.x + r.w - 4:.1f}" y="{r.y + r.h + 12:.1f}" '
                     f'text-anchor="end" font-size="11" font-weight="bold" fill="{_DEPARTURE}">'
                     f'\u26a0 {n_dep} departure(s)</text>')
    parts.append("</g>")
    return "".join(parts)


def _arrow(uid: str, index: int, text: str, clause: str, a: _Rect, b: _Rect, nth: int, taken: bool) -> str:
    (ax, ay), (bx, by) = a.centre, b.centre
    # bend each arrow a little to its left, more for a second arrow between the same states, so
    # that arrows both ways and parallel arrows stay apart
    dx, dy = bx - ax, by - ay
    length = math.hypot(dx, dy) or 1.0
    bend = 16 + 22 * nth
    mx, my = (ax + bx) / 2 - dy / length * bend, (ay + by) / 2 + dx / length * bend
    sx, sy = a.border_towards(mx, my)
    ex, ey = b.border_towards(mx, my)
    # the curve's midpoint (a quadratic Bezier's at t = 1/2), where its number goes
    lx, ly = (sx + 2 * mx + ex) / 4, (sy + 2 * my + ey) / 4
    colour, width, marker = (_TAKEN, 2.2, "arrow-taken") if taken else (_MUTED, 1, "arrow")
    css = "transition taken" if taken else "transition"
    return (f'<g class="{css}" data-index="{index}">'
            f'<title>{index + 1}. {escape(text)} ({escape(clause)})</title>'
            f'<path d="M{sx:.1f},{sy:.1f} Q{mx:.1f},{my:.1f} {ex:.1f},{ey:.1f}" fill="none" '
            f'stroke="{colour}" '
            f'stroke-width="{width}" marker-end="url(#{uid}-{marker})"/>'
            f'<circle cx="{lx:.1f}" cy="{ly:.1f}" r="8" fill="#ffffff" stroke="{colour}"/>'
            f'<text x="{lx:.1f}" y="{ly + 3.5:.1f}" text-anchor="middle" font-size="9" '
            f'fill="{colour}">{index + 1}</text>'
            "</g>")
