#!/usr/bin/env bash
# Set up, lint the code and the policies, prove the invariants, run the test suite (unit,
# property, YAML scenario, guard, CLI and packaging tests) but for the soaks marked `slow`, then
# the wheel and engine tests under every supported Python. Times on the 2-core machine: README.md.
#
#   bash scripts/test.sh            # the whole run (.ci/run adds the `slow` tests: --slow)
#   bash scripts/test.sh --quick    # an analyst's answer in under a minute: the policies checked,
#                                   # formatted and covered, and their scenarios
#   bash scripts/test.sh --slow     # only the tests marked slow (soaks, long property runs)
#   bash scripts/test.sh -- ARGS    # the main run, with ARGS passed to pytest
set -euo pipefail
cd "$(dirname "$0")/.."
mode=main
case "${1:-}" in
  --quick) mode=quick; shift ;;
  --slow) mode=slow; shift ;;
  --) shift ;;
esac
bash scripts/setup.sh
workers="${QPR_TEST_WORKERS:-2}"
if [ "$mode" = slow ]; then
  # the soaks and long runs the main run leaves out (`-m slow`; tests/conftest.py lists them)
  exec .venv/bin/python -m pytest -n "$workers" -m slow "$@"
fi
policy_checks() {
  .venv/bin/qpr-rules check --strict policies
  .venv/bin/qpr-rules fmt --check policies
  # Coverage gate of the bundled policies' own scenarios (docs/audit.md): every rule fired and not
  # fired, every computable clause covered, every source sentence quoted or marked, every atomic
  # condition seen both true and false, every state of the procedures entered and every transition
  # taken by the case scenarios (policies/tests/qpr/procedure_cases.yaml).
  .venv/bin/qpr-rules coverage run --require rules=100 --require clauses=100 --require sentences=100 \
    --require conditions=100 --require states=100 --require transitions=100 -p policies
}
if [ "$mode" = quick ]; then
  policy_checks
  exit 0
fi
.venv/bin/ruff check src tests bench scripts
.venv/bin/mypy
# every invariant proved, no dead or shadowed rule: on the second core while the first checks
.venv/bin/qpr-rules prove policies >/dev/null &
prove=$!
policy_checks
wait "$prove"
# ... and every rule mutant that is not proved equivalent killed by a scenario (docs/audit.md,
# "Mutation"; about 20 s on 2 cores)
.venv/bin/qpr-rules coverage run --require mutants=100 -j 2 -p policies >/dev/null
# both cores: pytest-xdist runs the tests in 2 worker processes (each test is independent: its own
# engine, temporary files and free ports); the `slow` ones run in CI's second step
.venv/bin/python -m pytest -n "$workers" -m "not slow" "$@"
QPR_PYTHONS_DONE=$(.venv/bin/python -c 'import sys; print("%d.%d" % sys.version_info[:2])') \
  bash scripts/test-pythons.sh
