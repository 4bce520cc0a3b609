"""Every error the library raises, in one place, so callers can catch them by kind."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, order=True)
class Problem:
    """One thing wrong with a policy or scenario file, and where it is."""

    file: str
    line: int
    column: int
    message: str
    code: str = "error"
    severity: str = "error"  # "error" or "warning" (lint findings of `qpr-rules check`)

    def __str__(self) -> str:
        if self.line <= 0:  # about the file as a whole (it cannot be read): no position to give
            return f"{self.file}: {self.message}"
        return f"{self.file}:{self.line}:{self.column}: {self.message}"

    def labelled(self) -> str:
        """`file:line:column: severity code: message`, as `check` and `coverage` print problems;
        a problem whose code says no more than its severity shows it once ("error error:" said
        nothing twice), and one about the whole file has no position."""
        kind = self.severity if self.code in ("error", self.severity) else f"{self.severity} {self.code}"
        where = self.file if self.line <= 0 else f"{self.file}:{self.line}:{self.column}"
        return f"{where}: {kind}: {self.message}"

    def to_json(self) -> dict[str, object]:
        return {
            "file": self.file,
            "line": self.line,
            "column": self.column,
            "severity": self.severity,
            "code": self.code,
            "message": self.message,
        }


class QprRulesError(Exception):
    """Base class of every error raised by qpr_rules."""


class PolicyError(QprRulesError):
    """A policy (or scenario) file set did not load. Holds every problem found, not only the first."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = sorted(set(problems))
        lines = "\n".join(str(p) for p in self.problems)
        super().__init__(f"{len(self.problems)} problem(s):\n{lines}")


class FactsError(QprRulesError):
    """Facts given to a decision did not validate against its fact schema."""

    def __init__(self, decision_id: str, errors: list[str],
                 locations: list[tuple[Any, ...]] | None = None) -> None:
        self.decision_id = decision_id
        self.errors = errors
        #: per error, the path in the facts it is about (for file:line:column in fact files)
        self.locations = locations if locations is not None else [() for _ in errors]
        super().__init__(f"facts for {decision_id} are invalid: " + "; ".join(errors))


class EventError(QprRulesError):
    """An event given to a procedure's case is not valid (unknown type, role or field): it is
    refused and nothing is stored. (An event that is valid but not allowed is stored, as a
    departure.)"""

    def __init__(self, procedure_id: str, errors: list[str]) -> None:
        self.procedure_id = procedure_id
        self.errors = errors
        super().__init__(f"event for {procedure_id} is invalid: " + "; ".join(errors))


class UnknownProcedureError(QprRulesError, KeyError):
    """The procedure id is not defined by any loaded policy."""

    def __init__(self, procedure_id: str, known: list[str]) -> None:
        from qpr_rules._suggest import did_you_mean

        self.procedure_id = procedure_id
        super().__init__(f"unknown procedure {procedure_id!r}{did_you_mean(procedure_id, known)}; "
                         f"known: {', '.join(known) or 'none'}")

    def __str__(self) -> str:
        return str(self.args[0])


class UnknownDecisionError(QprRulesError, KeyError):
    """The decision id is not defined by any loaded policy."""

    def __init__(self, decision_id: str, known: list[str]) -> None:
        from qpr_rules._suggest import did_you_mean

        self.decision_id = decision_id
        hint = did_you_mean(decision_id, known)
        super().__init__(f"unknown decision {decision_id!r}{hint}; known: {', '.join(known)}")

    def __str__(self) -> str:  # KeyError would repr() the message
        return str(self.args[0])


class EngineError(QprRulesError):
    """durable_rules failed, or disagreed with the compiled evaluator. Decisions fail closed."""


class PolicyVersionError(QprRulesError):
    """No version of a decision's policy applies to the question: none is in force on its date, or
    the facts carry no date and the policy has several versions. Decisions fail closed."""
