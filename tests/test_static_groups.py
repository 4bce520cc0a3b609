"""The static checks ask the solver only about pairs of rules whose pinned values overlap
(analysis/static_groups.py) and give the same findings as asking about every pair (issue 21);
they report their progress, and `prove` shows it on a terminal only."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from qpr_rules.analysis.static_checks import Finding, check_decision
from qpr_rules.analysis.static_groups import candidate_partners, pins
from qpr_rules.engine.engine import Engine

HOMES = ["H1", "H2", "H3", "H4"]
STATUSES = ["active", "inactive", "revoked", "rescinded"]
GENDERS = ["female", "male", "nonbinary"]


def _policy(tmp_path: Path, rules: list[dict[str, Any]], combine: str = "deny-overrides") -> Engine:
    doc = {
        "format": "qpr-rules/v1", "id": "gen", "title": "Generated", "jurisdiction": "Test",
        "source": {"document": "gen-source.txt", "title": "Generated source"},
        "revision": "2024-01-01", "effective_from": "2020-01-01",
        "roles": [{"id": "pco", "title": "Placement Coordinators Office"}],
        "clauses": [{"id": "c0", "section": "Section 0", "text": "Clause 0 of the generated policy."}],
        "decisions": [{"id": "gen.placement", "title": "May the child be placed?", "facts": "placement_request",
                       "outcomes": ["deny", "allow"], "combine": combine, "default": "deny",
                       "default_reason": "no rule allows it", "on_error": "deny", "placement": True}],
        "rules": [{"id": f"gen.placement.r{i}", "decision": "gen.placement", "title": f"Rule {i}",
                   "clauses": ["c0"], "when": when, "outcome": outcome}
                  for i, (when, outcome) in enumerate((r["when"], r["outcome"]) for r in rules)],
    }
    d = tmp_path / "policy"
    (d / "sources").mkdir(parents=True, exist_ok=True)
    (d / "sources" / "gen-source.txt").write_text("Clause 0 of the generated policy.\n", encoding="utf-8")
    text = json.dumps(doc, indent=1)  # JSON is YAML; dates unquoted, which the loader reads as dates
    for day in ("2024-01-01", "2020-01-01"):
        text = text.replace(f'"{day}"', day)
    (d / "gen.yaml").write_text(text, encoding="utf-8")
    return Engine.load([d], evaluator="compiled")


def _subset(values: list[str]) -> st.SearchStrategy[list[str]]:
    return st.lists(st.sampled_from(values), min_size=1, max_size=len(values), unique=True)


# atoms over few values, so that pins overlap, miss each other, and contradict (dead rules)
ATOM = st.one_of(
    _subset(HOMES).map(lambda v: {"fact": "home.id", "in": v}),
    st.sampled_from(HOMES).map(lambda v: {"fact": "home.id", "eq": v}),
    _subset(STATUSES).map(lambda v: {"fact": "home.approval_status", "in": v}),
    st.sampled_from(GENDERS).map(lambda v: {"fact": "child.gender", "eq": v}),
    st.integers(0, 18).map(lambda n: {"fact": "child.age", "lt": n}),
    st.integers(0, 18).map(lambda n: {"fact": "child.age", "gte": n}),
    st.booleans().map(lambda b: {"fact": "placement.cleared_with_pco", "eq": b}),
    st.integers(0, 3).map(lambda n: {"fact": "home.children_placed", "count": {"gte": n}}),
)
CONDITION = st.recursive(ATOM, lambda inner: st.one_of(
    st.lists(inner, min_size=1, max_size=3).map(lambda items: {"all": items}),
    st.lists(inner, min_size=2, max_size=3).map(lambda items: {"any": items}),
    inner.map(lambda item: {"not": item}),
), max_leaves=5)
RULE = st.fixed_dictionaries({"when": CONDITION, "outcome": st.sampled_from(["deny", "allow"])})


def _seen(findings: list[Finding]) -> set[tuple[str, tuple[str, ...], str]]:
    """What a finding claims: its kind, rules and message (a conflict's message names the answer
    in its own example, which either method may pick differently: the pair is the claim)."""
    return {(f.kind, tuple(r.id for r in f.rules), f.message.split(";")[0] if f.kind == "conflict" else f.message)
            for f in findings}


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                  HealthCheck.too_slow])
@given(rules=st.lists(RULE, min_size=2, max_size=5),
       combine=st.sampled_from(["deny-overrides", "first-applicable", "precedence"]))
def test_grouped_findings_are_the_pairwise_ones(tmp_path_factory: Any, rules: list[dict[str, Any]],
                                                combine: str) -> None:
    if combine == "first-applicable":  # a placement question orders its deny rules first
        rules = sorted(rules, key=lambda r: r["outcome"] != "deny")
    engine = _policy(tmp_path_factory.mktemp("g"), rules, combine)
    spec = engine.spec("gen.placement")
    grouped = check_decision(spec, method="grouped")
    pairwise = check_decision(spec, method="pairwise")
    assert _seen(grouped) == _seen(pairwise), (rules, combine)
    for f in grouped:
        if f.kind == "conflict":  # every example fires both rules of its pair
            assert f.example is not None
            fired = {r.id for r in engine.decide("gen.placement", f.example).fired}
            assert {r.id for r in f.rules} <= fired, (f.message, fired)


def test_rules_keyed_on_different_homes_are_never_asked_about(tmp_path: Path) -> None:
    engine = _policy(tmp_path, [
        {"when": {"all": [{"fact": "home.id", "in": ["H1", "H2"]}, {"fact": "child.age", "lt": 9}]},
         "outcome": "deny"},
        {"when": {"all": [{"all": [{"fact": "home.id", "eq": "H3"}]}, {"fact": "child.age", "lt": 5}]},
         "outcome": "allow"},
        {"when": {"all": [{"fact": "home.id", "in": ["H2", "H3"]},
                          {"fact": "home.approval_status", "eq": "active"}]}, "outcome": "allow"},
        {"when": {"any": [{"fact": "home.id", "eq": "H1"}, {"fact": "home.id", "eq": "H4"}]},
         "outcome": "allow"},
    ])
    rules = engine.spec("gen.placement").rules
    assert pins(rules[0].condition) == {"home.id": frozenset({"H1", "H2"}), }
    assert pins(rules[1].condition) == {"home.id": frozenset({"H3"})}  # nested all: still pinned
    assert pins(rules[3].condition) == {}  # an `any` pins nothing
    partners = candidate_partners(rules, lambda a, b: a.rule.outcome != b.rule.outcome)
    ids = [r.id for r in rules]
    # r0 (H1, H2) never meets r1 (H3); it meets r2 on H2 and r3, which pins nothing
    assert partners[ids[0]] == {ids[2], ids[3]}
    assert partners[ids[1]] == set()  # r2 and r3 give its outcome
    findings = check_decision(engine.spec("gen.placement"))
    conflicts = {tuple(r.id for r in f.rules) for f in findings if f.kind == "conflict"}
    assert conflicts == {(ids[0], ids[2]), (ids[0], ids[3])}


def test_a_rule_is_shadowed_only_by_rules_that_can_fire_with_it(tmp_path: Path) -> None:
    engine = _policy(tmp_path, [
        {"when": {"fact": "home.id", "in": ["H1", "H2"]}, "outcome": "deny"},
        {"when": {"all": [{"fact": "home.id", "eq": "H1"}, {"fact": "child.age", "lt": 5}]},
         "outcome": "allow"},
        {"when": {"all": [{"fact": "home.id", "eq": "H3"}, {"fact": "child.age", "lt": 5}]},
         "outcome": "allow"},
    ])
    ids = [r.id for r in engine.spec("gen.placement").rules]
    for method in ("grouped", "pairwise"):
        findings = check_decision(engine.spec("gen.placement"), method=method)  # type: ignore[arg-type]
        assert [f.rules[0].id for f in findings if f.kind == "shadowed-rule"] == [ids[1]], method


def test_only_the_first_conflict_of_a_decision_needs_an_example(tmp_path: Path) -> None:
    engine = _policy(tmp_path, [
        {"when": {"fact": "child.age", "lt": 9}, "outcome": "deny"},
        {"when": {"fact": "child.age", "lt": 5}, "outcome": "allow"},
        {"when": {"fact": "child.age", "gte": 3}, "outcome": "allow"},
    ])
    spec = engine.spec("gen.placement")
    every = [f for f in check_decision(spec, examples="all") if f.kind == "conflict"]
    first = [f for f in check_decision(spec, examples="first") if f.kind == "conflict"]
    assert [f.rules for f in first] == [f.rules for f in every] and len(every) == 2
    assert first[0].example is not None and "answers 'deny' in the example" in first[0].message
    assert first[1].example is None and first[1].message.endswith("fire together")


def test_the_checks_report_their_progress(tmp_path: Path) -> None:
    engine = _policy(tmp_path, [
        {"when": {"fact": "child.age", "lt": 9}, "outcome": "deny"},
        {"when": {"fact": "child.age", "lt": 5}, "outcome": "allow"},
    ])
    told: list[str] = []
    check_decision(engine.spec("gen.placement"), progress=told.append)
    assert "gen.placement: can each rule fire, 1 of 2" in told
    assert any(t.startswith("gen.placement: conflicts, pair 0 of 1") for t in told), told
    assert told[-1] == "gen.placement: defaults that keep a rule from firing"


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_prove_shows_progress_on_a_terminal_only(monkeypatch: Any) -> None:
    import qpr_rules.cli.prove as prove_cli

    clock = [100.0]
    monkeypatch.setattr(prove_cli.time, "monotonic", lambda: clock[0])
    for stream, shown in ((_Terminal(), True), (io.StringIO(), False)):
        monkeypatch.setattr(prove_cli.sys, "stderr", stream)
        show = prove_cli._terminal_progress()
        show("gen.placement: early")  # the first 3 s say nothing
        clock[0] += 5
        show("gen.placement: conflicts, pair 7 of 90")
        assert ("conflicts, pair 7 of 90 (5 s)" in stream.getvalue()) is shown, stream.getvalue()
        assert "early" not in stream.getvalue()
