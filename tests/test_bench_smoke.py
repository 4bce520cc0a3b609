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
