"""The decision log: what a line holds, the hash chain and --verify, rotation, several writer
processes, SIGKILL in the middle of a batch, write failures, and lines of another policy digest."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

import qpr_rules.cli.coverage  # noqa: F401  (registers the command)
from qpr_rules import Engine
from qpr_rules.analysis.generate import sample
from qpr_rules.cli.app import cli
from qpr_rules.coverage.collect import expand_logs, read_logs
from qpr_rules.coverage.data import CoverageData
from qpr_rules.engine.atoms import traced
from qpr_rules.engine.decision_log import GENESIS, DecisionLogError, JsonlDecisionLog, MemorySink, line_hash
from qpr_rules.engine.reference import compile_condition
from qpr_rules.errors import PolicyError
from qpr_rules.policy.conditions import atoms
from qpr_rules.yaml_source import load_yaml_file

ROOT = Path(__file__).resolve().parents[1]
POLICIES = ROOT / "policies"
HOLD = load_yaml_file(ROOT / "examples" / "placement_home_on_hold.yaml")[0]


def _lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def _verify(*paths: Path) -> list[str]:
    engine = Engine.load([POLICIES])
    read = read_logs(expand_logs(paths), CoverageData.for_policies(engine.policies), verify=True)
    return [f"{Path(p.file).name}:{p.line}:{p.code}" for p in read.problems if p.severity == "error"]


def test_a_line_per_decision_with_what_coverage_needs_and_only_declared_facts(tmp_path: Path) -> None:
    log = tmp_path / "d.log"
    engine = Engine.load([POLICIES], decision_log=log)
    first = engine.decide("qpr.placement", HOLD)
    engine.decide("qpr.placement", {"placement": "not facts"})
    one, two = _lines(log)
    assert set(one) == {"v", "time", "id", "decision", "digest", "revision", "outcome", "status", "fired",
                        "atoms", "facts", "prev", "continues"}  # continues: on a file's first line only
    assert set(two) == set(one) - {"continues"} and one["continues"] is None
    assert (one["decision"], one["outcome"], one["status"], one["digest"]) == (
        "qpr.placement", first.outcome, "decided", engine.digest)
    assert one["fired"] == [r.id for r in first.fired]
    rules = engine.spec("qpr.placement").rules
    assert set(one["atoms"]) == {r.id for r in rules}
    assert all(len(one["atoms"][r.id]) == len(atoms(r.condition)) for r in rules)
    # only what the decision's `log_facts` allows (nothing that can carry a name or free text)
    assert set(one["facts"]) == set(engine.spec("qpr.placement").decision.log_facts)
    assert HOLD["home"]["id"] not in json.dumps(one) and one["prev"] == GENESIS
    assert (two["status"], two["outcome"], two["atoms"]) == ("error", "deny", {})
    assert two["prev"] == line_hash(log.read_bytes().splitlines()[0])
    assert _verify(log) == []


def test_only_declared_loggable_fact_fields_are_logged(tmp_path: Path) -> None:
    policies = tmp_path / "policies"
    shutil.copytree(POLICIES, policies)
    qpr = policies / "qpr.yaml"
    # the bundled placement's own list, replaced by two paths
    text = re.sub(r"(    on_error: deny\n)    log_facts:\n(      - .*\n)+(    placement: true\n)", r"\1\3",
                  qpr.read_text(), count=1)
    anchor = "    placement: true\n"
    assert text.count(anchor) == 1 and text.count("log_facts:") < qpr.read_text().count("log_facts:")
    qpr.write_text(text.replace(anchor, anchor + "    log_facts: [child.age, home.hold.kind]\n"))
    sink = MemorySink()
    Engine.load([policies], decision_log=sink).decide("qpr.placement", HOLD)
    assert sink.records[0]["facts"] == {"child.age": HOLD["child"]["age"], "home.hold.kind": "pending_qpr"}
    qpr.write_text(text.replace(anchor, anchor + "    log_facts: [home.id]\n"))  # free text: refused
    with pytest.raises(PolicyError, match=r"home\.id is text; the decision log records only"):
        Engine.load([policies])


@pytest.mark.parametrize("decision", Engine.load([POLICIES]).decision_ids)
def test_recorded_atoms_are_the_reference_evaluators_results(decision: str) -> None:
    """Over generated facts: every atom's recorded value is its reference closure's value, and
    the rule's value combined from them is what the reference evaluator (and the decision) gives."""
    sink = MemorySink()
    engine = Engine.load([POLICIES], decision_log=sink)
    model = engine.fact_model(decision)
    for facts in sample(model, 60, seed=7):
        engine.decide(decision, facts)
        record = sink.records[-1]
        assert record["status"] != "error", record
        dumped = model.model_validate(facts).model_dump(mode="python")
        for rule in engine.spec(decision).rules:
            expected = compile_condition(rule.condition)(dumped)
            result, values = traced(rule.condition)(dumped)
            assert result == expected == (rule.id in record["fired"])
            assert record["atoms"][rule.id] == "".join(
                "1" if compile_condition(a)(dumped) else "0" for a in atoms(rule.condition))
            assert values == tuple(c == "1" for c in record["atoms"][rule.id])


