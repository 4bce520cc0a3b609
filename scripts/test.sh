#!/usr/bin/env bash
# Set up, lint the code and the policies, prove the invariants, run the whole test suite (unit,
# property, YAML scenario, guard, CLI and packaging tests), then the wheel and engine tests under
# every supported Python.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/ruff check src tests bench
.venv/bin/mypy
.venv/bin/qpr-rules check --strict policies
.venv/bin/qpr-rules fmt --check policies
.venv/bin/qpr-rules prove policies >/dev/null  # every invariant proved, no dead or shadowed rule
.venv/bin/python -m pytest "$@"
bash scripts/test-pythons.sh
