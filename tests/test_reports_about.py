"""Reports an auditor can file (issue 20, items 1 and 4): every report says which policies it
judged (their directory, digest and revision), when and by which command it was made; sources
are named by their titles; each level has one name in every format; the project's configuration
carries the coverage gates; and `diff` resolves its policies as every other command does."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from xml.etree import ElementTree as ET

import pytest
from click.testing import CliRunner

from qpr_rules import Engine
from qpr_rules.cli.app import cli
from qpr_rules.files import shown_path

ROOT = Path(__file__).resolve().parents[1]
POLICIES = ROOT / "policies"
HOLDS = POLICIES / "tests" / "qpr" / "placement_holds.yaml"
QPR_TITLE = "Quality Parenting Review (QPR)"  # policies/sources/index.yaml, for 000_4b5b4e0ce51b2960.txt


@pytest.fixture(scope="module")
def digest() -> str:
    return Engine.load([POLICIES]).digest


def _invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args))
    assert "Traceback" not in result.output
    return result.exit_code, result.stdout, result.stderr


def test_every_coverage_format_names_the_policies_the_time_and_the_command(tmp_path: Path, digest: str) -> None:
    args = ["coverage", "run", "-p", str(POLICIES), str(HOLDS)]
    code, text, _ = _invoke(*args)
    assert code == 0
    first, second = text.splitlines()[:2]
    assert first.startswith(f"policies {shown_path(POLICIES)} (digest {digest[:16]}, revision ")
    assert re.fullmatch(r"generated \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ by `qpr-rules coverage run -p .+`", second)

    code, out, _ = _invoke(*args, "--format", "json")
    about = json.loads(out)["about"]
    assert about["digest"] == digest and about["policies"] == shown_path(POLICIES)
    assert about["command"].startswith("qpr-rules coverage run -p ") and about["command"].endswith("--format json")
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", about["generated"]) and about["revision"]

    code, out, _ = _invoke(*args, "--format", "xml")
    assert f"<?qpr-rules policies {shown_path(POLICIES)} (digest {digest[:16]}" in out
    assert "by `qpr-rules coverage run -p " in out
    ET.fromstring(out.split("\n", 1)[1])  # still well-formed XML (diff-cover reads it: test_coverage_tools)

    code, out, _ = _invoke(*args, "--format", "lcov")
    assert re.findall(r"^TN:(.*)$", out, re.M) == [f"qpr_rules_policies_{digest[:16]}"] * 5  # the format's only field

    code, _, _ = _invoke(*args, "--format", "html", "-o", str(tmp_path / "html"))
    index = (tmp_path / "html" / "index.html").read_text()
    assert f'data-digest="{digest}"' in index and "by <code>qpr-rules coverage run -p " in index
    assert f"quoting {QPR_TITLE}" in index and "000_4b5b4e0ce51b2960.txt" not in index
    page = (tmp_path / "html" / "qpr.html").read_text()
    assert f"quoting <cite title=\"000_4b5b4e0ce51b2960.txt\">{QPR_TITLE}</cite>" in page


def test_sources_are_named_by_their_titles_and_the_level_by_one_name(tmp_path: Path) -> None:
    policies = tmp_path / "policies"
    shutil.copytree(POLICIES, policies)
    qpr = policies / "qpr.yaml"
    text = qpr.read_text()
    # a quoted sentence left unquoted: the sentence level misses it
    start = text.index("not_normative:")
    qpr.write_text(text[:start] + text[start:].replace("  - text:", "  - text: x", 1))
    _, out, _ = _invoke("coverage", "run", "-p", str(policies), "-m")
    assert "Missing sentences (" in out and f"  {QPR_TITLE}, line " in out
    assert "000_4b5b4e0ce51b2960.txt" not in out
    _code, out, _ = _invoke("coverage", "run", "-p", str(policies), "--format", "json")
    data = json.loads(out)
    assert "sentences" in data["totals"] and "sources" not in data["totals"]
    qpr_file = next(f for f in data["files"] if f["policy"] == "qpr")
    assert qpr_file["document_title"] == QPR_TITLE
    assert qpr_file["missing"]["sentences"] and qpr_file["missing"]["sentences"][0].startswith(QPR_TITLE)


def test_test_and_validate_say_which_policies(digest: str) -> None:
    code, out, _ = _invoke("test", str(HOLDS), "-q")
    assert code == 0
    # "from .../pyproject.toml" here: the checkout's configuration names these policies
    assert out.splitlines()[0].startswith(f"policies {shown_path(POLICIES)} (digest {digest[:16]}, ")
    code, out, _ = _invoke("validate", str(POLICIES))
    assert code == 0 and out.startswith("ok: 5 file(s), ") and f"; digest {digest[:16]}; policies {shown_path(POLICIES)} (" in out


def test_verbose_names_the_policies_on_stderr(digest: str) -> None:
    _code, out, err = _invoke("--verbose", "decide", "qpr.placement", "-p", str(POLICIES),
                             "--facts", str(ROOT / "examples" / "placement_home_on_hold.yaml"))
    assert f"policies {shown_path(POLICIES)} (digest {digest[:16]}, " in err
    assert "policies" not in out.splitlines()[0]  # the answer itself is unchanged


def test_the_project_configuration_carries_the_coverage_gates(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                              digest: str) -> None:
    shutil.copytree(POLICIES, tmp_path / "policies")
    (tmp_path / "qpr-rules.toml").write_text(
        'policies = "policies"\nscenarios = "policies/tests/qpr/placement_holds.yaml"\n\n'
        '[coverage]\nrequire = ["rules=100"]\n')
    monkeypatch.chdir(tmp_path)
    code, out, err = _invoke("coverage", "run")
    assert code == 1 and "FAIL: rules coverage" in err  # one scenario file covers few rules
    assert out.splitlines()[0] == f"policies {shown_path(tmp_path / 'policies')} (digest {digest[:16]}, revision " \
        + out.splitlines()[0].split(", revision ", 1)[1]
    code, _, err = _invoke("coverage", "run", "--require", "rules=1")  # the option wins
    assert code == 0, err
    code, out, _ = _invoke("test", "-q")
    assert out.splitlines()[0] == (f"policies {shown_path(tmp_path / 'policies')} (digest {digest[:16]}, "
                                   f"from {shown_path(tmp_path / 'qpr-rules.toml')})")
    (tmp_path / "qpr-rules.toml").write_text('policies = "policies"\n[coverage]\nfail_under = "all"\n')
    code, _, err = _invoke("coverage", "run")
    assert code == 2 and "coverage `fail_under` is a percentage from 0 to 100" in err


def test_diff_compares_with_the_projects_policies(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    shutil.copytree(POLICIES, tmp_path / "policies")
    old = tmp_path / "old"
    shutil.copytree(POLICIES, old)
    monkeypatch.chdir(tmp_path)
    code, _, err = _invoke("diff", str(old))  # no configuration: refuses to guess
    assert code == 2 and "no qpr-rules configuration" in err
    (tmp_path / "qpr-rules.toml").write_text('policies = "policies"\n')
    qpr = tmp_path / "policies" / "qpr.yaml"
    qpr.write_text(qpr.read_text().replace("title: A home on hold pending QPR receives no placements",
                                           "title: A home on hold pending QPR gets no placements", 1))
    code, out, err = _invoke("diff", str(old), "--generated", "5")
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0].startswith(f"old policies {old} (digest ") and lines[1].startswith(
        f"new policies {tmp_path / 'policies'} (digest ")
    assert "~ rule qpr.placement.hold-pending-qpr (changed)" in out
