"""Collectors: scenario files and decision logs, both turned into CoverageData.

Scenarios run through an Engine whose decision sink is the coverage data itself, so they are
counted exactly as a decision log would count them. Logs are streamed line by line (memory does
not grow with the log) and their hash chain can be verified on the way.
"""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import tempfile
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from qpr_rules.analysis.generate import sample
from qpr_rules.coverage.data import CoverageData
from qpr_rules.engine.decision_log import GENESIS, JsonlDecisionLog, line_hash, rotated_files
from qpr_rules.engine.engine import Engine
from qpr_rules.errors import PolicyError, Problem
from qpr_rules.files import open_regular
from qpr_rules.scenarios.case_runner import CaseResult, check_case_references, load_case_file, run_case
from qpr_rules.scenarios.runner import (
    STALE_MARK,
    ScenarioResult,
    case_scenario_files,
    check_references,
    load_scenario_file,
    run_scenario,
    scenario_files,
)


class DataSink:
    """A decision sink that counts each record into coverage data."""

    def __init__(self, data: CoverageData) -> None:
        self.data = data

    def write(self, record: dict[str, Any]) -> None:
        self.data.add(record)


@dataclass
class ScenarioRun:
    engine: Engine
    data: CoverageData
    results: list[ScenarioResult] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)  # invalid files, unknown names, failures
    case_results: list[CaseResult] = field(default_factory=list)


def run_scenarios(policy_paths: Sequence[Path], paths: Sequence[Path] = (), jobs: int = 1,
                  log: Path | None = None) -> ScenarioRun:
    """Run the scenario files in paths (default: `tests/` beside each policy directory) and
    collect coverage from every decision they ask.

    With a log, or more than one job, the decisions go through a decision log instead (each of
    `jobs` processes appending to the same file), and the coverage is read back from it with the
    hash chain verified: the scenario run is then also a test of the log under several writers."""
    probe = Engine.load(list(policy_paths))
    data = CoverageData.for_policies(probe.policies)
    if not paths:
        dirs = {(p if p.is_dir() else p.parent) / "tests" for p in policy_paths}
        paths = [d for d in sorted(dirs) if d.is_dir()]
    files = scenario_files(paths)
    case_files = case_scenario_files(paths)
    if jobs <= 1 and log is None:
        engine = Engine(probe.policies, decision_log=DataSink(data))
        run = ScenarioRun(engine, data)
        run.results, run.problems = _run_files(engine, files)
        _run_case_files(probe, case_files, run)
        return run
    with tempfile.TemporaryDirectory() as tmp:
        target = log or Path(tmp) / "decisions.log"
        chunks = [files[i::jobs] for i in range(max(1, jobs))]
        context = multiprocessing.get_context("spawn")  # no fork of the durable_rules C state
        with ProcessPoolExecutor(len(chunks), mp_context=context) as pool:
            done = list(pool.map(_run_chunk, [(list(policy_paths), c, target) for c in chunks if c]))
        run = ScenarioRun(Engine(probe.policies), data)
        for results, problems in done:
            run.results.extend(results)
            run.problems.extend(problems)
        read = read_logs(expand_logs([target]), data, verify=True)
        run.problems.extend(p for p in read.problems if p.severity == "error")
    _run_case_files(probe, case_files, run)  # cheap, and they ask no decision: in this process
    return run


def _run_case_files(engine: Engine, files: Sequence[Path], run: ScenarioRun) -> None:
    """Replay every case scenario, counting the states and transitions its case reached."""
    for path in files:
        try:
            cases = load_case_file(path)
        except PolicyError as exc:
            run.problems.extend(exc.problems)
            continue
        for s in cases:
            refs = check_case_references(engine, [s])
            if refs:
                run.problems.extend(refs)
                continue
            result = run_case(engine, s)
            run.case_results.append(result)
            if result.case is not None:
                run.data.add_case(result.case)
            if result.mark_stale:
                run.problems.append(Problem(str(path), s.line, 1, f"case {s.name!r} {STALE_MARK}",
                                            "known-wrong-passes"))
            elif not result.passed:
                run.problems.append(Problem(str(path), s.line, 1, f"case {s.name!r} fails: "
                                            + "; ".join(result.failures), "scenario-failed"))


