"""LCOV (`lcov.info`): rules as functions, rules' and conditions' sides as branches, and lines
of the policy YAML as lines, so that editors colour the policy and `diff-cover` gates a change."""

from __future__ import annotations

from qpr_rules.coverage.report_core import CoverageReport, display_path, line_table


def render_lcov(report: CoverageReport) -> str:
    # The tracefile has no comments (diff-cover refuses a `#` line) and no field for a time or a
    # command: the test name, which readers pass through, carries the policies' digest, in the
    # word characters lcov allows there; the other formats carry the rest (docs/audit.md)
    test_name = f"qpr_rules_policies_{report.about.digest[:16]}" if report.about else ""
    out: list[str] = []
    for f in report.files:
        out += [f"TN:{test_name}", f"SF:{display_path(f.path)}"]
        for r in f.rules:
            out.append(f"FN:{r.line},{r.id}")
        for r in f.rules:
            out.append(f"FNDA:{r.fired},{r.id}")
        out += [f"FNF:{len(f.rules)}", f"FNH:{sum(r.fired > 0 for r in f.rules)}"]
        branches = hit = 0
        for block, r in enumerate(f.rules):
            sides = [(r.line, r.fired), (r.line, r.not_fired)]
            sides += [(a.line, n) for a in r.atoms for n in (a.true, a.false)]
            for number, (line, count) in enumerate(sides):
                # "-" is lcov's "never evaluated"; 0 is "evaluated, this side never taken"
                taken = "-" if r.evaluated == 0 else str(count)
                out.append(f"BRDA:{line},{block},{number},{taken}")
                branches += 1
                hit += count > 0
        out += [f"BRF:{branches}", f"BRH:{hit}"]
        table = line_table(f, report.procedures)
        out += [f"DA:{line},{entry.hits}" for line, entry in table.items()]
        out += [f"LF:{len(table)}", f"LH:{sum(e.covered for e in table.values())}", "end_of_record"]
    return "\n".join(out) + "\n"
