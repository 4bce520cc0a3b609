"""A self-contained HTML report: one folder, no scripts, no network. `index.html` has the
totals per policy; one page per policy shows the source document sentence by sentence beside
the clauses quoting each and the rules encoding them, coloured by coverage, then every rule with
its atomic conditions and the uncovered conditions listed."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from jinja2 import Environment, PackageLoader, select_autoescape

from qpr_rules.coverage.report_core import ClauseCov, CoverageReport, FileCov, RuleCov, SentenceCov, percent
from qpr_rules.files import OutputError, write_atomic


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
    """POLICY.html; a policy whose id is `index` gets `_index.html` (no policy id starts with
    `_`, so that name is no other policy's page either), and the index stays the index."""
    return "_index.html" if f.policy == "index" else f"{f.policy}.html"


def write_html(report: CoverageReport, directory: Path) -> Path:
    """Write index.html and a page per policy into directory; returns the index's path.

    Each page is written atomically (`files.write_atomic`): a symlink planted in directory under
    a page's name is replaced, never followed. The index is written last, so that it never links
    to a page not yet written."""
    if directory.exists() and not directory.is_dir():
        raise OutputError(f"{directory}: is a file, not a directory; give a directory for the html report")
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"{directory}: cannot make the directory: {exc.strerror or exc}") from None
    env = Environment(loader=PackageLoader("qpr_rules.coverage", "templates"),
                      autoescape=select_autoescape(["html", "j2"]), trim_blocks=True, lstrip_blocks=True)
    env.filters["percent"] = percent
    env.globals["page_name"] = _page_name
    for f in report.files:
        clauses = {c.id: c for c in f.clauses}
        rules: dict[str, RuleCov] = {r.id: r for r in f.rules}
        rows = [_row(s, clauses) for s in f.sentences]
        html = env.get_template("policy.html.j2").render(report=report, file=f, rows=rows, rules=rules,
                                                         name=Path(f.path).name)
        write_atomic(directory / _page_name(f), html)
    index = directory / "index.html"
    write_atomic(index, env.get_template("index.html.j2").render(report=report))
    return index
