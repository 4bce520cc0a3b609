"""The service's settings: given on the command line, handed to each worker process (uvicorn
starts workers afresh, so the settings travel in an environment variable as JSON)."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass

from qpr_rules.facts_input import MAX_FACTS_BYTES

#: The environment variable that carries ServiceConfig to the application (and its workers).
CONFIG_ENV = "QPR_RULES_SERVE_CONFIG"


@dataclass(frozen=True)
class ServiceConfig:
    policies: tuple[str, ...] = ()  # policy files or directories; () = the bundled policies
    host: str = "127.0.0.1"
    port: int = 8181
    workers: int = 1
    tokens_file: str | None = None  # `NAME TOKEN` lines: bearer tokens guarding the API
    cors_origins: tuple[str, ...] = ()  # none: CORS off
    decision_log: str | None = None  # the library's JSON-lines decision log (one file per worker)
    evaluator: str = "durable"
    max_body_bytes: int = MAX_FACTS_BYTES  # the largest facts document (and batch line)
    body_timeout: float = 10.0  # seconds a request body may take to arrive
    metrics_dir: str | None = None  # prometheus-client's multiprocess directory (several workers)
    log_mask: tuple[str, ...] = ()  # fact paths the decision log must not record (Engine log_mask)

    def to_env(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_env(cls) -> ServiceConfig:
        raw = os.environ.get(CONFIG_ENV)
        if not raw:
            return cls()
        data = json.loads(raw)
        data["policies"] = tuple(data.get("policies", ()))
        data["cors_origins"] = tuple(data.get("cors_origins", ()))
        data["log_mask"] = tuple(data.get("log_mask", ()))
        return cls(**data)
