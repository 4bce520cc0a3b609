"""`qpr-rules procedure graph`: the QPR statechart as a diagram. Every state and every transition
(its event and guard) appears, and the output keeps to the basic syntax of its format."""

from __future__ import annotations

import re

import pytest
from click.testing import CliRunner

from qpr_rules.analysis.procedure_graph import _mid, label, mermaid
from qpr_rules.cli.app import cli
from qpr_rules.cli.procedure_audit import procedure_group  # noqa: F401  (registers the group)
from qpr_rules.engine.engine import Engine
from qpr_rules.policy.procedures import ProcedureSpec


@pytest.fixture(scope="module")
def spec() -> ProcedureSpec:
    return Engine.from_bundled().policies.procedures["qpr.home"]


def graph(fmt: str) -> str:
    result = CliRunner().invoke(cli, ["procedure", "graph", "qpr.home", "--format", fmt])
    assert result.exit_code == 0, result.output
    return result.output


# Mermaid stateDiagram-v2, the statements this drawing uses
_MERMAID = [
    r"stateDiagram-v2",
    r"%%.*",
    r"\[\*\] --> (?P<a>\w+)",
    r"(?P<a>\w+) --> \[\*\]",
    r'state "(?P<label>[^"]+)" as (?P<a>\w+)',
    r"state (?P<a>\w+) \{",
    r"\}",
    r"(?P<a>\w+) --> (?P<b>\w+) : (?P<text>[^;#{}\"%]+)",
]


def test_mermaid_parses_and_shows_every_state_and_transition(spec: ProcedureSpec) -> None:
    out = graph("mermaid")
    depth, declared, edges = 0, set(), []
    for line in out.splitlines():
        m = next((m for p in _MERMAID if (m := re.fullmatch(p, line.strip()))), None)
        assert m is not None, f"not a stateDiagram-v2 statement: {line!r}"
        depth += line.count("{") - line.count("}")
        assert depth >= 0
        if line.strip().startswith("state "):
            declared.add(m.group("a"))
        if "b" in m.groupdict():
            edges.append((m.group("a"), m.group("b"), m.group("text")))
    assert depth == 0
    assert declared == {_mid(s) for s in spec.states}
    assert all(a in declared and b in declared for a, b, _ in edges)
    assert len(edges) == len(spec.transitions)
    for t, (a, b, text) in zip(spec.transitions, edges, strict=True):
        assert (a, b) == (_mid(t.transition.from_), _mid(t.transition.to or t.transition.from_))
        assert text.startswith(t.transition.event)
    assert "consultation --> form : qpr.consultation-held [event.warranted = true]" in out
    assert "permanent_hold --> [*]" in out  # the permanent hold is final


def test_mermaid_nests_the_steps_inside_the_qpr(spec: ProcedureSpec) -> None:
    out = mermaid(spec)
    inside = out[out.index("state qpr {"):out.index("state time_limited_hold {")]
    assert "state concluding {" in inside and 'state "gathering" as gathering' in inside
    assert "good_standing" not in inside


_ID = r'"(?:[^"\\]|\\.)*"'  # a quoted dot id: any text, quotes and backslashes escaped
_ATTR = rf"\w+=(?:{_ID}|\w+)"
_ATTRS = rf"\[{_ATTR}(?:, {_ATTR})*\]"
_DOT_STATEMENT = re.compile(
    rf"digraph {_ID} \{{|subgraph {_ID} \{{|\}}|{_ATTR};|node {_ATTRS};"
    rf"|{_ID} {_ATTRS};|{_ID} -> {_ID}(?: {_ATTRS})?;")


def test_dot_parses_and_shows_every_state_and_transition(spec: ProcedureSpec) -> None:
    out = graph("dot")
    depth = 0
    for line in out.splitlines():
        assert _DOT_STATEMENT.fullmatch(line.strip()), f"not a dot statement: {line!r}"
        depth += line.count("{") - line.count("}")
        assert depth >= 0
    assert depth == 0
    nodes = set(re.findall(r'^\s*"([^"]+)" \[', out, re.M))
    assert {s for s in spec.states} <= nodes
    clusters = set(re.findall(r'subgraph "cluster_([^"]+)"', out))
    assert clusters == {s.id for s in spec.states.values() if not s.leaf}
    edges = re.findall(r'^\s*"([^"]+)" -> "([^"]+)" \[label="((?:[^"\\]|\\.)*)"\];', out, re.M)
    assert len(edges) == len(spec.transitions)
    for t, (a, b, text) in zip(spec.transitions, edges, strict=True):
        assert (a, b, text) == (t.transition.from_, t.transition.to or t.transition.from_, label(t))


def test_an_unknown_procedure_is_named_with_a_suggestion() -> None:
    result = CliRunner().invoke(cli, ["procedure", "graph", "qpr.hom"])
    assert result.exit_code == 1
    assert "unknown procedure 'qpr.hom'" in result.output and "qpr.home" in result.output
