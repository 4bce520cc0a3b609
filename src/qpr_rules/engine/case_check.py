"""An auditor's check of what happened: per case, every departure from the procedure with its
clause, and every duty not discharged by a date.

Built on `Case`: a case's departures (an event no transition takes where it came: a step skipped
or out of order, a placement while a hold was in force, a request for review before the date
determined in the QPR) are findings as they stand. Duties are findings too: a duty a departure
created and nothing discharged (the Regional Manager's notice not given) always, and, when an
`as_of` date is given, every duty still owed on that date (the procedure table names no
deadlines, so only the auditor's date can say that a duty owed is a duty not done).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from qpr_rules.engine.case import Case, OpenDuty


@dataclass(frozen=True)
class Finding:
    """One departure from the procedure in one case, with its clause."""

    kind: str  # "departure" (an event not allowed where it came) or "duty-not-discharged"
    on: dt.date  # the day of the event, or the day the duty has been owed since
    text: str
    clause: str
    version: int | None = None  # the event's version in its case (a departure)
    event: str | None = None
    state: str | None = None
    who: str | None = None  # who owes the duty (a duty not discharged)

    def as_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "on": self.on.isoformat(), "text": self.text, "clause": self.clause,
                "version": self.version, "event": self.event, "state": self.state, "who": self.who}


@dataclass(frozen=True)
class CaseReport:
    """What the check found in one case, and where the case stands."""

    case_id: str
    procedure_id: str
    version: int
    state: str
    findings: tuple[Finding, ...]

    def as_dict(self) -> dict[str, Any]:
        return {"case": self.case_id, "procedure": self.procedure_id, "version": self.version,
                "state": self.state, "findings": [f.as_dict() for f in self.findings]}


def check_case(case: Case, as_of: dt.date | None = None) -> CaseReport:
    """The findings of one case (already replayed up to `as_of`, when one is given)."""
    findings: list[Finding] = []
    for dep in case.departures:
        findings.append(Finding("departure", dep.on, dep.text, dep.clause, dep.version,
                                dep.event_type, dep.state))
    for duty in case.duties:
        created_by_departure = duty.until is not None
        if created_by_departure or as_of is not None:
            findings.append(_undischarged(duty, as_of))
    # by date; a departure before the duties it created
    findings.sort(key=lambda f: (f.on, f.kind != "departure", f.version or 0))
    return CaseReport(case.case_id, case.procedure_id, case.version, case.state, tuple(findings))


def _undischarged(duty: OpenDuty, as_of: dt.date | None) -> Finding:
    by = f" by {as_of.isoformat()}" if as_of is not None else ""
    waits = f" (discharged by {duty.until})" if duty.until else ""
    step = f"step {duty.step}: " if duty.step is not None else ""
    text = (f"{step}{duty.who} has owed since {duty.since.isoformat()}, and not done{by}: "
            f"{duty.do}{waits}")
    return Finding("duty-not-discharged", duty.since, text, duty.clause, who=duty.who,
                   state=duty.owed_in)


def total(reports: Iterable[CaseReport]) -> int:
    return sum(len(r.findings) for r in reports)