def _write_log(path: Path, n: int, **kw: Any) -> None:
    engine = Engine.load([POLICIES], decision_log=JsonlDecisionLog(path, **kw))
    for _ in range(n):
        engine.decide("qpr.placement", HOLD)


def test_verify_finds_a_removed_a_reordered_and_an_edited_line(tmp_path: Path) -> None:
    log = tmp_path / "d.log"
    _write_log(log, 6)
    lines = log.read_bytes().splitlines(keepends=True)
    assert _verify(log) == []
    cases = {
        "removed": lines[:2] + lines[3:],
        "reordered": [*lines[:2], lines[3], lines[2], *lines[4:]],
        "edited": [*lines[:2], lines[2].replace(b'"outcome":"deny"', b'"outcome":"allow"'), *lines[3:]],
    }
    expected = {"removed": ["d.log:3:log-chain-broken"],
                "reordered": ["d.log:3:log-chain-broken", "d.log:4:log-chain-broken", "d.log:5:log-chain-broken"],
                "edited": ["d.log:4:log-chain-broken"]}
    for name, content in cases.items():
        log.write_bytes(b"".join(content))
        assert _verify(log) == expected[name], name


def test_cli_verify_exits_1_on_a_broken_chain(tmp_path: Path) -> None:
    log = tmp_path / "d.log"
    _write_log(log, 3)
    ok = CliRunner().invoke(cli, ["coverage", "log", "--verify", "--no-progress", str(log)])
    assert ok.exit_code == 0, ok.output
    lines = log.read_bytes().splitlines(keepends=True)
    log.write_bytes(lines[0] + lines[2])
    bad = CliRunner().invoke(cli, ["coverage", "log", "--verify", "--no-progress", str(log)])
    assert bad.exit_code == 1
    assert "d.log:2:1: error log-chain-broken" in bad.output and "does not verify" in bad.output


def test_rotation_keeps_one_chain_across_files(tmp_path: Path) -> None:
    log = tmp_path / "d.log"
    _write_log(log, 12, max_bytes=3000)  # a line is ~1.1 kB: three lines per file
    parts = expand_logs([log])
    assert len(parts) >= 3 and parts[-1] == log and parts[0].name == "d.log.000001"
    assert sum(len(_lines(p)) for p in parts) == 12
    assert all(p.stat().st_size < 3000 + 1500 for p in parts)  # rotated once past max_bytes
    assert _verify(log) == []
    data = CoverageData.for_policies(Engine.load([POLICIES]).policies)
    read_logs(parts, data)
    assert data.decisions["qpr.placement"] == 12


def test_a_kept_log_file_is_used_only_while_the_path_still_names_it(tmp_path: Path) -> None:
    # a log keeps its file open between writes; another writer's rotation, or an operator moving
    # the file away, must send the next line to the file the path names now, in one chain
    log = tmp_path / "d.log"
    a = Engine.load([POLICIES], decision_log=JsonlDecisionLog(log, max_bytes=2500))
    b = Engine.load([POLICIES], decision_log=JsonlDecisionLog(log, max_bytes=2500))
    for i in range(9):  # a line is ~1.1 kB: each writer rotates the file under the other in turn
        (a if i % 2 else b).decide("qpr.placement", HOLD)
    parts = expand_logs([log])
    assert len(parts) >= 3 and sum(len(_lines(p)) for p in parts) == 9
    assert _verify(log) == []
    moved = tmp_path / "moved-away.log"
    a.decide("qpr.placement", HOLD)
    log.rename(moved)  # not a rotated part: the chain's next line starts a new file at the path
    before = len(_lines(moved))
    a.decide("qpr.placement", HOLD)
    assert len(_lines(moved)) == before and len(_lines(log)) == 1


