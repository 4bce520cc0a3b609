"""`procedure check --format html` loaded in a real headless Chromium, driven through the DevTools
protocol as tests/test_service_ui_browser.py drives it (skipped without a browser, failed under
CI, as tests/test_coverage_html_browser.py does): the page loads with no console message of
level error and no exception, the statechart is drawn (an SVG with every state of qpr.home, laid
out with a size), and a case with a departure shows it with its clause and quoted sentence.
"""

from __future__ import annotations

import base64
import os
from pathlib import Path

from click.testing import CliRunner

from qpr_rules.cli.app import cli
from qpr_rules.cli.procedure_audit import procedure_group  # noqa: F401  (registers the group)
from qpr_rules.engine.engine import Engine
from tests.test_procedure_check import TO_HOLD, write
from tests.test_procedure_check_html import HOLD_SENTENCE, PLACED
from tests.test_service_ui_browser import _evaluate, chromium


def test_the_report_in_chromium(tmp_path: Path) -> None:
    events = write(tmp_path, ("home-3", [*TO_HOLD[:5], PLACED, *TO_HOLD[5:]]), ("home-9", TO_HOLD))
    page = tmp_path / "audit.html"
    result = CliRunner().invoke(cli, ["procedure", "check", str(events), "--format", "html", "-o", str(page)])
    assert result.exit_code == 1, result.output
    states = set(Engine.from_bundled().policies.procedures["qpr.home"].states)

    with chromium(tmp_path / "profile") as tools:
        target = tools.call("Target.createTarget", url="about:blank")["targetId"]
        session = tools.call("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]
        for domain in ("Page", "Runtime", "Log"):
            tools.call(f"{domain}.enable", session)
        tools.call("Page.navigate", session, url=page.as_uri())
        tools.wait_for("Page.loadEventFired")
        assert _evaluate(tools, session, "document.readyState") == "complete"

        drawn = _evaluate(tools, session, "[...document.querySelectorAll('#chart-1 g.state')]"
                                          ".map(g => g.dataset.state)")
        assert set(drawn) == states and len(drawn) == len(states)
        size = _evaluate(tools, session, "(b => [b.width, b.height])(document.getElementById('chart-1')"
                                         ".getBoundingClientRect())")
        assert size[0] > 300 and size[1] > 300  # laid out, not an empty box
        current = _evaluate(tools, session, "[...document.querySelectorAll('#chart-1 g.current')]"
                                            ".map(g => g.dataset.state)")
        assert current == ["waiting"]
        marked = _evaluate(tools, session, "[...document.querySelectorAll('#chart-1 g.departure')]"
                                           ".map(g => g.dataset.state + ': ' + g.querySelector('text.departures')"
                                           ".textContent)")
        assert marked == ["gathering: \u26a0 1 departure(s)"]
        assert _evaluate(tools, session, "document.querySelectorAll('#chart-2 g.departure').length") == 0

        departure = _evaluate(tools, session, "(d => [d.dataset.clause, d.innerText])(document.querySelector("
                                              "'section[data-case=\"home-3\"] .finding.departure'))")
        assert departure[0] == "hold.no-placements"
        assert "qpr.placement-made in gathering" in departure[1] and HOLD_SENTENCE in departure[1]
        assert _evaluate(tools, session, "document.querySelectorAll("
                                         "'section[data-case=\"home-9\"] .finding').length") == 0

        shot = tools.call("Page.captureScreenshot", session, captureBeyondViewport=True)
        png = base64.b64decode(shot["data"])
        assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 20_000  # a rendered page, not a blank one
        if os.environ.get("QPR_SCREENSHOTS"):
            shots = Path(os.environ["QPR_SCREENSHOTS"])
            shots.mkdir(parents=True, exist_ok=True)
            (shots / "procedure-check.png").write_bytes(png)

        # nothing went wrong while loading: no console error, no exception, no failed load
        errors = [e for e in tools.events
                  if e.get("method") == "Runtime.exceptionThrown"
                  or (e.get("method") == "Runtime.consoleAPICalled" and e["params"].get("type") == "error")
                  or (e.get("method") == "Log.entryAdded" and e["params"]["entry"].get("level") == "error")]
        assert errors == []
        tools.call("Browser.close")
