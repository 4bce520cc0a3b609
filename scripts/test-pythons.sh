#!/usr/bin/env bash
# The wheel and the engine under every supported Python: for each version a venv in
# .venv-X.Y with the test extras, then the packaging tests (the wheel built and installed without
# extras in a fresh venv, every CLI command and hook run from outside the checkout) and the engine
# tests. Fails if a version is missing: install it (e.g. `pyenv install 3.13`) or set
# QPR_PYTHONS to the versions to run.
set -euo pipefail
cd "$(dirname "$0")/.."
versions="${QPR_PYTHONS:-3.11 3.12 3.13}"
for v in $versions; do
  py=$(bash scripts/find-python.sh "$v") || {
    echo "error: Python $v not found on PATH or under pyenv; install it or set QPR_PYTHONS" >&2; exit 1; }
  venv=".venv-$v"
  VENV="$venv" PYTHON="$py" bash scripts/setup.sh
  echo "== Python $v ($("$venv/bin/python" -c 'import sys; print(sys.version.split()[0])'))"
  "$venv/bin/python" -m pytest -q -p no:cacheprovider tests/test_packaging.py tests/test_engine.py \
    tests/test_durable_guards.py tests/test_differential.py tests/test_python_versions.py
done
