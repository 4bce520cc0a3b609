"""The qpr-rules command line, run as the installed console script: exit codes, stdout and stderr,
and never a traceback for a user's mistake. Policies are tests/fixtures/tiny unless a test is
about the bundled ones."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CLI = Path(sys.executable).with_name("qpr-rules")
TINY = Path(__file__).parent / "fixtures" / "tiny"
ON_HOLD = {"placement": {"date": "2024-05-01", "status": "proposed", "cleared_with_pco": True, "siblings": []},
           "child": {"age": 7, "gender": "female"},
           "home": {"id": "H", "approval": "rfa", "approval_status": "active",
                    "hold": {"kind": "permanent", "placed_on": "2024-01-01"}, "restrictions": None, "children_placed": []}}
CLEARED = {**ON_HOLD, "home": {"id": "H", "approval": "rfa", "approval_status": "active", "hold": None, "restrictions": None, "children_placed": []}}

pytestmark = pytest.mark.skipif(not CLI.exists(), reason=f"no qpr-rules console script next to {sys.executable}")


def run(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    result = subprocess.run([str(CLI), *args], capture_output=True, text=True, input=stdin, cwd=ROOT, timeout=120)
    assert "Traceback" not in result.stderr and "Traceback" not in result.stdout, result.stderr[-2000:]
    return result


@pytest.fixture
def facts_file(tmp_path: Path) -> Path:
    path = tmp_path / "facts.json"
    path.write_text(json.dumps(ON_HOLD), encoding="utf-8")
    return path


def test_validate_ok() -> None:
    result = run("validate", str(TINY))
    assert (result.returncode, result.stderr) == (0, "")
    assert result.stdout.startswith("ok: 1 file(s), 1 decision(s), 2 rule(s); digest ")


def test_validate_bundled() -> None:
    result = run("validate")
    assert result.returncode == 0 and result.stdout.startswith("ok: "), result.stderr


def test_validate_bad_reports_every_problem_positioned(tmp_path: Path) -> None:
    text = (TINY / "tiny.yaml").read_text(encoding="utf-8")
    bad = tmp_path / "bad.yaml"
    bad.write_text(text.replace("{who: pco,", "{who: pcoo,").replace("revision: 2024-01-01", "revision: soon"),
                   encoding="utf-8")
    result = run("validate", str(bad))
    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr.splitlines() == [
        f"{bad}:8:11: revision: Input should be a valid date (got str 'soon'); write a date as YYYY-MM-DD, "
        "unquoted",
        "1 problem(s)",
    ]  # a file that fails its shape check is not cross-checked: one problem
    bad.write_text(text.replace("{who: pco,", "{who: pcoo,"), encoding="utf-8")
    result = run("validate", str(bad))
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        f"{bad}:37:15: unknown role 'pcoo' (did you mean 'pco'?); declare it under `roles:`; known: pco",
        "1 problem(s)",
    ]


def test_validate_malformed_yaml(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("format: qpr-rules/v1\nid: x\nid: y\n", encoding="utf-8")
    result = run("validate", str(bad))
    assert result.returncode == 1
    assert result.stderr.splitlines()[0] == (f"{bad}:3:1: duplicate key 'id' (first defined at line 2, column 1); "
                                             "each key may appear once in a mapping: merge the two or rename one")


def test_decide_text(facts_file: Path) -> None:
    result = run("decide", "tiny.placement", "--facts", str(facts_file), "-p", str(TINY))
    assert (result.returncode, result.stderr) == (0, "")
    assert result.stdout.splitlines() == [
        "deny (decided): A home on hold receives no placements [tiny.placement.hold]",
        "  obligation: Placement Coordinators Office: Tell the placing social worker the home is on hold.",
    ]


def test_decide_json(facts_file: Path) -> None:
    result = run("decide", "tiny.placement", "--facts", str(facts_file), "-p", str(TINY), "--format", "json")
    assert result.returncode == 0
    data = json.loads(result.stdout)
    assert (data["decision"], data["outcome"], data["status"]) == ("tiny.placement", "deny", "decided")
    assert [f["id"] for f in data["fired"]] == ["tiny.placement.hold", "tiny.placement.cleared"]
    assert data["fired"][0]["citations"][0] == {
        "clause": "hold", "document": "tiny-source.txt", "section": "Homes on hold",
        "text": "Homes on hold are not to receive placements under any circumstances."}


def test_decide_facts_from_stdin() -> None:
    result = run("decide", "tiny.placement", "--facts", "-", "-p", str(TINY), stdin=json.dumps(CLEARED))
    assert result.returncode == 0
    assert result.stdout == ("allow (decided): An active home cleared with the PCO may take the child "
                             "[tiny.placement.cleared]\n")
    as_yaml = "placement: {date: 2024-05-01, status: proposed, cleared_with_pco: false, siblings: []}\nchild: {age: 7, gender: male}\n" \
              "home: {id: H, approval: lfh, approval_status: active, hold: null, restrictions: null, children_placed: []}\n"
    result = run("decide", "tiny.placement", "--facts", "-", "-p", str(TINY), stdin=as_yaml)
    assert (result.returncode, result.stdout) == (0, "deny (default): no rule allows the placement; "
                                                     "default outcome 'deny'\n")


def test_decide_invalid_facts_names_the_field(tmp_path: Path) -> None:
    facts = tmp_path / "f.json"
    facts.write_text(json.dumps({**CLEARED, "child": {"age": "7", "gender": "female"}}), encoding="utf-8")
    result = run("decide", "tiny.placement", "--facts", str(facts), "-p", str(TINY))
    assert result.returncode == 1
    assert result.stdout == ("deny (error): the facts are invalid; failing closed with 'deny': child.age: "
                             "Input should be a valid integer (got \"7\")\n")


def test_decide_unknown_decision() -> None:
    result = run("decide", "tiny.placment", "--facts", "-", "-p", str(TINY), stdin=json.dumps(CLEARED))
    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr == ("error: unknown decision 'tiny.placment' (did you mean 'tiny.placement'?); known: "
                             "tiny.placement\n")


def test_decide_missing_and_malformed_facts_files(tmp_path: Path) -> None:
    missing = run("decide", "tiny.placement", "--facts", "nope.yaml", "-p", str(TINY))
    assert missing.returncode == 2 and missing.stderr == "nope.yaml: no such file\n"
    malformed = tmp_path / "f.json"
    malformed.write_text('{"placement": ', encoding="utf-8")
    result = run("decide", "tiny.placement", "--facts", str(malformed), "-p", str(TINY))
    assert result.returncode == 1
    assert result.stderr.splitlines()[0] == f"{malformed}:1:15: invalid JSON: Expecting value"


def test_explain(facts_file: Path) -> None:
    result = run("explain", "tiny.placement", "--facts", str(facts_file), "-p", str(TINY))
    assert result.returncode == 0
    lines = result.stdout.splitlines()
    assert lines[0] == "tiny.placement: DENY (decided)"
    assert "        “Homes on hold are not to receive placements under any circumstances.”" in lines
    explained = run("explain", "tiny.placement", "--facts", "-", "-p", str(TINY),
                    stdin=json.dumps({**CLEARED, "placement": {"date": "2024-05-01", "status": "proposed", "cleared_with_pco": False, "siblings": []}}))
    assert "Rules that did not fire:" in explained.stdout
    assert ("because it is not the case that the placing social worker cleared the home with the PCO"
            " before placing [placement.cleared_with_pco = true]" in " ".join(explained.stdout.split()))  # wrapped at 92 columns


def test_list_json() -> None:
    result = run("list", "--format", "json", str(TINY))
    assert result.returncode == 0
    data = json.loads(result.stdout)
    assert data["decisions"] == [{"id": "tiny.placement", "title": "May the child be placed in the home?",
                                  "facts": "placement_request", "combine": "deny-overrides", "default": "deny",
                                  "rules": 2}]
    assert [(r["id"], r["outcome"], r["clauses"]) for r in data["rules"]] == [
        ("tiny.placement.hold", "deny", ["hold"]), ("tiny.placement.cleared", "allow", ["cleared"])]
    assert [(c["id"], c["rules"]) for c in data["clauses"]] == [
        ("hold", ["tiny.placement.hold"]), ("cleared", ["tiny.placement.cleared"])]


def test_list_table() -> None:
    result = run("list", "--rules", "--format", "table", str(TINY))
    assert result.returncode == 0
    assert "rules (2)" in result.stdout and "tiny.placement.cleared" in result.stdout


def test_list_piped_is_plain() -> None:
    result = run("list", "--rules", str(TINY))
    assert result.returncode == 0
    assert [line.split("\t")[:2] for line in result.stdout.splitlines()] == [
        ["tiny.placement.hold", "deny"], ["tiny.placement.cleared", "allow"]]


def test_schema_facts() -> None:
    result = run("schema", "facts", "tiny.placement", "-p", str(TINY))
    assert result.returncode == 0
    schema = json.loads(result.stdout)
    assert schema["title"] == "placement_request facts"
    assert set(schema["required"]) == {"placement", "child", "home"}
    listing = run("schema", "facts")
    assert listing.returncode == 0
    assert "placement_request: May this child be placed in this home on this date?" in listing.stdout.splitlines()
    unknown = run("schema", "facts", "tiny.nope", "-p", str(TINY))
    assert unknown.returncode == 1 and unknown.stderr.startswith("error: unknown decision 'tiny.nope'")
