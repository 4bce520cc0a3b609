"""Every command driven with hostile policies and facts: no traceback ever, a clear message and
an exit code of 0, 1 (a problem with the input) or 2 (wrong usage: a path that is not a readable
file). The matrix runs in-process through click (fast); the cases that could block a process
(a FIFO, /dev/zero, standard input) also run as the real console script with a timeout."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

from qpr_rules.cli import analyst, core  # noqa: F401  (importing them registers the commands)
from qpr_rules.cli.app import cli

ROOT = Path(__file__).resolve().parents[1]
CLI = Path(sys.executable).with_name("qpr-rules")
TINY = ROOT / "tests" / "fixtures" / "tiny"
POLICIES = ROOT / "policies"
GOOD = {"placement": {"date": "2024-05-01", "status": "proposed", "cleared_with_pco": True, "siblings": []}, "child": {"age": 7, "gender": "female"},
        "home": {"id": "H", "approval": "rfa", "approval_status": "active"}}
POLICY = (TINY / "tiny.yaml").read_text(encoding="utf-8")


def _json(value: object) -> bytes:
    return json.dumps(value).encode()


def _with(path: str, value: object) -> dict[str, object]:
    facts = json.loads(json.dumps(GOOD))
    *parents, last = path.split(".")
    node = facts
    for p in parents:
        node = node[p]
    node[last] = value
    return facts


def _policy_with(old: str, new: str) -> bytes:
    assert old in POLICY
    return POLICY.replace(old, new).encode()


# name -> bytes of a hostile file (used as facts and as a policy)
HOSTILE: dict[str, bytes] = {
    "empty": b"",
    "not-utf8": b"\xff\xfe\x00garbage",
    "latin1": "placement: {date: 2024-05-01}\nhome: {id: caf\u00e9}\n".encode("latin-1"),
    "binary": bytes(range(256)) * 4,
    "nul-bytes": b"a: \x00\x00\x00",
    "top-level-list": b"[1, 2, 3]",
    "top-level-scalar": b"42",
    "yaml-bomb": b"a: &a [x, x]\nb: &b [*a, *a]\nc: [*b, *b]\n",
    "deep-nesting": b"a: " + b"[" * 5000 + b"]" * 5000,
    "deep-json": b"{\"a\": " * 3000 + b"1" + b"}" * 3000,
    "duplicate-json-key": b'{"placement": {"date": "2024-05-01", "cleared_with_pco": false, "cleared_with_pco": true}}',
    "nan-json": b'{"child": {"age": NaN}}',
    "ambiguous-yaml": b"placement: {date: 2024-05-01, cleared_with_pco: yes}\nchild: {age: 010}\n",
    "tags": b"a: !!python/object:os.system [ls]\n",
    "lone-surrogate": _json(_with("home.id", "\ud800")),
    "control-chars": _json(_with("home.id", "a\x00b\x1b[31m\u202e")),
    "huge-text": _json(_with("home.id", "x" * 70000)),
    "huge-key": _json({**GOOD, "k" * 100000: 1}),
    "huge-int": _json(_with("child.age", 10**40)),
    "huge-count": _json(_with("home.restrictions", {"max_children": 10**30})),
    "huge-date": _json(_with("placement.date", "99999-01-01")),
    "year-zero": _json(_with("placement.date", "0000-01-01")),
    "far-date": _json(_with("placement.date", "9999-12-31")),
    "bad-month": _json(_with("placement.date", "2024-13-45")),
    "float-age": _json(_with("child.age", 7.5)),
    "bool-as-int": _json(_with("child.age", True)),
    "huge-list": _json(_with("home.children_placed", [{"age": 1, "gender": "male"}] * 20000)),
    "too-large": b"# " + b"x" * (6 * 1024 * 1024),
    "policy-huge-days": _policy_with("when: {fact: home.hold.kind, in: [pending_qpr, permanent]}",
                                     "when: {fact: placement.date, within_days: {days: 99999999999, of: 2024-01-01}}"),
    "policy-long-in": _policy_with("in: [pending_qpr, permanent]}", "in: [" + ", ".join(["pending_qpr"] * 600) + "]}"),
    "policy-year-10000": _policy_with("revision: 2024-01-01", "revision: 10000-01-01"),
}


def _invoke(args: list[str], stdin: bytes | None = None) -> tuple[int, str]:
    result = CliRunner().invoke(cli, args, input=stdin, catch_exceptions=True)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise AssertionError(f"{args}: {result.exception!r}") from result.exception
    output = result.output + (result.stderr if result.stderr_bytes is not None else "")
    assert "Traceback" not in output and "No such command" not in output
    assert result.exit_code in (0, 1, 2), (args, result.exit_code, output[-500:])
    return result.exit_code, output


def _policy_dir(tmp_path: Path, content: bytes) -> Path:
    directory = tmp_path / "policies"
    directory.mkdir()
    (directory / "p.yaml").write_bytes(content)
    return directory


COMMANDS: dict[str, Callable[[Path, Path], list[str]]] = {
    "validate": lambda f, d: ["validate", str(f)],
    "list": lambda f, d: ["list", str(f)],
    "check": lambda f, d: ["check", str(d)],
    "test": lambda f, d: ["test", str(f), "-p", str(TINY)],
    "fmt-check": lambda f, d: ["fmt", "--check", str(f)],
    "fmt": lambda f, d: ["fmt", str(f)],
    "decide": lambda f, d: ["decide", "tiny.placement", "--facts", str(f), "-p", str(TINY)],
    "decide-json": lambda f, d: ["decide", "tiny.placement", "--facts", str(f), "-p", str(TINY), "--format", "json"],
    "explain": lambda f, d: ["explain", "tiny.placement", "--facts", str(f), "-p", str(TINY)],
    "decide-with-policy": lambda f, d: ["decide", "tiny.placement", "--facts", str(f), "-p", str(d)],
    "schema-facts": lambda f, d: ["schema", "facts", "tiny.placement", "-p", str(d)],
    "diff": lambda f, d: ["diff", str(TINY), str(d)],
}


FACTS_COMMANDS = {"decide", "decide-json", "explain"}


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_every_command_with_every_hostile_file(tmp_path: Path, command: str) -> None:
    for name, content in HOSTILE.items():
        case = tmp_path / name
        case.mkdir()
        path = case / "input.yaml"
        path.write_bytes(content)
        directory = _policy_dir(case, content)
        if name == "huge-list" and command not in FACTS_COMMANDS:
            continue  # facts only (and slow to lay out as YAML)
        given = [path]
        if command in FACTS_COMMANDS:  # facts are also read as JSON by their suffix
            given.append(case / "input.json")
            given[-1].write_bytes(content)
        for file in given:
            _code, output = _invoke(COMMANDS[command](file, directory))
            assert output.strip(), (command, name)  # something is always said


@pytest.mark.parametrize("command", ["validate", "list", "test", "fmt-check", "fmt", "decide", "explain"])
@pytest.mark.parametrize("what", ["missing", "directory", "dev-null", "dev-zero"])
def test_paths_that_are_not_files(tmp_path: Path, command: str, what: str) -> None:
    given = {"missing": tmp_path / "nope.yaml", "directory": tmp_path, "dev-null": Path("/dev/null"),
             "dev-zero": Path("/dev/zero")}[what]
    code, output = _invoke(COMMANDS[command](given, TINY))
    if what == "missing":
        assert code == 2 and f"{given}: no such file" in output and ":1:1" not in output
    elif what == "dev-zero" or (what == "dev-null"):
        assert code == 2 and "is not a regular file" in output
    elif command in ("validate", "list"):  # a directory of policies: none found here
        assert code == 1 and "no policy files (*.yaml) found here" in output
    elif command == "test":  # a directory of scenario files: none found, none run
        assert code == 0 and "0 passed, 0 failed" in output
    elif command.startswith("fmt"):
        assert code == 0  # formats the (empty) directory
    else:
        assert code == 2 and "is a directory, not a file" in output


def test_check_names_no_error_twice(tmp_path: Path) -> None:
    code, output = _invoke(["check", str(tmp_path / "nope.yaml")])
    assert code == 2 and "error error" not in output
    assert output.startswith(f"{tmp_path / 'nope.yaml'}: error unreadable: no such file\n")


def test_duplicate_json_key_is_refused_with_its_position(tmp_path: Path) -> None:
    path = tmp_path / "f.json"
    path.write_bytes(HOSTILE["duplicate-json-key"])
    code, output = _invoke(COMMANDS["decide"](path, TINY))
    assert code == 1
    assert f"{path}:1:65: duplicate key 'cleared_with_pco' in a JSON object" in output


def test_ambiguous_yaml_scalars_are_refused_in_facts_and_policies(tmp_path: Path) -> None:
    path = tmp_path / "f.yaml"
    path.write_bytes(HOSTILE["ambiguous-yaml"])
    code, output = _invoke(COMMANDS["decide"](path, TINY))
    assert code == 1
    assert f"{path}:1:49: the unquoted value 'yes' is true or false in YAML 1.1 but text in YAML 1.2" in output
    assert f"{path}:2:14: the unquoted value '010' has a leading zero" in output
    policy = tmp_path / "p.yaml"
    policy.write_text(POLICY.replace("placement: true", "placement: on"), encoding="utf-8")
    code, output = _invoke(["validate", str(policy)])
    assert code == 1 and "the unquoted value 'on' is true or false in YAML 1.1" in output


def test_non_utf8_is_located(tmp_path: Path) -> None:
    path = tmp_path / "f.yaml"
    path.write_bytes(b"placement:\n  date: caf\xe9\n")
    code, output = _invoke(COMMANDS["decide"](path, TINY))
    assert code == 1 and f"{path}:2:12: the text is not UTF-8: invalid continuation byte (byte 0xe9)" in output


def test_echoed_input_is_truncated(tmp_path: Path) -> None:
    path = tmp_path / "f.json"
    path.write_bytes(HOSTILE["huge-key"])
    code, output = _invoke(COMMANDS["decide"](path, TINY))
    assert code == 1 and "more characters" in output and len(output) < 2000


def test_facts_file_size_limit(tmp_path: Path) -> None:
    path = tmp_path / "f.json"
    path.write_bytes(b" " * (1024 * 1024 + 1))
    code, output = _invoke(COMMANDS["decide"](path, TINY))
    assert code == 2 and "the file is larger than 1048576 bytes" in output


CONSOLE = pytest.mark.skipif(not CLI.exists(), reason="no console script")


@CONSOLE
def test_fifo_and_stdin_as_the_real_console_script(tmp_path: Path) -> None:
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    for args in (["decide", "tiny.placement", "--facts", str(fifo), "-p", str(TINY)], ["validate", str(fifo)],
                 ["fmt", str(fifo)], ["validate", "/dev/zero"], ["decide", "tiny.placement", "--facts", "/dev/zero",
                                                                 "-p", str(TINY)]):
        result = subprocess.run([str(CLI), *args], capture_output=True, text=True, timeout=60)
        assert result.returncode == 2 and "is not a regular file" in result.stderr, (args, result.stderr)
    for stdin in (b"\xff\xfe", HOSTILE["duplicate-json-key"], b"x" * (1024 * 1024 + 10), HOSTILE["lone-surrogate"]):
        result = subprocess.run([str(CLI), "decide", "tiny.placement", "--facts", "-", "-p", str(TINY)],
                                capture_output=True, input=stdin, timeout=60)
        assert result.returncode in (1, 2) and b"Traceback" not in result.stderr, result.stderr[-1000:]
        assert (result.stdout + result.stderr).strip()


# ------------------------------------------------- issue 18.5, 18.8: logs, coverage data, batches


@CONSOLE
def test_coverage_and_batch_refuse_devices_and_fifos_as_the_real_console_script(tmp_path: Path) -> None:
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    for path in ("/dev/zero", "/dev/urandom", str(fifo)):
        for args in (["coverage", "log", "--no-progress", "-p", str(TINY), path],
                     ["coverage", "report", "-p", str(TINY), path],
                     ["decide", "tiny.placement", "--batch", path, "-p", str(TINY)]):
            result = subprocess.run([str(CLI), *args], capture_output=True, text=True, timeout=60)
            assert result.returncode == 2 and "is not a regular file" in result.stderr, (args, result.stderr)
            assert "Traceback" not in result.stderr


@CONSOLE
def test_a_batch_on_standard_input_bounds_each_line(tmp_path: Path) -> None:
    full = {**GOOD, "home": {**GOOD["home"], "hold": None, "restrictions": None, "children_placed": []}}
    line = json.dumps(full).encode() + b"\n"
    stdin = line + b"x" * (3 * 1024 * 1024) + b"\n" + line  # a line of 3 MB between two good ones
    result = subprocess.run([str(CLI), "decide", "tiny.placement", "--batch", "-", "-p", str(TINY)],
                            capture_output=True, input=stdin, timeout=120)
    answers = [json.loads(a) for a in result.stdout.splitlines()]
    assert [a["status"] for a in answers] == ["decided", "error", "decided"], result.stderr[-500:]
    assert "the facts are larger than 1048576 bytes" in answers[1]["reason"]  # as --facts - says
    assert b"Traceback" not in result.stderr


def _coverage_data() -> dict[str, object]:
    from qpr_rules import Engine
    from qpr_rules.coverage.collect import DataSink
    from qpr_rules.coverage.data import CoverageData
    from qpr_rules.yaml_source import load_yaml_file

    engine = Engine.load([POLICIES])
    data = CoverageData.for_policies(engine.policies)
    facts = load_yaml_file(ROOT / "examples" / "placement_home_on_hold.yaml")[0]
    Engine(engine.policies, decision_log=DataSink(data)).decide("qpr.placement", facts)
    return data.to_json()


def test_coverage_report_refuses_crafted_data(tmp_path: Path) -> None:
    good = _coverage_data()
    rules = good["rules"]
    assert isinstance(rules, dict)
    rid, hits = next((k, h) for k, h in rules.items() if h["vectors"])
    vector, (count, result) = next(iter(hits["vectors"].items()))

    def with_vectors(vectors: dict[str, object]) -> dict[str, object]:
        return {**good, "rules": {**rules, rid: {**hits, "vectors": vectors}}}

    crafted = {
        "wrong-vector-length": with_vectors({vector + "1": [count, result]}),
        "not-a-vector": with_vectors({"2" * len(vector): [count, result]}),
        "top-level-list": [good],
        "negative-count": with_vectors({vector: [-5, result]}),
        "float-count": with_vectors({vector: [1.5, result]}),
        "negative-decisions": {**good, "decisions": {"tiny.placement": -1}},
        "string-malformed": {**good, "malformed": "1"},
        "missing-digest": {k: v for k, v in good.items() if k != "digest"},
        "bool-result": with_vectors({vector: [count, "yes"]}),
    }
    ok = tmp_path / "ok.json"
    ok.write_text(json.dumps(good))
    code, output = _invoke(["coverage", "report", "-p", str(POLICIES), str(ok)])
    assert code == 0, output
    for name, data in crafted.items():
        path = tmp_path / f"{name}.json"
        path.write_text(json.dumps(data))
        code, output = _invoke(["coverage", "report", "-p", str(POLICIES), str(path)])
        assert code == 2 and f"cannot read coverage data {path}" in output, (name, output)


def test_coverage_run_refuses_a_log_that_is_not_a_new_file(tmp_path: Path) -> None:
    for log in ("/dev/null", str(tmp_path), str(tmp_path / "missing-dir" / "d.log")):
        code, output = _invoke(["coverage", "run", "-p", str(TINY), "--log", log])
        assert code == 2 and "--log" in output, (log, output)


def test_terminal_escapes_in_scenario_names_are_not_printed(tmp_path: Path) -> None:
    scenarios = tmp_path / "s.yaml"
    scenarios.write_text(
        "format: qpr-rules/scenarios-v1\ndecision: tiny.placement\nscenarios:\n"
        '  - name: "evil \\e]0;owned\\a \\e[2J \\x9b31m \\u202e end"\n'
        "    facts:\n      placement: {date: 2024-05-01, status: proposed, cleared_with_pco: true, siblings: []}\n"
        "      child: {age: 7, gender: female}\n"
        "      home: {id: H, approval: rfa, approval_status: active}\n"
        "    expect: {outcome: deny}\n", encoding="utf-8")
    code, output = _invoke(["test", str(scenarios), "-p", str(TINY)])
    assert "evil" in output and code in (0, 1)
    assert not any(c in output for c in "\x1b\x07\x9b\u202e"), repr(output)
    assert "\\x1b" in output


# ------------------------------------------------------------------ found by the fuzz harness (18.9)

LONG_PATH = "a" * 5000


@pytest.mark.parametrize("args", [["validate", "a\0b"], ["prove", "a\0b"], ["list", LONG_PATH],
                                  ["schema", "facts", "qpr.placement", "-p", LONG_PATH], ["test", LONG_PATH]])
def test_a_path_the_system_refuses_is_wrong_usage_not_a_traceback(args: list[str]) -> None:
    from qpr_rules.cli import prove  # noqa: F401  (registers the command)

    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 2, (result.output, result.exception)
    assert "Traceback" not in result.output
    assert "NUL byte" in result.output or "File name too long" in result.output
    assert len(result.output) < 1000  # the path is cut short, not echoed whole


def test_coverage_report_of_a_json_list_is_refused(tmp_path: Path) -> None:
    from qpr_rules.cli import coverage  # noqa: F401  (registers the command)

    data = tmp_path / "list.json"
    data.write_text("[1, 2]")
    result = CliRunner().invoke(cli, ["coverage", "report", str(data)])
    assert result.exit_code in (1, 2) and "not a qpr-rules coverage data file" in result.output
