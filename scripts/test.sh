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
# Coverage gate of the bundled policies' own scenarios (docs/audit.md): every rule fired and not
# fired, every computable clause covered, every source sentence quoted or marked, every atomic
# condition seen both true and false, and every rule mutant that is not proved equivalent killed
# by a scenario (about 40 s on 2 cores).
.venv/bin/qpr-rules coverage run --require rules=100 --require clauses=100 --require sources=100 \
  --require conditions=100 --require mutants=100 -j 2 -p policies
.venv/bin/qpr-rules prove policies >/dev/null  # every invariant proved, no dead or shadowed rule
# both cores: pytest-xdist runs the tests in 2 worker processes (each test is independent: its own
# engine, temporary files and free ports)
.venv/bin/python -m pytest -n "${QPR_TEST_WORKERS:-2}" "$@"
bash scripts/test-pythons.sh
