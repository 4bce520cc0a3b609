"""`qpr-rules interview`: one question at a time, only those that can change the answer, until it
is determined; the facts gathered written as a facts file (issue 23.3). Answers are piped."""

from __future__ import annotations

from pathlib import Path

import yaml
from click.testing import CliRunner

from qpr_rules.cli.app import cli


def _run(*args: str, answers: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["interview", *args], input=answers)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise AssertionError(result.output) from result.exception
    return result.exit_code, result.output


def test_from_the_child_alone_to_a_determined_answer(tmp_path: Path) -> None:
    child = tmp_path / "child.yaml"
    child.write_text("child: {age: 9, gender: male}\n")
    out = tmp_path / "facts.yaml"
    code, output = _run("qpr.placement", "--facts", str(child), "--out", str(out),
                        answers="active\nyes\n2026-03-02\n0\nno\nnone\n")
    assert code == 0, output
    lines = output.splitlines()
    assert lines[0].startswith("qpr.placement: open: deny or allow still possible")
    asked = [line.split(":")[0][2:] for line in lines if line.startswith("? ")]
    # the question that settles the answer most often first; never one that cannot change it
    # (the siblings placed together count against a restriction and are checked by it: issue 17.7)
    assert asked == ["home.approval_status", "placement.cleared_with_pco", "placement.date",
                     "placement.siblings", "home.hold", "home.restrictions"]
    assert "  1. active, 2. inactive, 3. revoked, 4. rescinded  (inactive settles it: deny; " \
           "revoked settles it: deny; rescinded settles it: deny)  [empty or ?: not known]" in lines
    assert "qpr.placement: ALLOW, determined: every valid completion of the known facts gets 'allow' " \
           "(proved for lists of any length)" in lines
    assert yaml.safe_load(out.read_text()) == {
        "child": {"age": 9, "gender": "male"},
        "home": {"approval_status": "active", "hold": None, "restrictions": None},
        "placement": {"cleared_with_pco": True, "date": "2026-03-02", "siblings": []},
    }


def test_an_answer_that_settles_it_ends_the_interview() -> None:
    code, output = _run("qpr.placement", answers="revoked\n")
    assert code == 0
    assert output.count("? ") == 1
    assert "qpr.placement: DENY, determined" in output


def test_a_wrong_answer_is_asked_again_and_unknown_ones_are_skipped(tmp_path: Path) -> None:
    out = tmp_path / "facts.yaml"
    code, output = _run("qpr.placement", "--out", str(out), answers="sleeping\n?\nmaybe\nyes\n")
    assert "  answer one of active, inactive, revoked, rescinded (or its number)" in output
    assert "  answer yes or no" in output
    # the answers ended before the answer was determined: exit 1, and the facts so far written
    assert code == 1
    assert "still open: deny or allow; the answers ended" in output
    assert yaml.safe_load(out.read_text()) == {"placement": {"cleared_with_pco": True}}


def test_a_list_is_asked_for_by_its_number_of_items(tmp_path: Path) -> None:
    facts = tmp_path / "known.yaml"
    facts.write_text("child: {age: 9, gender: male}\nplacement: {date: 2026-03-02, cleared_with_pco: true, "
                     "status: proposed, siblings: []}\nhome: {approval_status: active, hold: null, "
                     "restrictions: {max_children: 2, min_child_age: null, max_child_age: null, genders: null}}\n")
    code, output = _run("qpr.placement", "--facts", str(facts), answers="2\n")
    assert "? home.children_placed: The children living in the home now" in output
    assert code == 0 and "qpr.placement: DENY, determined" in output


def test_an_unknown_decision_is_refused_before_asking() -> None:
    code, output = _run("qpr.placment", answers="")
    assert code == 1 and output.startswith("error: unknown decision 'qpr.placment'")
    assert "did you mean 'qpr.placement'?" in output and "\n? " not in output
