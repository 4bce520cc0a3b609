"""bench/bench_partial.py runs, with no unknown answer and no disagreement with the whole facts
(its timings are not asserted: they are the benchmark's, docs/benchmarks.md)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_partial_bench_runs_with_no_unknown_and_no_disagreement() -> None:
    result = subprocess.run([sys.executable, str(ROOT / "bench" / "bench_partial.py"), "--cases", "12", "--check"],
                            capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "12 partial qpr.placement cases:" in result.stdout and " 0 unknown;" in result.stdout
    assert "disagreements with the whole facts: 0" in result.stdout
    assert "headline (issue 23.4: every case under 100 ms): slowest case " in result.stdout
    assert "load, once per decision" in result.stdout
    assert "Engine.decide, the whole facts (durable), CPU" in result.stdout
