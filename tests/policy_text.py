"""A small valid policy, as text, for tests to break one line at a time."""

from __future__ import annotations

from pathlib import Path

BASE = """\
format: qpr-rules/v1
id: tiny
title: Tiny policy
source: {document: 000_4b5b4e0ce51b2960.txt, title: QPR}
jurisdiction: Test
revision: 2024-01-01
effective_from: 2024-01-01
roles:
  - {id: pco, title: PCO}
clauses:
  - id: hold
    section: Homes on hold
    text: Homes on hold are not to receive placements under any circumstances.
decisions:
  - id: tiny.placement
    title: Placement
    facts: placement_request
    outcomes: [deny, allow]
    combine: deny-overrides
    default: deny
    on_error: deny
    placement: true
rules:
  - id: tiny.hold
    decision: tiny.placement
    title: On hold
    clauses: [hold]
    when: {fact: home.hold.kind, eq: pending_qpr}
    outcome: deny
    obligations:
      - {who: pco, do: Tell the SW., clause: hold}
  - id: tiny.allow
    decision: tiny.placement
    title: Cleared
    clauses: [hold]
    when: {fact: placement.cleared_with_pco, eq: true}
    outcome: allow
"""


def write_policy(directory: Path, text: str = BASE, name: str = "tiny.yaml") -> Path:
    path = directory / name
    path.write_text(text, encoding="utf-8")
    return path


def placement_facts(**home: object) -> dict[str, object]:
    return {
        "placement": {"date": "2024-05-01", "status": "proposed", "cleared_with_pco": True, "siblings": []},
        "child": {"age": 7, "gender": "female"},
        "home": {"id": "H", "approval": "rfa", "approval_status": "active", "hold": None,
                 "restrictions": None, "children_placed": [], **home},
    }
