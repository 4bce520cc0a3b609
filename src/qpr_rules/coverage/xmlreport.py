"""Cobertura XML (`coverage.xml`), the form CI services and `diff-cover` read."""

from __future__ import annotations

import time
from pathlib import Path
from xml.etree import ElementTree as ET

from qpr_rules.coverage.report_core import CoverageReport, display_path, line_table


def _rate(hit: int, total: int) -> str:
    return f"{hit / total:.4f}" if total else "1"


def render_cobertura(report: CoverageReport) -> str:
    root = ET.Element("coverage", version="qpr-rules", timestamp=str(int(time.time() * 1000)),
                      complexity="0")
    ET.SubElement(ET.SubElement(root, "sources"), "source").text = str(Path.cwd())
    package = ET.SubElement(ET.SubElement(root, "packages"), "package", name="policies", complexity="0")
    classes = ET.SubElement(package, "classes")
    all_lines = all_hit = all_br = all_br_hit = 0
    for f in report.files:
        table = line_table(f)
        lines_hit = sum(e.covered for e in table.values())
        br = sum(len(e.branches) for e in table.values())
        br_hit = sum(sum(n > 0 for n in e.branches) for e in table.values())
        cls = ET.SubElement(classes, "class", {
            "name": f.policy, "filename": display_path(f.path), "complexity": "0",
            "line-rate": _rate(lines_hit, len(table)), "branch-rate": _rate(br_hit, br)})
        ET.SubElement(cls, "methods")
        lines = ET.SubElement(cls, "lines")
        for number, e in table.items():
            attrs = {"number": str(number), "hits": str(e.hits)}
            if len(e.branches) > 1:
                taken, sides = sum(n > 0 for n in e.branches), len(e.branches)
                attrs |= {"branch": "true",
                          "condition-coverage": f"{100 * taken // sides}% ({taken}/{sides})"}
            else:
                attrs["branch"] = "false"
            ET.SubElement(lines, "line", attrs)
        all_lines += len(table)
        all_hit += lines_hit
        all_br += br
        all_br_hit += br_hit
    package.set("line-rate", _rate(all_hit, all_lines))
    package.set("branch-rate", _rate(all_br_hit, all_br))
    root.set("line-rate", _rate(all_hit, all_lines))
    root.set("branch-rate", _rate(all_br_hit, all_br))
    root.set("lines-valid", str(all_lines))
    root.set("lines-covered", str(all_hit))
    root.set("branches-valid", str(all_br))
    root.set("branches-covered", str(all_br_hit))
    if report.mutation:  # Cobertura has no field for it: a comment, named as in every other format
        m = report.ratio("mutants")
        root.insert(0, ET.Comment(f" mutants: {m.hit}/{m.total} killed ({_rate(m.hit, m.total)}); "
                                  f"{len(report.equivalent())} equivalent, not counted "))
    ET.indent(root)
    # Cobertura has no element for it, and a comment cannot hold the `--` of a command line: a
    # processing instruction (which readers of the format skip) says what the report is of
    about = "".join(f"<?qpr-rules {_instruction(line)}?>\n"
                    for line in (report.about.lines() if report.about else []))
    return '<?xml version="1.0" ?>\n' + about + ET.tostring(root, encoding="unicode") + "\n"


def _instruction(text: str) -> str:
    """Text a processing instruction can hold: no `?>`, nothing that is not a character of XML."""
    text = "".join(c if c.isprintable() else "?" for c in text)
    return text.replace("?>", "? >")
