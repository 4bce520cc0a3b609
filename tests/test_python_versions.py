"""durable_rules on every supported Python: the PyEval_CallObject shim is loaded exactly where
CPython lacks the function (3.13+), and durable_rules then imports and fires a rule."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import yaml

from qpr_rules import Engine
from qpr_rules.engine.durable_import import SHIM_NEEDED_FROM, load_pyeval_shim

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def test_shim_loaded_exactly_where_the_c_api_lacks_pyeval_callobject() -> None:
    path = load_pyeval_shim()
    if sys.version_info[:2] >= SHIM_NEEDED_FROM:
        assert path is not None and "_pyeval_shim" in path
    else:
        assert path is None


def test_without_the_shim_durable_rules_fails_only_on_313_and_later() -> None:
    """Why the shim exists: a bare import of durable_rules' engine in a fresh interpreter."""
    bare = subprocess.run([sys.executable, "-c", "import durable.engine"], capture_output=True, text=True,
                          timeout=120)
    if sys.version_info[:2] >= SHIM_NEEDED_FROM:
        assert bare.returncode != 0 and "PyEval_CallObject" in bare.stderr, bare.stderr[-1000:]
    else:
        assert bare.returncode == 0, bare.stderr[-1000:]


def test_durable_rules_fires_on_this_python() -> None:
    engine = Engine.from_bundled()
    facts = yaml.safe_load((EXAMPLES / "placement_home_on_hold.yaml").read_text(encoding="utf-8"))
    decision = engine.decide("qpr.placement", facts)
    assert decision.status == "decided", decision.reason  # durable and the reference agreed
    assert decision.outcome == "deny"
    assert decision.fired, "durable_rules fired no rule for a home on hold"
