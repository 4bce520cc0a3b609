"""Solver calls with a time limit: every check answers sat, unsat or unknown with the reason.

z3 can run for minutes on some text constraints (long literals against the readable-example
preferences, for one); a proof that has not finished is not a proof, so each call is bounded
(`qpr-rules prove --timeout`) and a call that runs out says so.
"""

from __future__ import annotations

import z3

DEFAULT_TIMEOUT_S = 10.0
MAX_TIMEOUT_S = 3600.0


class TimedSolver(z3.Solver):
    """A solver whose every check stops after timeout_s seconds (then unknown)."""

    def __init__(self, timeout_s: float) -> None:
        super().__init__()
        self.timeout_s = timeout_s
        self.set("timeout", max(1, int(timeout_s * 1000)))


class AssumingSolver(TimedSolver):
    """A timed solver asked with many assumption literals (engine/partial.py: dozens per call),
    whose models are read many times each, and not compacted first (z3's compaction of a model
    took about a third of the time of reading one; the values are the same)."""

    def __init__(self, timeout_s: float) -> None:
        super().__init__(timeout_s)
        self.set("model.compact", False)

    def check(self, *assumptions: z3.BoolRef) -> z3.CheckSatResult:
        """As z3.Solver.check, without z3py's per-literal sort check when every assumption is
        already a Boolean expression (cProfile: those checks were a large part of a partial
        decision's Python time)."""
        if not all(isinstance(a, z3.BoolRef) for a in assumptions):
            return super().check(*assumptions)
        literals = (z3.Ast * len(assumptions))()
        for i, a in enumerate(assumptions):
            literals[i] = a.as_ast()
        return z3.CheckSatResult(z3.Z3_solver_check_assumptions(self.ctx.ref(), self.solver, len(assumptions),
                                                                literals))


def solver(timeout_s: float = DEFAULT_TIMEOUT_S) -> TimedSolver:
    return TimedSolver(timeout_s)


def assuming_solver(timeout_s: float = DEFAULT_TIMEOUT_S) -> AssumingSolver:
    return AssumingSolver(timeout_s)


def why_unknown(s: z3.Solver | z3.Optimize, timeout_s: float | None = None) -> str:
    """The solver's reason for giving up, worded for a reader."""
    reason = s.reason_unknown() or "unknown"
    if reason in ("timeout", "canceled") and timeout_s is not None:
        return f"the solver ran out of time ({timeout_s:g} s per call; --timeout to allow more)"
    return f"the solver gave up ({reason})"
