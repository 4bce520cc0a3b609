"""`qpr-rules interview DECISION`: ask, one at a time, only the questions that can change the
answer, in the order that settles it soonest, until the answer is proved (docs/interview.md).

Each step asks Engine.decide_partial what the facts gathered so far leave open, and asks its
first-ranked question; the answer read from standard input is added to the facts, and the
facts gathered are written (--out) as a facts file that `qpr-rules decide` reads.
"""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path
from typing import Any

import click
import yaml

from qpr_rules.cli.app import EXIT_FAILED, cli, load_engine, read_facts
from qpr_rules.engine.engine import Engine
from qpr_rules.engine.partial_result import BadAnswer, PartialDecision, Question, parse_answer, with_answer

EXIT_UNKNOWN = 4  # the solver ran out of time: nothing is claimed (as `qpr-rules prove`)
SKIP = ("", "?")  # an answer not known: the next question is asked instead


@cli.command()
@click.argument("decision")
@click.option("--facts", "facts_src", type=click.Path(), default=None,
              help="A JSON or YAML file of the facts known already (omitted fields: unknown).")
@click.option("--out", "out", type=click.Path(dir_okay=False, writable=True), default=None,
              help="Write the facts gathered here (YAML), when the interview ends.")
@click.option("--policies", "-p", "policies", multiple=True, type=click.Path(),
              help="Policy file or directory (default: the bundled policies).")
@click.option("--list-bound", default=3, show_default=True, type=click.IntRange(1, 16),
              help="Different items a list holds in the solver's model (as `qpr-rules prove`).")
@click.option("--timeout", "timeout_s", default=2.0, show_default=True,
              type=click.FloatRange(0, 3600, min_open=True),
              help="Seconds each solver call may take; running out answers unknown (exit 4).")
def interview(decision: str, facts_src: str | None, out: str | None, policies: tuple[str, ...],
              list_bound: int, timeout_s: float) -> None:
    """Ask for the facts of DECISION one question at a time, only those that can change the
    answer, until the answer is determined (proved for every completion of the facts given).

    Answers are read a line at a time from standard input: a value of the kind asked (yes/no,
    one of the choices or its number, a whole number, a date YYYY-MM-DD, text); `none` for null
    where a fact may be null; an empty line or `?` when it is not known (the next question is
    asked). Exit 0 when the answer is determined; 1 when the answers run out before; 4 when the
    solver runs out of time (nothing is claimed).

    \b
    Example:
      qpr-rules interview qpr.placement --facts child.yaml --out facts.yaml
      printf 'active\\nyes\\nnone\\n' | qpr-rules interview qpr.placement
    """
    engine = load_engine(policies)
    engine.spec(decision)  # an unknown decision is refused before anything is asked
    known: dict[str, Any] = {}
    if facts_src is not None:
        read, _ = read_facts(facts_src)
        if not isinstance(read, dict):
            raise click.UsageError(f"{facts_src}: the facts must be a mapping of fields")
        known = read
    code = _run(engine, decision, known, list_bound, timeout_s, out)
    sys.exit(code)


def _run(engine: Engine, decision: str, known: dict[str, Any], list_bound: int, timeout_s: float,
         out: str | None) -> int:
    skipped: set[str] = set()
    asked = 0
    while True:
        answer = engine.decide_partial(decision, known, list_bound=list_bound, timeout_s=timeout_s)
        if answer.status != "open":
            _conclude(decision, answer)
            _write(known, out)
            return 0 if answer.status == "determined" else EXIT_UNKNOWN
        if asked == 0:
            click.echo(f"{decision}: open: {' or '.join(answer.outcomes)} still possible; "
                       f"{len(answer.questions)} unknown fact(s) can change the answer")
        question = next((q for q in answer.questions if q.path not in skipped), None)
        if question is None:
            click.echo(f"{decision}: still open: {' or '.join(answer.outcomes)}; no more answers")
            _write(known, out)
            return EXIT_FAILED
        value = _ask(question)
        asked += 1
        if value is _EOF:
            click.echo(f"{decision}: still open: {' or '.join(answer.outcomes)}; the answers ended")
            _write(known, out)
            return EXIT_FAILED
        if value is _SKIPPED:
            skipped.add(question.path)
            continue
        known = with_answer(known, question.path, value)


_EOF: Any = object()
_SKIPPED: Any = object()


def _ask(question: Question) -> Any:
    """Ask question until the line read fits it; _EOF at the end of input, _SKIPPED if unknown."""
    click.echo(f"? {question.path}: {question.text}")
    click.echo(f"  {_hint(question)}")
    while True:
        click.echo("> ", nl=False)
        line = sys.stdin.readline()
        if not line:
            click.echo("")
            return _EOF
        text = line.strip()
        if not sys.stdin.isatty():
            click.echo(text)  # piped: show the answer read, so the transcript reads as asked
        if text in SKIP:
            return _SKIPPED
        try:
            return parse_answer(question, text)
        except BadAnswer as exc:
            click.echo(f"  {exc}")


def _hint(question: Question) -> str:
    kinds = {"bool": "yes or no", "int": "a whole number", "number": "a number", "string": "text",
             "date": "a date, YYYY-MM-DD", "object": "is there one? yes or no",
             "list": "how many items?", "enum": ""}
    hint = (", ".join(f"{i}. {c}" for i, c in enumerate(question.choices, 1)) if question.kind == "enum"
            else kinds[question.kind])
    if question.kind == "list" and question.choices:
        hint = "the items, separated by commas, from: " + ", ".join(question.choices)
    if question.nullable and question.kind not in ("object",):
        hint += "; none: not there"
    settles = [f"{_shown(s.answer, question.kind)} settles it: {s.outcome}" for s in question.settles]
    return hint + (f"  ({'; '.join(settles)})" if settles else "") + "  [empty or ?: not known]"


def _shown(value: Any, kind: str) -> str:
    if value is None:
        return "no" if kind == "object" else "none"
    if value is True or value is False:
        return "yes" if value else "no"
    if value == {}:
        return "yes"
    if value == []:
        return "0"
    return str(value)


def _conclude(decision: str, answer: PartialDecision) -> None:
    if answer.status == "unknown":
        click.echo(f"{decision}: UNKNOWN: {answer.reason}")
        return
    assert answer.outcome is not None
    click.echo(f"{decision}: {answer.outcome.upper()}, determined: {answer.reason}")
    for error in answer.errors:
        click.echo(f"  error: {error}")
    for duty in answer.duties:
        ob = duty.obligation
        when = "certain" if duty.certain else "depends on facts not known"
        click.echo(f"  duty ({when}): {ob.role} ({ob.who}): {ob.do} [{ob.rule}]")
    for bound in answer.bounds:
        click.echo(f"  covers: {bound}")


def _write(known: dict[str, Any], out: str | None) -> None:
    if out is None:
        return
    text = yaml.safe_dump(_plain(known), sort_keys=False, allow_unicode=True)
    Path(out).write_text(text, encoding="utf-8")
    click.echo(f"facts written to {out}")


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, dt.date):
        return value.isoformat()
    return value
