"""`qpr-rules prove` end to end: proofs on the bundled policies, a counterexample on a broken one
that is a scenario file the runner accepts (and that fails on the broken policy, passes on the
fixed one), positioned errors in invariants, `diff --prove`, and z3 imported only when proving."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from qpr_rules.analysis.prove import prove_invariant
from qpr_rules.engine.engine import Engine
from qpr_rules.errors import PolicyError
from qpr_rules.scenarios.runner import load_scenario_file, run_scenario

ROOT = Path(__file__).resolve().parents[1]
QPR = (ROOT / "policies" / "qpr.yaml").read_text(encoding="utf-8")
# the rule that denies a placement into a home on a time-limited hold, cut out whole (its text
# may change; its id and the blank line that ends a rule in the file do not)
HOLD_RULE = re.compile(r"  - id: qpr\.placement\.hold-time-limited\n.*?\n\n", re.S)


CLI = Path(sys.executable).with_name("qpr-rules")


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    out = subprocess.run([str(CLI), *args], capture_output=True, text=True, cwd=ROOT, check=False, timeout=300)
    assert "Traceback" not in out.stderr, out.stderr[-2000:]
    return out


def broken_policy(tmp_path: Path) -> Path:
    broken, cut = HOLD_RULE.subn("", QPR, count=1)
    assert cut == 1
    d = tmp_path / "broken"
    d.mkdir()
    (d / "qpr.yaml").write_text(broken, encoding="utf-8")
    return d


def test_prove_proves_every_bundled_invariant() -> None:
    out = cli("prove", "policies", "--format", "json")
    assert out.returncode == 0, out.stdout + out.stderr
    report = json.loads(out.stdout)
    statuses = {r["id"]: r["status"] for r in report["invariants"]}
    assert len(statuses) >= 30 and set(statuses.values()) == {"proved"}
    assert "qpr.inv.reinstatement-hold-blocks-placement" in statuses
    assert not [f for f in report["static"] if f["severity"] == "warning"]
    # how long it took is reported, not tested (speed is measured in bench/, never in a test)
    assert isinstance(report["seconds"], float) and report["seconds"] > 0


def test_a_counterexample_is_a_scenario_that_replays(tmp_path: Path) -> None:
    broken = broken_policy(tmp_path)
    out = cli("prove", str(broken), "--no-static")
    assert out.returncode == 1
    assert re.search(r"COUNTEREXAMPLE\s+qpr.inv.no-placement-on-hold", out.stdout), out.stdout
    assert "qpr.inv.reinstatement-hold-blocks-placement" in out.stdout
    engine = Engine.load([broken])
    inv = next(i for i in engine.policies.invariants if i.id == "qpr.inv.no-placement-on-hold")
    result = prove_invariant(engine, inv)
    assert result.status == "counterexample"
    (side,) = result.sides
    assert side.outcome == "allow" and side.expected == "deny"
    assert side.facts["home"]["hold"]["kind"] == "time_limited"
    scenario = tmp_path / "tests" / "cx.yaml"
    scenario.parent.mkdir()
    scenario.write_text(result.scenario_yaml(), encoding="utf-8")
    (loaded,) = load_scenario_file(scenario)
    assert not run_scenario(engine, loaded).passed  # the broken policy fails the new test
    assert run_scenario(Engine.load([ROOT / "policies"]), loaded).passed  # the real one passes it


def test_a_cross_decision_counterexample_shows_both_sides(tmp_path: Path) -> None:
    engine = Engine.load([broken_policy(tmp_path)])
    inv = next(i for i in engine.policies.invariants if i.id == "qpr.inv.reinstatement-hold-blocks-placement")
    result = prove_invariant(engine, inv)
    assert result.status == "counterexample"
    sides = {s.name: s for s in result.sides}
    # the hold is in force for qpr.reinstatement (not reinstated), yet the placement is allowed
    assert sides["reinstatement"].outcome != "already-reinstated" and sides["placement"].outcome == "allow"
    assert sides["placement"].expected == "deny"
    p, r = sides["placement"].facts, sides["reinstatement"].facts
    assert p["placement"]["date"] == r["request"]["date"]
    assert p["home"]["hold"] == r["hold"] and r["hold"]["kind"] == "time_limited"
    text = result.scenario_yaml()
    assert "decision: qpr.placement" in text and "decision: qpr.reinstatement" in text


def test_invariant_errors_are_positioned(tmp_path: Path) -> None:
    d = tmp_path / "bad"
    d.mkdir()
    bad = QPR.replace("    never: allow\n\n  - id: qpr.inv.cleared-with-pco", "    never: alow\n\n  - id: qpr.inv.cleared-with-pco")
    bad = bad.replace("clause: hold.clear-with-pco\n    title: No placement", "clause: hold.clear-with-pc\n    title: No placement")
    bad = bad.replace("{fact: outcome.reinstatement, in: [eligible-for-review, incomplete]}",
                      "{fact: outcome.reinstatment, in: [eligible-for-review, incomplete]}")
    (d / "qpr.yaml").write_text(bad, encoding="utf-8")
    with pytest.raises(PolicyError) as exc:
        Engine.load([d])
    messages = [str(p) for p in exc.value.problems]
    assert any("'alow' is not an outcome of qpr.records (did you mean 'allow'?)" in m for m in messages), messages
    assert any("unknown clause 'hold.clear-with-pc'" in m and "(did you mean 'hold.clear-with-pco'?)" in m
               for m in messages), messages
    assert any("outcome has no field 'reinstatment' (did you mean 'reinstatement'?)" in m for m in messages), messages
    assert all(re.match(r".*qpr\.yaml:\d+:\d+: ", m) for m in messages), messages


def test_diff_prove_shows_a_differing_fact(tmp_path: Path) -> None:
    broken = broken_policy(tmp_path)
    same = tmp_path / "same"
    shutil.copytree(ROOT / "policies", same, ignore=shutil.ignore_patterns("tests"))
    out = cli("diff", str(ROOT / "policies"), str(broken), "--prove", "--generated", "20")
    assert "qpr.placement: DIFFERENT" in out.stdout, out.stdout
    assert "'deny' before, 'allow' after" in out.stdout
    assert "qpr.records: same answer for every valid fact" in out.stdout
    out = cli("diff", str(ROOT / "policies"), str(same), "--prove", "--generated", "20")
    assert "DIFFERENT" not in out.stdout and "qpr.placement: same answer for every valid fact" in out.stdout


def test_z3_is_imported_only_when_proving() -> None:
    code = ("import sys; from qpr_rules.cli.app import main\n"
            "try:\n    main(['decide', 'qpr.records', '--facts', '-'])\nexcept SystemExit: pass\n"
            "print('z3' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], input='{"record": "other", "action": "file_with_pco"}',
                         capture_output=True, text=True, cwd=ROOT, check=False)
    assert out.stdout.strip().endswith("False"), out.stdout + out.stderr


def test_the_semantic_diff_finds_a_one_day_boundary(tmp_path: Path) -> None:
    """A one-day change of a parameter moves one boundary date only: the solver finds it."""
    import datetime as dt

    from qpr_rules.analysis.semantic_diff import compare_decision
    from qpr_rules.policy.loader import load_policy_set

    assert QPR.count("    value: 365\n") == 1
    (tmp_path / "qpr.yaml").write_text(QPR.replace("    value: 365\n", "    value: 366\n"), encoding="utf-8")
    old = load_policy_set([ROOT / "policies" / "qpr.yaml"]).decisions["qpr.reinstatement"]
    new = load_policy_set([tmp_path / "qpr.yaml"]).decisions["qpr.reinstatement"]
    result = compare_decision(old, new)
    assert result.verdict == "different" and result.example is not None
    # on the 366th day the old wait is over (reviewed, or incomplete), the new one is not
    assert result.old_outcome in ("eligible-for-review", "incomplete") and result.new_outcome == "not-eligible"
    hold, request = result.example["hold"], result.example["request"]
    assert "review_date" not in hold
    assert request["date"] == hold["placed_on"] + dt.timedelta(days=366)
    assert compare_decision(old, old).verdict == "same"