_WRITER = """
import sys
from pathlib import Path
from qpr_rules import Engine
from qpr_rules.engine.decision_log import JsonlDecisionLog
from qpr_rules.yaml_source import load_yaml_file
facts = load_yaml_file(Path(sys.argv[3]))[0]
engine = Engine.load([sys.argv[2]], decision_log=JsonlDecisionLog(sys.argv[1], max_bytes=int(sys.argv[5])))
for i in range(int(sys.argv[4])):
    engine.decide("qpr.placement", facts)
    print(i + 1, flush=True)  # reported as logged only after decide() returned
"""


def _writer(log: Path, n: int, max_bytes: int = 10**9) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-c", _WRITER, str(log), str(POLICIES),
                             str(ROOT / "examples" / "placement_home_on_hold.yaml"), str(n), str(max_bytes)],
                            stdout=subprocess.PIPE, text=True)


def test_several_processes_append_whole_lines_to_one_chain(tmp_path: Path) -> None:
    log = tmp_path / "d.log"
    procs = [_writer(log, 40, max_bytes=30_000) for _ in range(3)]
    for p in procs:
        p.communicate(timeout=300)
        assert p.returncode == 0
    parts = expand_logs([log])
    assert len(parts) > 1  # rotation happened while three processes were writing
    assert sum(len(_lines(p)) for p in parts) == 120  # each line parses: none interleaved
    assert _verify(log) == []


def test_sigkill_during_a_batch_leaves_whole_lines_and_every_reported_decision(tmp_path: Path) -> None:
    log = tmp_path / "d.log"
    proc = _writer(log, 100_000)
    assert proc.stdout is not None
    reported = 0
    deadline = time.monotonic() + 120
    while reported < 25 and time.monotonic() < deadline:
        reported = int(proc.stdout.readline())
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=60)
    assert reported >= 25
    raw = log.read_bytes()
    assert raw.endswith(b"\n")
    assert len(_lines(log)) >= reported
    assert _verify(log) == []


class _Failing:
    def write(self, record: dict[str, Any]) -> None:
        raise OSError(28, "No space left on device")


def test_a_decision_that_cannot_be_logged_is_never_returned_as_logged(tmp_path: Path) -> None:
    with pytest.raises(DecisionLogError, match="No space left"):
        Engine.load([POLICIES], decision_log=_Failing()).decide("qpr.placement", HOLD)
    closed = Engine.load([POLICIES], decision_log=_Failing(), on_log_error="fail-closed")
    decision = closed.decide("qpr.placement", HOLD)
    assert (decision.outcome, decision.status) == ("deny", "error")
    assert "could not be written to the decision log" in decision.reason
    (tmp_path / "dir.log").mkdir()  # a path that cannot be opened for appending
    with pytest.raises(DecisionLogError, match="cannot write the decision log"):
        Engine.load([POLICIES], decision_log=tmp_path / "dir.log").decide("qpr.placement", HOLD)


def test_lines_of_another_policy_digest_are_counted_apart(tmp_path: Path) -> None:
    log = tmp_path / "d.log"
    _write_log(log, 2)
    policies = tmp_path / "policies"
    shutil.copytree(POLICIES, policies)
    qpr = policies / "qpr.yaml"
    qpr.write_text(qpr.read_text().replace("revision: 2026-11-24", "revision: 2026-11-25", 1))
    other = Engine.load([policies], decision_log=JsonlDecisionLog(log))
    other.decide("qpr.placement", HOLD)
    data = CoverageData.for_policies(Engine.load([POLICIES]).policies)
    read = read_logs([log], data, verify=True)
    assert read.lines == 3 and read.counted == 2
    assert dict(data.foreign) == {other.digest: 1}
    assert [p for p in read.problems if p.severity == "error"] == []  # one chain, two digests
    result = CliRunner().invoke(cli, ["coverage", "log", "--no-progress", str(log)])
    assert f"counted apart: 1 record(s) under another policy digest {other.digest[:16]}" in result.output


