"""`qpr-rules procedure check --format html`: the page an auditor files, read as HTML (no browser;
tests/test_procedure_check_browser.py loads it in Chromium), and the statechart drawn in it
(analysis.procedure_svg). The histories are those of tests/test_procedure_check.py, written from
the procedure table, "Homes on hold" and "Reinstatement of privileges"."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from qpr_rules.analysis.procedure_svg import layout, svg
from qpr_rules.cli.app import cli
from qpr_rules.cli.procedure_audit import procedure_group  # noqa: F401  (registers the group)
from qpr_rules.engine.engine import Engine
from qpr_rules.policy.procedures import ProcedureSpec
from tests.test_coverage_html_browser import _Dom
from tests.test_procedure_check import REINSTATED, TO_HOLD, write

ROOT = Path(__file__).resolve().parents[1]
HOLD_SENTENCE = "Homes on hold are not to receive placements under any circumstances."
NOTICE_SENTENCE = ("The PCO Manager will notify the Regional Manager if a child from their region/program "
                   "has been placed in a home placed on hold.")
# a placement made while the hold pending QPR was in force (step 3), with the child's region
PLACED: dict[str, Any] = {"type": "qpr.placement-made", "by": "placing-sw", "on": "2025-01-07",
                          "children": [{"age": 8, "gender": "female"}], "children_in_home": 0, "child_region": "east"}


@pytest.fixture(scope="module")
def spec() -> ProcedureSpec:
    return Engine.from_bundled().policies.procedures["qpr.home"]


def html(*args: str) -> tuple[int, str, _Dom]:
    result = CliRunner().invoke(cli, ["procedure", "check", *args, "--format", "html"])
    dom = _Dom()
    dom.feed(result.stdout)
    return result.exit_code, result.stdout, dom


def test_the_page_names_what_it_judged_and_what_made_it() -> None:
    code, page, dom = html("examples/procedure/home-17.jsonl")
    assert code == 1  # two departures: found, as the text report exits
    ((_, text),) = dom.find("p", id="about")
    digest = Engine.from_bundled().digest
    assert f"digest {digest[:16]}" in text and "revision pqcr@" in text
    assert "by qpr-rules procedure check examples/procedure/home-17.jsonl --format html." in text
    ((_, sources),) = dom.find("p", id="sources")
    assert "quoting Quality Parenting Review (QPR)" in sources  # the document by its title
    ((summary, _),) = dom.find("p", id="summary")
    assert (summary["data-cases"], summary["data-findings"]) == ("1", "2")
    assert page.count('<script') == 0 and "http://" not in page.replace("http://www.w3.org/2000/svg", "")


def test_a_placement_on_hold_is_shown_with_its_clause_sentence_and_the_notice_not_given(tmp_path: Path) -> None:
    events = write(tmp_path, ("home-3", [*TO_HOLD[:5], PLACED, *TO_HOLD[5:]]))
    code, _, dom = html(str(events))
    assert code == 1
    ((dep, text),) = dom.find("div", **{"class": "finding departure"})
    assert (dep["data-event"], dep["data-clause"]) == ("6", "hold.no-placements")
    assert "qpr.placement-made in gathering" in text and HOLD_SENTENCE in text
    assert "Consequence: Any SW who makes a placement in a home that is on hold" in text
    ((_, qtext),) = dom.find("blockquote", data_clause="hold.no-placements")
    assert qtext.startswith(HOLD_SENTENCE) and "(Homes on hold)" in qtext
    ((notice, ntext),) = dom.find("div", **{"class": "finding notice"})
    assert (notice["data-clause"], notice["data-who"]) == ("hold.notify-regional-manager", "pco-manager")
    assert "Created by departure 6" in ntext and NOTICE_SENTENCE in ntext
    # the chart: the departure's state outlined, the case's state filled, the steps it took bold
    states = {a["data-state"]: a["class"] for a, _ in dom.find("g") if "data-state" in a}
    assert states["gathering"] == "state leaf departure"
    assert states["waiting"] == "state leaf current"
    taken = {a["data-index"] for a, _ in dom.find("g") if a.get("class") == "transition taken"}
    assert {"0", "4", "13"} <= taken  # the concern, the warranted consultation, the gathering done


def test_a_case_followed_to_reinstatement_shows_no_departure(tmp_path: Path) -> None:
    code, _, dom = html(str(write(tmp_path, ("home-1", [*TO_HOLD, *REINSTATED]))))
    assert code == 0
    assert not dom.find("div", **{"class": "finding departure"})
    section = [t for a, t in dom.find("section") if a.get("data-case") == "home-1"]
    assert "No departure." in section[0] and "Not checked (no --as-of date)." in section[0]


def test_as_of_lists_the_duties_owed_on_that_date(tmp_path: Path) -> None:
    code, _, dom = html(str(write(tmp_path, ("home-2", TO_HOLD))), "--as-of", "2025-01-05")
    assert code == 1
    ((duty, text),) = dom.find("div", **{"class": "finding duty"})
    assert duty["data-clause"] == "step2.review" and "not done by 2025-01-05" in text
    assert "Review and consult with PCO PSS" in text
    assert [t for _, t in dom.find("h3") if t.startswith("Duties")] == ["Duties never discharged by 2025-01-05"]


def test_every_case_has_its_own_chart_with_unique_ids(tmp_path: Path) -> None:
    events = write(tmp_path, ("a", TO_HOLD), ("b", [*TO_HOLD[:5], PLACED]))
    _, page, dom = html(str(events))
    charts = dom.find("svg")
    assert [a["id"] for a, _ in charts] == ["chart-1", "chart-2"]
    ids = [a["id"] for _, a, _ in dom.elements if "id" in a]
    assert len(ids) == len(set(ids))  # arrow markers are per chart: no id twice in the page
    assert 'url(#chart-2-arrow)' in page


def test_html_to_a_file(tmp_path: Path) -> None:
    out = tmp_path / "audit.html"
    result = CliRunner().invoke(cli, ["procedure", "check", "examples/procedure/home-17.jsonl",
                                      "--format", "html", "-o", str(out)])
    assert result.exit_code == 1 and result.stdout == ""
    assert "wrote " in result.stderr and "1 case(s), 2 finding(s)" in result.stderr
    assert out.read_text().startswith("<!doctype html>")
    result = CliRunner().invoke(cli, ["procedure", "check", "examples/procedure/home-17.jsonl",
                                      "--format", "html", "-o", str(tmp_path)])
    assert result.exit_code == 2 and "Traceback" not in result.output


@pytest.mark.parametrize("fmt", ["text", "json", "html"])
def test_empty_input_is_refused(tmp_path: Path, fmt: str) -> None:
    empty = tmp_path / "events.jsonl"
    empty.write_text("\n")
    result = CliRunner().invoke(cli, ["procedure", "check", str(empty), "--format", fmt])
    assert result.exit_code == 1 and result.stdout == ""
    assert "no event, so no case to check; no report written" in result.stderr
    # every event after the date checked: nothing left to check either
    events = write(tmp_path, ("home-1", TO_HOLD))
    result = CliRunner().invoke(cli, ["procedure", "check", str(events), "--format", fmt, "--as-of", "2024-12-31"])
    assert result.exit_code == 1 and "no event on or before 2024-12-31" in result.stderr


def test_the_chart_draws_every_state_and_transition(spec: ProcedureSpec) -> None:
    dom = _Dom()
    dom.feed(svg(spec))
    drawn = {a["data-state"] for a, _ in dom.find("g") if "data-state" in a}
    assert drawn == set(spec.states)
    arrows = {int(a["data-index"]) for a, _ in dom.find("g") if "transition" in a.get("class", "")}
    assert arrows == {t.index for t in spec.transitions if t.transition.to is not None}
    for a, text in dom.find("g"):  # a transition that stays is listed on its own state
        if "data-state" in a:
            listed = {int(n) for n in text.split("\u21bb")[1].split()} if "\u21bb" in text else set()
            stays = {t.index + 1 for t in spec.transitions
                     if t.transition.to is None and t.transition.from_ == a["data-state"]}
            assert listed == stays, a["data-state"]


def test_the_layout_nests_frames_and_keeps_boxes_apart(spec: ProcedureSpec) -> None:
    rects = layout(spec).rects
    leaves = [sid for sid, s in spec.states.items() if s.leaf]
    for i, a in enumerate(leaves):  # no two state boxes overlap
        for b in leaves[i + 1:]:
            ra, rb = rects[a], rects[b]
            assert ra.x + ra.w <= rb.x or rb.x + rb.w <= ra.x or ra.y + ra.h <= rb.y or rb.y + rb.h <= ra.y, (a, b)
    for sid, s in spec.states.items():  # each state inside the frame of each of its parents
        for parent in s.path[:-1]:
            inner, outer = rects[sid], rects[parent]
            assert outer.x < inner.x and outer.y < inner.y, (sid, parent)
            assert inner.x + inner.w < outer.x + outer.w and inner.y + inner.h < outer.y + outer.h, (sid, parent)
    for sid, s in spec.states.items():  # a leaf outside a compound state is outside its frame
        for other, o in spec.states.items():
            if s.leaf and not o.leaf and other not in s.path:
                r, f = rects[sid], rects[other]
                assert r.x + r.w <= f.x or f.x + f.w <= r.x or r.y + r.h <= f.y or f.y + f.h <= r.y, (sid, other)
    # rows follow the steps of the procedure table: step 1 above step 2 above step 3 ...
    steps = ["consultation", "form", "screening", "hold-assessment", "gathering", "internal-review", "call"]
    ys = [rects[s].y for s in steps]
    assert ys == sorted(ys) and len(set(ys)) == len(ys)


def test_the_json_report_is_unchanged_by_the_html_one(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["procedure", "check", "examples/procedure/home-17.jsonl", "--format", "json"])
    assert json.loads(result.stdout)["findings"] == 2
