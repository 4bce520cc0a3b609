"""The decision log serves audit (issue 20, item 5): the bundled decisions log the facts their
rules read (yes/no, numbers, dates, enum values; never names or free text), the operator masks
paths out of it, each line carries the caller's reference so it can be tied to a case, and
`decide_many(jobs=N)` writes every worker's answers to the one log (item 6)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from qpr_rules import Engine
from qpr_rules.analysis.generate import sample
from qpr_rules.cli.app import cli
from qpr_rules.coverage.collect import expand_logs, read_logs
from qpr_rules.coverage.data import CoverageData
from qpr_rules.engine.decision_log import MemorySink
from qpr_rules.facts.paths import resolve
from qpr_rules.policy.conditions import fact_paths
from qpr_rules.yaml_source import load_yaml_file

ROOT = Path(__file__).resolve().parents[1]
POLICIES = ROOT / "policies"
HOLD_FILE = ROOT / "examples" / "placement_home_on_hold.yaml"
HOLD = load_yaml_file(HOLD_FILE)[0]


def _lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_every_bundled_decision_logs_the_loggable_facts_its_rules_read() -> None:
    engine = Engine.load([POLICIES])
    for spec in engine.policies.decisions.values():
        read = set().union(*(fact_paths(r.condition) for r in spec.rules)) if spec.rules else set()
        logged = set(spec.decision.log_facts)
        for path in logged:  # the loader's allowlist: nothing that can carry a name or free text
            assert resolve(spec.fact_model, path).kind in ("bool", "int", "number", "enum", "date")
        for path in read:
            kind = resolve(spec.fact_model, path).kind
            if kind in ("bool", "int", "number", "enum", "date"):
                assert path in logged or any(p.startswith(f"{path}.") for p in logged), (spec.decision.id, path)


def test_a_placement_line_holds_what_an_audit_needs_and_no_name() -> None:
    sink = MemorySink()
    Engine.load([POLICIES], decision_log=sink).decide("qpr.placement", HOLD, reference="case-2026-0042")
    (record,) = sink.records
    assert record["reference"] == "case-2026-0042"
    assert record["facts"]["home.hold.kind"] == "pending_qpr"
    assert record["facts"]["placement.date"] == HOLD["placement"]["date"].isoformat()
    assert "placement.cleared_with_pco" in record["facts"] and "child.age" in record["facts"]
    text = json.dumps(record)
    for name in (HOLD["home"]["id"], HOLD["child"]["id"]):  # free text never reaches the log
        assert name not in text


def test_the_operator_masks_paths_and_the_line_says_which() -> None:
    sink = MemorySink()
    engine = Engine.load([POLICIES], decision_log=sink, log_mask=["child", "home.hold.kind"])
    engine.decide("qpr.placement", HOLD)
    (record,) = sink.records
    assert not any(p.startswith("child.") or p == "home.hold.kind" for p in record["facts"])
    assert record["erased"] == ["child.age", "child.gender", "home.hold.kind"]
    assert "placement.date" in record["facts"]
    with pytest.raises(ValueError, match="log_mask 'chidl' masks no fact any decision logs"):
        Engine.load([POLICIES], decision_log=sink, log_mask=["chidl"])  # misspelt: never a silent no-op


@pytest.mark.parametrize("reference", ["Jane Doe", "", "x" * 129, "-rm"])
def test_a_reference_is_an_id_never_free_text(reference: str) -> None:
    engine = Engine.load([POLICIES], decision_log=MemorySink())
    with pytest.raises(ValueError, match="a case or request id of letters, digits"):
        engine.decide("qpr.placement", HOLD, reference=reference)


def test_the_cli_writes_the_reference_and_reads_the_projects_log_settings(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "qpr-rules.toml").write_text(
        f'policies = "{POLICIES}"\ndecision_log = "decisions.jsonl"\ndecision_log_mask = ["child.gender"]\n')
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli, ["decide", "qpr.placement", "--facts", str(HOLD_FILE),
                                      "--reference", "case-7"])
    assert result.exit_code == 0, result.output
    (line,) = _lines(tmp_path / "decisions.jsonl")
    assert line["reference"] == "case-7" and line["erased"] == ["child.gender"]
    bad = CliRunner().invoke(cli, ["decide", "qpr.placement", "--facts", str(HOLD_FILE), "--reference", "J Doe"])
    assert bad.exit_code == 2 and "Invalid value for '--reference'" in bad.output
    assert len(_lines(tmp_path / "decisions.jsonl")) == 1


def test_decide_many_with_workers_writes_one_chain(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from qpr_rules.engine import batch

    monkeypatch.setattr(batch, "IN_PROCESS_BELOW", 0)  # workers however few the cases
    log = tmp_path / "d.log"
    engine = Engine.load([POLICIES], decision_log=log)
    cases = [json.dumps(f, default=str) for f in sample(engine.fact_model("qpr.placement"), 40, seed=3)]
    alone = [Engine.load([POLICIES]).decide("qpr.placement", c) for c in cases]
    answers = list(engine.decide_many("qpr.placement", cases, jobs=2))
    assert [a.outcome for a in answers] == [a.outcome for a in alone]
    assert [a.to_json() for a in answers] == [a.to_json() for a in alone]
    lines = _lines(log)
    assert [ln["outcome"] for ln in lines] == [a.outcome for a in answers]  # in input order
    read = read_logs(expand_logs([log]), CoverageData.for_policies(engine.policies), verify=True)
    assert [p for p in read.problems if p.severity == "error"] == [] and read.counted == len(cases)


def test_a_script_without_a_main_guard_is_told_so(tmp_path: Path) -> None:
    script = tmp_path / "batch.py"
    script.write_text(f"from qpr_rules import Engine\n"
                      "import qpr_rules.engine.batch\n"
                      "qpr_rules.engine.batch.IN_PROCESS_BELOW = 0  # workers however few the cases\n"
                      f"engine = Engine.load([{str(POLICIES)!r}])\n"
                      f"facts = {json.dumps(HOLD, default=str)!r}\n"
                      "print(len(list(engine.decide_many('qpr.placement', [facts] * 4, jobs=2))))\n")
    result = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=300,
                            cwd=tmp_path)
    assert result.returncode != 0
    assert f"the script {script} has no `if __name__ == \"__main__\":` guard" in result.stderr
    assert "the policy files may have changed" not in result.stderr.splitlines()[-1]
