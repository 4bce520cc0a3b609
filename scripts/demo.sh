#!/usr/bin/env bash
# The main job on the bundled policies: validate them, then answer real placement questions
# with their explanations, citing the policy text.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
q=.venv/bin/qpr-rules
$q validate
echo
$q list --decisions
for f in examples/*.yaml; do
  decision=$(sed -n 's/^# decision: //p' "$f")
  echo
  echo "=== $f"
  $q explain "$decision" --facts "$f"
done