def test_a_line_cut_short_is_ended_kept_and_reported(tmp_path: Path) -> None:
    log = tmp_path / "d.log"
    _write_log(log, 2)
    with log.open("ab") as f:  # what a power loss in the middle of a write leaves
        f.write(b'{"v":1,"decision":"qpr.pla')
    _write_log(log, 1)  # the next writer ends the cut line instead of gluing its own line to it
    lines = log.read_bytes().splitlines()
    assert len(lines) == 4 and lines[2] == b'{"v":1,"decision":"qpr.pla'
    assert json.loads(lines[3])["prev"] == line_hash(lines[2])
    assert _verify(log) == ["d.log:3:log-unreadable"]  # the chain holds; the cut line is named


def _chained(records: list[dict[str, Any]]) -> bytes:
    out, prev = [], GENESIS
    for i, r in enumerate(records):
        first = {"continues": None} if i == 0 and r["v"] != 1 else {}  # as the writer starts a log
        line = json.dumps({**r, **first, "prev": prev}, sort_keys=True, separators=(",", ":")).encode()
        out.append(line + b"\n")
        prev = line_hash(line)
    return b"".join(out)


def test_an_overlong_line_is_not_read_but_the_chain_is_checked_past_it(tmp_path: Path) -> None:
    sink = MemorySink()
    engine = Engine.load([POLICIES], decision_log=sink)
    for _ in range(3):
        engine.decide("qpr.placement", HOLD)
    one, two, three = sink.records
    log = tmp_path / "d.log"
    log.write_bytes(_chained([one, {**two, "pad": "x" * 3_000_000}, three]))
    engine_data = CoverageData.for_policies(engine.policies)
    read = read_logs([log], engine_data, verify=True)
    assert [(p.line, p.code) for p in read.problems] == [(2, "log-line-too-long")]
    assert (read.lines, read.counted, engine_data.malformed) == (3, 2, 1)
    assert read.bytes == log.stat().st_size


