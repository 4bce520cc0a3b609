"""Case scenarios (issue 17.5): event histories with the state, duties, departures and next
events the procedure must give; run by `qpr-rules test`, the pytest plugin and `coverage run`,
which counts the procedure's states entered and transitions taken."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

import qpr_rules.cli.analyst
import qpr_rules.cli.coverage  # noqa: F401
from qpr_rules.cli.app import cli
from qpr_rules.coverage.collect import run_scenarios
from qpr_rules.coverage.data import CoverageData
from qpr_rules.coverage.report_core import build_report
from qpr_rules.engine.engine import Engine
from qpr_rules.errors import PolicyError
from qpr_rules.scenarios.case_runner import check_case_references, load_case_file, run_case
from qpr_rules.scenarios.runner import case_scenario_files, load_scenario_file, scenario_files

ROOT = Path(__file__).resolve().parents[1]
POLICIES = ROOT / "policies"
CASES = POLICIES / "tests" / "qpr" / "procedure_cases.yaml"
ENGINE = Engine.load([POLICIES])

HEAD = "format: qpr-rules/case-scenarios-v1\nprocedure: qpr.home\ncases:\n"
CONCERN = ('{type: qpr.concern-raised, by: referring-sw, "on": 2025-01-02, raised_by: social_worker, '
           "after_state_denial: false}")
WARRANTED = '{type: qpr.consultation-held, by: referring-sw, "on": 2025-01-03, warranted: true}'


def write(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "policies-tests" / "tests" / "cases.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(HEAD + body)
    return path


def invoke(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    return result.exit_code, result.output


def test_the_bundled_cases_pass_and_say_what_the_source_asks() -> None:
    cases = load_case_file(CASES)
    assert len(cases) >= 8
    assert check_case_references(ENGINE, cases) == []
    results = {c.name: run_case(ENGINE, c) for c in cases}
    assert all(r.passed for r in results.values()), {n: r.failures for n, r in results.items() if not r.passed}
    early = next(r for n, r in results.items() if n.startswith("a request for a review before the date"))
    assert early.case is not None and early.case.state == "waiting"  # the hold is not lifted
    assert [d.clause for d in early.case.departures] == ["reinstatement.request-after-date"] * 2
    permanent = next(r for n, r in results.items() if n.startswith("a permanent hold has no way out"))
    assert permanent.case is not None and permanent.case.final


def test_a_wrong_expectation_fails_naming_what_differed(tmp_path: Path) -> None:
    path = write(tmp_path, f"""  - name: wrong on every count
    events:
      - {CONCERN}
      - {WARRANTED}
    expect:
      state: consultation
      duties: [{{who: pco, do: gather}}]
      departures: [{{event: 2, clause: refer.state-denied}}]
      next: [qpr.form-submitted]
""")
    (case,) = load_case_file(path)
    result = run_case(ENGINE, case)
    assert not result.passed
    assert result.failures[0] == "state: expected 'consultation', got 'form' (qpr > form)"
    assert result.failures[1].startswith("expected a duty for pco containing 'gather', got referring-sw: Complete")
    assert result.failures[2] == "expected a departure event 2 (refer.state-denied), got none"
    assert result.failures[3].startswith("next: expected qpr.form-submitted, got qpr.concern-raised, ")


def test_an_unexpected_departure_fails(tmp_path: Path) -> None:
    path = write(tmp_path, f"""  - name: a step out of order
    events:
      - {CONCERN}
      - {{type: qpr.form-submitted, by: referring-sw, "on": 2025-01-04}}
    expect: {{state: consultation}}
""")
    (case,) = load_case_file(path)
    (failure,) = run_case(ENGINE, case).failures
    assert failure.startswith("unexpected departure: event 2 qpr.form-submitted in consultation (step1.submit-form)")


def test_unknown_names_are_placed_with_did_you_mean(tmp_path: Path) -> None:
    path = write(tmp_path, f"""  - name: misspelt
    clauses: [step1.whn]
    events:
      - {{type: qpr.concern-raise, by: referring-sw, "on": 2025-01-02}}
      - {{type: qpr.consultation-held, by: referring-wx, "on": 2025-01-03, warranted: true}}
    expect:
      state: waitin
      duties: [{{who: pcoo}}]
      departures: [{{type: qpr.placement-mad}}, {{event: 9}}]
      next: [qpr.form-submited]
  - name: a compound state
    events: [{CONCERN}]
    expect: {{state: qpr}}
