"""The qpr-rules command line: exit codes, stdout/stderr, and never a traceback for a user mistake."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CLI = Path(sys.executable).with_name("qpr-rules")
HOLD = ROOT / "examples" / "placement_home_on_hold.yaml"


def run(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(CLI), *args], capture_output=True, text=True, input=stdin, cwd=ROOT, timeout=120)


def no_traceback(result: subprocess.CompletedProcess[str]) -> None:
    assert "Traceback" not in result.stderr and "Traceback" not in result.stdout


def test_validate_bundled() -> None:
    result = run("validate")
    assert result.returncode == 0 and result.stdout.startswith("ok: ")


def test_validate_bad_policy(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("format: qpr-rules/v1\nid: x\nid: y\n")
    result = run("validate", str(bad))
    assert result.returncode == 1
    assert f"{bad}:3:1: duplicate key 'id'" in result.stderr
    no_traceback(result)


def test_decide_text_and_json() -> None:
    text = run("decide", "qpr.placement", "--facts", str(HOLD))
    assert text.returncode == 0 and text.stdout.startswith("deny (decided): A home on hold pending QPR")
    as_json = run("decide", "qpr.placement", "--facts", str(HOLD), "--format", "json")
    data = json.loads(as_json.stdout)
    assert data["outcome"] == "deny" and data["fired"][0]["citations"][0]["section"] == "Homes on hold"


def test_decide_from_stdin() -> None:
    facts = {"record": "qpr_referral", "action": "upload_to_cws_cms"}
    result = run("decide", "qpr.records", "--facts", "-", stdin=json.dumps(facts))
    assert result.returncode == 0 and result.stdout.startswith("deny (decided)")


def test_decide_invalid_facts_names_the_field(tmp_path: Path) -> None:
    facts = tmp_path / "f.json"
    facts.write_text(json.dumps({"record": "qpr_referral", "action": "burn"}))
    result = run("decide", "qpr.records", "--facts", str(facts))
    assert result.returncode == 1
    assert result.stdout.startswith("deny (error)") and "action: Input should be" in result.stdout
    no_traceback(result)


def test_decide_unknown_decision() -> None:
    result = run("decide", "qpr.placment", "--facts", str(HOLD))
    assert result.returncode == 1
    assert "unknown decision 'qpr.placment' (did you mean 'qpr.placement'?)" in result.stderr
    no_traceback(result)


def test_decide_missing_facts_file() -> None:
    result = run("decide", "qpr.placement", "--facts", "nope.yaml")
    assert result.returncode == 1 and "nope.yaml:1:1: cannot read file" in result.stderr
    no_traceback(result)


def test_decide_malformed_json(tmp_path: Path) -> None:
    facts = tmp_path / "f.json"
    facts.write_text('{"record": ')
    result = run("decide", "qpr.records", "--facts", str(facts))
    assert result.returncode == 1 and f"{facts}:1:12: invalid JSON" in result.stderr
    no_traceback(result)


def test_explain() -> None:
    result = run("explain", "qpr.placement", "--facts", str(HOLD))
    assert result.returncode == 0
    assert "“Homes on hold are not to receive placements under any circumstances.”" in result.stdout
    assert "Rules that did not fire:" in result.stdout


@pytest.mark.parametrize("section", ["decisions", "rules", "clauses"])
def test_list_json(section: str) -> None:
    result = run("list", f"--{section}", "--format", "json")
    data = json.loads(result.stdout)
    assert list(data) == [section] and data[section]


def test_list_clauses_shows_encoding_rules() -> None:
    result = run("list", "--clauses", "--format", "json", str(ROOT / "policies" / "qpr.yaml"))
    clauses = {c["id"]: c for c in json.loads(result.stdout)["clauses"]}
    assert "qpr.placement.hold-pending-qpr" in clauses["hold.no-placements"]["rules"]
    assert clauses["set.value-2"]["computable"] is False


def test_schema_facts() -> None:
    result = run("schema", "facts", "qpr.placement")
    schema = json.loads(result.stdout)
    assert schema["title"] == "placement_request facts" and set(schema["required"]) == {"placement", "child", "home"}
    assert schema == json.loads((ROOT / "schemas" / "facts" / "placement_request.schema.json").read_text())
    listing = run("schema", "facts")
    assert "placement_request:" in listing.stdout


def test_test_command_passes_bundled_scenarios() -> None:
    result = run("test", "-q", str(ROOT / "policies" / "tests" / "qpr"))
    assert result.returncode == 0
    assert result.stdout.strip().splitlines()[-1].endswith("passed, 0 failed")


def test_decide_deeply_nested_facts(tmp_path: Path) -> None:
    facts = tmp_path / "deep.json"
    facts.write_text('{"a":' * 50000 + "1" + "}" * 50000)
    result = run("decide", "qpr.placement", "--facts", str(facts))
    assert result.returncode == 1 and f"{facts}:1:1: JSON nested too deeply" in result.stderr
    no_traceback(result)


def test_decide_as_of_a_date() -> None:
    facts = json.dumps({"record": "qpr_referral", "action": "upload_to_cws_cms"})
    result = run("decide", "qpr.records", "--facts", "-", "--as-of", "2020-01-01", stdin=facts)
    assert result.returncode == 0 and result.stdout.startswith("deny (decided)")
    early = run("decide", "qpr.records", "--facts", "-", "--as-of", "2018-01-01", stdin=facts)
    assert early.returncode == 1 and "no policy is in force on 2018-01-01" in early.stderr
    no_traceback(early)
