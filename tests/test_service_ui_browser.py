"""The service's pages in a real headless Chromium (Debian's, as .ci/run installs it): the form
generated from the placement facts schema is filled for a home on hold, submitted, and the page
the browser shows reads `deny` with the policy's quoted sentence.

Chromium is driven through the DevTools protocol over a pipe (`--remote-debugging-pipe`: JSON
messages ended by NUL on file descriptors 3 and 4), which needs no driver package. Without a
browser the test is skipped (failed under CI), as tests/test_coverage_html_browser.py does.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from tests.service_server import serving
from tests.test_coverage_html_browser import FLAGS, _browser
from tests.test_service import ENGINE, HOLD_SENTENCE

#: The form's fields (named by their path in the facts) for a proposed placement into a home on
#: hold pending QPR; everything else is left as the generated form has it.
HOME_ON_HOLD = {
    "placement.date": "2026-03-02", "placement.status": "proposed", "placement.cleared_with_pco": "true",
    "child.age": "9", "child.gender": "male",
    "home.id": "RH-0457", "home.approval": "rfa", "home.approval_status": "active",
    "home.hold.kind": "pending_qpr", "home.hold.placed_on": "2026-02-20",
}


class DevTools:
    """The DevTools protocol over Chromium's pipe: send a command, wait for its reply or an event."""

    def __init__(self, process: subprocess.Popen[bytes], to_browser: int, from_browser: int) -> None:
        self.process, self.out, self.inp = process, to_browser, from_browser
        self.next_id = 0
        self.buffer = b""
        self.events: list[dict[str, Any]] = []

    def _read(self, deadline: float) -> dict[str, Any]:
        while b"\0" not in self.buffer:
            assert time.monotonic() < deadline, "no answer from Chromium in time"
            chunk = os.read(self.inp, 65536)
            assert chunk, "Chromium closed its pipe"
            self.buffer += chunk
        message, _, self.buffer = self.buffer.partition(b"\0")
        parsed: dict[str, Any] = json.loads(message)
        return parsed

    def call(self, method: str, session: str | None = None, **params: Any) -> dict[str, Any]:
        self.next_id += 1
        message: dict[str, Any] = {"id": self.next_id, "method": method, "params": params}
        if session:
            message["sessionId"] = session
        os.write(self.out, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + 30
        while True:
            reply = self._read(deadline)
            if reply.get("id") == self.next_id:
                assert "error" not in reply, reply
                result: dict[str, Any] = reply["result"]
                return result
            self.events.append(reply)

    def wait_for(self, method: str, seconds: float = 30) -> dict[str, Any]:
        deadline = time.monotonic() + seconds
        while True:
            for i, event in enumerate(self.events):
                if event.get("method") == method:
                    return self.events.pop(i)
            self.events.append(self._read(deadline))


@contextmanager
def chromium(profile: Path) -> Iterator[DevTools]:
    browser = _browser()
    to_r, to_w = os.pipe()
    from_r, from_w = os.pipe()

    def on_3_and_4() -> None:  # in the child: the pipe ends where Chromium looks for them
        a, b = os.dup(to_r), os.dup(from_w)
        os.dup2(a, 3)
        os.dup2(b, 4)
        os.set_inheritable(3, True)
        os.set_inheritable(4, True)

    process = subprocess.Popen([browser, *FLAGS, "--remote-debugging-pipe", f"--user-data-dir={profile}",
                                "about:blank"], pass_fds=(3, 4), preexec_fn=on_3_and_4,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    os.close(to_r)
    os.close(from_w)
    try:
        yield DevTools(process, to_w, from_r)
    finally:
        os.close(to_w)
        os.close(from_r)
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


def _evaluate(tools: DevTools, session: str, expression: str) -> Any:
    result = tools.call("Runtime.evaluate", session, expression=expression, returnByValue=True)
    assert "exceptionDetails" not in result, result
    return result["result"].get("value")


def test_the_form_for_a_home_on_hold_answers_deny_with_the_quoted_sentence(tmp_path: Path) -> None:
    with serving(tmp=tmp_path) as server, chromium(tmp_path / "profile") as tools:
        listed = httpx.get(server.url + "/").text
        assert all(f'href="/ui/decisions/{d}"' in listed for d in ENGINE.decision_ids)
        target = tools.call("Target.createTarget", url="about:blank")["targetId"]
        session = tools.call("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]
        tools.call("Page.enable", session)
        tools.call("Page.navigate", session, url=server.url + "/ui/decisions/qpr.placement")
        tools.wait_for("Page.loadEventFired")
        names = _evaluate(tools, session, "[...document.querySelectorAll('#facts [name]')].map(e => e.name)")
        assert set(HOME_ON_HOLD) <= set(names), names
        fill = ";".join(f"document.querySelector('[name=\"{k}\"]').value = {json.dumps(v)}"
                        for k, v in HOME_ON_HOLD.items())
        _evaluate(tools, session, fill + "; document.getElementById('decide').click(); true")
        tools.wait_for("Page.loadEventFired")
        outcome = _evaluate(tools, session, "document.getElementById('outcome').textContent")
        sources = _evaluate(tools, session, "[...document.querySelectorAll('blockquote.source')]"
                                            ".map(e => e.textContent)")
        reason = _evaluate(tools, session, "document.getElementById('reason').textContent")
        kept = _evaluate(tools, session, "document.querySelector('[name=\"home.hold.kind\"]').value")
        assert outcome == "deny", (outcome, reason)
        assert any(HOLD_SENTENCE in s for s in sources), sources
        assert "on hold pending QPR" in reason and kept == "pending_qpr"
        tools.call("Browser.close")
