"""fmt's file handling, reload memory, fail-closed decisions by construction, and facts read and
validated as strictly as policies."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from qpr_rules import Engine, PolicyError
from qpr_rules.analysis.fmt import TEMP_MARK, format_file, remove_stale_temporaries
from qpr_rules.analysis.lint import check
from qpr_rules.facts_input import load_facts_bytes, load_json_text
from qpr_rules.policy.loader import load_policy_set, policy_files
from tests.policy_text import BASE, placement_facts, write_policy

ROOT = Path(__file__).resolve().parents[1]
UNFORMATTED = BASE.replace("id: tiny\n", "id:    tiny\n")


# ---------------------------------------------------------------- fmt


def test_fmt_keeps_the_mode(tmp_path: Path) -> None:
    path = write_policy(tmp_path, UNFORMATTED)
    os.chmod(path, 0o640)
    assert format_file(path) is True
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
    assert "id: tiny\n" in path.read_text(encoding="utf-8")


def test_fmt_writes_through_a_symlink(tmp_path: Path) -> None:
    (tmp_path / "real").mkdir()
    target = write_policy(tmp_path / "real", UNFORMATTED)
    link = tmp_path / "link.yaml"
    link.symlink_to(target)
    assert format_file(link) is True
    assert link.is_symlink() and link.resolve() == target.resolve()
    assert "id: tiny\n" in target.read_text(encoding="utf-8")
    assert not list(tmp_path.rglob(f".*{TEMP_MARK}*"))  # the temporary went next to the target and is gone


def test_stale_temporaries_are_never_policies_and_are_removed(tmp_path: Path) -> None:
    write_policy(tmp_path, UNFORMATTED)
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    stale = tmp_path / f".tiny.yaml{TEMP_MARK}{dead.stdout.strip()}-abc123.tmp"
    stale.write_text("format: broken\n", encoding="utf-8")
    live = tmp_path / f".tiny.yaml{TEMP_MARK}{os.getppid()}-def456.tmp"  # a running fmt's
    live.write_text("format: broken\n", encoding="utf-8")
    hidden = tmp_path / ".tiny.yaml"  # an editor's copy
    hidden.write_text("format: broken\n", encoding="utf-8")
    assert policy_files([tmp_path]) == [tmp_path / "tiny.yaml"]
    assert load_policy_set([tmp_path]).decisions  # loads: none of them is read
    assert remove_stale_temporaries(tmp_path) == [stale]
    assert live.exists() and not stale.exists()


def test_fmt_interrupted_by_kill_leaves_the_file_whole_and_the_next_run_cleans_up(tmp_path: Path) -> None:
    path = write_policy(tmp_path, UNFORMATTED)
    before = path.read_text(encoding="utf-8")
    code = f"""
        import os, signal
        from pathlib import Path
        import qpr_rules.analysis.fmt as fmt
        real = os.replace
        def die(src, dst):  # killed between writing the temporary and renaming it
            os.kill(os.getpid(), signal.SIGKILL)
        fmt.os.replace = die
        fmt.format_file(Path({str(path)!r}))
    """
    result = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, timeout=60)
    assert result.returncode == -9
    assert path.read_text(encoding="utf-8") == before
    left = list(tmp_path.glob(f".*{TEMP_MARK}*.tmp"))
    assert len(left) == 1 and policy_files([tmp_path]) == [path]
    assert format_file(path) is True
    assert not list(tmp_path.glob(f".*{TEMP_MARK}*.tmp"))


# ---------------------------------------------------------------- reload memory


def test_a_thousand_loads_keep_memory_bounded() -> None:
    code = f"""
        import gc, resource
        from qpr_rules import Engine
        from qpr_rules.engine.durable_host import DurableRuleset
        tiny = {str(ROOT / 'tests' / 'fixtures' / 'tiny')!r}
        facts = {placement_facts()!r}
        def rss(): return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
        for i in range(1000):
            engine = Engine.load(tiny)
            assert engine.decide("tiny.placement", facts).outcome == "allow"
            if i == 99:
                gc.collect(); base = rss()
        gc.collect()
        print(base, rss())
    """
    result = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True,
                            timeout=600, cwd=ROOT)
    assert result.returncode == 0, result.stderr[-2000:]
    base, end = map(int, result.stdout.split())
    assert end - base < 16, (base, end)  # MB; without freeing rulesets it grew by ~2 MB per load


def test_close_frees_the_rulesets_and_a_new_engine_still_answers() -> None:
    engine = Engine.load(ROOT / "tests" / "fixtures" / "tiny")
    for runtime in engine._runtimes.values():
        runtime.close()
        runtime.close()  # twice is harmless
    assert Engine.load(ROOT / "tests" / "fixtures" / "tiny").decide("tiny.placement", placement_facts()).outcome == "allow"


# ---------------------------------------------------------------- fail closed by construction


def test_a_placement_decision_must_deny_by_default(tmp_path: Path) -> None:
    path = write_policy(tmp_path, BASE.replace("    default: deny\n", "    default: allow\n"))
    with pytest.raises(PolicyError) as info:
        load_policy_set([path])
    (p,) = info.value.problems
    assert p.line == BASE.splitlines().index("    default: deny") + 1
    assert p.message.startswith("a placement decision must fail closed: when no rule applies the answer must be a "
                                "denial; set `default: deny` (not 'allow')")


def test_placement_request_facts_need_the_placement_flag(tmp_path: Path) -> None:
    path = write_policy(tmp_path, BASE.replace("    placement: true\n", ""))
    with pytest.raises(PolicyError) as info:
        load_policy_set([path])
    (p,) = info.value.problems
    assert p.line == BASE.splitlines().index("    facts: placement_request") + 1
    assert p.message.startswith("tiny.placement decides over placement_request facts, so it is a placement "
                                "question: add `placement: true`")


def test_a_decision_without_rules_is_a_check_warning(tmp_path: Path) -> None:
    text = BASE.replace("rules:\n", """  - id: tiny.empty
    title: Nothing yet
    facts: qpr_record
    outcomes: [complete, incomplete]
    combine: first-applicable
    default: incomplete
    on_error: incomplete
    on_error_obligations:
      - {who: pco, do: Fix the record's facts.}
rules:
""")
    report = check([write_policy(tmp_path, text)], sources=ROOT.parent / "shared" / "seeds")
    found = [p for p in report.problems if p.code == "decision-without-rules"]
    assert [(p.severity, p.message) for p in found] == [
        ("warning", "decision tiny.empty has no rules: it always answers its default 'incomplete'")]


# ---------------------------------------------------------------- facts as strict as policies


def test_json_duplicate_keys_are_refused() -> None:
    with pytest.raises(PolicyError) as info:
        load_json_text('{"placement": {"cleared_with_pco": false,\n  "cleared_with_pco": true}}', "f.json")
    assert str(info.value.problems[0]) == ("f.json:2:3: duplicate key 'cleared_with_pco' in a JSON object; "
                                           "each key may appear once: keep the one you mean")


def test_yaml_facts_do_not_read_yaml_1_1_scalars() -> None:
    with pytest.raises(PolicyError) as info:
        load_facts_bytes(b"placement: {cleared_with_pco: on}\nchild: {age: 010}\nhome: {id: '010'}\n")
    assert [p.line for p in info.value.problems] == [1, 2]  # the quoted '010' is text, as meant
    assert load_facts_bytes(b"home: {id: '010', flag: 'yes'}\n") == {"home": {"id": "010", "flag": "yes"}}


def test_unvalidated_model_instances_are_validated_before_deciding() -> None:
    engine = Engine.from_bundled()
    model = engine.fact_model("qpr.placement")
    good = model.model_validate(placement_facts(children_placed=[{"age": 3, "gender": "male"}]))
    tampered = good.model_copy(update={"placement": good.placement.model_copy(update={"cleared_with_pco": "yes"})})
    decision = engine.decide("qpr.placement", tampered)
    assert decision.outcome == "deny" and decision.status == "error"
    assert "placement.cleared_with_pco: Input should be a valid boolean" in decision.reason
    constructed = model.model_construct(child=good.child)
    decision = engine.decide("qpr.placement", constructed)
    assert decision.status == "error" and ("placement: required, missing (The placement asked for); home: required, missing (The resource home)"
                                          in decision.reason)
    assert engine.decide("qpr.placement", good).status == "decided"


def test_rulesets_with_leaked_sessions_are_deleted_without_crashing() -> None:
    # a rebuilt ruleset (after LEAK_LIMIT sessions where no action ran) is retired and deleted at
    # the next call; durable_rules must survive deleting a ruleset that still holds such states
    code = f"""
        import json
        from qpr_rules import Engine
        from qpr_rules.engine import durable_host
        engine = Engine.load({str(ROOT / 'tests' / 'fixtures' / 'tiny')!r})
        ruleset = engine._runtimes["tiny.placement"].durable
        first = ruleset.name
        for i in range(durable_host.LEAK_LIMIT):  # sessions left behind, as after a failure
            try:
                code, _ = durable_host._engine.assert_fact(ruleset._handle, json.dumps({{"sid": f"x{{i}}", "id": f"x{{i}}", "nothing": 1}}))
                assert code == 1  # no rule matched: a state where no action ran
            except durable_host._engine.error:
                pass
            ruleset._leak()
        assert ruleset.name != first and durable_host._RETIRED
        for _ in range(50):
            assert engine.decide("tiny.placement", {placement_facts()!r}).outcome == "allow"
        assert not durable_host._RETIRED
        print("ok")
    """
    result = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True,
                            timeout=120, cwd=ROOT)
    assert result.returncode == 0 and result.stdout.strip() == "ok", result.stderr[-2000:]


def test_standard_input_reads_json_strictly_and_yaml_otherwise() -> None:
    assert load_facts_bytes(b'{"home": {"id": "H"}}') == {"home": {"id": "H"}}
    assert load_facts_bytes(b"{home: {id: H}}") == {"home": {"id": "H"}}  # YAML flow style, not JSON
    with pytest.raises(PolicyError) as info:  # JSON, refused: not retried as YAML
        load_facts_bytes(b'{"a": 1, "a": 2}')
    assert "duplicate key 'a' in a JSON object" in info.value.problems[0].message