def _run_chunk(args: tuple[list[Path], list[Path], Path]) -> tuple[list[ScenarioResult], list[Problem]]:
    """A worker process: run some scenario files with the decisions appended to the shared log."""
    policy_paths, files, log = args
    return _run_files(Engine.load(policy_paths, decision_log=JsonlDecisionLog(log)), files)


def _run_files(engine: Engine, files: Sequence[Path]) -> tuple[list[ScenarioResult], list[Problem]]:
    results: list[ScenarioResult] = []
    problems: list[Problem] = []
    for path in files:
        try:
            scenarios = load_scenario_file(path)
        except PolicyError as exc:
            problems.extend(exc.problems)
            continue
        for s in scenarios:
            refs = check_references(engine, [s])
            if refs:
                problems.extend(refs)
                continue
            result = run_scenario(engine, s)
            results.append(result)
            if result.mark_stale:
                problems.append(Problem(str(path), s.line, 1, f"scenario {s.name!r} {STALE_MARK}",
                                        "known-wrong-passes"))
            elif not result.passed:
                problems.append(Problem(str(path), s.line, 1, f"scenario {s.name!r} fails: "
                                        + "; ".join(result.failures), "scenario-failed"))
    return results, problems


def probe(engine: Engine, per_decision: int, seed: int = 0) -> CoverageData:
    """Coverage of generated fact sets (`analysis.generate`): not a test of anything, but the
    answer to "can this missing side be reached at all?" that a report gives next to it."""
    data = CoverageData.for_policies(engine.policies)
    counting = Engine(engine.policies, decision_log=DataSink(data))
    for decision in engine.decision_ids:
        for facts in sample(engine.fact_model(decision), per_decision, seed=seed):
            counting.decide(decision, facts)
    return data


def expand_logs(paths: Iterable[Path]) -> list[Path]:
    """Each log with its rotated parts before it (oldest first), each file once."""
    out: dict[Path, None] = {}
    for p in paths:
        for part in [*rotated_files(p), p]:
            if part.exists():
                out.setdefault(part, None)
    return list(out)


@dataclass
class LogRead:
    lines: int = 0
    counted: int = 0
    bytes: int = 0
    problems: list[Problem] = field(default_factory=list)  # unreadable lines, broken chain
    head: str = GENESIS  # hash of the last line read: anchor it to detect a removed tail


def read_logs(paths: Sequence[Path], data: CoverageData, verify: bool = False,
              progress: Callable[[int], None] | None = None,
              checkpoint: tuple[int, str] | str | None = None) -> LogRead:
    """Stream decision logs into data. With verify, check every line's `prev` against the hash
    of the line before it (across files, in the order given), and that the log starts where it
    says: its first file's first line says it is the first (`continues` null), and a later file
    given alone, or lines removed from a file's start, are errors. With a checkpoint (lines, hash
    of the line at that count, as `coverage log` printed it earlier), the log must still have
    that line there: a removed tail or a rewritten end is an error. Only regular files are read
    (a device or FIFO raises the unreadable PolicyError before anything is read)."""
    if isinstance(checkpoint, str):
        checkpoint = parse_checkpoint(checkpoint)
    out = LogRead()
    prev: str | None = None  # unknown before the first line
    where: tuple[str, int] = (str(paths[0]) if paths else "", 0)
    for path in paths:
        with open_regular(path) as f:
            for number, (raw, size, digest) in enumerate(_lines(f), start=1):
                out.lines += 1
                out.bytes += size
                if progress is not None:
                    progress(size)
                where = (str(path), number)
                if checkpoint is not None and out.lines == checkpoint[0] and digest != checkpoint[1]:
                    out.problems.append(Problem(
                        *where, 1, f"the checkpoint says line {checkpoint[0]} has the hash "
                                   f"{checkpoint[1][:16]}..., this line has {digest[:16]}...: the log "
                                   "was rewritten here",
                        "log-checkpoint-mismatch"))
                if raw is None:
                    out.problems.append(Problem(*where, 1, f"a line longer than {MAX_LINE} bytes: not read "
                                                           "(no writer of this library makes one)",
                                                "log-line-too-long"))
                    data.malformed += 1
                    prev = digest
                    continue
                if not raw.endswith(b"\n"):
                    out.problems.append(Problem(*where, 1, "the last line is cut short (not ended by "
                                                           "a newline): the writer stopped mid-line",
                                                "log-torn"))
                record = _parse(raw)
                if record is None:
                    out.problems.append(Problem(*where, 1, "not a JSON object", "log-unreadable"))
                    data.malformed += 1
                    prev = digest
                    continue
                if verify:
                    _check_chain(record, prev, where, out.problems)
                    if number == 1:
                        _check_start(record, prev, where, out.problems)
                prev = digest
                if data.add(record):
                    out.counted += 1
    out.head = prev or GENESIS
    if checkpoint is not None and out.lines < checkpoint[0]:
        out.problems.append(Problem(*where, 1, f"the log has {out.lines} line(s), the checkpoint says "
                                               f"{checkpoint[0]}: the lines after this one were removed",
                                    "log-tail-missing"))
    return out


