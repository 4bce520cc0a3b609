"""`qpr-rules diff --against REV`: the old side runs from its own revision (a git worktree and a
subprocess), so answers compare across a fact-schema change, mapped where a documented mapping
exists (issue 19, closing paragraph)."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

import qpr_rules.cli.analyst  # noqa: F401
from qpr_rules.cli.app import cli
from qpr_rules.facts import mappings

ROOT = Path(__file__).resolve().parents[1]
FACTS = Path("src/qpr_rules/facts/qpi_commitment.py")
SIGNED = Path("policies/tests/qpi_commitment/signed.yaml")


def git(repo: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@t", *args],
                   check=True, capture_output=True)


@pytest.fixture()
def repo(tmp_path: Path) -> Path:
    """Two commits whose fact model differs: the old names `signed` signature_on_file."""
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    repo = tmp_path / "repo"
    shutil.copytree(ROOT / "src" / "qpr_rules", repo / "src" / "qpr_rules",
                    ignore=shutil.ignore_patterns("__pycache__"))
    (repo / "policies" / "tests").mkdir(parents=True)
    shutil.copy(ROOT / "policies" / "qpi_commitment.yaml", repo / "policies")
    shutil.copytree(ROOT / "policies" / "sources", repo / "policies" / "sources")
    shutil.copytree(ROOT / "policies" / "tests" / "qpi_commitment", repo / "policies" / "tests" / "qpi_commitment")
    new_facts, new_signed = (repo / FACTS).read_text(), (repo / SIGNED).read_text()
    (repo / FACTS).write_text(new_facts.replace("    signed: Flag = Field(", "    signature_on_file: Flag = Field("))
    (repo / SIGNED).write_text(new_signed.replace("signed:", "signature_on_file:"))
    git(repo, "init", "-q")
    git(repo, "add", ".")
    git(repo, "commit", "-qm", "old schema")
    (repo / FACTS).write_text(new_facts)
    (repo / SIGNED).write_text(new_signed)
    git(repo, "commit", "-qam", "new schema")
    return repo


def run(repo: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, object]:
    monkeypatch.chdir(repo)
    result = CliRunner().invoke(cli, ["diff", "--against", "HEAD~1", "policies", "--generated", "3",
                                      "--format", "json"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    data: dict[str, object] = json.loads(result.output)
    return data


def test_a_renamed_fact_compares_through_its_documented_mapping(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def rename(facts: dict[str, object]) -> dict[str, object]:
        out = {k: v for k, v in facts.items() if k != "signature_on_file"}
        out["signed"] = facts["signature_on_file"]
        return out

    monkeypatch.setattr(mappings, "MAPPINGS", [mappings.FactMapping(
        "signed_commitment", "signature-renamed", "signature_on_file became signed", rename)])
    data = run(repo, monkeypatch)
    notes = data["notes"]
    assert isinstance(notes, list)
    assert "qpi_commitment.signed-commitment: old cases mapped by signature-renamed (facts/mappings.py)" in notes
    assert "qpi_commitment.signed-commitment: fields the new schema dropped: signature_on_file" in notes
    impacts = {i["decision"]: i for i in data["impacts"]}  # type: ignore[attr-defined]
    assert impacts["qpi_commitment.signed-commitment"]["changed"] == 0
    assert impacts["qpi_commitment.signed-commitment"]["cases"] > 3
    # the new side's cases have no way back (no backward mapping): said, not silently dropped
    assert any(n.startswith("qpi_commitment.signed-commitment: not compared: ")
               and "new case(s) the old schema cannot state" in n for n in notes)


def test_without_a_mapping_the_old_cases_are_reported_not_compared(repo: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(mappings, "MAPPINGS", [])
    notes = run(repo, monkeypatch)["notes"]
    assert isinstance(notes, list)
    assert any(n.startswith("qpi_commitment.signed-commitment: not compared: ")
               and "old case(s) invalid in the new schema, no documented mapping" in n for n in notes)


def test_an_unknown_revision_is_a_clear_error(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(repo)
    result = CliRunner().invoke(cli, ["diff", "--against", "no-such-rev", "policies"])
    assert result.exit_code == 1 and "'no-such-rev' is not a git revision" in result.output
