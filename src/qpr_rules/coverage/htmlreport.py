"""A self-contained HTML report: one folder, no scripts, no network. `index.html` has the
totals per policy; one page per policy shows the source document sentence by sentence beside
the clauses quoting each and the rules encoding them, coloured by coverage, then every rule with
its atomic conditions and the uncovered conditions listed."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from jinja2 import Environment, PackageLoader, select_autoescape

from qpr_rules.coverage.report_core import ClauseCov, CoverageReport, FileCov, RuleCov, SentenceCov, percent


@dataclass
class SentenceRow:
    sentence: SentenceCov
    css: str  # covered, missed, noncomputable, not-normative, unindexed
    clauses: list[ClauseCov]


def _row(s: SentenceCov, clauses: dict[str, ClauseCov]) -> SentenceRow:
    quoting = [clauses[c] for c in s.clauses if c in clauses]
    if s.status == "unindexed":
        css = "unindexed"
    elif s.status == "not-normative":
        css = "not-normative"
    elif any(c.computable and not c.covered for c in quoting):
        css = "missed"
    elif any(c.computable for c in quoting):
        css = "covered"
    else:
        css = "noncomputable"
    return SentenceRow(s, css, quoting)


def _page_name(f: FileCov) -> str:
    return f"{f.policy}.html"


def write_html(report: CoverageReport, directory: Path) -> Path:
    """Write index.html and a page per policy into directory; returns the index's path."""
    env = Environment(loader=PackageLoader("qpr_rules.coverage", "templates"),
                      autoescape=select_autoescape(["html", "j2"]), trim_blocks=True, lstrip_blocks=True)
    env.filters["percent"] = percent
    env.globals["page_name"] = _page_name
    directory.mkdir(parents=True, exist_ok=True)
    for f in report.files:
        clauses = {c.id: c for c in f.clauses}
        rules: dict[str, RuleCov] = {r.id: r for r in f.rules}
        rows = [_row(s, clauses) for s in f.sentences]
        html = env.get_template("policy.html.j2").render(report=report, file=f, rows=rows, rules=rules,
                                                         name=Path(f.path).name)
        (directory / _page_name(f)).write_text(html, encoding="utf-8")
    index = directory / "index.html"
    index.write_text(env.get_template("index.html.j2").render(report=report), encoding="utf-8")
    return index
