#!/usr/bin/env bash
# Create a venv ($VENV, default .venv; Python 3.11 or newer, $PYTHON picks one) and install
# qpr-rules with its test extras. Idempotent: a second run only re-checks the install.
set -euo pipefail
cd "$(dirname "$0")/.."
venv="${VENV:-.venv}"
if [ ! -x "$venv/bin/python" ]; then
  py="${PYTHON:-}"
  if [ -z "$py" ]; then
    for v in 3.12 3.13 3.11; do
      py=$(bash scripts/find-python.sh "$v") && break
    done
  fi
  [ -n "$py" ] || { echo "error: need Python 3.11, 3.12 or 3.13 (set PYTHON=/path/to/python)" >&2; exit 1; }
  "$py" -m venv "$venv"
fi
if ! "$venv/bin/python" -c 'import qpr_rules, durable, pytest, hypothesis' >/dev/null 2>&1 ||
   [ pyproject.toml -nt "$venv/.installed" ] || [ setup.py -nt "$venv/.installed" ]; then
  "$venv/bin/python" -m pip install --quiet --upgrade pip >/dev/null 2>&1 || true
  "$venv/bin/python" -m pip install --quiet -e '.[test]' 2>&1 | { grep -v -e '^WARNING: Location' -e 'is still \*beta\*' -e 'warnings.warn(msg' || true; }
  touch "$venv/.installed"
fi