""")
    problems = [f"{p.line}:{p.column}: {p.message}" for p in check_case_references(ENGINE, load_case_file(path))]
    assert any(p.startswith("5:15: case 'misspelt': clause 'step1.whn' is not in qpr.yaml (did you mean 'step1.when'?)")
               for p in problems), problems
    assert any(p.startswith("7:16: case 'misspelt': unknown event 'qpr.concern-raise' (did you mean "
                            "'qpr.concern-raised'?)") for p in problems), problems
    assert "8:43: case 'misspelt': 'referring-wx' is not a role (did you mean 'referring-sw'?)" in problems
    assert any(p.startswith("10:14: case 'misspelt': unknown state 'waitin' (did you mean 'waiting'?)")
               for p in problems), problems
    assert "11:22: case 'misspelt': 'pcoo' is not a role (did you mean 'pco'?)" in problems
    assert ("12:27: case 'misspelt': unknown event 'qpr.placement-mad' (did you mean 'qpr.placement-made'?)"
            in problems)
    assert "12:55: case 'misspelt': event 9: the case has 2 event(s)" in problems
    assert "13:14: case 'misspelt': unknown event 'qpr.form-submited' (did you mean 'qpr.form-submitted'?)" in problems
    assert any(p.startswith("16:21: case 'a compound state': 'qpr' is a compound state: name the state the case "
                            "is in within it, one of consultation, ") for p in problems), problems


def test_the_file_format_is_checked_with_positions(tmp_path: Path) -> None:
    path = tmp_path / "cases.yaml"
    path.write_text("format: qpr-rules/case-scenarios-v1\ncases:\n  - name: no procedure\n    events: []\n"
                    "    expect: {state: good-standing, departures: [{clause: hold.no-placements}]}\n")
    with pytest.raises(PolicyError) as exc:
        load_case_file(path)
    assert "5:" in str(exc.value) and "name the departure by `event:`" in str(exc.value)
    path.write_text("format: qpr-rules/case-scenarios-v1\ncases:\n  - name: no procedure\n    events: []\n"
                    "    expect: {state: good-standing}\n")
    with pytest.raises(PolicyError, match=r"cases.yaml:3:5: no procedure: set `procedure:`"):
        load_case_file(path)
    with pytest.raises(PolicyError, match="this is a case scenario file"):
        load_scenario_file(CASES)


def test_case_files_are_kept_apart_from_decision_scenarios() -> None:
    assert CASES not in scenario_files([POLICIES / "tests"])
    assert case_scenario_files([POLICIES / "tests"]) == [CASES]
    assert case_scenario_files([CASES]) == [CASES] and scenario_files([CASES]) == []


def test_qpr_rules_test_runs_case_scenarios(tmp_path: Path) -> None:
    code, out = invoke("test", str(CASES))
    assert code == 0
    assert f"PASS {CASES}:8 a SW's concern about a resource home opens step 1" in out
    assert out.strip().splitlines()[-1] == f"{len(load_case_file(CASES))} passed, 0 failed"
    path = write(tmp_path, f"""  - name: expects the wrong step
    events: [{CONCERN}]
    expect: {{state: form}}
""")
    code, out = invoke("test", "-p", str(POLICIES), str(path))
    assert code == 1
    assert f"FAIL {path}:4 expects the wrong step" in out
    assert "     state: expected 'form', got 'consultation' (qpr > consultation)" in out
    assert ("       1. 2025-01-02 qpr.concern-raised: good-standing -> consultation (transition 1, step1.when)"
            in out)


def test_pytest_plugin_runs_case_scenarios(tmp_path: Path) -> None:
    path = write(tmp_path, f"""  - name: passes
    events: [{CONCERN}]
    expect: {{state: consultation}}
  - name: fails
    events: [{CONCERN}]
    expect: {{state: waiting}}
""")
    result = subprocess.run([sys.executable, "-m", "pytest", str(path), f"--qpr-policies={POLICIES}", "-q",
                             "-p", "no:cacheprovider", "--rootdir", str(tmp_path)],
                            capture_output=True, text=True, cwd=tmp_path, timeout=300)
    assert result.returncode == 1, result.stdout[-2000:]
    assert "1 failed, 1 passed" in result.stdout
    assert "state: expected 'waiting', got 'consultation'" in result.stdout
    assert "history:" in result.stdout


def test_coverage_counts_states_and_transitions(tmp_path: Path) -> None:
    path = write(tmp_path, f"""  - name: two steps
    events: [{CONCERN}, {WARRANTED}]
    expect: {{state: form}}
