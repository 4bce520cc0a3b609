"""The fuzz harness (issue 18.9): hostile input at every door, kept running to find the next bug.

    python -m tests.fuzz --minutes 10              # every target, 10 minutes in all
    python -m tests.fuzz --target doors --minutes 60 --seed 7
    python -m tests.fuzz --target loader --examples 500

Three targets, each a set of classes of hostile input (tests/test_fuzz.py runs each class briefly
in CI; docs/reliability.md lists the classes with the counts tried):

- doors: hostile facts for qpr.placement (wrong types, out-of-range numbers and dates, huge
  strings, duplicate JSON keys, invalid UTF-8, a byte-order mark, `model_construct` instances)
  given to Engine.decide as a dict, JSON text and bytes, to decide_many(jobs=1), and to the CLI's
  `decide --facts` and `decide --batch`. Every door must give the same answer, none may raise,
  and a placement never answers `allow` for invalid facts.
- loader: the bundled policies/qpr.yaml mutated (bytes, lines, keys, values). Loading it either
  succeeds or raises PolicyError whose every problem names file:line:column; nothing else.
- cli: every command with hostile arguments and files (click's CliRunner, in a temporary
  directory: nothing outside it is written). Exit code 0, 1, 2 or 3 with no traceback.

hypothesis generates and shrinks the cases; it is a test extra (`pip install 'qpr-rules[test]'`)
and is imported only when the harness runs. Exit code: 0 when nothing was found, 1 otherwise.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import shutil
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Any

DECISION = "qpr.placement"
MISSING_HYPOTHESIS = ("the fuzz harness needs hypothesis, a test extra of qpr-rules: "
                      "pip install 'qpr-rules[test]' (or pip install hypothesis)")


def hypothesis_modules() -> tuple[ModuleType, ModuleType]:
    """hypothesis and its strategies, imported on first use (a test extra, not a dependency)."""
    try:
        import hypothesis
        from hypothesis import strategies
    except ImportError:
        raise SystemExit(MISSING_HYPOTHESIS) from None
    return hypothesis, strategies


class Finding(AssertionError):
    """What a target found: a broken promise, with the input that broke it."""


@dataclass
class Tally:
    """Examples tried and findings, per target and class."""

    tried: Counter[tuple[str, str]] = field(default_factory=Counter)
    findings: dict[tuple[str, str], str] = field(default_factory=dict)


# ------------------------------------------------------------------ shared fixtures


@cache
def _bundled_dir() -> Path:
    from qpr_rules.bundled import bundled_policy_dir

    return bundled_policy_dir()


@cache
def _engine() -> Any:
    from qpr_rules.engine.engine import Engine

    return Engine.load([_bundled_dir() / "qpr.yaml"])


@cache
def _workdir() -> Path:
    """One temporary directory per process for the files the targets write."""
    path = Path(tempfile.mkdtemp(prefix="qpr-fuzz-"))
    import atexit

    atexit.register(shutil.rmtree, path, True)
    return path


def _base_facts(seed: int) -> dict[str, Any]:
    from qpr_rules.analysis.generate import generate

    return generate(_engine().fact_model(DECISION), random.Random(seed))


def _leaves(node: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    if isinstance(node, dict):
        for k, v in node.items():
            yield from _leaves(v, (*path, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _leaves(v, (*path, i))
    if path:
        yield path


def _set(node: Any, path: tuple[Any, ...], value: Any) -> Any:
    copy = json.loads(json.dumps(node))
    target = copy
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = value
    return copy


# ------------------------------------------------------------------ target 1: the fact doors

WRONG_TYPES: list[Any] = [None, "", "x", "7", 0, -1, 1.5, True, False, [], {}, [1], {"a": 1}, 2**70]
OUT_OF_RANGE: list[Any] = [-1, 26, 2**31, 2**63, -(2**63) - 1, 10**40, "0001-01-01", "9999-12-31",
                           "1799-12-31", "2400-01-01", "2024-02-30", "2024-13-01", "99999-01-01", "2024-1-1"]
HUGE: list[str] = ["a" * 65535, "a" * 65536, "b" * 70000, "\u00e9" * 32768, "\U0001F600" * 20000,
                   "\x00", "\u202e\u0000x", "\ud7ff" * 10]
BAD_UTF8: list[bytes] = [b"\xff", b"\xc3(", b"\xed\xa0\x80", b"\xf4\x90\x80\x80", b"\x80", b"\xe2\x82"]
DOOR_CLASSES = ["valid", "wrong_type", "out_of_range", "huge_string", "duplicate_key", "invalid_utf8",
                "bom", "model_construct"]


@dataclass(frozen=True)
class DoorCase:
    """One hostile facts input. text: the bytes given to the text doors (None: no text form);
    data: the dict given to the dict doors (None: none); obj: a fact model instance (or None);
    invalid: True when the input is invalid facts whatever the door (else judged by the model)."""

    kind: str
    text: bytes | None
    data: Any = None
    obj: Any = None
    invalid: bool | None = None

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:  # hypothesis prints examples with it
        printer.text(repr(self))

    def __repr__(self) -> str:
        shown = self.text[:300] if self.text is not None else repr(self.data)[:300]
        return f"DoorCase({self.kind}: {shown!r})"


def _dumps_with_duplicate(node: Any, where: tuple[Any, ...], first: Any) -> str:
    """JSON text of node where the object at `where` repeats its first key: first with value
    `first`, then the real value (Python's json would keep the last)."""
    if isinstance(node, dict):
        parts = []
        for i, (k, v) in enumerate(node.items()):
            if not where and i == 0:
                parts.append(f"{json.dumps(k)}: {json.dumps(first)}")
            inner = _dumps_with_duplicate(v, where[1:], first) if where and where[0] == k else json.dumps(v)
            parts.append(f"{json.dumps(k)}: {inner}")
        return "{" + ", ".join(parts) + "}"
    if isinstance(node, list) and where:
        return "[" + ", ".join(_dumps_with_duplicate(v, where[1:], first) if i == where[0] else json.dumps(v)
                               for i, v in enumerate(node)) + "]"
    return json.dumps(node)


def door_cases(kind: str) -> Any:
    """The hypothesis strategy of one door class."""
    _, st = hypothesis_modules()

    @st.composite
    def build(draw: Any) -> DoorCase:
        base = _base_facts(draw(st.integers(0, 2**32)))
        leaves = list(_leaves(base))
        if kind == "valid":
            return DoorCase(kind, json.dumps(base).encode(), base)
        if kind in ("wrong_type", "out_of_range", "huge_string"):
            pool = {"wrong_type": WRONG_TYPES, "out_of_range": OUT_OF_RANGE, "huge_string": HUGE}[kind]
            data = _set(base, draw(st.sampled_from(leaves)), draw(st.sampled_from(pool)))
            return DoorCase(kind, json.dumps(data).encode(), data)
        if kind == "duplicate_key":
            objects = [p for p in [(), *leaves] if isinstance(_get(base, p), dict) and _get(base, p)]
            where = draw(st.sampled_from(objects))
            first_key = next(iter(_get(base, where)))
            real = _get(base, (*where, first_key))
            first = draw(st.sampled_from([v for v in [*WRONG_TYPES, "female", 3, "2024-01-01"] if v != real]))
            return DoorCase(kind, _dumps_with_duplicate(base, where, first).encode(), invalid=True)
        if kind == "invalid_utf8":
            text = json.dumps(base, ensure_ascii=False).encode()
            quotes = [m.start() + 1 for m in re.finditer(rb'": "', text)] or [1]
            at = draw(st.sampled_from(quotes)) + 2
            return DoorCase(kind, text[:at] + draw(st.sampled_from(BAD_UTF8)) + text[at:], invalid=True)
        if kind == "bom":
            return DoorCase(kind, b"\xef\xbb\xbf" + json.dumps(base).encode(), base)
        if kind == "model_construct":
            return _constructed(draw, base)
        raise ValueError(f"unknown door class {kind!r}")

    return build()


def _get(node: Any, path: tuple[Any, ...]) -> Any:
    for step in path:
        node = node[step]
    return node


def _constructed(draw: Any, base: dict[str, Any]) -> DoorCase:
    """A PlacementRequest built with model_construct (never validated): nested parts left as
    dicts, or built with model_construct themselves, with a hostile value somewhere."""
    _, st = hypothesis_modules()
    from qpr_rules.facts.placement import Child, Home, Placement, PlacementRequest

    data = _set(base, draw(st.sampled_from(list(_leaves(base)))),
                draw(st.sampled_from([*WRONG_TYPES, *OUT_OF_RANGE[:6]])))
    nested = draw(st.sampled_from(["dicts", "constructed", "mixed"]))
    parts: dict[str, Any] = dict(data)
    models: dict[str, Any] = {"placement": Placement, "child": Child, "home": Home}
    for name, model in models.items():
        if nested == "constructed" or (nested == "mixed" and draw(st.booleans())):
            value = data.get(name)
            parts[name] = model.model_construct(**value) if isinstance(value, dict) else value
    return DoorCase("model_construct", None, data, PlacementRequest.model_construct(**parts))


def _summary(decision: Any) -> tuple[str, bool, tuple[str, ...]]:
    return decision.outcome, decision.status == "error", tuple(sorted(r.id for r in decision.fired))


def _cli_summary(result: Any, batch: bool) -> tuple[str, bool, tuple[str, ...]]:
    _no_traceback(result, "decide --batch" if batch else "decide --facts")
    line = result.stdout.strip().splitlines()
    if not line and not batch and result.exit_code == 1 and re.search(r":\d+:\d+: ", result.stderr):
        return "deny", True, ()  # a facts file it cannot read, refused at its position: fails closed
    if not line:
        raise Finding(f"no answer written (exit {result.exit_code}): {result.stderr[:300]}")
    answer = json.loads(line[-1] if batch else result.stdout)
    expected_exit = 1 if answer["status"] == "error" else 0
    if result.exit_code != expected_exit:
        raise Finding(f"exit {result.exit_code} for a {answer['status']} answer")
    return answer["outcome"], answer["status"] == "error", tuple(sorted(r["id"] for r in answer["fired"]))


def _no_traceback(result: Any, what: str) -> None:
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise Finding(f"{what}: {type(result.exception).__name__}: {result.exception}")
    if "Traceback (most recent call last)" in result.output:
        raise Finding(f"{what}: a traceback in the output")
    if result.exit_code not in (0, 1, 2, 3):
        raise Finding(f"{what}: exit code {result.exit_code}")


class _LoadedOnce:
    """Stands in for Engine inside the CLI while the doors are fuzzed: the CLI's own loading is
    fuzzed by the cli target, and loading qpr.yaml for every example would cost 0.3 s each."""

    @staticmethod
    def load(*args: Any, **kwargs: Any) -> Any:
        return _engine()


def _cli_runner() -> Any:
    from click.testing import CliRunner

    return CliRunner()


def check_doors(case: DoorCase) -> None:
    """Every door answers the case the same way, none raises, and invalid facts never allow."""
    from unittest import mock

    import qpr_rules.cli.core  # noqa: F401  (registers decide)
    from qpr_rules.cli.app import cli
    from qpr_rules.errors import FactsError

    engine = _engine()
    answers: dict[str, tuple[str, bool, tuple[str, ...]]] = {}

    def door(name: str, call: Callable[[], Any]) -> None:
        try:
            answers[name] = call()
        except Finding as exc:
            raise Finding(f"{name}: {exc}") from None
        except Exception as exc:
            raise Finding(f"{name} raised {type(exc).__name__}: {str(exc)[:300]}") from None

    if case.data is not None:
        data = case.data
        door("decide(dict)", lambda: _summary(engine.decide(DECISION, data)))
        door("decide_many(dict)", lambda: _summary(next(iter(engine.decide_many(DECISION, [data], jobs=1)))))
    if case.obj is not None:
        obj = case.obj
        door("decide(model_construct)", lambda: _summary(engine.decide(DECISION, obj)))
        door("decide_many(model_construct)",
             lambda: _summary(next(iter(engine.decide_many(DECISION, [obj], jobs=1)))))
    if case.text is not None:
        raw = case.text
        door("decide(bytes)", lambda: _summary(engine.decide(DECISION, raw)))
        try:
            text: str | None = raw.decode("utf-8")
        except UnicodeDecodeError:
            text = None
        if text is not None:
            door("decide(str)", lambda: _summary(engine.decide(DECISION, text)))
            door("decide_many(str)",
                 lambda: _summary(next(iter(engine.decide_many(DECISION, [text], jobs=1)))))
        facts_file = _workdir() / "facts.json"
        facts_file.write_bytes(raw)
        batch_file = _workdir() / "batch.jsonl"
        batch_file.write_bytes(raw.replace(b"\n", b" ") + b"\n")
        runner = _cli_runner()
        with mock.patch("qpr_rules.cli.core.Engine", _LoadedOnce):
            door("cli decide --facts", lambda: _cli_summary(runner.invoke(
                cli, ["decide", DECISION, "--facts", str(facts_file), "--format", "json"]), False))
            door("cli decide --batch", lambda: _cli_summary(runner.invoke(
                cli, ["decide", DECISION, "--batch", str(batch_file)]), True))
    if len(set(answers.values())) > 1:
        raise Finding("the doors disagree: " + "; ".join(f"{k}: {v}" for k, v in answers.items()))
    invalid = case.invalid
    if invalid is None:
        try:
            engine.validate_facts(DECISION, case.data)
            invalid = False
        except FactsError:
            invalid = True
    allowed = [name for name, (outcome, _, _) in answers.items() if outcome == "allow"]
    if invalid and allowed:
        raise Finding(f"invalid facts allowed by {', '.join(allowed)}")


# ------------------------------------------------------------------ target 2: the policy loader

LOADER_CLASSES = ["bytes", "lines", "keys", "values"]
HOSTILE_SCALARS = ["yes", "010", "1e3", "~", "[]", "{}", "!!python/object:os.system", "*nope", "&a x",
                   "'unclosed", "\"\\xZZ\"", "x" * 70000, str(10**40), "2024-13-45", "-", "? x", "|", ">-",
                   "\t", "%TAG", "{a: 1, a: 2}", "\u202e", "\ufeff"]


@cache
def _policy_text() -> bytes:
    return (_bundled_dir() / "qpr.yaml").read_bytes()


@dataclass(frozen=True)
class PolicyText:
    """A mutated policy file (shown as what differs from the bundled one, not all 60 kB)."""

    data: bytes

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:  # hypothesis prints examples with it
        printer.text(repr(self))

    def __repr__(self) -> str:
        base = _policy_text()
        at = next((i for i, (a, b) in enumerate(zip(base, self.data, strict=False)) if a != b),
                  min(len(base), len(self.data)))
        return f"PolicyText(first change at byte {at}: {self.data[max(0, at - 40):at + 80]!r})"


def policy_mutations(kind: str) -> Any:
    """The hypothesis strategy of one loader class: the bundled qpr.yaml, mutated."""
    _, st = hypothesis_modules()

    @st.composite
    def build(draw: Any) -> PolicyText:
        text = _policy_text()
        for _ in range(draw(st.integers(1, 3))):
            if kind == "bytes":
                at = draw(st.integers(0, len(text)))
                cut = draw(st.integers(0, 8))
                text = text[:at] + draw(st.binary(max_size=6)) + text[at + cut:]
            elif kind == "lines":
                lines = text.split(b"\n")
                i, j = draw(st.integers(0, len(lines) - 1)), draw(st.integers(0, len(lines) - 1))
                how = draw(st.sampled_from(["delete", "duplicate", "swap", "indent", "dedent"]))
                if how == "delete":
                    del lines[i]
                elif how == "duplicate":
                    lines.insert(j, lines[i])
                elif how == "swap":
                    lines[i], lines[j] = lines[j], lines[i]
                elif how == "indent":
                    lines[i] = b"  " + lines[i]
                else:
                    lines[i] = lines[i].lstrip()
                text = b"\n".join(lines)
            else:
                pattern = (rb"(?m)^(\s*-?\s*)([A-Za-z_]+):" if kind == "keys"
                           else rb"(?m):[ ]+([^\n{}\[\],#]+)$")
                found = list(re.finditer(pattern, text))
                if not found:
                    break
                m = draw(st.sampled_from(found))
                if kind == "keys":
                    new = draw(st.sampled_from([b"", b"id", b"when", b"rules", b"decision", b"x" * 300,
                                                m.group(2)[:-1], m.group(2) + b"s", m.group(2).upper()]))
                    text = text[:m.start(2)] + new + text[m.end(2):]
                else:
                    new = draw(st.sampled_from(HOSTILE_SCALARS)).encode("utf-8", "surrogatepass")
                    text = text[:m.start(1)] + new + text[m.end(1):]
        return PolicyText(text)

    return build()


def check_loader(case: PolicyText) -> None:
    """The mutated policy loads, or PolicyError names file:line:column for every problem."""
    from qpr_rules.errors import PolicyError
    from qpr_rules.policy.loader import load_policy_set

    path = _workdir() / "qpr.yaml"
    path.write_bytes(case.data)
    try:
        load_policy_set([path])
    except PolicyError as exc:
        if not exc.problems:
            raise Finding("PolicyError without a problem") from None
        for p in exc.problems:
            if p.file != str(path) or p.line < 1 or p.column < 1 or not p.message:
                raise Finding(f"a problem without file:line:column: {p!r}") from None
    except Exception as exc:
        raise Finding(f"{type(exc).__name__}: {str(exc)[:300]}") from None


# ------------------------------------------------------------------ target 3: every CLI command


#: Commands that run until stopped: given valid arguments they never return, so the harness
#: leaves them out (`serve`'s refusals of bad arguments are tested in tests/test_service*.py).
RUNS_UNTIL_STOPPED = frozenset({("serve",)})
#: Options that make a command run until stopped (`test --watch`, `check --watch` rerun on every
#: save): left out for the same reason (tests/test_watch.py runs them and stops them by their PID).
OPTIONS_RUN_UNTIL_STOPPED = frozenset({"--watch"})


def cli_commands() -> list[tuple[str, ...]]:
    """Every leaf command of `qpr-rules` that returns, as the words that name it (`coverage run`,
    ...)."""
    import click

    from qpr_rules.cli.app import cli

    out: list[tuple[str, ...]] = []

    def walk(group: click.Group, words: tuple[str, ...]) -> None:
        ctx = click.Context(group)
        for name in group.list_commands(ctx):
            command = group.get_command(ctx, name)
            if isinstance(command, click.Group):
                walk(command, (*words, name))
            elif command is not None and (*words, name) not in RUNS_UNTIL_STOPPED:
                out.append((*words, name))

    walk(cli, ())
    return out


def _options(words: tuple[str, ...]) -> list[tuple[str, bool]]:
    """(option name, is a flag) of a command."""
    import click

    from qpr_rules.cli.app import cli

    command: Any = cli
    for w in words:
        command = command.get_command(click.Context(command), w)
    return [(p.opts[0], bool(getattr(p, "is_flag", False))) for p in command.params
            if isinstance(p, click.Option) and p.opts[0] not in ("--help",)
            and not set(p.opts) & OPTIONS_RUN_UNTIL_STOPPED]


@cache
def _hostile_files() -> dict[str, str]:
    """Files the cli target passes as arguments, all inside the work directory."""
    root = _workdir() / "cli"
    root.mkdir(exist_ok=True)
    files = {
        "empty.json": b"", "binary.yaml": bytes(range(256)), "latin1.json": '{"a": "\xe9"}'.encode("latin-1"),
        "deep.json": b"[" * 5000, "dup.json": b'{"a": 1, "a": 2}', "nul.yaml": b"a: \x00",
        "bom.json": b"\xef\xbb\xbf{}", "list.json": b"[1, 2]", "scalar.yaml": b"7",
        "alias.yaml": b"a: &a [1]\nb: *a\n", "huge-key.json": b'{"' + b"k" * 100000 + b'": 1}',
        "tags.yaml": b"!!python/object:os.system x", "lines.jsonl": b'{}\n\xff\n{"a":\n',
    }
    out = {}
    for name, data in files.items():
        (root / name).write_bytes(data)
        out[name] = str(root / name)
    (root / "adir").mkdir(exist_ok=True)
    out["adir"] = str(root / "adir")
    out["missing"] = str(root / "nope.yaml")
    shutil.copy(_bundled_dir() / "qpr.yaml", root / "policy.yaml")
    out["policy"] = str(root / "policy.yaml")
    return out


VALUES = ["", "-", "0", "-1", "2", "x", "qpr.placement", "nope.decision", "2024-13-45", "2024-05-01",
          "99999999999999999999999", "\u202e", "a" * 5000, "--", "-p", "json", "text"]
#: options that start work proportional to their value: only small or invalid values, so that
#: the fuzzer does not fork thousands of workers or generate forever (that is not a finding)
BOUNDED = {"--jobs": ["0", "-1", "x", "1", "2"], "-j": ["0", "-1", "x", "1", "2"],
           "--generated": ["0", "-1", "x", "3"], "--probe": ["0", "-1", "x", "3", "100001"],
           "--list-bound": ["0", "-1", "x", "1"], "--cases": ["0", "-1", "x", "3"]}


@dataclass(frozen=True)
class CliCase:
    args: tuple[str, ...]
    stdin: bytes

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:  # hypothesis prints examples with it
        printer.text(repr(self))

    def __repr__(self) -> str:
        return f"CliCase(qpr-rules {' '.join(a[:60] for a in self.args)!s}, stdin={self.stdin[:60]!r})"


def cli_cases(words: tuple[str, ...]) -> Any:
    """The hypothesis strategy of one command's hostile invocations."""
    _, st = hypothesis_modules()
    options = _options(words)
    files = _hostile_files()
    values = st.one_of(st.sampled_from(VALUES), st.sampled_from(sorted(files.values())),
                       st.text(max_size=12))

    @st.composite
    def build(draw: Any) -> CliCase:
        args: list[str] = list(words)
        for _ in range(draw(st.integers(0, 4))):
            if options and draw(st.booleans()):
                name, flag = draw(st.sampled_from(options))
                args.append(name)
                if not flag:
                    args.append(draw(st.sampled_from(BOUNDED[name]) if name in BOUNDED else values))
            else:
                args.append(draw(values))
        if words in (("fmt",), ("prove",)):
            # fmt with no path rewrites the bundled policies, prove proves all of them (slow):
            # always give them the work directory's copy of qpr.yaml
            args.append(files["policy"])
        if words[0] == "coverage" and "-p" not in args:  # the bundled set: 2 s a run
            args += ["-p", files["policy"]]
        stdin = draw(st.sampled_from([b"", b"{}", b"\xff\xfe", b"[" * 3000, json.dumps({"a": 1}).encode()]))
        return CliCase(tuple(args), stdin)

    return build()


def check_cli(case: CliCase) -> None:
    """The command ends with exit code 0, 1, 2 or 3 and a message, never a traceback."""
    import os

    from qpr_rules.cli.app import cli

    runner = _cli_runner()
    cwd = os.getcwd()
    os.chdir(_workdir() / "cli")  # relative paths and default outputs land in the work directory
    try:
        result = runner.invoke(cli, list(case.args), input=case.stdin, catch_exceptions=True)
    finally:
        os.chdir(cwd)
    _no_traceback(result, "qpr-rules " + " ".join(a[:40] for a in case.args))
    if result.exit_code != 0 and not (result.stderr.strip() or result.stdout.strip()):
        raise Finding(f"exit {result.exit_code} without a message")


# ------------------------------------------------------------------ running


@dataclass(frozen=True)
class Target:
    classes: list[str]
    strategy: Callable[[Any], Any]
    check: Callable[[Any], None]


def targets() -> dict[str, Target]:
    return {
        "doors": Target(DOOR_CLASSES, door_cases, check_doors),
        "loader": Target(LOADER_CLASSES, policy_mutations, check_loader),
        "cli": Target(["+".join(w) for w in cli_commands()], lambda c: cli_cases(tuple(c.split("+"))),
                      check_cli),
    }


def run_class(target: str, kind: str, examples: int, seed: int | None = None) -> tuple[int, str | None]:
    """Run `examples` examples of one class. Returns (examples run, the shrunk finding or None)."""
    hypothesis, _ = hypothesis_modules()
    spec = targets()[target]
    ran = [0]

    def body(case: Any) -> None:
        ran[0] += 1
        spec.check(case)

    test = hypothesis.given(spec.strategy(kind))(body)
    test = hypothesis.settings(max_examples=examples, deadline=None, database=None, derandomize=seed is None,
                               suppress_health_check=list(hypothesis.HealthCheck),
                               phases=[hypothesis.Phase.generate, hypothesis.Phase.shrink])(test)
    if seed is not None:
        test = hypothesis.seed(seed)(test)
    try:
        test()
    except Finding as exc:
        return ran[0], _short(str(exc))
    except BaseExceptionGroup as group:  # several distinct findings: the first
        first = group.exceptions[0]
        if not isinstance(first, Finding):
            raise
        return ran[0], _short(str(first))
    return ran[0], None


def _short(text: str, limit: int = 600) -> str:
    """A finding as printed: long hostile values cut (the shrunk example is reproducible)."""
    text = re.sub(r"(.)\1{40,}", lambda m: f"{m.group(1) * 8}...({len(m.group(0)):,} times)", text)
    return text if len(text) <= limit else text[:limit] + "..."


def fuzz(selected: list[str], minutes: float, examples: int | None, seed: int,
         say: Callable[[str], None] = print) -> Tally:
    """Round-robin over the classes of the selected targets, in rounds of `examples` (default
    25) per class, until `minutes` have passed (or one round, with --examples alone)."""
    tally = Tally()
    deadline = time.monotonic() + minutes * 60
    chunk = examples or 25
    round_ = 0
    while True:
        for target in selected:
            for kind in targets()[target].classes:
                if (target, kind) in tally.findings:
                    continue
                ran, found = run_class(target, kind, chunk, seed=seed * 1000 + round_)
                tally.tried[(target, kind)] += ran
                if found:
                    tally.findings[(target, kind)] = found
                    say(f"FOUND {target}/{kind}: {found}")
                if minutes and time.monotonic() > deadline:
                    return tally
        round_ += 1
        if not minutes:
            return tally


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.fuzz",
                                     description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--target", choices=["doors", "loader", "cli", "all"], default="all")
    parser.add_argument("--minutes", type=float, default=0.0, help="Run this long (default: one round).")
    parser.add_argument("--examples", type=int, default=None, help="Examples per class and round (25).")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    hypothesis_modules()  # say so now if hypothesis is missing
    selected = ["doors", "loader", "cli"] if args.target == "all" else [args.target]
    started = time.monotonic()
    tally = fuzz(selected, args.minutes, args.examples, args.seed)
    print(f"\n{sum(tally.tried.values()):,} examples in {time.monotonic() - started:.0f} s")
    for (target, kind), count in sorted(tally.tried.items()):
        found = tally.findings.get((target, kind))
        print(f"  {target:7} {kind:22} {count:7,}  {'FOUND: ' + found[:200] if found else 'ok'}")
    return 1 if tally.findings else 0


if __name__ == "__main__":
    sys.exit(main())
