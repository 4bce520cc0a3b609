"""The service's operations against real server processes: bearer tokens (named, the name logged),
reload by POST /v1/admin/reload and by SIGHUP (atomic; a policy set with problems refused and the
old one kept), several workers (metrics added up across them, one decision log per worker), and
an internal failure answered with a refusal, never a traceback."""

from __future__ import annotations

import asyncio
import json
import shutil
import signal
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from qpr_rules import Engine
from qpr_rules.service.app import create_app
from qpr_rules.service.auth import TokenFileError, load_tokens
from qpr_rules.service.config import ServiceConfig
from tests.service_server import serving
from tests.test_service import HOLD, PLACEMENT

ROOT = Path(__file__).resolve().parents[1]
ALICE, ADMIN = "alice-token-0123456789abcdef", "admin-token-fedcba9876543210"


def _tokens(tmp: Path) -> Path:
    path = tmp / "tokens"
    path.write_text(f"# name token\nalice {ALICE}\nops-admin {ADMIN}\n")
    return path


def _policies(tmp: Path) -> Path:
    target = tmp / "policies"
    shutil.copytree(ROOT / "policies", target, ignore=shutil.ignore_patterns("tests"))
    return target


def _retitle(policies: Path, suffix: str) -> None:
    """A valid change that changes the digest: a rule's title."""
    path = policies / "qpr.yaml"
    text = path.read_text()
    at = text.index("    title: ") + len("    title: ")
    end = text.index("\n", at)
    path.write_text(text[:end] + suffix + text[end:])


def test_tokens_guard_the_api_and_the_callers_name_is_logged(tmp_path: Path) -> None:
    with serving("--tokens", str(_tokens(tmp_path)), tmp=tmp_path) as server, server.client() as c:
        missing = c.post(f"/v1/decisions/{PLACEMENT}", json=HOLD)
        wrong = c.post(f"/v1/decisions/{PLACEMENT}", json=HOLD, headers={"Authorization": "Bearer " + ALICE[:-1]})
        for response in (missing, wrong):
            assert response.status_code == 401 and response.json()["outcome"] == "deny"
            assert response.headers["www-authenticate"].startswith("Bearer")
        ok = c.post(f"/v1/decisions/{PLACEMENT}", json=HOLD, headers={"Authorization": f"Bearer {ALICE}",
                                                                          "X-Request-ID": "by-alice"})
        assert ok.status_code == 200 and ok.json()["outcome"] == "deny"
        assert c.get("/v1/decisions").status_code == 401
        assert c.get("/health").status_code == 200 and c.get("/ready").status_code == 200
        doc = c.get("/openapi.json").json()
        assert doc["security"] == [{"bearer": []}]
        time.sleep(0.2)
        assert "by-alice caller=alice POST /v1/decisions/qpr.placement 200" in server.log_text()


@pytest.mark.parametrize(("text", "words"), [
    ("alice short\n", "shorter than 16"), ("alice a b\n", "two words"),
    (f"alice {ALICE}\nalice {ADMIN}\n", "given twice"), ("# nothing\n", "no token"),
    (f"al ice {ALICE}\n", "two words"), (f"alice {ALICE}\nbob {ALICE}\n", "another name's token"),
])
def test_a_tokens_file_with_a_problem_is_refused_naming_the_line(tmp_path: Path, text: str, words: str) -> None:
    path = tmp_path / "tokens"
    path.write_text(text)
    with pytest.raises(TokenFileError, match=words):
        load_tokens(path)


def test_admin_reload_swaps_atomically_and_refuses_a_broken_policy_set(tmp_path: Path) -> None:
    policies = _policies(tmp_path)
    admin = {"Authorization": f"Bearer {ADMIN}"}
    with serving("--policies", str(policies), "--tokens", str(_tokens(tmp_path)), tmp=tmp_path) as server, \
            server.client() as c:
        before = c.get("/ready").json()["policy_digest"]
        assert c.post("/v1/admin/reload").status_code == 401  # the admin route always needs a token
        _retitle(policies, " (revised)")
        reloaded = c.post("/v1/admin/reload", headers=admin)
        assert reloaded.status_code == 200, reloaded.text
        after = reloaded.json()["policy_digest"]
        assert after != before and reloaded.json()["previous_digest"] == before
        answer = c.post(f"/v1/decisions/{PLACEMENT}", json=HOLD, headers=admin)
        assert answer.headers["x-policy-digest"] == answer.json()["policy_digest"] == after
        assert after == Engine.load([policies]).digest

        (policies / "qpr.yaml").write_text((policies / "qpr.yaml").read_text() + "\nnot: [valid\n")
        refused = c.post("/v1/admin/reload", headers=admin)
        assert refused.status_code == 409 and refused.headers["content-type"] == "application/problem+json"
        body = refused.json()
        assert body["problems"] and all("qpr.yaml" in p["file"] for p in body["problems"])
        assert body["policy_digest"] == after == c.get("/ready").json()["policy_digest"]
        assert c.post(f"/v1/decisions/{PLACEMENT}", json=HOLD, headers=admin).json()["outcome"] == "deny"
        time.sleep(0.2)
        assert "policies reloaded by ops-admin" in server.log_text()


