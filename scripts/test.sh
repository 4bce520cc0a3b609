#!/usr/bin/env bash
# Set up, lint, then run the whole test suite (unit, property, scenario files, guards).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/ruff check src tests bench
.venv/bin/python -m pytest "$@"