""")
    run = run_scenarios([POLICIES], [path])
    assert run.problems == [] and len(run.case_results) == 1
    report = build_report(run.engine.policies, run.data, procedures=True)
    assert report.levels[4:6] == ("states", "transitions")
    states, transitions = report.ratio("states"), report.ratio("transitions")
    # good-standing (where a case starts), qpr, consultation, form
    assert (states.hit, transitions.hit) == (4, 2)
    assert transitions.total == len(ENGINE.policies.procedures["qpr.home"].transitions)
    missing = report.missing("states")
    assert any(m.startswith("qpr.yaml:") and "qpr.home state permanent-hold (Permanently restricted" in m
               for m in missing), missing
    assert not any("state form " in m for m in missing)
    taken = [m for m in report.missing("transitions") if "transition 1 " in m or "transition 5 " in m]
    assert taken == []
    line = next(m for m in report.missing("transitions") if "transition 2 " in m)
    assert line.endswith("qpr --qpr.concern-raised (stays): no case scenario takes it")
    # the saved data keeps the counts, and data saved before cases were counted still loads
    again = CoverageData.for_policies(run.engine.policies)
    again.merge_json(json.loads(json.dumps(run.data.to_json())))
    assert again.states == run.data.states and again.transitions == run.data.transitions
    old = {k: v for k, v in run.data.to_json().items() if k not in ("cases", "states", "transitions")}
    CoverageData.for_policies(run.engine.policies).merge_json(old)


def test_the_bundled_cases_reach_every_state_and_transition() -> None:
    run = run_scenarios([POLICIES], [CASES])
    report = build_report(run.engine.policies, run.data, procedures=True)
    assert report.missing("states") == [] and report.missing("transitions") == []


def test_coverage_run_gates_states_and_reports_them(tmp_path: Path) -> None:
    path = write(tmp_path, f"""  - name: one step
    events: [{CONCERN}]
    expect: {{state: consultation}}
""")
    code, out = invoke("coverage", "run", "-p", str(POLICIES), str(path), "--format", "json",
                       "--require", "states=100")
    assert code == 1
    assert "FAIL: states coverage 15.0% (3/20) is under 100%; missing:" in out
    data = json.loads(out[out.index("{"):out.rindex("}") + 1])
    assert data["totals"]["transitions"] == {"covered": 1, "total": 30, "percent": 3.33}
    assert data["cases"] == 1
    qpr = next(f for f in data["files"] if f["policy"] == "qpr")
    line = (POLICIES / "qpr.yaml").read_text().splitlines().index("      - id: good-standing") + 1
    assert qpr["states"][0] == {"procedure": "qpr.home", "id": "good-standing", "line": line,
                                "title": "No QPR open and no hold in force", "entered": 1}
    code, out = invoke("coverage", "run", "-p", str(POLICIES), str(path), "--require", "stats=100")
    assert code == 2 and "unknown level 'stats'" in out


def test_check_reports_a_case_scenario_that_fails(tmp_path: Path) -> None:
    import shutil

    policies = tmp_path / "policies"
    shutil.copytree(POLICIES, policies)
    cases = policies / "tests" / "qpr" / "procedure_cases.yaml"
    cases.write_text(cases.read_text().replace("      state: meeting\n", "      state: agreed\n", 1))
    code, out = invoke("check", str(policies))
    assert code == 1
    assert ("case 'the RF does not agree at step 5, so the PCO PSS invites the RF for a QPR meeting' fails: "
            "state: expected 'agreed', got 'meeting'") in out


def test_pytest_plugin_counts_states_and_transitions_as_coverage_run_does(tmp_path: Path) -> None:
    target = tmp_path / "cov.json"
    result = subprocess.run([sys.executable, "-m", "pytest", str(CASES), "--qpr-cov", f"--qpr-cov-data={target}",
                             "-q", "-p", "no:cacheprovider"], capture_output=True, text=True, cwd=tmp_path,
                            timeout=300)
    assert result.returncode == 0, result.stdout[-2000:]
    saved = json.loads(target.read_text())
    expected = run_scenarios([POLICIES], [CASES]).data.to_json()
    assert (saved["cases"], saved["states"], saved["transitions"]) == (
        expected["cases"], expected["states"], expected["transitions"])
    assert len(saved["transitions"]["qpr.home"]) == len(ENGINE.policies.procedures["qpr.home"].transitions)
