"""The decision service under load: `qpr-rules serve` on localhost, driven by a real HTTP load
generator, every answer compared with the library's.

wrk (Debian's package) with a Lua script when it is installed, else a Python asyncio/httpx
generator (`--tool python`). N placement requests, each with distinct generated facts (the home
id numbers them); each response body is written out with its X-Request-ID and compared, after the
run, byte for byte with `Engine.decide(...).to_json()` for the same facts. Prints requests/s,
p50/p99 latency, errors and wrong answers; exits 1 on any error or wrong answer.

    .venv/bin/python bench/bench_service.py                      # 10^5 requests, wrk if found
    .venv/bin/python bench/bench_service.py --requests 300 --tool python   # the CI smoke size

Results: docs/benchmarks.md ("The decision service").
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import platform
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from qpr_rules import Engine  # noqa: E402
from qpr_rules.analysis.generate import sample  # noqa: E402

DECISION = "qpr.placement"

LUA = r"""
-- Each wrk thread sends its share of the facts (every T-th line, from its own offset), numbering
-- each request by X-Request-ID, writes "id<TAB>status<TAB>body" per response, and stops when its
-- share is answered.
local threads, counter = {}, 0
function setup(thread)
  thread:set("offset", counter)
  counter = counter + 1
  table.insert(threads, thread)
end
function init(args)
  local facts_file, out_prefix, nthreads = args[1], args[2], tonumber(args[3])
  facts = {}
  local i = 0
  for line in io.lines(facts_file) do
    if i % nthreads == offset then table.insert(facts, {i, line}) end
    i = i + 1
  end
  out = io.open(out_prefix .. "." .. offset, "w")
  sent, answered = 0, 0
