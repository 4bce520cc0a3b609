"""Every clause quotes its source verbatim, and every clause is encoded or says why not."""

from __future__ import annotations

from pathlib import Path

import pytest

from qpr_rules.policy.loader import load_policy_set, parse_policy_file, policy_files
from qpr_rules.policy.sources import normalise, sources_dir, unquoted_clauses

ROOT = Path(__file__).resolve().parents[1]
FILES = policy_files([ROOT / "policies"])


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_clause_texts_are_verbatim_quotes(path: Path) -> None:
    loaded = parse_policy_file(path)
    source = (sources_dir(path) / loaded.policy.source.document).read_text(encoding="utf-8")
    missing = unquoted_clauses([(c.id, c.text) for c in loaded.policy.clauses], source)
    assert missing == [], f"{path.name}: clause texts not found in {loaded.policy.source.document}"


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_every_clause_encoded_or_marked_non_computable(path: Path) -> None:
    loaded = parse_policy_file(path)
    cited = {c for r in loaded.policy.rules for c in r.clauses}
    cited |= {ob.clause for r in loaded.policy.rules for ob in r.obligations if ob.clause}
    cited |= {c for p in loaded.policy.parameters.values() for c in p.clauses}
    orphans = [c.id for c in loaded.policy.clauses if c.computable and c.id not in cited]
    assert orphans == [], f"{path.name}: computable clauses no rule encodes"


def test_every_rule_cites_a_clause() -> None:
    ps = load_policy_set([ROOT / "policies"])
    assert [r.id for r in ps.rules() if not r.rule.clauses] == []


def test_normalise_strips_markup() -> None:
    assert normalise("Homes on hold are **not** to  receive\n placements") == (
        "Homes on hold are not to receive placements"
    )
    assert normalise("[Resource Family Approval Written Directives](#) (Current Version)") == (
        "Resource Family Approval Written Directives (Current Version)"
    )
