#!/usr/bin/env bash
# Create .venv with Python 3.11 or 3.12 (durable_rules does not import on 3.13) and install
# qpr-rules with its test extras. Idempotent: a second run only re-checks the install.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x .venv/bin/python ]; then
  py=""
  for cand in "${PYTHON:-}" python3.12 python3.11 python3; do
    [ -n "$cand" ] || continue
    if command -v "$cand" >/dev/null 2>&1 &&
       "$cand" -c 'import sys; sys.exit(0 if (3, 11) <= sys.version_info[:2] < (3, 13) else 1)'; then
      py="$cand"; break
    fi
  done
  [ -n "$py" ] || { echo "error: need Python 3.11 or 3.12 (durable_rules fails on 3.13)" >&2; exit 1; }
  "$py" -m venv .venv
fi
if ! .venv/bin/python -c 'import qpr_rules, durable, pytest, hypothesis' >/dev/null 2>&1 ||
   [ pyproject.toml -nt .venv/.installed ]; then
  .venv/bin/python -m pip install --quiet --upgrade pip >/dev/null 2>&1 || true
  .venv/bin/python -m pip install --quiet -e '.[test]'
  touch .venv/.installed
fi
