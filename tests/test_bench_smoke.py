"""The benchmark's implementations all agree with the hand-written baseline (a quick run)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_bench_implementations_agree() -> None:
    result = subprocess.run([sys.executable, str(ROOT / "bench" / "bench_placement.py"), "--quick", "--check"],
                            capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "implementations agree on all 300 cases" in result.stdout


def test_coverage_log_bench_runs_and_counts_every_line() -> None:
    result = subprocess.run([sys.executable, str(ROOT / "bench" / "bench_coverage_log.py"), "--lines", "3000",
                             "--per-decision", "20", "--verify"],
                            capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "read 3,000 lines in" in result.stdout and "lines per second" in result.stdout
    assert "chain verified" in result.stdout and "peak RSS" in result.stdout
    assert "3000 decision(s) counted" in result.stdout


def test_service_bench_runs_small_with_no_error_and_no_wrong_answer() -> None:
    """bench/bench_service.py at a few hundred requests (the full run is 10^5: docs/benchmarks.md)."""
    result = subprocess.run([sys.executable, str(ROOT / "bench" / "bench_service.py"), "--requests", "300",
                             "--workers", "1", "--connections", "8"],
                            capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "300 answers to 300 requests with distinct facts" in result.stdout
    assert "errors: 0; missing: 0; wrong answers: 0" in result.stdout


def test_store_bench_runs_small_and_replays_every_case_whole() -> None:
    """bench/bench_store.py at 100 cases (the full run is 10^5 x 10: docs/benchmarks.md)."""
    result = subprocess.run([sys.executable, str(ROOT / "bench" / "bench_store.py"), "--cases", "100",
                             "--full-sample", "20"],
                            capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "100 cases x 10 events = 1,000 events" in result.stdout
    assert "every case replayed whole and in order" in result.stdout
    assert "replay: histories() folded through the fold" in result.stdout


def test_scale_bench_runs_small_with_both_evaluators_and_no_unknown_proof() -> None:
    """bench/bench_scale.py at 10 rules (the full run is 10 to 5,000 rules: docs/benchmarks.md)."""
    result = subprocess.run([sys.executable, str(ROOT / "bench" / "bench_scale.py"), "--sizes", "10",
                             "--cases", "50", "--durable-cases", "10", "--sample", "5", "--prove-max", "10"],
                            capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "compiled evaluator (growth order" in result.stdout
    assert "durable evaluator (growth order" in result.stdout
    assert "prove unknown: 0" in result.stdout
    # prove's static checks by parts against the route before them: the same findings
    assert "10: " in result.stdout.split("parts against a solver question a pair")[1]
    assert "same findings" in result.stdout and "FINDINGS DIFFER" not in result.stdout


def test_jobs_bench_runs_small_and_jobs_2_answers_as_jobs_1() -> None:
    """bench/bench_jobs.py at 300 cases, compiled (the full run is 10^5, both evaluators)."""
    result = subprocess.run([sys.executable, str(ROOT / "bench" / "bench_jobs.py"), "--cases", "300",
                             "--evaluators", "compiled", "--check"],
                            capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "DIFFERENT ANSWERS" not in result.stdout
    assert result.stdout.count(" compiled ") == 4  # batch and API, jobs 1 and 2


def test_around_bench_runs_small_and_prints_each_ratio() -> None:
    """bench/bench_around.py on a 10-rule generated policy, 20 cases."""
    result = subprocess.run([sys.executable, str(ROOT / "bench" / "bench_around.py"), "--sizes", "10",
                             "--cases", "20", "--no-bundled"],
                            capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    row = next(line for line in result.stdout.splitlines() if line.startswith("generated, 10 rules"))
    assert row.count("x)") == 4  # to_json, lean to_json, logged decide, explain against decide


def test_replay_bench_runs_small_and_the_replay_equals_engine_case() -> None:
    """bench/bench_replay.py at 2,000 cases (the full run is 10^5 x 10: docs/benchmarks.md):
    every case replayed in one and in two processes alike, and the sample replayed alone by
    Engine.case gives the same results."""
    result = subprocess.run([sys.executable, str(ROOT / "bench" / "bench_replay.py"), "--cases", "2000"],
                            capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2,000 cases x 10 events = 20,000 events" in result.stdout
    assert "2 (1 in 1,000) replayed alone by Engine.case too: the same state" in result.stdout
    assert "Engine.replay to each case's state, 2 processes" in result.stdout
