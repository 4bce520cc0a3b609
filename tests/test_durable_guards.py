"""Regression tests for every durable_rules hazard in shared/notes/durable-rules.md.

Where a guard failing would crash the interpreter, the test runs in a subprocess and checks
its return code, so a segfault fails the test instead of killing pytest."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest

from qpr_rules import Engine
from qpr_rules.engine import durable_host
from qpr_rules.engine.durable_compiler import compile_rule_expression
from qpr_rules.policy.loader import load_policy_set
from tests.policy_text import BASE, placement_facts, write_policy

ROOT = Path(__file__).resolve().parents[1]


def run_python(code: str, timeout: int = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True,
                          timeout=timeout, cwd=ROOT)


def test_delete_state_after_no_matching_rule_does_not_crash() -> None:
    # Raw durable_rules segfaults on delete_state of a sid where no action ran. Our guard rule
    # always runs an action; thousands of cases that match no policy rule must not crash.
    result = run_python(f"""
        from pathlib import Path
        from qpr_rules import Engine
        engine = Engine.load([Path({str(ROOT / 'policies' / 'qpr.yaml')!r})])
        facts = {{"record": "other", "action": "file_with_pco"}}   # matches no qpr.records rule
        for i in range(3000):
            d = engine.decide("qpr.records", facts)
            assert d.status == "default" and d.outcome == "allow", d
        print("ok")
    """)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == "ok"


def test_the_raw_hazard_is_real() -> None:
    # Documents why the guard exists: without an action, delete_state crashes the process.
    result = run_python("""
        from durable import engine
        class H(engine.Host):
            def _run(self): pass
        h = H()
        h.set_rulesets({"raw": {"r": {"all": [{"m": {"x": 1}}], "run": lambda c: None}}})
        try:
            h.assert_fact("raw", {"sid": "s1", "id": "1", "x": 2})
        except Exception:
            pass
        h.delete_state("raw", "s1")
        print("survived")
    """)
    if result.returncode == 0:
        pytest.skip("raw durable_rules did not crash on this machine; the guard stays regardless")
    assert result.returncode < 0  # killed by a signal (SIGSEGV)


def test_more_than_1024_cases_on_one_engine(tmp_path: Path) -> None:
    engine = Engine.load([write_policy(tmp_path)])
    for i in range(3000):
        facts = placement_facts(hold={"kind": "pending_qpr", "placed_on": "2024-01-01"}) if i % 2 else placement_facts()
        assert engine.decide("tiny.placement", facts).status == "decided"


def test_no_timer_threads_and_actions_on_the_calling_thread(tmp_path: Path) -> None:
    before = {t.ident for t in threading.enumerate()}
    engine = Engine.load([write_policy(tmp_path)])
    engine.decide("tiny.placement", placement_facts())
    after = {t.ident for t in threading.enumerate()}
    assert after == before


def test_an_action_on_another_thread_fails_closed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    engine = Engine.load([write_policy(tmp_path)])
    original = durable_host._Case.__init__

    def elsewhere(self: durable_host._Case) -> None:
        original(self)
        self.thread = -1  # as if the action ran on a timer thread

    monkeypatch.setattr(durable_host._Case, "__init__", elsewhere)
    decision = engine.decide("tiny.placement", placement_facts())
    assert (decision.outcome, decision.status) == ("deny", "error")
    assert "ran on another thread" in decision.reason


def test_an_exception_in_an_action_is_not_swallowed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    engine = Engine.load([write_policy(tmp_path)])

    class Exploding(list[str]):
        def append(self, item: str) -> None:
            raise RuntimeError("boom")

    original = durable_host._Case.__init__

    def exploding(self: durable_host._Case) -> None:
        original(self)
        self.fired = Exploding()

    monkeypatch.setattr(durable_host._Case, "__init__", exploding)
    decision = engine.decide("tiny.placement", placement_facts())
    assert (decision.outcome, decision.status) == ("deny", "error")
    assert "boom" in decision.reason


def test_durable_failure_fails_closed_and_leaks_no_crash(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    engine = Engine.load([write_policy(tmp_path)])
    runtime = engine._runtimes["tiny.placement"]

    def broken(*args: object) -> None:
        raise RuntimeError("engine down")

    monkeypatch.setattr(runtime.durable._host, "assert_fact", broken)
    decision = engine.decide("tiny.placement", placement_facts())
    assert (decision.outcome, decision.status) == ("deny", "error")
    assert "durable_rules failed: engine down" in decision.reason
    assert runtime.durable.leaked == 1


def test_leaked_sessions_rebuild_the_ruleset_before_the_limit(tmp_path: Path) -> None:
    engine = Engine.load([write_policy(tmp_path)])
    ruleset = engine._runtimes["tiny.placement"].durable
    first = ruleset.name
    for _ in range(durable_host.LEAK_LIMIT):
        ruleset._leak()
    assert ruleset.name != first and ruleset.leaked == 0
    assert engine.decide("tiny.placement", placement_facts()).outcome == "allow"


@pytest.mark.parametrize("bad, field", [
    ({"child": {"age": "7", "gender": "female"}}, "child.age"),
    ({"placement": {"date": "2024-05-01", "cleared_with_pco": 1}}, "placement.cleared_with_pco"),
    ({"child": {"age": True, "gender": "female"}}, "child.age"),
])
def test_string_number_and_bool_coercion_is_refused(tmp_path: Path, bad: dict[str, object], field: str) -> None:
    engine = Engine.load([write_policy(tmp_path)])
    decision = engine.decide("tiny.placement", {**placement_facts(), **bad})
    assert (decision.outcome, decision.status) == ("deny", "error")
    assert any(e.startswith(field + ":") for e in decision.errors), decision.errors


def test_membership_compiles_to_or_not_in(tmp_path: Path) -> None:
    text = BASE.replace("{fact: home.hold.kind, eq: pending_qpr}", "{fact: home.hold.kind, in: [pending_qpr, permanent]}")
    ps = load_policy_set([write_policy(tmp_path, text)])
    expr = compile_rule_expression(ps.decisions["tiny.placement"].rules[0].condition)
    blob = json.dumps(expr)
    assert "$in" not in blob
    assert expr == {"$and": [{"__qpr__": 1}, {"$or": [{"home.hold.kind": "pending_qpr"},
                                                      {"home.hold.kind": "permanent"}]}]}


def test_calls_share_no_state(tmp_path: Path) -> None:
    engine = Engine.load([write_policy(tmp_path)])
    on_hold = placement_facts(hold={"kind": "pending_qpr", "placed_on": "2024-01-01"})
    assert engine.decide("tiny.placement", on_hold).outcome == "deny"
    assert engine.decide("tiny.placement", placement_facts()).outcome == "allow"
    assert engine.decide("tiny.placement", on_hold).outcome == "deny"


def test_threads_give_the_serial_answers() -> None:
    result = run_python(f"""
        import json, random, threading
        from pathlib import Path
        from qpr_rules import Engine
        engine = Engine.load([Path({str(ROOT / 'policies' / 'qpr.yaml')!r})])
        rnd = random.Random(7)
        def facts(i):
            home = {{"id": "H", "approval": "rfa", "approval_status": rnd.choice(["active", "inactive"])}}
            kind = rnd.choice([None, "pending_qpr", "time_limited", "permanent"])
            if kind:
                home["hold"] = {{"kind": kind, "placed_on": "2024-01-01"}}
            home["restrictions"] = {{"max_children": rnd.randint(0, 2), "genders": ["female"]}}
            home["children_placed"] = [{{"age": 5, "gender": "male"}}] * rnd.randint(0, 2)
            return {{"placement": {{"date": "2024-05-01", "cleared_with_pco": rnd.random() < 0.7}},
                     "child": {{"age": rnd.randint(0, 17), "gender": rnd.choice(["female", "male"])}},
                     "home": home}}
        cases = [facts(i) for i in range(2000)]
        serial = [engine.decide("qpr.placement", f).to_json() for f in cases]
        results = [None] * len(cases)
        def work(k):
            for i in range(k, len(cases), 4):
                results[i] = engine.decide("qpr.placement", cases[i]).to_json()
        threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
        [t.start() for t in threads]; [t.join() for t in threads]
        assert results == serial, "threaded answers differ from serial answers"
        assert not any('"status":"error"' in r for r in serial)
        print("ok", len(set(serial)))
    """)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.startswith("ok")


def test_no_matching_rule_gives_the_default(tmp_path: Path) -> None:
    engine = Engine.load([write_policy(tmp_path)])
    facts = placement_facts()
    facts["placement"] = {"date": "2024-05-01", "cleared_with_pco": False}
    decision = engine.decide("tiny.placement", facts)
    assert (decision.outcome, decision.status, decision.fired) == ("deny", "default", ())


def test_too_many_properties_fail_closed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from qpr_rules.engine import messages

    monkeypatch.setattr(messages, "MAX_PROPERTIES", 10)
    engine = Engine.load([write_policy(tmp_path)])
    decision = engine.decide("tiny.placement", placement_facts())
    assert (decision.outcome, decision.status) == ("deny", "error")
    assert "which durable_rules cannot evaluate (error 302)" in decision.reason


def test_python_version_is_declared() -> None:
    text = (ROOT / "pyproject.toml").read_text()
    assert 'requires-python = ">=3.11,<3.13"' in text


def test_memory_stays_bounded_over_many_cases() -> None:
    # sessions are deleted after every case: 10,000 decisions must not grow the process
    result = run_python(f"""
        import resource
        from pathlib import Path
        from qpr_rules import Engine
        engine = Engine.load([Path({str(ROOT / 'policies' / 'qpr.yaml')!r})])
        facts = {{"placement": {{"date": "2024-05-01", "cleared_with_pco": True}},
                  "child": {{"age": 7, "gender": "female"}},
                  "home": {{"id": "H", "approval": "rfa", "approval_status": "active",
                            "children_placed": [{{"age": 4, "gender": "male"}}]}}}}
        for _ in range(2000):
            engine.decide("qpr.placement", facts)
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        for _ in range(10000):
            engine.decide("qpr.placement", facts)
        print((resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) // 1024)
    """)
    assert result.returncode == 0, result.stderr[-2000:]
    assert int(result.stdout.strip()) < 32  # MB
