"""`--format json`: every level's totals and every rule, condition, clause and sentence."""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Any

from qpr_rules.coverage.mutation import MutantResult
from qpr_rules.coverage.report_core import CoverageReport, FileCov, Ratio


def _ratio(r: Ratio) -> dict[str, Any]:
    return {"covered": r.hit, "total": r.total, "percent": round(r.percent, 2)}


def _file(f: FileCov, levels: tuple[str, ...]) -> dict[str, Any]:
    return {
        "path": f.path, "policy": f.policy, "title": f.title, "document": f.document,
        "document_title": f.document_title,
        "summary": {lv: _ratio(f.ratio(lv)) for lv in levels},
        "missing": {lv: f.missing(lv) for lv in levels},
        "rules": [{**{k: v for k, v in asdict(r).items() if k != "atoms"}, "not_fired": r.not_fired,
                   "conditions": [asdict(a) for a in r.atoms]} for r in f.rules],
        "clauses": [asdict(c) for c in f.clauses],
        "sentences": [asdict(s) for s in f.sentences],
        **({"mutants": [_mutant(m) for m in f.mutants]} if "mutants" in levels else {}),
    }


def _mutant(m: MutantResult) -> dict[str, Any]:
    return {"id": m.id, "rule": m.mutant.rule, "kind": m.mutant.kind, "path": m.mutant.path,
            "outcome": m.mutant.outcome or None, "line": m.line, "status": m.status,
            "killed_by": m.killed_by or None, "proof": m.proof or None, "scenario": m.scenario}


def render_json(report: CoverageReport) -> str:
    data = {
        # v2: the level `sources` is named `sentences`, and `about` says what the report is of
        "format": "qpr-rules/coverage-report-v2",
        "about": asdict(report.about) if report.about else None,
        "totals": {**{lv: _ratio(report.ratio(lv)) for lv in report.levels}, "all": _ratio(report.total())},
        "decisions": report.decisions, "errors": report.errors,
        "counted_apart": {"other_digests": report.foreign, "malformed": report.malformed},
        "files": [_file(f, report.levels) for f in report.files],
    }
    return json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n"
