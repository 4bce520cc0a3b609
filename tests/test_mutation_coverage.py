"""`coverage run --mutants`: rule mutants run on the scenarios; survivors are named with a scenario
that kills them, equivalents come with the solver's proof, and the score is in every format."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from xml.etree import ElementTree as ET

import pytest
from click.testing import CliRunner

import qpr_rules.cli.coverage  # noqa: F401  (registers the command)
from qpr_rules.analysis.mutant_equivalence import prove_equivalent
from qpr_rules.analysis.mutants import KINDS, Mutant, apply, mutants_of
from qpr_rules.cli.app import cli
from qpr_rules.coverage.data import condition_paths
from qpr_rules.coverage.mutation import run_mutants
from qpr_rules.engine.engine import Engine
from qpr_rules.policy.loader import load_policy_set
from qpr_rules.yaml_source import load_yaml_file

ROOT = Path(__file__).resolve().parents[1]
SITE = ROOT / "policies" / "qpi_site.yaml"
SITE_TESTS = ROOT / "policies" / "tests" / "qpi_site" / "readiness.yaml"
ONE_CHAMPION = "'Staff champion(s)': one staff champion is enough, everything else provided"
SURVIVOR = "qpi_site.readiness.no-champion [when] boundary+1"


@pytest.fixture(scope="module")
def without_one_champion(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The site's scenarios without the one that pins the champion boundary."""
    data, _ = load_yaml_file(SITE_TESTS)
    data["scenarios"] = [s for s in data["scenarios"] if s["name"] != ONE_CHAMPION]
    assert len(data["scenarios"]) > 10
    path = tmp_path_factory.mktemp("scenarios") / "readiness.yaml"
    path.write_text(json.dumps(data, default=str), encoding="utf-8")
    return path


def test_every_kind_of_mutant_is_made() -> None:
    ps = load_policy_set([ROOT / "policies"])
    made = {m.kind for spec in ps.decisions.values()
            for m in mutants_of(spec, {r.id: [p for p, _ in condition_paths(r)] for r in spec.rules})}
    assert made == set(KINDS)


def test_a_stuck_atom_is_a_tautology_or_a_contradiction_on_every_evaluator() -> None:
    ps = load_policy_set([SITE])
    spec = ps.decisions["qpi_site.readiness"]
    facts = {"staff_champions": 0}  # invalid otherwise: answered with an error, never by the rule
    for kind, fires in (("stuck-true", True), ("stuck-false", False)):
        mutated = apply(spec, Mutant(spec.decision.id, "qpi_site.readiness.no-champion", kind, 0, "when"))
        rule = next(r for r in mutated.rules if r.id == "qpi_site.readiness.no-champion")
        for champions in (0, 1, 5):
            for evaluator in ("compiled", "durable"):
                engine = Engine(dataclasses.replace(ps, decisions={spec.decision.id: mutated}),
                                evaluator=evaluator)  # type: ignore[arg-type]
                full = {**_ready_facts(), **facts, "staff_champions": champions}
                fired = {r.id for r in engine.decide(spec.decision.id, full).fired}
                assert (rule.id in fired) is fires, (kind, champions, evaluator)


def _ready_facts() -> dict[str, object]:
    data, _ = load_yaml_file(SITE_TESTS)
    return dict(data["scenarios"][0]["facts"])


def test_a_survivor_is_named_with_a_scenario_that_kills_it(without_one_champion: Path, tmp_path: Path) -> None:
    run = run_mutants([SITE], [without_one_champion])
    assert not run.problems
    survivors = [r for r in run.results if r.status == "survived"]
    assert [r.id for r in survivors] == [SURVIVOR]
    scenario = survivors[0].scenario
    assert scenario is not None and scenario["facts"]["staff_champions"] == 1
    assert scenario["expect"]["not_fired"] == ["qpi_site.readiness.no-champion"]
    assert sum(r.status == "killed" for r in run.results) == len(run.results) - 1
    # the scenario it names, added to the file, kills it
    added = tmp_path / "added.yaml"
    added.write_text(json.dumps({"format": "qpr-rules/scenarios-v1", "scenarios": [scenario]}, default=str),
                     encoding="utf-8")
    again = run_mutants([SITE], [without_one_champion, added])
    assert all(r.status == "killed" for r in again.results)
    killer = next(r for r in again.results if r.id == SURVIVOR).killed_by
    assert killer.startswith(f"{added}:")


def test_an_equivalent_mutant_comes_with_the_solvers_proof() -> None:
    """The state's decision is recorded only for a home sent to the state (a fact constraint), so
    the first atom of state-denied adds nothing: stuck true, no valid fact tells it apart."""
    ps = load_policy_set([ROOT / "policies"])
    spec = ps.decisions["qpr.concern-routing"]
    stuck = Mutant(spec.decision.id, "qpr.concern-routing.state-denied", "stuck-true", 0, "when.all.0")
    verdict = prove_equivalent(spec, apply(spec, stuck))
    assert verdict.status == "equivalent" and verdict.proof.startswith("z3: unsat of (original != mutant)")
    negated = Mutant(spec.decision.id, "qpr.concern-routing.state-denied", "negated", 0, "when.all.0")
    verdict = prove_equivalent(spec, apply(spec, negated))
    assert verdict.status == "different" and verdict.facts is not None


def test_the_score_is_named_mutants_in_every_format(without_one_champion: Path, tmp_path: Path) -> None:
    base = ["coverage", "run", "--mutants", "-p", str(SITE), str(without_one_champion)]
    text = CliRunner().invoke(cli, [*base, "-m", "--require", "mutants=100"])
    assert text.exit_code == 1
    assert "Mutants" in text.output and "84/85 98.8%" in text.output
    assert f"{SURVIVOR} survives: add a scenario: " in text.output
    assert "FAIL: mutants coverage 98.8% (84/85) is under 100%" in text.stderr
    out = CliRunner().invoke(cli, [*base, "--format", "json"])
    data = json.loads(out.stdout)
    assert data["totals"]["mutants"] == {"covered": 84, "total": 85, "percent": 98.82}
    assert [m["id"] for m in data["files"][0]["mutants"] if m["status"] == "survived"] == [SURVIVOR]
    xml = CliRunner().invoke(cli, [*base, "--format", "xml"])
    assert "<!-- mutants: 84/85 killed (0.9882); 0 equivalent, not counted -->" in xml.stdout
    ET.fromstring(xml.stdout)
    html = CliRunner().invoke(cli, [*base, "--format", "html", "-o", str(tmp_path / "html")])
    assert html.exit_code == 0
    index = (tmp_path / "html" / "index.html").read_text(encoding="utf-8")
    assert 'data-level="mutants" data-hit="84" data-total="85"' in index


def test_mutants_are_counted_only_where_scenarios_run(tmp_path: Path) -> None:
    log = tmp_path / "decisions.log"
    log.write_text("", encoding="utf-8")
    result = CliRunner().invoke(cli, ["coverage", "log", str(log), "-p", str(SITE), "--require", "mutants=100"])
    assert result.exit_code == 2 and "mutants are counted only by `qpr-rules coverage run`" in result.output
