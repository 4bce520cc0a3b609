#!/usr/bin/env bash
# Measure each test's seconds on this machine and write tests/test_times.json, from which
# tests/conftest.py leaves the tests over its budget (TIME_BUDGET_S) to the slow step, but for the
# quickest test of each file. Run it on a quiet machine after adding slow tests:
#
#   bash scripts/test-times.sh            # every test but the soaks and sweeps (about 25 minutes)
#   bash scripts/test-times.sh tests/test_docs.py   # only some
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
log=$(mktemp)
trap 'rm -f "$log"' EXIT
QPR_TEST_TIMES="$log" QPR_IGNORE_TIME_BUDGET=1 .venv/bin/python -m pytest -n "${QPR_TEST_WORKERS:-2}" \
  -p no:cacheprovider -m "not slow" "$@" || true  # a failing test is measured too
.venv/bin/python scripts/test_times.py "$log" tests/test_times.json
