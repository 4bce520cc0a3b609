"""The fuzz harness (tests/fuzz.py, issue 18.9), each class of each target run
briefly: a bounded number of examples, derandomized, so CI is repeatable. Longer runs:
`python -m tests.fuzz --minutes N` from the checkout."""

from __future__ import annotations

import sys

import pytest

from tests import fuzz

EXAMPLES = {"doors": 15, "loader": 10, "cli": 6}
CASES = [(t, k) for t in ("doors", "loader") for k in fuzz.targets()[t].classes] + \
        [("cli", k) for k in fuzz.targets()["cli"].classes]


@pytest.mark.parametrize(("target", "kind"), CASES)
def test_fuzz_class_finds_nothing(target: str, kind: str) -> None:
    ran, found = fuzz.run_class(target, kind, EXAMPLES[target])
    assert found is None, found
    assert ran >= EXAMPLES[target]


def test_every_cli_command_is_a_class() -> None:
    classes = set(fuzz.targets()["cli"].classes)
    assert {"decide", "validate", "list", "explain", "fmt", "check", "test", "diff", "prove", "schema+facts",
            "coverage+run"} <= classes


def test_a_finding_is_reported_with_its_shrunk_example(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(case: fuzz.PolicyText) -> None:
        if len(case.data) > 10:
            raise fuzz.Finding(f"{len(case.data)} bytes")

    monkeypatch.setattr(fuzz, "check_loader", broken)
    ran, found = fuzz.run_class("loader", "bytes", 20)
    assert found is not None and found.endswith(" bytes") and ran >= 1


def test_without_hypothesis_the_harness_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "hypothesis", None)
    with pytest.raises(SystemExit, match=r"needs hypothesis.*pip install"):
        fuzz.main(["--target", "loader", "--examples", "1"])


def test_the_cli_fuzzer_never_passes_an_option_that_runs_until_stopped() -> None:
    """`test --watch` and `check --watch` rerun on every save and never return: a fuzzed call with
    them would hang the run (it did, in the slow step), so the harness leaves them out."""
    from tests.fuzz import _options, cli_commands

    assert ("test",) in cli_commands() and ("check",) in cli_commands()
    for words in cli_commands():
        assert "--watch" not in {name for name, _ in _options(words)}, words
