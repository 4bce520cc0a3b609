"""The HTML coverage report, loaded in a real headless Chromium: the DOM the browser built holds
the totals, a covered and an uncovered clause and the source text, and a screenshot is taken.

Without a browser the test is skipped with how to install one; under CI (`CI=true`, where
.ci/run installs Debian's `chromium`) a missing browser fails it. `QPR_SCREENSHOTS=DIR` keeps the
screenshots (docs/audit.md shows the one taken here).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest

from qpr_rules.coverage.collect import run_scenarios
from qpr_rules.coverage.htmlreport import write_html
from qpr_rules.coverage.report_core import CoverageReport, build_report

ROOT = Path(__file__).resolve().parents[1]
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]
INSTALL = "install one with `apt-get install -y chromium` (Debian/Ubuntu) or set CHROMIUM=/path/to/chrome"


def _browser() -> str:
    found = os.environ.get("CHROMIUM") or next(
        (p for p in (shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome")) if p), None)
    if found is None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"no headless Chromium under CI: .ci/run should have installed it; {INSTALL}")
        pytest.skip(f"no headless Chromium found; {INSTALL}")
    return found


def _chromium(browser: str, profile: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([browser, *FLAGS, f"--user-data-dir={profile}", *args], capture_output=True,
                          text=True, timeout=120)


class _Dom(HTMLParser):
    """Elements of the DOM Chromium dumped: (tag, attributes, text inside)."""

    def __init__(self) -> None:
        super().__init__()
        self.elements: list[tuple[str, dict[str, str], list[str]]] = []
        self._open: list[int] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append((tag, {k: v or "" for k, v in attrs}, []))
        if tag not in ("meta", "br", "link", "img", "input"):
            self._open.append(len(self.elements) - 1)

    def handle_endtag(self, tag: str) -> None:
        while self._open:
            if self.elements[self._open.pop()][0] == tag:
                break

    def handle_data(self, data: str) -> None:
        for i in self._open:
            self.elements[i][2].append(data)

    def find(self, tag: str, **attrs: str) -> list[tuple[dict[str, str], str]]:
        return [(a, " ".join("".join(t).split())) for name, a, t in self.elements
                if name == tag and all(a.get(k.replace("_", "-")) == v for k, v in attrs.items())]


def _dom(browser: str, profile: Path, page: Path) -> _Dom:
    result = _chromium(browser, profile, "--dump-dom", page.as_uri())
    assert result.returncode == 0, result.stderr[-2000:]
    dom = _Dom()
    dom.feed(result.stdout)
    return dom


@pytest.fixture(scope="module")
def report() -> CoverageReport:
    """Coverage of one scenario file only, so that the report has covered and uncovered parts."""
    run = run_scenarios([ROOT / "policies"], [ROOT / "policies" / "tests" / "qpr" / "placement_holds.yaml"])
    return build_report(run.engine.policies, run.data)


def test_html_report_in_chromium(report: CoverageReport, tmp_path: Path) -> None:
    browser = _browser()
    index = write_html(report, tmp_path / "html")
    profile = tmp_path / "profile"

    dom = _dom(browser, profile, index)
    for level in report.levels:  # the totals row shows the report's numbers
        ((attrs, text),) = [(a, t) for a, t in dom.find("th", data_level=level)]
        ratio = report.ratio(level)
        assert (attrs["data-hit"], attrs["data-total"]) == (str(ratio.hit), str(ratio.total))
        assert text.startswith(f"{ratio.hit}/{ratio.total} ")
    links = {a["href"] for a, _ in dom.find("a")}
    assert {f"{f.policy}.html" for f in report.files} <= links

    page = _dom(browser, profile, index.parent / "qpr.html")
    rows = [(a["data-line"], a["class"], t) for a, t in page.find("tr") if "sentence" in a.get("class", "")]

    def row(line: str, start: str) -> tuple[str, str]:
        (found,) = [(css, text) for n, css, text in rows if n == line and text.startswith(f"{line} {start}")]
        return found

    # covered: the sentence on homes on hold, quoted by a clause whose rule fired in the scenarios
    css, text = row("87", "Homes on hold are not to receive placements under any circumstances.")
    assert css == "sentence covered"
    assert "hold.no-placements" in text and "qpr.placement.hold-pending-qpr" in text
    # uncovered: restricting the age range is a computable clause no scenario of this run reaches
    css, text = row("47", "Restrict age range, number, or gender of children placed in the resource home.")
    assert css == "sentence missed" and "actions.restrict-children" in text
    # not normative: a heading, with its reason
    css, text = row("85", "Homes on hold")
    assert css == "sentence not-normative" and "A section heading." in text
    clause_chips = {t: a["class"] for a, t in page.find("span") if "chip" in a.get("class", "")}
    assert clause_chips["hold.no-placements"] == "chip covered"
    assert clause_chips["actions.restrict-children"] == "chip missed"
    # the source text is all there: every sentence of the document has its row
    qpr = next(f for f in report.files if f.policy == "qpr")
    assert len(rows) == len(qpr.sentences) == 112
    missing = [t for _, t in page.find("li", data_level="clauses")]
    assert any("actions.restrict-children" in m for m in missing)

    shots = Path(os.environ.get("QPR_SCREENSHOTS") or tmp_path)
    shots.mkdir(parents=True, exist_ok=True)
    pages = (("coverage-index.png", index, "1280,800"), ("coverage-qpr.png", index.parent / "qpr.html", "1280,2400"))
    for name, target, size in pages:  # the policy page tall enough to show covered and missed rows
        result = _chromium(browser, profile, f"--window-size={size}", f"--screenshot={shots / name}",
                           target.as_uri())
        assert result.returncode == 0, result.stderr[-2000:]
        png = (shots / name).read_bytes()
        assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 20_000  # a rendered page, not a blank one
