"""The loaded policies, swapped atomically on reload.

A request takes `state.engine` once and answers with that Engine to the end, so a reload in the
middle of a request (or of a batch) never mixes two policy sets; a policy set with problems is
refused and the Engine in service is kept.
"""

from __future__ import annotations

import contextvars
import os
import threading
from pathlib import Path
from typing import Any

from qpr_rules.bundled import bundled_policy_dir
from qpr_rules.engine.decision_log import JsonlDecisionLog
from qpr_rules.engine.engine import Engine
from qpr_rules.service.config import ServiceConfig

#: The request being answered: the decision log records its id beside the library's own record.
REQUEST_ID: contextvars.ContextVar[str | None] = contextvars.ContextVar("qpr_request_id", default=None)


class RequestTaggedLog:
    """The library's JSON-lines decision log, each record also naming the HTTP request it answered
    (`request_id`), so a log line and a response are matched by the X-Request-ID header."""

    def __init__(self, log: JsonlDecisionLog) -> None:
        self.log = log

    @property
    def path(self) -> Path:
        return self.log.path

    def write(self, record: dict[str, Any]) -> None:
        self.log.write({**record, "request_id": REQUEST_ID.get()})


def worker_log_path(path: str, workers: int) -> Path:
    """The decision log of this process: the path given with one worker; with several, one file
    per worker process, `NAME.worker-PID.EXT` (each its own hash chain, see docs/service.md)."""
    p = Path(path)
    if workers <= 1:
        return p
    return p.with_name(f"{p.stem}.worker-{os.getpid()}{p.suffix}")


class PolicyState:
    def __init__(self, config: ServiceConfig) -> None:
        self.config = config
        self._lock = threading.Lock()
        self.log: RequestTaggedLog | None = None
        if config.decision_log:
            self.log = RequestTaggedLog(
                JsonlDecisionLog(worker_log_path(config.decision_log, config.workers))
            )
        self.engine: Engine = self.load()  # raises PolicyError when the policies have problems

    def paths(self) -> list[Path]:
        return [Path(p) for p in self.config.policies] or [bundled_policy_dir()]

    def load(self) -> Engine:
        """A new Engine from the policy files as they are now (PolicyError lists every problem)."""
        return Engine.load(
            self.paths(), decision_log=self.log, on_log_error="fail-closed", evaluator=self.config.evaluator,
            log_mask=self.config.log_mask,
        )

    def reload(self) -> tuple[str, str]:
        """Load the policies again and put them in service at once: (old digest, new digest).
        Raises PolicyError, keeping the Engine in service, when the new set has problems."""
        with self._lock:  # two reloads at once load one after the other
            engine = self.load()
            old, self.engine = self.engine, engine  # one assignment: requests see old or new
        return old.digest, engine.digest