def _wait_for_digest(c: httpx.Client, digest: str, seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while c.get("/ready").json()["policy_digest"] != digest:
        assert time.monotonic() < deadline, "the reload did not happen"
        time.sleep(0.1)


def test_sighup_reloads_and_keeps_the_old_policies_on_problems(tmp_path: Path) -> None:
    policies = _policies(tmp_path)
    with serving("--policies", str(policies), tmp=tmp_path) as server, server.client() as c:
        _retitle(policies, " (by SIGHUP)")
        server.process.send_signal(signal.SIGHUP)
        _wait_for_digest(c, Engine.load([policies]).digest)
        good = Engine.load([policies]).digest
        (policies / "qpr.yaml").write_text("policy: [broken\n")
        server.process.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + 10
        while "keeping" not in server.log_text():
            assert time.monotonic() < deadline, server.log_text()
            time.sleep(0.1)
        assert c.get("/ready").json()["policy_digest"] == good
        assert "qpr.yaml" in server.log_text()


def test_several_workers_add_up_their_metrics_and_keep_a_log_each(tmp_path: Path) -> None:
    log = tmp_path / "decisions.jsonl"
    n = 60
    with serving("--workers", "2", "--decision-log", str(log), tmp=tmp_path) as server:
        for _ in range(n):  # a new connection each: the kernel spreads them over the workers
            with server.client() as c:
                assert c.post(f"/v1/decisions/{PLACEMENT}", json=HOLD).json()["outcome"] == "deny"
        with server.client() as c:
            text = c.get("/metrics").text
    total = sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
                if line.startswith('qpr_decisions_total{decision="qpr.placement",outcome="deny",status="decided"}'))
    assert total == n, text
    files = sorted(tmp_path.glob("decisions.worker-*.jsonl"))
    assert files and not log.exists()
    records = [json.loads(x) for f in files for x in f.read_text().splitlines()]
    assert len(records) == n and all(r["request_id"] for r in records)


def test_an_internal_failure_is_a_refusal_not_a_traceback() -> None:
    """Whatever fails inside the service, the answer on a placement route is a problem that
    carries `deny` (in-process: the failure is injected into the Engine in service)."""
    app: Any = create_app(ServiceConfig())

    def boom(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("injected failure")

    app.service.engine.decide = boom

    async def call() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            return await client.post(f"/v1/decisions/{PLACEMENT}", json=HOLD)

    response = asyncio.run(call())
    assert response.status_code == 500 and response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["outcome"] == "deny" and body["answer"]["outcome"] == "deny"
    assert "Traceback" not in response.text and "injected" not in response.text
    assert response.headers["x-request-id"] in body["detail"]


def test_serve_without_the_extra_says_which_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    from click.testing import CliRunner

    from qpr_rules.cli import serve as serve_cli
    from qpr_rules.cli.app import cli

    monkeypatch.setattr(serve_cli, "_importable", lambda module: module != "uvicorn")
    result = CliRunner().invoke(cli, ["serve"])
    assert result.exit_code == 2
    assert "pip install 'qpr-rules[serve]'" in result.output and "missing: uvicorn" in result.output


def test_sigterm_finishes_the_request_in_flight(tmp_path: Path) -> None:
    """Graceful shutdown: a batch whose body is still arriving when SIGTERM comes is answered in
    full, and then the server shuts down and exits."""
    import socket

    line = json.dumps(HOLD).encode() + b"\n"
    with serving(tmp=tmp_path) as server:
        host, port = server.url.removeprefix("http://").split(":")
        with socket.create_connection((host, int(port)), timeout=20) as sock:
            sock.sendall(f"POST /v1/decisions/{PLACEMENT}/batch HTTP/1.1\r\nHost: x\r\n"
                         "Content-Type: application/x-ndjson\r\nTransfer-Encoding: chunked\r\n\r\n".encode())
            sock.sendall(b"%x\r\n%s\r\n" % (len(line), line))
            time.sleep(0.3)
            server.process.send_signal(signal.SIGTERM)
            time.sleep(0.3)
            sock.sendall(b"%x\r\n%s\r\n0\r\n\r\n" % (len(line), line))
            received = b""
            while not received.endswith(b"0\r\n\r\n"):
                chunk = sock.recv(65536)
                if not chunk:
                    break
                received += chunk
        answers = [json.loads(x) for x in received.split(b"\r\n") if x.startswith(b'{"consequences"')]
        assert [a["outcome"] for a in answers] == ["deny", "deny"], received[-500:]
        # uvicorn finishes, runs the shutdown, then ends the process by the signal it was sent
        assert server.process.wait(timeout=30) in (0, -signal.SIGTERM)
        assert "Application shutdown complete" in server.log_text()