def test_threads_share_one_log(tmp_path: Path) -> None:
    import threading

    log = tmp_path / "d.log"
    engine = Engine.load([POLICIES], decision_log=log)
    threads = [threading.Thread(target=lambda: [engine.decide("qpr.placement", HOLD) for _ in range(15)])
               for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(_lines(log)) == 60 and _verify(log) == []


# ---------------------------------------------------------------- issue 18.5: no silent data loss


def _errors(*paths: Path, checkpoint: str | None = None) -> list[str]:
    engine = Engine.load([POLICIES])
    read = read_logs(expand_logs(paths), CoverageData.for_policies(engine.policies), verify=True,
                     checkpoint=checkpoint)
    return [f"{Path(p.file).name}:{p.line}:{p.code}" for p in read.problems if p.severity == "error"]


def test_deleting_the_first_lines_of_a_log_fails_verify(tmp_path: Path) -> None:
    log = tmp_path / "d.log"
    _write_log(log, 5)
    assert _errors(log) == []
    lines = log.read_bytes().splitlines(keepends=True)
    log.write_bytes(b"".join(lines[2:]))
    assert _errors(log) == ["d.log:1:log-head-missing"]


def test_deleting_the_first_rotated_file_fails_verify(tmp_path: Path) -> None:
    log = tmp_path / "d.log"
    _write_log(log, 12, max_bytes=3000)
    parts = expand_logs([log])
    assert len(parts) >= 3 and _errors(log) == []
    first = _lines(parts[0])[0]
    assert first["v"] == 2 and first["continues"] is None  # the first file says it is the first
    second = _lines(parts[1])[0]
    assert second["continues"] == {"file": parts[0].name, "hash": line_hash(parts[0].read_bytes().splitlines()[-1])}
    parts[0].unlink()
    assert _errors(log) == [f"{parts[1].name}:1:log-head-missing"]
    result = CliRunner().invoke(cli, ["coverage", "log", "--verify", "--no-progress", str(log)])
    assert result.exit_code == 1 and f"continues {parts[0].name}" in result.output


def test_a_checkpoint_finds_a_removed_tail(tmp_path: Path) -> None:
    import re

    log = tmp_path / "d.log"
    _write_log(log, 4)
    result = CliRunner().invoke(cli, ["coverage", "log", "--no-progress", str(log)])
    match = re.search(r"checkpoint (\d+:[0-9a-f]{64})", result.output)
    assert match is not None, result.output
    checkpoint = match.group(1)
    assert checkpoint == f"4:{line_hash(log.read_bytes().splitlines()[-1])}"
    _write_log(log, 2)  # the log goes on growing: the checkpoint still holds
    ok = CliRunner().invoke(cli, ["coverage", "log", "--verify", "--no-progress", "--checkpoint", checkpoint,
                                  str(log)])
    assert ok.exit_code == 0, ok.output
    lines = log.read_bytes().splitlines(keepends=True)
    log.write_bytes(b"".join(lines[:3]))  # the tail cut off: without the checkpoint, nothing shows it
    assert _errors(log) == []
    assert _errors(log, checkpoint=checkpoint) == ["d.log:3:log-tail-missing"]
    log.write_bytes(b"".join(lines[:3] + lines[5:]))  # the checkpointed line removed, later ones kept
    assert _errors(log, checkpoint=checkpoint) == ["d.log:4:log-checkpoint-mismatch", "d.log:4:log-chain-broken"]
    bad = CliRunner().invoke(cli, ["coverage", "log", "--verify", "--no-progress", "--checkpoint", checkpoint,
                                   str(log)])
    assert bad.exit_code == 1 and "does not verify" in bad.output
    wrong = CliRunner().invoke(cli, ["coverage", "log", "--verify", "--no-progress", "--checkpoint", "x:y",
                                     str(log)])
    assert wrong.exit_code == 2 and "LINES:HASH" in wrong.output


def test_a_v1_log_still_verifies_and_is_counted(tmp_path: Path) -> None:
    sink = MemorySink()
    engine = Engine.load([POLICIES], decision_log=sink)
    for _ in range(3):
        engine.decide("qpr.placement", HOLD)
    log = tmp_path / "d.log"
    log.write_bytes(_chained([{**r, "v": 1} for r in sink.records]))  # what a v1 writer wrote
    data = CoverageData.for_policies(engine.policies)
    read = read_logs([log], data, verify=True)
    assert read.problems == [] and read.counted == 3
    _write_log(log, 2)  # a v2 writer goes on from a v1 log: one chain
    assert _lines(log)[-1]["v"] == 2 and _errors(log) == []
    assert sink.records[0]["v"] == 2


def test_a_log_name_with_glob_characters_keeps_every_rotated_part(tmp_path: Path) -> None:
    log = tmp_path / "dec[prod].log"
    _write_log(log, 40, max_bytes=3000)
    parts = expand_logs([log])
    assert sum(len(_lines(p)) for p in parts) == 40
    assert _errors(log) == []


def test_a_stray_file_beside_the_log_stops_nothing(tmp_path: Path) -> None:
    log = tmp_path / "decisions.log"
    for name in ("decisions.log.\u00b2", "decisions.log.lock.1", "decisions.log.12a", "decisions.log.-1"):
        (tmp_path / name).write_text("stray\n")
    _write_log(log, 8, max_bytes=3000)
    assert sum(len(_lines(p)) for p in expand_logs([log])) == 8
    result = CliRunner().invoke(cli, ["coverage", "log", "--verify", "--no-progress", str(log)])
    assert result.exit_code == 0, result.output
    assert "8 line(s)" in result.output


def test_an_atom_the_decision_did_not_evaluate_never_makes_the_log_raise(tmp_path: Path) -> None:
    """A hold placed 9999-12-31 plus the waiting days once overflowed the date range in the log's
    own evaluation of every atom. The fact models now refuse dates past 2399 (facts/common.py), so
    the decision is an error answer, and the log records it without raising."""
    import datetime as dt

    facts = load_yaml_file(ROOT / "examples" / "qpr_reinstatement_permanent.yaml")[0]
    facts["hold"]["placed_on"] = facts["request"]["date"] = dt.date(9999, 12, 31)
    log = tmp_path / "d.log"
    engine = Engine.load([POLICIES], evaluator="compiled", decision_log=log)
    decision = engine.decide("qpr.reinstatement", facts)
    assert decision.status == "error" and decision.outcome == "not-eligible"
    assert "the date 9999-12-31 is out of range" in decision.reason
    (line,) = _lines(log)
    assert line["outcome"] == decision.outcome and line["fired"] == []
    data = CoverageData.for_policies(engine.policies)
    read = read_logs([log], data, verify=True)
    assert read.problems == [] and read.counted == 1
