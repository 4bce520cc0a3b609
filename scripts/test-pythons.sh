#!/usr/bin/env bash
# The wheel and the engine under every supported Python: for each version a venv in
# .venv-X.Y with the test extras, then the packaging tests (the wheel built and installed without
# extras in a fresh venv, every CLI command and hook run from outside the checkout) and the engine
# tests. Each interpreter's pass counts are printed (its whole output only when a test fails), then
# one line per interpreter. Fails if a version is missing: install it (e.g. `pyenv install 3.13`)
# or set QPR_PYTHONS to the versions to run. scripts/test.sh sets QPR_PYTHONS_DONE to its own
# Python's version, whose tests its main run has just run.
set -euo pipefail
cd "$(dirname "$0")/.."
versions="${QPR_PYTHONS:-3.11 3.12 3.13}"
summary=""
status=0
for v in $versions; do
  py=$(bash scripts/find-python.sh "$v") || {
    echo "error: Python $v not found on PATH or under pyenv; install it or set QPR_PYTHONS" >&2; exit 1; }
  if [ "$v" = "${QPR_PYTHONS_DONE:-}" ]; then  # scripts/test.sh's main run was this Python
    echo "== Python $v: its packaging and engine tests ran in the main run above"
    summary="$summary  Python $v: in the main run above"$'\n'
    continue
  fi
  venv=".venv-$v"
  VENV="$venv" PYTHON="$py" bash scripts/setup.sh
  full=$("$venv/bin/python" -c 'import sys; print(sys.version.split()[0])')
  echo "== Python $v ($full)"
  log=$(mktemp)
  # -q comes from pyproject's addopts: a second -q would hide the "N passed" line printed below
  # every test of these files but the soaks: the slow step runs only the main interpreter
  if QPR_IGNORE_TIME_BUDGET=1 "$venv/bin/python" -m pytest -p no:cacheprovider -m "not slow" tests/test_packaging.py \
      tests/test_engine.py tests/test_durable_guards.py tests/test_differential.py \
      tests/test_python_versions.py >"$log" 2>&1; then
    result=$(grep -E '[0-9]+ (passed|failed)' "$log" | tail -n 1 | sed 's/^=* *//; s/ *=*$//')
  else
    cat "$log"
    result="FAILED: $(tail -n 1 "$log" | sed 's/^=* *//; s/ *=*$//')"
    status=1
  fi
  rm -f "$log"
  echo "   Python $full: $result"
  summary="$summary  Python $full: $result"$'\n'
done
echo "== each Python"
printf '%s' "$summary"
exit $status
