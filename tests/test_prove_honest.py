"""`prove` never claims what is false (issue 18, item 4): counts beyond the list bound, values
outside the engine's range (which answer on_error), dead rules that fire, and solver calls
without a time limit. Each policy here is the bundled one with one rule or setting changed."""

from __future__ import annotations

import datetime as dt
import json
import random
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from qpr_rules.analysis.generate import generate
from qpr_rules.analysis.prove import prove_invariant
from qpr_rules.analysis.static_checks import check_decision
from qpr_rules.engine.engine import Engine
from qpr_rules.policy.limits import MAX_FACT_DATE, MIN_FACT_DATE

ROOT = Path(__file__).resolve().parents[1]
QPR = (ROOT / "policies" / "qpr.yaml").read_text(encoding="utf-8")
TINY = (ROOT / "tests" / "fixtures" / "tiny" / "tiny.yaml").read_text(encoding="utf-8")
CLI = Path(sys.executable).with_name("qpr-rules")


def policy(tmp_path: Path, text: str, name: str = "qpr.yaml") -> Path:
    d = tmp_path / "policy"
    d.mkdir()
    (d / name).write_text(text, encoding="utf-8")
    return d


def changed(old: str, new: str, text: str = QPR) -> str:
    assert text.count(old) == 1, old
    return text.replace(old, new)


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    out = subprocess.run([str(CLI), *args], capture_output=True, text=True, cwd=ROOT, check=False, timeout=300)
    assert "Traceback" not in out.stderr, out.stderr[-2000:]
    return out


def invariant(engine: Engine, inv_id: str) -> Any:
    return next(i for i in engine.policies.invariants if i.id == inv_id)


# ------------------------------------------------------------------ counts beyond the bound

TIME_LIMITED = "        - {fact: home.hold.kind, eq: time_limited}\n    outcome: deny"
FEWER_THAN_4 = ("        - {fact: home.hold.kind, eq: time_limited}\n"
                "        - {fact: home.children_placed, count: {lt: 4}}\n    outcome: deny")


def test_a_count_beyond_the_list_bound_is_a_counterexample(tmp_path: Path) -> None:
    """A hold that denies only homes with fewer than 4 children lets a home with 4 be allowed."""
    engine = Engine.load([policy(tmp_path, changed(TIME_LIMITED, FEWER_THAN_4))])
    result = prove_invariant(engine, invariant(engine, "qpr.inv.no-placement-on-hold"))
    assert result.status == "counterexample", (result.status, result.message)
    (side,) = result.sides
    assert side.outcome == "allow" and len(side.facts["home"]["children_placed"]) >= 4
    assert engine.decide("qpr.placement", side.facts).outcome == "allow"


FOUR_AGES = """
  - id: qpr.inv.test-four-ages
    clause: actions.restrict-children
    title: A home with children of four different ages is never allowed a placement
    decision: qpr.placement
    when:
      all:
        - {fact: home.children_placed, some: {fact: age, eq: 0}}
        - {fact: home.children_placed, some: {fact: age, eq: 1}}
        - {fact: home.children_placed, some: {fact: age, eq: 2}}
        - {fact: home.children_placed, some: {fact: age, eq: 3}}
    never: allow
"""


def test_a_proof_that_depends_on_the_bound_says_so(tmp_path: Path) -> None:
    """An invariant that only four different children can break holds for every list of up to 3
    items: the verdict names the bound, never plain 'proved'; a larger bound finds the home."""
    # the invariant goes at the end of the invariants list, wherever that section is in the file
    engine = Engine.load([policy(tmp_path, QPR.replace("\nprocedures:", FOUR_AGES + "procedures:", 1))])
    inv = invariant(engine, "qpr.inv.test-four-ages")
    result = prove_invariant(engine, inv, list_bound=3)
    assert result.status == "proved-bounded" and result.list_bound == 3, (result.status, result.message)
    assert "for lists of up to 3 items" in result.message
    result = prove_invariant(engine, inv, list_bound=4)
    assert result.status == "counterexample", (result.status, result.message)
    (side,) = result.sides
    assert sorted(c["age"] for c in side.facts["home"]["children_placed"]) == [0, 1, 2, 3]
    # an invariant that holds for every length is proved without a bound
    result = prove_invariant(engine, invariant(engine, "qpr.inv.restrictions-respected"))
    assert result.status == "proved" and result.list_bound is None, (result.status, result.message)


