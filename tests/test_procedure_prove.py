"""`qpr-rules procedure prove`: the QPR procedure as a transition system with its guards. The
bundled procedure holds; a procedure that lets a permanent hold out ("RF placed on permanent hold
are not eligible for reinstatement of privileges") is caught, with the events that show it."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from click.testing import CliRunner

from qpr_rules.analysis.procedure_check import check_procedure, discharging
from qpr_rules.cli.app import cli
from qpr_rules.cli.procedure_audit import procedure_group  # noqa: F401  (registers the group)
from qpr_rules.engine.engine import Engine

ROOT = Path(__file__).resolve().parents[1]


def test_the_bundled_procedure_holds() -> None:
    engine = Engine.from_bundled(evaluator="compiled")
    proof = check_procedure(engine, "qpr.home")
    assert proof.violations == ()
    assert proof.states > 20
    spec = engine.policies.procedures["qpr.home"]
    # the duties of step 2 end when the referral is screened, not on a further concern
    assert discharging(spec, "screening") == ["qpr.referral-screened"]
    assert discharging(spec, "review") == ["qpr.review-decided"]


def _policies_with(tmp_path: Path, old: str, new: str) -> Path:
    out = tmp_path / "policies"
    shutil.copytree(ROOT / "policies", out)
    text = (out / "qpr.yaml").read_text(encoding="utf-8")
    assert old in text
    (out / "qpr.yaml").write_text(text.replace(old, new, 1), encoding="utf-8")
    return out


def test_a_way_out_of_a_permanent_hold_is_found_with_its_events(tmp_path: Path) -> None:
    escape = ("    transitions:\n"
              "      - {from: permanent-hold, event: qpr.review-decided, to: good-standing,"
              " record: {reinstated_on: {fact: event.on}}, clause: reinstatement.request-after-date}\n")
    policies = _policies_with(tmp_path, "        clause: actions.permanent-hold\n        final: true\n",
                              "        clause: actions.permanent-hold\n")
    text = (policies / "qpr.yaml").read_text(encoding="utf-8").replace("    transitions:\n", escape, 1)
    (policies / "qpr.yaml").write_text(text, encoding="utf-8")
    result = CliRunner().invoke(cli, ["procedure", "prove", "qpr.home", "-p", str(policies)])
    assert result.exit_code == 1, result.output
    assert "VIOLATED permanent-hold-no-reinstatement" in result.output
    events = [json.loads(line) for line in result.output.splitlines() if line.startswith("  {")]
    # the events: a QPR concluded with a permanent hold, then a review that reinstated
    concluded = next(i for i, e in enumerate(events) if "permanent_hold" in e.get("actions", []))
    assert events[-1]["type"] == "qpr.review-decided" and events[-1]["reinstated"] is True
    assert concluded < len(events) - 1


def test_a_duty_only_a_catch_all_ends_is_found(tmp_path: Path) -> None:
    """Step 3 "Gather the following information for QPR": without the transition on
    qpr.information-gathered, only a further concern (a catch-all) would touch the duty."""
    policies = _policies_with(
        tmp_path, "      - {from: gathering, event: qpr.information-gathered, to: internal-review, clause: step3.gather}\n", "")
    result = CliRunner().invoke(cli, ["procedure", "prove", "qpr.home", "-p", str(policies)])
    assert result.exit_code == 1, result.output
    assert "VIOLATED duty-discharged: gathering" in result.output
