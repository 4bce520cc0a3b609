"""Coverage: keyed on rule ids and condition paths (formatting moves no number), the levels and
their missing items, --fail-under naming what is missing, MC/DC pairs that really show an atom's
effect, and LCOV / Cobertura / JSON that standard tools read."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from xml.etree import ElementTree as ET

import pytest
from click.testing import CliRunner

import qpr_rules.cli.coverage  # noqa: F401  (registers the command)
from qpr_rules.cli.app import cli
from qpr_rules.coverage.collect import probe, run_scenarios
from qpr_rules.coverage.jsonreport import render_json
from qpr_rules.coverage.lcovreport import render_lcov
from qpr_rules.coverage.report_core import CoverageReport, _mcdc_pair, _reach, build_report
from qpr_rules.coverage.xmlreport import render_cobertura
from qpr_rules.engine.atoms import traced
from qpr_rules.files import shown_path
from qpr_rules.scenarios.runner import load_scenario_file, scenario_files

ROOT = Path(__file__).resolve().parents[1]
POLICIES = ROOT / "policies"
HOLDS = POLICIES / "tests" / "qpr" / "placement_holds.yaml"


@pytest.fixture(scope="module")
def full() -> CoverageReport:
    run = run_scenarios([POLICIES])
    assert run.problems == []
    return build_report(run.engine.policies, run.data, mcdc=True)


def test_reformatting_a_policy_moves_lines_not_coverage(tmp_path: Path) -> None:
    policies = tmp_path / "policies"
    shutil.copytree(POLICIES, policies)
    qpr = policies / "qpr.yaml"
    text = qpr.read_text()
    # five comment lines on top, and a flow mapping of a condition written out in block style
    flow = "        - {fact: record, eq: qpr_referral}\n"
    assert flow in text
    qpr.write_text("# reflowed\n" * 5 + text.replace(flow, "        - fact: record\n          eq: qpr_referral\n"))
    before, after = run_scenarios([POLICIES]), run_scenarios([policies])
    assert after.engine.digest == before.engine.digest
    assert after.data.to_json() == before.data.to_json()
    lcov_before = render_lcov(build_report(before.engine.policies, before.data))
    lcov_after = render_lcov(build_report(after.engine.policies, after.data))
    fn = re.compile(r"^FN:(\d+),(qpr\.placement\.hold-pending-qpr)$", re.M)
    (line_before,) = [int(m.group(1)) for m in fn.finditer(lcov_before)]
    (line_after,) = [int(m.group(1)) for m in fn.finditer(lcov_after)]
    assert line_after == line_before + 5  # lines are looked up when the report is written


def test_full_scenarios_cover_every_rule_clause_and_sentence(full: CoverageReport) -> None:
    for level in ("rules", "clauses", "sentences"):
        assert full.missing(level) == [], level
        assert full.ratio(level).percent == 100.0
    scenarios = sum(len(load_scenario_file(p)) for p in scenario_files([POLICIES / "tests"]))
    assert full.decisions == scenarios  # one decision counted per scenario
    # a rule's two sides are counted: fired and evaluated without firing
    rule = next(r for f in full.files for r in f.rules if r.id == "qpr.placement.hold-pending-qpr")
    assert rule.fired > 0 and rule.not_fired > 0 and rule.fired + rule.not_fired == rule.evaluated


def _line_of_rule(policy: Path, rule_id: str) -> int:
    """Where a rule starts in its file, read from the file (not written down twice)."""
    lines = policy.read_text(encoding="utf-8").splitlines()
    return next(i for i, line in enumerate(lines, 1) if line.strip() == f"- id: {rule_id}")


def test_missing_items_are_named_with_their_place(tmp_path: Path) -> None:
    run = run_scenarios([POLICIES], [HOLDS])
    report = build_report(run.engine.policies, run.data)
    rules = report.missing("rules")
    line = _line_of_rule(POLICIES / "pqcr.yaml", "pqcr.interview-plan.county-blank")
    assert f"pqcr.yaml:{line}: pqcr.interview-plan.county-blank never fires" in rules
    conditions = report.missing("conditions")
    assert any(m.startswith("qpr.yaml:") and "[when." in m and ": never " in m for m in conditions)
    clauses = report.missing("clauses")
    assert any(re.match(r"qpr\.yaml:\d+: clause actions\.restrict-children: no rule encoding it fired", m)
               for m in clauses)


def test_fail_under_exits_1_and_names_what_is_missing() -> None:
    result = CliRunner().invoke(cli, ["coverage", "run", str(HOLDS), "--fail-under", "90",
                                      "--require", "clauses=100"])
    assert result.exit_code == 1
    assert "FAIL: total coverage" in result.output and "is under 90%" in result.output
    assert "FAIL: clauses coverage" in result.output
    line = _line_of_rule(POLICIES / "pqcr.yaml", "pqcr.interview-plan.county-blank")
    assert f"  rules: pqcr.yaml:{line}: pqcr.interview-plan.county-blank never fires" in result.output
    passing = CliRunner().invoke(cli, ["coverage", "run", "--require", "rules=100", "--require", "clauses=100",
                                       "--require", "sources=100", "--format", "json"])
    assert passing.exit_code == 0, passing.output
    assert "note: --require sources= is now called sentences=" in passing.output  # the old name still read
    bad = CliRunner().invoke(cli, ["coverage", "run", str(HOLDS), "--require", "lines=100"])
    assert bad.exit_code == 2 and "unknown level 'lines'" in bad.output


def test_mcdc_pairs_show_the_atom_alone_changing_the_result(full: CoverageReport) -> None:
    run = run_scenarios([POLICIES])
    checked = 0
    for rule in run.engine.policies.rules():
        cov = next(r for f in full.files for r in f.rules if r.id == rule.id)
        combine = traced(rule.condition)
        for i, atom in enumerate(cov.atoms):
            if atom.pair is None:
                continue
            a, b = atom.pair
            assert [j for j in range(len(a)) if a[j] != b[j]] == [i]
            recorded = run.data.rules[rule.id].results
            assert recorded[a] != recorded[b]
            checked += 1
        assert combine is traced(rule.condition)  # memoised per node
    assert checked > 100
    assert full.ratio("mcdc").total == full.ratio("conditions").total // 2


def test_mcdc_pair_search() -> None:
    # rule: a and b. Cases 11 -> True, 01 -> False, 10 -> False
    vectors = {"11": True, "01": False, "10": False}
    assert _mcdc_pair(vectors, 0) == ("01", "11")
    assert _mcdc_pair(vectors, 1) == ("10", "11")
    assert _mcdc_pair({"11": True, "00": False}, 0) is None  # both atoms changed together


def test_lcov_records_are_consistent(full: CoverageReport) -> None:
    text = render_lcov(full)
    records = text.strip().split("end_of_record")[:-1]
    assert len(records) == 5
    for record in records:
        lines = record.strip().splitlines()
        source = Path(next(x for x in lines if x.startswith("SF:"))[3:])
        length = len((ROOT / source).read_text().splitlines()) if not source.is_absolute() else 0
        da = [tuple(map(int, x[3:].split(","))) for x in lines if x.startswith("DA:")]
        brda = [x[5:].split(",") for x in lines if x.startswith("BRDA:")]
        value = {x.split(":")[0]: int(x.split(":")[1]) for x in lines if x[:3] in ("LF:", "LH:", "BRF", "BRH")}
        assert value["LF"] == len(da) and value["LH"] == sum(h > 0 for _, h in da)
        assert value["BRF"] == len(brda) and value["BRH"] == sum(b[3] not in ("-", "0") for b in brda)
        assert all(1 <= n <= length for n, _ in da)


def test_cobertura_parses_and_matches_lcov(full: CoverageReport) -> None:
    root = ET.fromstring(render_cobertura(full))
    classes = root.findall(".//class")
    assert {c.get("filename") for c in classes} == {f"policies/{n}.yaml" for n in
                                                   ("pqcr", "practice_model", "qpi_commitment", "qpi_site", "qpr")}
    lines = root.findall(".//line")
    assert root.get("lines-valid") == str(len(lines))
    assert root.get("lines-covered") == str(sum(int(x.get("hits", "0")) > 0 for x in lines))
    lcov = render_lcov(full)
    assert int(root.get("lines-covered", "-1")) == sum(int(x[3:]) for x in re.findall(r"^LH:\d+", lcov, re.M))


def test_json_report(full: CoverageReport) -> None:
    data = json.loads(render_json(full))
    assert set(data["totals"]) == {"rules", "conditions", "clauses", "sentences", "mcdc", "all"}
    qpr = next(f for f in data["files"] if f["policy"] == "qpr")
    assert qpr["summary"]["sentences"] == {"covered": 112, "total": 112, "percent": 100.0}
    rule = next(r for r in qpr["rules"] if r["id"] == "qpr.placement.hold-pending-qpr")
    assert rule["conditions"] and {"path", "line", "text", "true", "false", "pair"} <= set(rule["conditions"][0])
    assert any(c["computable"] is False and c["reason"] for c in qpr["clauses"])


def test_pytest_plugin_collects_the_same_coverage_as_coverage_run(tmp_path: Path) -> None:
    target = tmp_path / "cov.json"
    result = subprocess.run([sys.executable, "-m", "pytest", str(POLICIES / "tests" / "pqcr"), "--qpr-cov",
                             f"--qpr-cov-data={target}", "-q", "-p", "no:cacheprovider"],
                            capture_output=True, text=True, cwd=tmp_path, timeout=300)
    assert result.returncode == 0, result.stdout[-2000:]
    assert "qpr-rules coverage data saved to" in result.stdout
    saved = json.loads(target.read_text())
    expected = run_scenarios([POLICIES], [POLICIES / "tests" / "pqcr"]).data.to_json()
    assert saved == expected


def test_jobs_write_one_log_and_give_the_same_coverage(tmp_path: Path) -> None:
    log = tmp_path / "run.log"
    parallel = run_scenarios([POLICIES], jobs=2, log=log)
    serial = run_scenarios([POLICIES])
    assert parallel.problems == [] and len(parallel.results) == len(serial.results)
    assert parallel.data.to_json() == serial.data.to_json()
    assert len(log.read_text().splitlines()) == len(serial.results)
    again = CliRunner().invoke(cli, ["coverage", "run", "--log", str(log)])
    assert again.exit_code == 2 and "the file exists" in again.output


def test_probe_says_whether_generated_facts_reach_a_missing_side() -> None:
    run = run_scenarios([POLICIES], [HOLDS])
    report = build_report(run.engine.policies, run.data, probe=probe(run.engine, 150))
    missing = report.missing("conditions")
    line = next(m for m in missing if "qpr.procedure.call-rf [when.all.1.any.1]" in m)
    assert line.endswith("(reachable: generated facts reach it, so a scenario is missing)")
    assert _reach((0, 3), True, False).startswith(" (not reached by the generated facts either")
    assert _reach((2, 0), True, False) == " (reachable: generated facts reach it, so a scenario is missing)"
    assert _reach(None, True, True) == ""


def test_a_percentage_is_never_rounded_up_to_100() -> None:
    from qpr_rules.coverage.report_core import percent

    assert (percent(99.96), percent(100.0), percent(0.0), percent(50.04)) == ("99.9%", "100.0%", "0.0%", "50.0%")


def test_text_table_has_a_row_per_policy_and_the_total(full: CoverageReport) -> None:
    from qpr_rules.coverage.textreport import render_text

    text = render_text(full, show_missing=True)
    header, table = text.split("\n\n")[:2]  # the first lines say what the report is of
    assert header.startswith(f"policies {shown_path(POLICIES)} (digest {full.about.digest[:16] if full.about else ''}")
    rows = [line.split()[0] for line in table.splitlines() if line.endswith("%")]
    assert rows == ["pqcr.yaml", "practice_model.yaml", "qpi_commitment.yaml", "qpi_site.yaml", "qpr.yaml", "TOTAL"]
    assert "Clauses not computable, not counted (" in text
    assert f"{full.ratio('rules').hit}/{full.ratio('rules').total} 100.0%" in text


def test_records_that_do_not_fit_are_counted_apart_and_never_crash_the_reader() -> None:
    from qpr_rules.coverage.data import CoverageData
    from qpr_rules.engine.decision_log import MemorySink
    from qpr_rules.engine.engine import Engine
    from qpr_rules.yaml_source import load_yaml_file

    sink = MemorySink()
    engine = Engine.load([POLICIES], decision_log=sink)
    engine.decide("qpr.placement", load_yaml_file(ROOT / "examples" / "placement_home_on_hold.yaml")[0])
    (good,) = sink.records
    rule = next(iter(good["atoms"]))
    bad = [
        {**good, "fired": [{"not": "an id"}]},
        {**good, "fired": "qpr.placement.hold-pending-qpr"},
        {**good, "atoms": {**good["atoms"], rule: good["atoms"][rule] + "1"}},  # one atom too many
        {**good, "atoms": {**good["atoms"], rule: "2" * len(good["atoms"][rule])}},
        {**good, "atoms": {**good["atoms"], "no.such.rule": "1"}},
        {**good, "atoms": [1, 2]},
        {**good, "v": 99},
    ]
    data = CoverageData.for_policies(engine.policies)
    assert [data.add(r) for r in bad] == [False] * len(bad)
    assert data.malformed == len(bad) and sum(data.decisions.values()) == 0
    assert all(h.evaluated == 0 for h in data.rules.values())
    assert data.add(good) and data.rules["qpr.placement.hold-pending-qpr"].fired == 1


# ------------------------------------------------------- issue 18.6: reports write only their target


def _some_data(tmp_path: Path) -> Path:
    """Coverage data of one scenario file (a report of no data at all is refused)."""
    saved = tmp_path / "some.json"
    run_scenarios([POLICIES], [HOLDS]).data.save(saved)
    return saved


def test_a_report_of_no_data_is_refused(tmp_path: Path) -> None:
    from qpr_rules import Engine
    from qpr_rules.coverage.data import CoverageData

    empty = tmp_path / "empty.json"
    CoverageData.for_policies(Engine.load([POLICIES]).policies).save(empty)
    for fmt in ("text", "lcov", "xml", "json"):
        out = tmp_path / f"report.{fmt}"
        code, output = _report("--format", fmt, "-o", str(out), str(empty))
        assert code == 1 and "no decision was counted" in output and "no coverage report written" in output
        assert not out.exists()  # nothing a gate downstream could pass on


def _report(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["coverage", "report", *args])
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise AssertionError(f"{args}: {result.exception!r}") from result.exception
    return result.exit_code, result.output


def test_html_report_never_follows_a_symlink_planted_in_its_directory(tmp_path: Path) -> None:
    data = _some_data(tmp_path)
    out = tmp_path / "cov"
    out.mkdir()
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me")
    (out / "index.html").symlink_to(victim)
    (out / "qpr.html").symlink_to(victim)
    code, output = _report("--format", "html", "-o", str(out), str(data))
    assert code == 0, output
    assert victim.read_text() == "keep me"
    assert not (out / "index.html").is_symlink() and "<html" in (out / "index.html").read_text()
    assert [p.name for p in out.iterdir() if p.name.startswith(".")] == []  # no temporary file left


def test_a_text_report_replaces_a_planted_symlink_not_its_target(tmp_path: Path) -> None:
    data = _some_data(tmp_path)
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me")
    (tmp_path / "report.txt").symlink_to(victim)
    code, output = _report("-o", str(tmp_path / "report.txt"), str(data))
    assert code == 0, output
    assert victim.read_text() == "keep me" and "TOTAL" in (tmp_path / "report.txt").read_text()


def test_report_outputs_that_cannot_be_written_are_clear_errors(tmp_path: Path) -> None:
    data = _some_data(tmp_path)
    existing = tmp_path / "existing.txt"
    existing.write_text("x")
    cases = [(["--format", "html", "-o", str(existing)], "is a file, not a directory"),
             (["-o", "/"], "is a directory"),
             (["-o", str(tmp_path)], "is a directory"),
             (["-o", "/proc/version"], "cannot write in /proc"),
             (["-o", str(tmp_path / "no-such-dir" / "r.txt")], "no such directory"),
             (["--format", "html", "-o", "/proc/version"], "is a file, not a directory")]
    for args, expected in cases:
        code, output = _report(*args, str(data))
        assert code == 2 and expected in output, (args, output)
    assert existing.read_text() == "x"


def test_a_policy_with_the_id_index_does_not_overwrite_the_index(full: CoverageReport, tmp_path: Path) -> None:
    from dataclasses import replace

    from qpr_rules.coverage.htmlreport import write_html

    files = [replace(f, policy="index") if f.policy == "qpr" else f for f in full.files]
    index = write_html(replace(full, files=files), tmp_path / "cov")
    text = index.read_text()
    assert 'id="totals"' in text  # still the index of every policy
    pages = {p.name for p in index.parent.iterdir()} - {"index.html"}
    assert len(pages) == len(full.files)
    assert all(f'href="{page}"' in text for page in pages)