end
function request()
  sent = sent + 1
  local item = facts[((sent - 1) % #facts) + 1]
  local headers = {["Content-Type"] = "application/json", ["X-Request-ID"] = tostring(item[1])}
  return wrk.format("POST", nil, headers, item[2])
end
function response(status, headers, body)
  answered = answered + 1
  if answered <= #facts then
    out:write(headers["x-request-id"] or headers["X-Request-ID"] or "?", "\t", status, "\t", body, "\n")
    if answered % 500 == 0 then out:flush() end
  end
  if answered >= #facts then out:flush(); wrk.thread:stop() end
end
function done(summary, latency, requests)
  io.write(string.format('WRK {"requests": %d, "seconds": %f, "p50_ms": %f, "p99_ms": %f, "mean_ms": %f, ' ..
    '"connect": %d, "read": %d, "write": %d, "status": %d, "timeout": %d}\n',
    summary.requests, summary.duration / 1e6, latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    latency.mean / 1000, summary.errors.connect, summary.errors.read, summary.errors.write,
    summary.errors.status, summary.errors.timeout))
end
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def make_facts(n: int, seed: int) -> list[bytes]:
    """n distinct, valid placement fact sets (the home id numbers each one)."""
    engine = Engine.from_bundled(evaluator="compiled")
    pool = sample(engine.fact_model(DECISION), min(n, 5000), seed=seed)
    out = []
    for i in range(n):
        facts = json.loads(json.dumps(pool[i % len(pool)], default=str))
        facts["home"]["id"] = f"RH-{i:07d}"
        out.append(json.dumps(facts, separators=(",", ":")).encode())
    return out


def start_server(workers: int, evaluator: str, tmp: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    log = (tmp / "server.log").open("wb")
    process = subprocess.Popen([sys.executable, "-c", "from qpr_rules.cli import main; main()", "serve",
                                "--port", str(port), "--workers", str(workers), "--evaluator", evaluator],
                               stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    import httpx

    while True:
        try:
            if httpx.get(url + "/ready", timeout=1).status_code == 200:
                break
        except httpx.TransportError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            raise SystemExit("the server did not start:\n" + (tmp / "server.log").read_text())
        time.sleep(0.05)
    # warm every worker: the first decision registers the durable_rules ruleset
    for _ in range(20 * workers):
        httpx.post(url + f"/v1/decisions/{DECISION}", content=b"{}",
                   headers={"Content-Type": "application/json"})
    return process, url


def stop_server(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _lines_written(tmp: Path, prefix: str) -> int:
    return sum(part.read_bytes().count(b"\n") for part in tmp.glob(prefix + ".*"))


def run_wrk(url: str, facts_file: Path, out_prefix: Path, n: int, threads: int, connections: int,
            tmp: Path) -> tuple[dict[str, Any], list[tuple[str, int, bytes]]]:
    """wrk runs for a fixed duration (a thread that stops early still waits for it), so the run is
    timed here: from wrk's start until every answer is written, then wrk is interrupted (SIGINT:
    it prints its latency summary and exits)."""
    script = tmp / "decide.lua"
    script.write_text(LUA)
    threads = min(threads, connections)
    limit = max(120, n // 100)
    started = time.perf_counter()
    process = subprocess.Popen(["wrk", "-t", str(threads), "-c", str(connections), "-d", f"{limit}s",
                                "--latency", "--timeout", "10s", "-s", str(script),
                                f"{url}/v1/decisions/{DECISION}",
                                "--", str(facts_file), str(out_prefix), str(threads)],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    while _lines_written(tmp, out_prefix.name) < n and process.poll() is None:
        if time.perf_counter() - started > limit:
            break
        time.sleep(0.05)
    seconds = time.perf_counter() - started
    process.send_signal(signal.SIGINT)
    stdout, stderr = process.communicate(timeout=60)
    lines = [x for x in stdout.splitlines() if x.startswith("WRK ")]
    if not lines:
        raise SystemExit(f"wrk failed:\n{stdout}\n{stderr}")
    stats = json.loads(lines[0][4:])
    stats["seconds"] = seconds
    answers = []
    for part in sorted(tmp.glob(out_prefix.name + ".*")):
        for raw in part.read_bytes().split(b"\n"):
            if raw:
                rid, status, body = raw.split(b"\t", 2)
                answers.append((rid.decode(), int(status), body))
    stats["errors"] = stats["connect"] + stats["read"] + stats["write"] + stats["status"] + stats["timeout"]
    return stats, answers


Answers = list[tuple[str, int, bytes]]


def run_python(url: str, facts: list[bytes], connections: int) -> tuple[dict[str, Any], Answers]:
    import httpx

    answers: list[tuple[str, int, bytes]] = []
    latencies: list[float] = []
    errors = 0

    async def worker(client: httpx.AsyncClient, indices: range) -> None:
        nonlocal errors
        for i in indices:
            started = time.perf_counter()
            try:
                r = await client.post(f"/v1/decisions/{DECISION}", content=facts[i],
                                      headers={"Content-Type": "application/json", "X-Request-ID": str(i)})
            except httpx.HTTPError:
                errors += 1
                continue
            latencies.append(time.perf_counter() - started)
            answers.append((r.headers.get("x-request-id", "?"), r.status_code, r.content))

    async def main() -> float:
        limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
        async with httpx.AsyncClient(base_url=url, limits=limits, timeout=30) as client:
            started = time.perf_counter()
            shares = [range(k, len(facts), connections) for k in range(connections)]
            await asyncio.gather(*(worker(client, share) for share in shares))
            return time.perf_counter() - started

    seconds = asyncio.run(main())
    ordered = sorted(latencies)
    stats = {"requests": len(answers), "seconds": seconds,
             "p50_ms": statistics.median(ordered) * 1000 if ordered else 0,
             "p99_ms": ordered[int(len(ordered) * 0.99) - 1] * 1000 if ordered else 0,
             "mean_ms": statistics.fmean(ordered) * 1000 if ordered else 0, "errors": errors}
    return stats, answers


def check(answers: list[tuple[str, int, bytes]], facts: list[bytes], evaluator: str) -> tuple[int, int]:
    """(answers missing or duplicated, wrong answers): each body against the library's own."""
    engine = Engine.from_bundled(evaluator=evaluator)  # type: ignore[arg-type]
    seen: set[int] = set()
    wrong = 0
    for rid, status, body in answers:
        i = int(rid) if rid.isdigit() else -1
        if not 0 <= i < len(facts) or i in seen:
            wrong += 1
            continue
        seen.add(i)
        if status != 200 or body != engine.decide(DECISION, facts[i]).to_json().encode():
            wrong += 1
    return len(facts) - len(seen), wrong


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=100_000)
    parser.add_argument("--workers", type=int, default=2, help="server worker processes")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    parser.add_argument("--tool", choices=["auto", "wrk", "python"], default="auto")
    parser.add_argument("--evaluator", choices=["durable", "compiled"], default="durable")
    parser.add_argument("--seed", type=int, default=22)
    args = parser.parse_args()
    tool = args.tool if args.tool != "auto" else ("wrk" if shutil.which("wrk") else "python")
    facts = make_facts(args.requests, args.seed)
    with tempfile.TemporaryDirectory(prefix="qpr-bench-service-") as name:
        tmp = Path(name)
        facts_file = tmp / "facts.jsonl"
        facts_file.write_bytes(b"\n".join(facts) + b"\n")
        process, url = start_server(args.workers, args.evaluator, tmp)
        try:
            if tool == "wrk":
                stats, answers = run_wrk(url, facts_file, tmp / "answers", args.requests, args.threads,
                                         args.connections, tmp)
            else:
                stats, answers = run_python(url, facts, args.connections)
        finally:
            stop_server(process)
    missing, wrong = check(answers, facts, args.evaluator)
    rate = len(answers) / stats["seconds"] if stats["seconds"] else 0.0
    print(f"machine: {platform.machine()}, {os.cpu_count()} CPU(s), {platform.python_implementation()} "
          f"{platform.python_version()}, {platform.platform()}; date {dt.date.today().isoformat()}")
    print(f"tool: {tool}; server: {args.workers} worker(s), evaluator {args.evaluator}; "
          f"{args.connections} connections")
    print(f"{len(answers):,} answers to {args.requests:,} requests with distinct facts "
          f"in {stats['seconds']:.1f} s: "
          f"{rate:,.0f} requests/s; latency p50 {stats['p50_ms']:.2f} ms, p99 {stats['p99_ms']:.2f} ms")
    print(f"errors: {stats['errors']}; missing: {missing}; wrong answers: {wrong} "
          "(each body compared byte for byte with Engine.decide(...).to_json())")
    return 0 if stats["errors"] == 0 and missing == 0 and wrong == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