def parse_checkpoint(text: str) -> tuple[int, str]:
    """(lines, hash) from `LINES:HASH` as `coverage log` prints it; ValueError otherwise."""
    lines, _, digest = text.partition(":")
    if not (lines.isascii() and lines.isdigit() and len(digest) == 64
            and all(c in "0123456789abcdef" for c in digest)):
        raise ValueError(f"{text[:100]!r}: write LINES:HASH as `coverage log` prints it "
                         "(e.g. 1200:3f5a...; the hash has 64 hex digits)")
    return int(lines), digest


MAX_LINE = 1 << 20  # a decision line is about a kilobyte; a longer one is not parsed (memory stays bounded)


def _lines(f: BinaryIO) -> Iterator[tuple[bytes | None, int, str]]:
    """(line, its size, its hash) for each line. A line longer than MAX_LINE is hashed in pieces,
    so that the chain can still be checked past it, and not kept (None)."""
    while True:
        raw = f.readline(MAX_LINE + 1)
        if not raw:
            return
        if len(raw) <= MAX_LINE or raw.endswith(b"\n"):
            yield raw, len(raw), line_hash(raw)
            continue
        h = hashlib.sha256()
        size = 0
        while raw:
            size += len(raw)
            ended = raw.endswith(b"\n")
            h.update(raw[:-1] if ended else raw)
            if ended:
                break
            raw = f.readline(MAX_LINE + 1)
        yield None, size, h.hexdigest()


def _parse(raw: bytes) -> Mapping[str, Any] | None:
    try:
        record = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError):
        return None
    return record if isinstance(record, dict) else None


def _check_start(record: Mapping[str, Any], prev: str | None, where: tuple[str, int],
                 problems: list[Problem]) -> None:
    """A file's first line, from format 2 on, says where the log continues from."""
    if record.get("v") == 1:
        return  # format 1 had no `continues`: _check_chain's note on a mid-way start is all there is
    if "continues" not in record:
        problems.append(Problem(*where, 1, "this line does not say where the log continues from, as the "
                                           "first line of every file does: the lines before it in this "
                                           "file were removed", "log-head-missing"))
        return
    continues = record["continues"]
    if continues is None:
        if prev is None and record.get("prev") != GENESIS:
            problems.append(Problem(*where, 1, "the log's first line has a prev other than the genesis "
                                               f"({GENESIS[:16]}...): the line was edited",
                                    "log-chain-broken"))
        return
    if prev is not None:
        return  # _check_chain has checked that the chain goes on from the file before
    if isinstance(continues, dict):
        name, digest = continues.get("file"), str(continues.get("hash"))
        message = (f"this file continues {name} (whose last line has the hash {digest[:16]}...), which "
                   "was not given: give every part of the log, or it was removed")
    else:
        message = f"`continues` is {str(continues)[:40]!r}: neither null nor a file and a hash"
    problems.append(Problem(*where, 1, message, "log-head-missing"))


def _check_chain(record: Mapping[str, Any], prev: str | None, where: tuple[str, int],
                 problems: list[Problem]) -> None:
    given = record.get("prev")
    if prev is None:
        if given != GENESIS and record.get("v") == 1:
            problems.append(Problem(*where, 1, f"the chain starts mid-way (prev {str(given)[:16]}...): "
                                               "earlier parts of this log were not given", "log-chain-start",
                                    "info"))
    elif given != prev:
        problems.append(Problem(*where, 1, "prev does not match the hash of the line before: a line "
                                           "was removed, reordered or edited before this one",
                                "log-chain-broken"))
