"""`procedure check --format html`: one self-contained page an auditor can file (no scripts, no
network), beside the coverage HTML report whose header and style it shares: the policies'
directory, digest and revision, when and by which command it was made, and the source documents
by their titles (policies/sources/index.yaml).

Per case: where it stands (state, since when, the hold its events establish), each departure with
its clause and the sentence that clause quotes, the notices a departure required and nobody gave,
the duties not discharged (with --as-of), the statechart with the case drawn on it (inline SVG
from analysis.procedure_svg), and its history event by event.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup

from qpr_rules.analysis.procedure_graph import label
from qpr_rules.analysis.procedure_svg import svg
from qpr_rules.coverage.report_core import About, document_title
from qpr_rules.engine.case import Case, Departure
from qpr_rules.engine.case_check import CaseReport, Finding, total
from qpr_rules.policy.loader import PolicySet
from qpr_rules.policy.procedures import ProcedureSpec
from qpr_rules.scenarios.case_runner import step_text


@dataclass(frozen=True)
class Quoted:
    """A finding with the sentence its clause quotes from the source."""

    finding: Finding
    quote: str
    section: str
    consequences: tuple[str, ...] = ()


@dataclass(frozen=True)
class CaseView:
    report: CaseReport
    state_path: tuple[str, ...]
    since: str | None
    final: bool
    hold: str | None
    departures: list[Quoted]
    notices: list[Quoted]  # duties a departure created and nothing discharged (a notice not given)
    duties: list[Quoted]  # duties owed in the state on the --as-of date
    history: list[str]
    chart: Markup


@dataclass(frozen=True)
class ProcedureView:
    spec: ProcedureSpec
    document: str  # the source document's title
    transitions: list[tuple[int, str, str]]  # number, label, clause


def _hold(case: Case) -> str | None:
    hold = case.hold()
    if hold is None:
        return None
    parts = [f"{hold.kind.value} since {hold.placed_on}"]
    if hold.review_after:
        parts.append(f"review after {hold.review_after}")
    if hold.reinstated_on:
        parts.append(f"reinstated {hold.reinstated_on}")
    return ", ".join(parts)


def _quoted(spec: ProcedureSpec, f: Finding, consequences: tuple[str, ...] = ()) -> Quoted:
    clause = next((c for c in spec.file.policy.clauses if c.id == f.clause), None)
    if clause is None:  # every clause a procedure cites is checked when it loads; kept readable
        return Quoted(f, "", "", consequences)
    return Quoted(f, " ".join(clause.text.split()), clause.section, consequences)


def case_view(case: Case, report: CaseReport, uid: str) -> CaseView:
    spec = case.spec
    by_version: dict[int, Departure] = {d.version: d for d in case.departures}
    departures, notices, duties = [], [], []
    for f in report.findings:
        if f.kind == "departure":
            dep = by_version.get(f.version or 0)
            departures.append(_quoted(spec, f, dep.consequences if dep else ()))
        elif (f.state or "").startswith("departure "):
            notices.append(_quoted(spec, f))
        else:
            duties.append(_quoted(spec, f))
    where: dict[str, int] = {}
    for d in case.departures:
        where[d.state] = where.get(d.state, 0) + 1
    taken = {s.transition for s in case.steps if s.transition is not None}
    chart = Markup(svg(spec, uid=uid, current=case.state, departures=where, taken=taken))  # built escaped
    since = case.summary()["since"]
    return CaseView(report, case.state_path, since, case.final, _hold(case), departures, notices, duties,
                    [step_text(spec, s) for s in case.steps], chart)


def render_html(policies: PolicySet, cases: list[tuple[Case, CaseReport]], as_of: dt.date | None,
                command: str) -> str:
    """The report as one HTML page."""
    views = [case_view(c, r, f"chart-{i + 1}") for i, (c, r) in enumerate(cases)]
    used = sorted({c.procedure_id for c, _ in cases})
    procedures = [ProcedureView(policies.procedures[p], document_title(policies.procedures[p].file, None),
                                [(t.index + 1, label(t), t.transition.clause)
                                 for t in policies.procedures[p].transitions]) for p in used]
    env = Environment(loader=PackageLoader("qpr_rules.coverage", "templates"),
                      autoescape=select_autoescape(["html", "j2"]), trim_blocks=True, lstrip_blocks=True)
    return env.get_template("procedure_check.html.j2").render(
        about=About.now(policies, command), cases=views, procedures=procedures,
        as_of=as_of.isoformat() if as_of else None, findings=total(r for _, r in cases))

