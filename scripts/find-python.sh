#!/usr/bin/env bash
# find-python.sh X.Y: print the path of a Python X.Y interpreter, or exit 1.
# Looks on PATH (pythonX.Y), then under pyenv (~/.pyenv/versions/X.Y*/bin). Prints nothing else:
# each candidate is probed quietly.
set -uo pipefail
want="$1"
candidates=("python$want")
for d in "${PYENV_ROOT:-$HOME/.pyenv}"/versions/"$want".*/bin/python"$want"; do
  [ -x "$d" ] && candidates+=("$d")
done
for cand in "${candidates[@]}"; do
  path=$(command -v "$cand" 2>/dev/null) || continue
  # pyenv shims exist for versions that are not selected: ask the interpreter itself
  if "$path" -c "import sys; sys.exit(0 if '%d.%d' % sys.version_info[:2] == '$want' else 1)" \
       >/dev/null 2>&1; then
    echo "$path"; exit 0
  fi
done
exit 1