# ------------------------------------------------------------------ the engine's range

ON_ERROR_ELIGIBLE = changed("    dated_by: request.date\n    on_error: not-eligible",
                            "    dated_by: request.date\n    on_error: eligible-for-review")


def test_a_date_outside_the_engines_range_answers_on_error(tmp_path: Path) -> None:
    """By default a proof covers the facts the engine accepts (the fact models refuse the rest);
    with beyond_range the values past its range are in, answering on_error, and the counterexample
    replays. Either way no counterexample holds a date the engine refuses unless asked."""
    engine = Engine.load([policy(tmp_path, ON_ERROR_ELIGIBLE)])
    inv = invariant(engine, "qpr.inv.pending-hold-not-eligible")
    assert prove_invariant(engine, inv).status == "proved"
    result = prove_invariant(engine, inv, beyond_range=True)
    assert result.status == "counterexample", (result.status, result.message)
    (side,) = result.sides
    assert side.outcome == "eligible-for-review"
    decision = engine.decide("qpr.reinstatement", side.facts)
    assert decision.status == "error" and decision.outcome == "eligible-for-review"
    dates = [side.facts["request"]["date"], side.facts["hold"]["placed_on"]]
    assert any(not MIN_FACT_DATE <= d <= MAX_FACT_DATE for d in dates), dates


# ------------------------------------------------------------------ dead, shadowed, conflicting

PLANTED = """  - id: qpr.placement.test-four-or-more
    decision: qpr.placement
    title: Four children or more (fires)
    clauses: [actions.restrict-children]
    when: {fact: home.children_placed, count: {gte: 4}}
    outcome: deny

  - id: qpr.placement.test-dead-negative-count
    decision: qpr.placement
    title: Fewer than no children (dead)
    clauses: [actions.restrict-children]
    when: {fact: home.children_placed, count: {lt: 0}}
    outcome: deny

  - id: qpr.placement.test-dead-two-kinds
    decision: qpr.placement
    title: A hold of two kinds at once (dead)
    clauses: [hold.no-placements]
    when:
      all:
        - {fact: home.hold.kind, eq: permanent}
        - {fact: home.hold.kind, eq: pending_qpr}
    outcome: deny

  - id: qpr.placement.test-dead-old-child
    decision: qpr.placement
    title: A placed child older than the schema allows (dead)
    clauses: [actions.restrict-children]
    when: {fact: home.children_placed, some: {fact: age, gt: 25}}
    outcome: deny

"""
PLANTED_DEAD = {"qpr.placement.test-dead-negative-count", "qpr.placement.test-dead-two-kinds",
                "qpr.placement.test-dead-old-child"}


def _longer(facts: Any, n: int) -> Any:
    """facts with every list of objects grown to n items by repeating its last item."""
    if isinstance(facts, dict):
        return {k: _longer(v, n) for k, v in facts.items()}
    if isinstance(facts, list) and facts and isinstance(facts[-1], dict):
        return [_longer(v, n) for v in facts] + [facts[-1]] * max(0, n - len(facts))
    return facts


