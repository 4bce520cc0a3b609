"""validate, decide, explain, list, schema: the commands applications and analysts use daily."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import click

from qpr_rules.cli.app import (
    EXIT_DENIED,
    EXIT_FAILED,
    announce,
    cli,
    decide_source,
    load_engine,
    policy_paths,
    report_fact_positions,
)
from qpr_rules.cli.output import console, is_terminal
from qpr_rules.engine.engine import Engine
from qpr_rules.engine.explain import render_trace
from qpr_rules.facts.base import registered_fact_types
from qpr_rules.policy.loader import load_policy_set

PATHS = click.argument("paths", nargs=-1, type=click.Path())
AS_OF = click.option("--as-of", "as_of", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
                     help="Use the policy versions in force on this date (YYYY-MM-DD); default: the latest.")
POLICIES = click.option("--policies", "-p", "policies", multiple=True, type=click.Path(),
                        help="Policy file or directory (default: the project's, docs/cli.md).")


def complete_decision(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[str]:
    """Shell completion of a decision id: the ids in the policies the command would load (-p if
    already typed, else the project's, else the bundled ones). Read from the YAML alone, without
    checking the policies, so that a tab answers at once; nothing (rather than an error) when
    they cannot be read."""
    from qpr_rules.cli.project import policy_dirs
    from qpr_rules.policy.loader import policy_files

    try:
        import yaml

        ids: set[str] = set()
        for path in policy_files(policy_dirs(ctx.params.get("policies") or ())):
            loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
            data = yaml.load(path.read_text(encoding="utf-8"), Loader=loader)
            for d in (data.get("decisions") or []) if isinstance(data, dict) else []:
                if isinstance(d, dict) and isinstance(d.get("id"), str):
                    ids.add(d["id"])
    except Exception:  # completion never prints a traceback into the shell
        return []
    return sorted(i for i in ids if i.startswith(incomplete))


@cli.command()
@PATHS
def validate(paths: tuple[str, ...]) -> None:
    """Load policy files and report every problem (exit 1 when there are any).

    \b
    Example:
      qpr-rules validate                 # the bundled policies
      qpr-rules validate policies/qpr.yaml
    """
    from qpr_rules.cli.app import policy_paths
    from qpr_rules.cli.project import describe

    resolved = policy_paths(paths)
    ps = load_policy_set(resolved)
    rules = len(ps.rules())
    # one line, naming what was validated: `ok: ...; digest D; policies DIR (why those)`
    click.echo(f"ok: {len(ps.files)} file(s), {len(ps.decisions)} decision(s), {rules} rule(s); "
               f"digest {ps.digest[:16]}; {describe(resolved, ps.digest, with_digest=False)}")


@cli.command()
@click.argument("decision", shell_complete=complete_decision)
@click.option("--facts", "facts_src", help="JSON or YAML file, or - for stdin.")
@click.option("--batch", "batch_src", help="JSON Lines file (or - for stdin): one facts object a line; "
              "prints one Decision JSON line per input line, in order.")
@click.option("--jobs", type=click.IntRange(min=1), default=1, show_default=True,
              help="With --batch: worker processes.")
@click.option("--evaluator", type=click.Choice(["durable", "compiled"]), default="durable",
              show_default=True, help="durable: durable_rules cross-checked by the compiled evaluator; "
              "compiled: the compiled evaluator alone (same answers, faster).")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text")
@click.option("--exit-code", "exit_code", is_flag=True,
              help=f"Exit {EXIT_DENIED} when the outcome is the decision's denying outcome (its on_error).")
@click.option("--decision-log", "decision_log", type=click.Path(dir_okay=False), default=None,
              help="Append the answer to this hash-chained decision log (default: the project's "
                   "`decision_log`, if it names one).")
@click.option("--reference", default=None, metavar="ID",
              help="With --facts: the case or request id written on the answer's log line.")
@click.option("--log-mask", "log_mask", multiple=True, metavar="PATH",
              help="A fact path the log must not record (repeatable; default: the project's "
                   "`decision_log_mask`).")
@POLICIES
@AS_OF
def decide(decision: str, facts_src: str | None, batch_src: str | None, jobs: int, evaluator: str,
           fmt: str, exit_code: bool, decision_log: str | None, reference: str | None,
           log_mask: tuple[str, ...], policies: tuple[str, ...], as_of: dt.datetime | None) -> None:
    """Answer DECISION for the facts, or for each line of a batch.

    Exit 0 whatever the outcome (with --exit-code: 3 when the outcome is the decision's denying
    outcome, its `on_error`: deny for placements); 1 if the facts are invalid (with --batch: if
    any line's were; every line is still answered).

    \b
    Example:
      qpr-rules decide qpr.placement --facts examples/placement_home_on_hold.yaml
      cat facts.json | qpr-rules decide qpr.placement --facts - --format json --exit-code
      qpr-rules decide qpr.placement --batch cases.jsonl --jobs 2 --evaluator compiled > answers.jsonl
    """
    if (facts_src is None) == (batch_src is None):
        raise click.UsageError("give exactly one of --facts FILE and --batch FILE.jsonl")
    if reference is not None and batch_src is not None:
        raise click.UsageError("--reference names one case: give it with --facts (a batch's lines are "
                               "cases of their own; decide them with Engine.decide(..., reference=...))")
    from qpr_rules.engine.decision_log import check_reference

    try:
        check_reference(reference)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="'--reference'") from None
    log, mask = _decision_log_settings(decision_log, log_mask)
    resolved = policy_paths(policies)
    try:
        engine = Engine.load(resolved, as_of=as_of.date() if as_of else None,
                             evaluator="compiled" if evaluator == "compiled" else "durable",
                             decision_log=log, log_mask=mask)
    except ValueError as exc:  # a mask that masks nothing
        raise click.BadParameter(str(exc), param_hint="'--log-mask'") from None
    announce(resolved, engine.digest)
    if batch_src is not None:
        from qpr_rules.cli.batch import run_batch

        lines, errors, first = run_batch(engine, decision, batch_src, jobs)
        if errors:
            click.echo(f"{errors} of {lines} line(s) got an error answer (invalid facts or a failed "
                       f"evaluation), the first at line {first}", err=True)
            raise SystemExit(EXIT_FAILED)
        return
    assert facts_src is not None
    result, facts, where = decide_source(engine, decision, facts_src, reference)
    if fmt == "json":
        click.echo(result.to_json(indent=2))
    else:
        click.echo(f"{result.outcome} ({result.status}): {result.reason}")
        for ob in result.obligations:
            click.echo(f"  obligation: {ob.role}: {ob.do}")
        for cq in result.consequences:
            click.echo(f"  consequence: {cq.text}")
    if result.status == "error":
        report_fact_positions(engine, decision, facts, where)
        raise SystemExit(EXIT_FAILED)
    if exit_code and result.outcome == engine.spec(decision).decision.on_error:
        raise SystemExit(EXIT_DENIED)


def _decision_log_settings(log: str | None, mask: tuple[str, ...]) -> tuple[Path | None, tuple[str, ...]]:
    """--decision-log and --log-mask as given, else the project's `decision_log` and
    `decision_log_mask` (docs/cli.md, "Which policies")."""
    from qpr_rules.cli.project import find_project

    project = find_project()
    path = Path(log) if log else (project.decision_log if project else None)
    return path, mask or (project.decision_log_mask if project else ())


@cli.command()
@click.argument("decision", shell_complete=complete_decision)
@click.option("--facts", "facts_src", required=True, help="JSON or YAML file, or - for stdin.")
@POLICIES
@AS_OF
def explain(decision: str, facts_src: str, policies: tuple[str, ...], as_of: dt.datetime | None) -> None:
    """A readable trace: each rule, fired or not and why, with the quoted policy text.

    \b
    Example:
      qpr-rules explain qpr.placement --facts examples/placement_home_on_hold.yaml
    """
    engine = load_engine(policies, as_of.date() if as_of else None)
    result, facts, where = decide_source(engine, decision, facts_src)
    click.echo(render_trace(engine, result), nl=False)
    if result.status == "error":
        report_fact_positions(engine, decision, facts, where)
        raise SystemExit(EXIT_FAILED)


@cli.command(name="list")
@PATHS
@click.option("--decisions", "what", flag_value="decisions", help="Only decisions.")
@click.option("--rules", "what", flag_value="rules", help="Only rules.")
@click.option("--clauses", "what", flag_value="clauses", help="Only the clause index.")
@click.option("--format", "fmt", type=click.Choice(["table", "plain", "json"]), default=None,
              help="table (default on a terminal), plain (default when piped) or json.")
def list_(paths: tuple[str, ...], what: str | None, fmt: str | None) -> None:
    """Decisions, rules and the clause index (with the rules encoding each clause).

    Ids are never cut: tables wrap them; when the output is not a terminal the default format
    is `plain` (one tab-separated line per item).

    \b
    Example:
      qpr-rules list --decisions
      qpr-rules list --rules --format json | jq '.rules[].id'
    """
    from qpr_rules.cli.app import policy_paths

    ps = load_policy_set(policy_paths(paths))
    encoded: dict[tuple[str, str], list[str]] = {}
    for r in ps.rules():
        for c in r.rule.clauses:
            encoded.setdefault((r.file.policy.id, c), []).append(r.id)
    data: dict[str, list[dict[str, object]]] = {"decisions": [], "rules": [], "clauses": []}
    for d in ps.decisions.values():
        data["decisions"].append({"id": d.decision.id, "title": d.decision.title,
                                  "facts": d.decision.facts, "combine": d.decision.combine,
                                  "default": d.decision.default, "rules": len(d.rules)})
        for r in d.rules:
            data["rules"].append({"id": r.id, "decision": d.decision.id, "outcome": r.rule.outcome,
                                  "title": r.rule.title, "clauses": r.rule.clauses})
    for f in ps.files:
        for clause in f.policy.clauses:
            data["clauses"].append({
                "policy": f.policy.id, "id": clause.id, "section": clause.section, "text": clause.text,
                "computable": clause.computable, "reason": clause.reason,
                "rules": encoded.get((f.policy.id, clause.id), [])})
    sections = [what] if what else ["decisions", "rules", "clauses"]
    fmt = fmt or ("table" if is_terminal() else "plain")
    if fmt == "json":
        click.echo(json.dumps({k: data[k] for k in sections}, indent=2, ensure_ascii=False))
        return
    for section in sections:
        columns, rows = _list_rows(section, data[section])
        if fmt == "plain":
            for row in rows:
                click.echo("\t".join(row))
            continue
        from rich.table import Table

        table = Table(title=f"{section} ({len(rows)})", show_lines=False)
        for col in columns:  # fold, never cut: an id with an ellipsis cannot be copied
            table.add_column(col, overflow="fold", no_wrap=False)
        for row in rows:
            table.add_row(*row)
        console().print(table)


def _list_rows(section: str, rows: list[dict[str, object]]) -> tuple[list[str], list[list[str]]]:
    if section == "decisions":
        cols = ["id", "title", "facts", "combine", "default", "rules"]
        return cols, [[str(d[c]) for c in cols] for d in rows]
    if section == "rules":
        return ["id", "outcome", "title", "clauses"], [
            [str(r["id"]), str(r["outcome"]), str(r["title"]), ", ".join(r["clauses"])]  # type: ignore[arg-type]
            for r in rows]
    out = []
    for c in rows:
        enc = ", ".join(c["rules"]) if c["rules"] else (  # type: ignore[arg-type]
            f"non-computable: {c['reason']}" if not c["computable"] else "NOT ENCODED")
        out.append([str(c["policy"]), str(c["id"]), str(c["section"]), str(c["text"]), enc])
    return ["policy", "id", "section", "text", "encoded by"], out


@cli.group()
def schema() -> None:
    """JSON Schemas: of a decision's facts, of the policy format, of the scenario format.

    \b
    Example:
      qpr-rules schema facts qpr.placement > placement.schema.json
    """


@schema.command(name="facts")
@click.argument("decision", required=False)
@POLICIES
def schema_facts(decision: str | None, policies: tuple[str, ...]) -> None:
    """JSON Schema of the facts DECISION takes (or, without DECISION, list the fact types).

    \b
    Example:
      qpr-rules schema facts              # the fact types
      qpr-rules schema facts qpr.placement
    """
    if decision is None:
        for name, model in registered_fact_types().items():
            click.echo(f"{name}: {(model.__doc__ or '').strip().splitlines()[0]}")
        return
    from qpr_rules.schemas import fact_schemas, render

    engine = load_engine(policies)
    click.echo(render(fact_schemas()[engine.spec(decision).decision.facts]), nl=False)
