"""Every facts file in examples/ (run by scripts/demo.sh) is valid for its decision."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from qpr_rules import Engine

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = sorted((ROOT / "examples").glob("*.yaml"))
ENGINE = Engine.load([ROOT / "policies"])


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.name for p in EXAMPLES])
def test_example_facts_decide_without_error(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    decision = next(line.removeprefix("# decision: ") for line in text.splitlines()
                    if line.startswith("# decision: "))
    result = ENGINE.decide(decision, yaml.safe_load(text))
    assert result.status != "error", result.errors
