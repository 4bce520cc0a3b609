"""check, diff, fmt, schema and test: the analyst's tools, end to end on copies of the policies."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
import yaml
from click.testing import CliRunner

import qpr_rules.cli.analyst  # registers the analyst commands on cli
import qpr_rules.cli.core  # noqa: F401
from qpr_rules.analysis.fmt import format_file, format_text
from qpr_rules.cli.app import cli
from qpr_rules.schemas import policy_schema, render, scenario_schema
from qpr_rules.yaml_source import load_yaml_file

ROOT = Path(__file__).resolve().parents[1]


def invoke(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    return result.exit_code, result.output


@pytest.fixture()
def policies(tmp_path: Path) -> Path:
    target = tmp_path / "policies"
    shutil.copytree(ROOT / "policies", target)
    return target


def test_committed_schemas_are_in_sync() -> None:
    assert (ROOT / "schemas" / "policy.schema.json").read_text() == render(policy_schema())
    assert (ROOT / "schemas" / "scenario.schema.json").read_text() == render(scenario_schema())
    code, out = invoke("schema", "policy")
    assert code == 0 and out == render(policy_schema())


def _plain(data: object) -> object:
    return json.loads(json.dumps(data, default=str))


def test_schemas_accept_every_bundled_file_and_reject_mistakes() -> None:
    policy = json.loads((ROOT / "schemas" / "policy.schema.json").read_text())
    scenario = json.loads((ROOT / "schemas" / "scenario.schema.json").read_text())
    for path in sorted((ROOT / "policies").glob("*.yaml")):
        jsonschema.validate(_plain(load_yaml_file(path)[0]), policy)
    validator = _scenario_validator(scenario)
    for path in sorted((ROOT / "policies" / "tests").rglob("*.yaml")):
        validator.validate(_plain(load_yaml_file(path)[0]))
    data = _plain(load_yaml_file(ROOT / "policies" / "qpr.yaml")[0])
    data["rules"][0]["when"] = {"fact": "home.hold.kind", "equals": "permanent"}  # type: ignore[index]
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(data, policy)


def _scenario_validator(scenario: dict[str, object]) -> jsonschema.protocols.Validator:
    """The scenario schema with its relative references to schemas/facts/ resolvable, as an
    editor resolves them beside the committed file."""
    from referencing import Registry, Resource

    registry: Registry = Registry().with_resources(
        (f"facts/{p.name}", Resource.from_contents(json.loads(p.read_text())))
        for p in sorted((ROOT / "schemas" / "facts").glob("*.schema.json")))
    return jsonschema.Draft202012Validator(scenario, registry=registry)


def test_scenario_schema_types_facts_per_decision() -> None:
    """Editors complete `facts:` per decision: a misspelt fact field is flagged for the decision
    named by the scenario and for the decision named by the file."""
    validator = _scenario_validator(json.loads((ROOT / "schemas" / "scenario.schema.json").read_text()))
    good = _plain(load_yaml_file(ROOT / "policies" / "tests" / "qpr" / "placement_holds.yaml")[0])
    validator.validate(good)
    bad = json.loads(json.dumps(good))
    bad["scenarios"][0]["facts"]["placement"]["datee"] = "2024-01-01"  # type: ignore[index]
    errors = list(validator.iter_errors(bad))
    assert errors and any("datee" in e.message for e in errors), [e.message for e in errors]
    own = json.loads(json.dumps(good))
    own.pop("decision", None)
    for sc in own["scenarios"]:  # type: ignore[index]
        sc.setdefault("decision", good.get("decision") or sc.get("decision"))  # type: ignore[union-attr]
    own["scenarios"][0]["facts"]["child"]["agee"] = 3  # type: ignore[index]
    assert any("agee" in e.message for e in validator.iter_errors(own))


def test_check_passes_on_bundled_policies() -> None:
    code, out = invoke("check", "--strict", str(ROOT / "policies"))
    assert code == 0, out
    assert out.strip().splitlines()[-1].startswith("0 error(s), 0 warning(s),")


def test_check_reports_lint_findings(policies: Path) -> None:
    text = (policies / "qpr.yaml").read_text()
    text = text.replace("    clauses: [records.confidential]\n    when:\n      all:\n        - {fact: record, eq: qpr_referral}\n"
                        "        - {fact: action, eq: share_outside_cws}",
                        "    clauses: []\n    when:\n      all:\n        - {fact: record, eq: qpr_referral}\n"
                        "        - {fact: action, eq: share_outside_cws}")
    text = text.replace("text: Homes on hold are not to receive placements under any circumstances.",
                        "text: Homes on hold never receive placements.")
    (policies / "qpr.yaml").write_text(text)
    (policies / "tests" / "qpr" / "records.yaml").unlink()
    code, out = invoke("check", "--format", "json", str(policies))
    data = json.loads(out)
    codes = {(p["code"], p["severity"]) for p in data["problems"]}
    assert ("rule-without-clause", "warning") in codes
    assert ("rule-never-fires", "warning") in codes
    assert ("clause-not-quoted", "error") in codes
    assert code == 1
    strict, _ = invoke("check", "--strict", str(policies))
    assert strict == 1


def test_check_reports_a_failing_scenario(policies: Path) -> None:
    path = policies / "tests" / "qpr" / "records.yaml"
    path.write_text(path.read_text().replace("expect: {outcome: deny, fired: [qpr.records.no-upload]",
                                             "expect: {outcome: allow, fired: [qpr.records.no-upload]"))
    code, out = invoke("check", str(policies))
    assert code == 1
    assert "error scenario-failed: scenario 'a QPR referral is not uploaded to CWS/CMS' fails: outcome: expected 'allow', got 'deny'" in out


def test_diff_between_directories_shows_change_and_impact(policies: Path, tmp_path: Path) -> None:
    new = tmp_path / "new"
    shutil.copytree(policies, new)
    path = new / "qpr.yaml"
    path.write_text(path.read_text().replace("value: 365", "value: 730"))
    code, out = invoke("diff", str(policies), str(new), "--format", "json", "--generated", "50")
    assert code == 0
    data = json.loads(out)
    assert data["changes"] == [{"kind": "parameter", "id": "qpr:reinstatement_wait_days", "change": "changed",
                                "details": ["value: 365 -> 730"]}]
    impact = {i["decision"]: i for i in data["impacts"]}
    assert impact["qpr.reinstatement"]["changed"] >= 1
    assert impact["qpr.reinstatement"]["old_outcome"] == "eligible-for-review"
    assert impact["qpr.reinstatement"]["new_outcome"] == "not-eligible"
    assert impact["qpr.placement"]["changed"] == 0


def test_diff_against_a_git_revision() -> None:
    if subprocess.run(["git", "-C", str(ROOT), "rev-parse", "HEAD"], capture_output=True).returncode != 0:
        pytest.skip("not a git checkout")
    code, out = invoke("diff", "git:HEAD", str(ROOT / "policies"), "--generated", "20")
    assert code == 0 and "impact (outcomes that change" in out


def test_diff_unknown_revision_is_a_clear_error() -> None:
    code, out = invoke("diff", "no-such-rev", str(ROOT / "policies"))
    assert code == 1 and "'no-such-rev' is neither a directory nor a git revision" in out


def test_fmt_keeps_comments_and_data(tmp_path: Path) -> None:
    path = tmp_path / "p.yaml"
    path.write_text("# header comment\nformat: qpr-rules/v1   \nid: x  # trailing\nlist:\n- a\n-   b\n")
    assert format_file(path) is True
    text = path.read_text()
    assert text.startswith("# header comment\n") and "# trailing" in text
    assert "   \n" not in text
    assert format_file(path) is False  # idempotent


def test_fmt_check_mode_changes_nothing(tmp_path: Path) -> None:
    path = tmp_path / "p.yaml"
    original = "a:   1\nb:\n- x\n"
    path.write_text(original)
    code, out = invoke("fmt", "--check", str(path))
    assert code == 1 and "would reformat" in out
    assert path.read_text() == original


def test_fmt_refuses_bad_yaml_without_touching_the_file(tmp_path: Path) -> None:
    path = tmp_path / "p.yaml"
    path.write_text("a: 1\na: 2\n")
    code, out = invoke("fmt", str(path))
    assert code == 1 and "duplicate key 'a'" in out
    assert path.read_text() == "a: 1\na: 2\n"


def test_format_text_is_stable_on_bundled_files() -> None:
    for path in sorted((ROOT / "policies").rglob("*.yaml")):
        text = path.read_text()
        assert format_text(text, str(path)) == text, path


def test_test_command_reports_failures_with_trace(policies: Path) -> None:
    path = policies / "tests" / "qpr" / "records.yaml"
    path.write_text(path.read_text().replace("expect: {outcome: deny, fired: [qpr.records.no-upload]",
                                             "expect: {outcome: allow, fired: [qpr.records.no-upload]"))
    code, out = invoke("test", str(policies / "tests" / "qpr" / "records.yaml"))
    assert code == 1
    assert "FAIL " in out and "outcome: expected 'allow', got 'deny'" in out
    assert "qpr.records: DENY (decided)" in out
    others = len(yaml.safe_load(path.read_text())["scenarios"]) - 1
    assert out.strip().splitlines()[-1] == f"{others} passed, 1 failed"


def test_pytest_collects_scenarios_with_file_and_line(policies: Path) -> None:
    path = policies / "tests" / "qpr" / "records.yaml"
    path.write_text(path.read_text().replace("expect: {outcome: deny, fired: [qpr.records.no-upload]",
                                             "expect: {outcome: allow, fired: [qpr.records.no-upload]"))
    result = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(path)],
                            capture_output=True, text=True, cwd=policies.parent)
    assert result.returncode == 1
    assert f"{path}:" in result.stdout and "outcome: expected 'allow', got 'deny'" in result.stdout
    others = len(yaml.safe_load(path.read_text())["scenarios"]) - 1
    assert f"1 failed, {others} passed" in result.stdout


def test_check_warns_about_an_unused_named_condition(policies: Path) -> None:
    path = policies / "qpr.yaml"
    path.write_text(path.read_text().replace("\nconditions:\n", "\nconditions:\n  spare: {fact: home.id, eq: X}\n"))
    code, out = invoke("check", "--strict", str(policies))
    assert code == 1
    assert "warning condition-unused: condition spare is used by no rule (and so not type-checked); use it with `{use: spare}` or remove it" in out


def test_diff_reports_a_changed_named_condition(policies: Path, tmp_path: Path) -> None:
    new = tmp_path / "new"
    shutil.copytree(policies, new)
    path = new / "qpr.yaml"
    # a revision that would keep reinstated homes on hold
    path.write_text(path.read_text().replace("  home-on-hold: {fact: hold_state, eq: in_force}\n",
                                             "  home-on-hold: {fact: hold_state, ne: none}\n", 1))
    code, out = invoke("diff", str(policies), str(new), "--format", "json", "--generated", "200")
    assert code == 0
    data = json.loads(out)
    assert [c["id"] for c in data["changes"]] == ["qpr:home-on-hold"]
    placement = {i["decision"]: i for i in data["impacts"]}["qpr.placement"]
    # some generated homes whose privileges were reinstated are now denied
    assert placement["changed"] >= 1


def test_check_surfaces_an_indicator_no_belief_maps_to(policies: Path) -> None:
    # the practice model's crosswalk: drop the only mapping of indicator 9 and check names it
    path = policies / "practice_model.yaml"
    text = path.read_text()
    rules_part = text.split("\ninvariants:")[0]  # the invariants read every indicator too
    assert rules_part.count("        - {fact: practice.i9_intervention_adequacy, ") == 2
    path.write_text("\n".join(line for line in text.split("\n")
                              if "{fact: practice.i9_intervention_adequacy, " not in line) + "\n")
    code, out = invoke("check", "--format", "json", str(policies))
    problems = json.loads(out)["problems"]
    notes = [p["message"] for p in problems if p["code"] == "fact-field-unread"]
    assert "no rule of practice_model.beliefs reads: practice.i9_intervention_adequacy" in notes
    # the note is information; what fails are the scenarios written from the source's crosswalk
    failed = [p["message"] for p in problems if p["code"] == "scenario-failed"]
    assert failed and all("9 - Intervention Adequacy" in m for m in failed)
    assert code == 1


def test_committed_fact_schemas_are_in_sync() -> None:
    from qpr_rules.schemas import fact_schemas

    committed = {p.name.removesuffix(".schema.json") for p in (ROOT / "schemas" / "facts").glob("*.schema.json")}
    schemas = fact_schemas()
    assert committed == set(schemas)
    for name, schema in schemas.items():
        assert (ROOT / "schemas" / "facts" / f"{name}.schema.json").read_text() == render(schema), name


# ------------------------------------------------------------------------ issue 18.6 and 18.8


def _invoke_caught(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args))
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise AssertionError(f"{args}: {result.exception!r}") from result.exception
    return result.exit_code, result.output


def test_diff_never_passes_a_revision_to_git_as_an_option(tmp_path: Path) -> None:
    if subprocess.run(["git", "-C", str(ROOT), "rev-parse", "HEAD"], capture_output=True).returncode != 0:
        pytest.skip("not a git checkout")
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me")
    for rev in (f"--output={victim}", f"git:--output={victim}", "-o" + str(victim), "--remote=/nowhere"):
        code, out = _invoke_caught("diff", "--", rev, str(ROOT / "policies"))
        assert code == 1 and "nor a git revision" in out, (rev, out)
        assert victim.read_text() == "keep me", rev


def test_fmt_on_a_self_referencing_symlink_is_a_clear_error(tmp_path: Path) -> None:
    loop = tmp_path / "loop.yaml"
    loop.symlink_to(loop)
    for args in (["fmt", str(loop)], ["fmt", "--check", str(loop)], ["fmt", "--diff", str(loop)],
                 ["fmt", str(tmp_path)]):
        code, out = _invoke_caught(*args)
        assert code == 2 and "loop.yaml: cannot read: Too many levels of symbolic links" in out, (args, out)


@pytest.mark.parametrize("brk", ["\x85", "\u2028", "\u2029"])
def test_fmt_refuses_line_breaks_that_yaml_versions_read_differently(tmp_path: Path, brk: str) -> None:
    for i, text in enumerate([f"a: 1{brk}b: 2\n", f"a: x{brk}y\nb: 2\n", f'a: "x{brk}y"\n', f"# c{brk}a: 1\n"]):
        path = tmp_path / f"{i}.yaml"
        path.write_text(text, encoding="utf-8")
        for args in (["fmt", str(path)], ["fmt", "--check", str(path)], ["fmt", "--diff", str(path)],
                     ["validate", str(path)]):
            code, out = _invoke_caught(*args)
            assert code == 1 and f"{path}:1:" in out and f"U+{ord(brk):04X}" in out, (args, out)
        assert path.read_text(encoding="utf-8") == text