def test_static_findings_agree_with_decided_facts(tmp_path: Path) -> None:
    """Every planted dead rule is found, and no rule reported dead fires, no rule reported
    shadowed decides, and every conflict's example fires both rules, on generated facts (and
    the same facts with their lists grown past the bound)."""
    engine = Engine.load([policy(tmp_path, changed("rules:\n", "rules:\n" + PLANTED))])
    rnd = random.Random(18)
    for did in engine.decision_ids:
        spec = engine.spec(did)
        findings = check_decision(spec)
        dead = {f.rules[0].id for f in findings if f.kind == "dead-rule"}
        if did == "qpr.placement":
            assert dead == PLANTED_DEAD, dead
        shadowed = {f.rules[0].id: f.rules[0] for f in findings if f.kind == "shadowed-rule"}
        for f in findings:
            if f.kind == "conflict":
                assert f.example is not None
                fired = {r.id for r in engine.decide(did, f.example).fired}
                assert {r.id for r in f.rules} <= fired, (f.message, fired)
        decided = 0
        for _ in range(600):
            facts = generate(spec.fact_model, rnd)
            for case in (facts, _longer(facts, 5)):
                decision = engine.decide(did, case)
                if decision.status == "error":
                    continue
                decided += 1
                fired = {r.id for r in decision.fired}
                assert not fired & dead, (did, fired & dead, case)
                for rid in fired & set(shadowed):
                    assert decision.outcome != shadowed[rid].rule.outcome, (did, rid, case)
        assert decided >= 20, (did, decided)
    four = {"placement": {"date": dt.date(2024, 5, 1), "status": "proposed", "cleared_with_pco": True, "siblings": []},
            "child": {"age": 7, "gender": "female"},
            "home": {"id": "H", "approval": "rfa", "approval_status": "active", "restrictions": None,
                     "hold": None, "children_placed": [{"age": 3, "gender": "male"}] * 4}}
    assert "qpr.placement.test-four-or-more" in {r.id for r in engine.decide("qpr.placement", four).fired}


# ------------------------------------------------------------------ time limits


def _long_id_rules(n: int) -> str:
    """Two rules on home ids of n characters (the string solver is slow on them)."""
    return "".join(f"""  - id: tiny.placement.long-{k}
    decision: tiny.placement
    title: A home with a long id ({k})
    clauses: [cleared]
    when: {{fact: home.id, eq: "{k * n}"}}
    outcome: {o}
""" for k, o in (("a", "deny"), ("b", "allow")))


def test_long_text_literals_finish_in_time(tmp_path: Path) -> None:
    d = policy(tmp_path, TINY.rstrip("\n") + "\n" + _long_id_rules(1000), "tiny.yaml")
    started = time.monotonic()
    out = cli("prove", str(d), "--format", "json", "--timeout", "5")
    # a guard against the hang (it ran past 60 s in one solver call before), not a speed test:
    # each call is capped at 5 s, so even a loaded machine finishes well inside this
    assert time.monotonic() - started < 300
    report = json.loads(out.stdout)
    dead = [f for f in report["static"] if f["kind"] == "dead-rule"]
    assert not dead, dead  # both rules fire (on their own home id): neither is dead


def test_the_list_bound_has_an_upper_limit() -> None:
    out = cli("prove", "--list-bound", "17")
    assert out.returncode == 2
    assert "--list-bound" in out.stderr and "16" in out.stderr
    out = cli("prove", "--timeout", "0")
    assert out.returncode == 2 and "--timeout" in out.stderr


def test_a_solver_that_gives_up_is_unknown_with_its_reason(monkeypatch: pytest.MonkeyPatch) -> None:
    import z3
    from click.testing import CliRunner

    from qpr_rules.cli.app import cli as app

    real_check = z3.Solver.check

    def gives_up(self: z3.Solver, *args: Any) -> Any:
        real_check(self, *args)
        return z3.unknown

    monkeypatch.setattr(z3.Solver, "check", gives_up)
    monkeypatch.setattr(z3.Solver, "reason_unknown", lambda self: "timeout")
    out = CliRunner().invoke(app, ["prove", str(ROOT / "policies" / "qpr.yaml"), "--no-static"])
    assert out.exit_code == 4, out.output
    assert "UNKNOWN" in out.output and "timeout" in out.output
    assert "PROVED " not in out.output


def test_the_cli_limits_are_the_analysis_limits() -> None:
    from qpr_rules.analysis import smt_facts, smt_solve
    from qpr_rules.cli import prove as command

    assert (command.DEFAULT_LIST_BOUND, command.MAX_LIST_BOUND) == (smt_facts.DEFAULT_LIST_BOUND,
                                                                    smt_facts.MAX_LIST_BOUND)
    assert (command.DEFAULT_TIMEOUT_S, command.MAX_TIMEOUT_S) == (smt_solve.DEFAULT_TIMEOUT_S,
                                                                  smt_solve.MAX_TIMEOUT_S)
