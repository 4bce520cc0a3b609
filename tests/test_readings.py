"""docs/readings.md is generated from the policies' clause and rule notes, and every open reading
says what readings were considered, which was chosen and why (issue 9, item 6)."""

from __future__ import annotations

import re
from pathlib import Path

from qpr_rules import Engine
from qpr_rules.analysis.readings import render_readings

ROOT = Path(__file__).resolve().parents[1]
PAGE = ROOT / "docs" / "readings.md"


def _notes() -> dict[str, str]:
    engine = Engine.load([ROOT / "policies"])
    files = {str(s.file.path): s.file.policy for s in engine.policies.decisions.values()}
    out = {}
    for policy in files.values():
        out |= {f"{policy.id}:{c.id}": c.note for c in policy.clauses if c.note}
        out |= {f"{policy.id}:rule {r.id}": r.note for r in policy.rules if r.note}
    return out


def test_the_page_is_the_notes() -> None:
    expected = render_readings([ROOT / "policies"])
    assert PAGE.read_text(encoding="utf-8") == expected, (
        "docs/readings.md differs from the notes in policies/: regenerate it with "
        "`python -m qpr_rules.analysis.readings policies > docs/readings.md`")


def test_every_note_is_on_the_page() -> None:
    page = " ".join(PAGE.read_text(encoding="utf-8").split())
    for where, note in _notes().items():
        assert " ".join(note.split()) in page, where


def test_an_open_reading_names_the_readings_the_choice_and_why() -> None:
    for where, note in _notes().items():
        if "Open:" in note or re.search(r"\bread as\b", note, re.IGNORECASE):
            for part in ("Open:", "Readings:", "Chosen:", "Why:"):
                assert part in note, f"{where}: a reading without {part!r}: {note[:80]}"


def test_the_qpr_page_quotes_only_sentences_the_source_contains() -> None:
    # docs/qpr.md once quoted restrictions "enforced against the child and the children already
    # placed", which the source does not say. Every quotation of the readings table is checked.
    from qpr_rules.policy.sources import normalise, sources_dir

    sources = sources_dir(ROOT / "policies" / "qpr.yaml")  # shipped with the policies: always there
    source = normalise((sources / "000_4b5b4e0ce51b2960.txt").read_text(encoding="utf-8"))
    page = (ROOT / "docs" / "qpr.md").read_text(encoding="utf-8")
    table = page[page.index("## Readings of open text"):page.index("## Decisions")]
    quotes = re.findall(r'^\| "([^"]+)"', table, re.MULTILINE)
    assert len(quotes) >= 10
    for quote in quotes:
        assert normalise(quote) in source, quote


def test_every_number_taken_from_outside_the_sources_says_where_it_comes_from() -> None:
    # Issue 19.3: school_age and acceptable_rating were not in the source and said so only in
    # prose. A numeric parameter whose value its clauses do not state carries an `origin`, and
    # the page lists it.
    engine = Engine.load([ROOT / "policies"])
    page = PAGE.read_text(encoding="utf-8")
    files = {str(s.file.path): s.file.policy for s in engine.policies.decisions.values()}
    numbers = 0
    for policy in files.values():
        texts = " ".join(c.text for c in policy.clauses)
        for name, param in policy.parameters.items():
            if isinstance(param.value, bool) or not isinstance(param.value, int | float):
                continue
            numbers += 1
            if re.search(rf"\b{param.value}\b", texts) and param.origin is None:
                continue  # stated by the source itself
            assert param.origin, f"{policy.id}.{name} = {param.value}: no `origin`"
            assert f"| `{policy.id}.{name}` | {param.value} |" in page, f"{policy.id}.{name} not on the page"
    assert numbers >= 3
