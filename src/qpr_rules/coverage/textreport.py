"""The terminal table: one row per policy file, a column per level, `--show-missing` below."""

from __future__ import annotations

from pathlib import Path

from qpr_rules.coverage.report_core import CoverageReport, Ratio, percent

_TITLES = {"rules": "Rules", "conditions": "Conditions", "clauses": "Clauses", "sentences": "Sentences",
           "mcdc": "MC/DC", "mutants": "Mutants"}


def _cell(r: Ratio) -> str:
    return f"{r.hit}/{r.total} {percent(r.percent)}"


def render_text(report: CoverageReport, show_missing: bool = False) -> str:
    levels = report.levels
    header = ["Policy", *(_TITLES[lv] for lv in levels)]
    rows = [[Path(f.path).name, *(_cell(f.ratio(lv)) for lv in levels)] for f in report.files]
    rows.append(["TOTAL", *(_cell(report.ratio(lv)) for lv in levels)])
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]

    def line(cells: list[str]) -> str:
        return "  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(cells, widths,
                                                                                                strict=True)))

    about = report.about.lines() if report.about else []
    rule = "-" * len(line(header))
    out = [*about, *([""] if about else []), line(header), rule, *map(line, rows[:-1]), rule, line(rows[-1])]
    total = report.total()
    out.append(f"\n{report.decisions} decision(s) counted ({report.errors} answered with an error); "
               f"total {total.hit}/{total.total} = {percent(total.percent)}")
    for digest, n in sorted(report.foreign.items()):
        out.append(f"counted apart: {n} record(s) under another policy digest {digest[:16]}")
    if report.malformed:
        out.append(f"counted apart: {report.malformed} record(s) that do not fit these policies")
    if report.mutation:
        results = [m for f in report.files for m in f.mutants]
        out.append(f"mutants: {len(results)} made, {sum(m.status == 'killed' for m in results)} killed, "
                   f"{sum(m.status == 'survived' for m in results)} surviving, "
                   f"{sum(m.status == 'equivalent' for m in results)} equivalent (proved; not counted)")
    if show_missing:
        for level in levels:
            missing = report.missing(level)
            if missing:
                out.append(f"\nMissing {_TITLES[level].lower()} ({len(missing)}):")
                out.extend(f"  {m}" for m in missing)
        equivalent = report.equivalent()
        if equivalent:
            out.append(f"\nEquivalent mutants, not counted ({len(equivalent)}):")
            out.extend(f"  {e}" for e in equivalent)
        # listed so that nothing is set aside silently: not counted, each with its reason
        skipped = [(f, c) for f in report.files for c in f.clauses if not c.computable]
        if skipped:
            out.append(f"\nClauses not computable, not counted ({len(skipped)}):")
            out.extend(f"  {Path(f.path).name}:{c.line}: {c.id}: {c.reason}" for f, c in skipped)
    return "\n".join(out) + "\n"
