"""docs/readings.md, generated from the clause and rule notes of the policies, so that the page
and the notes cannot drift apart (tests/test_readings.py compares them).

    python -m qpr_rules.analysis.readings policies > docs/readings.md
"""

from __future__ import annotations

import sys
from pathlib import Path

from qpr_rules.policy.loader import LoadedFile, load_policy_set

HEADER = """# Readings: where the source text is open, and how it is read

Generated from the `note` of every clause and rule in `policies/*.yaml`
(`python -m qpr_rules.analysis.readings policies > docs/readings.md`); a test fails when this page
and the notes differ. Where the text is open, a note says so ("Open:"), lists the readings
considered ("Readings:"), the one chosen ("Chosen:") and why ("Why:"). When in doubt the reading
chosen is the one that keeps the child safe without inventing a prohibition the text does not make.
"""


def _files(paths: list[Path]) -> list[LoadedFile]:
    seen: dict[str, LoadedFile] = {}
    for spec in load_policy_set(paths).decisions.values():
        seen.setdefault(str(spec.file.path), spec.file)
    return sorted(seen.values(), key=lambda f: f.policy.id)


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _outside_values(files: list[LoadedFile]) -> list[str]:
    """The section listing every parameter value taken from outside the source documents."""
    rows = [f"| `{f.policy.id}.{name}` | {param.value} | {_one_line(param.origin)} |"
            for f in files for name, param in f.policy.parameters.items() if param.origin]
    if not rows:
        return []
    return ["## Values taken from outside the sources\n",
            "Every parameter whose value the source document does not state, with where it comes "
            "from (its `origin`). External references are named, not bundled in `sources/`.\n",
            "| parameter | value | origin |\n|---|---|---|\n" + "\n".join(rows) + "\n"]


def render_readings(paths: list[Path]) -> str:
    """The page, from the policies at paths."""
    out = [HEADER]
    files = _files(paths)
    out += _outside_values(files)
    for f in files:
        p = f.policy
        clauses = [c for c in p.clauses if c.note]
        rules = [r for r in p.rules if r.note]
        if not clauses and not rules:
            continue
        out.append(f"## {p.title} (`policies/{f.path.name}`, source `{p.source.document}`)\n")
        for c in clauses:
            out.append(f"### `{c.id}` ({c.section})\n")
            out.append(f"> {_one_line(c.text)}\n")
            out.append(f"{_one_line(c.note or '')}\n")
        for r in rules:
            out.append(f"### rule `{r.id}`\n")
            out.append(f"{_one_line(r.note or '')}\n")
    return "\n".join(out)


def main(argv: list[str]) -> int:
    sys.stdout.write(render_readings([Path(a) for a in argv] or [Path("policies")]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
