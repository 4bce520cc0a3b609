"""Prometheus metrics (prometheus-client). With several workers, each process writes its values
to files in PROMETHEUS_MULTIPROC_DIR (set by `qpr-rules serve` before any worker starts) and
GET /metrics adds up every worker's, through prometheus-client's multiprocess mode."""

from __future__ import annotations

import os

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)

DECISIONS = Counter(
    "qpr_decisions_total",
    "Decisions answered, by decision id, outcome and status",
    ["decision", "outcome", "status"],
)
LATENCY = Histogram(
    "qpr_request_duration_seconds",
    "Time to answer a request, by route",
    ["route"],
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)
ERRORS = Counter("qpr_errors_total", "Problem responses (not answers), by HTTP status", ["status"])
POLICY = Gauge(
    "qpr_policy_loaded",
    "1 for the policy digest each worker has in service",
    ["digest", "revision"],
    multiprocess_mode="liveall",
)
RELOADS = Counter("qpr_reloads_total", "Policy reloads, by result", ["result"])


def multiprocess_mode() -> bool:
    return bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR"))


def policy_loaded(old: tuple[str, str] | None, new: tuple[str, str]) -> None:
    if old is not None and old != new:
        POLICY.labels(*old).set(0)
    POLICY.labels(*new).set(1)


def exposition() -> tuple[bytes, str]:
    """The text exposition of every metric (of every worker in multiprocess mode)."""
    if multiprocess_mode():
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return generate_latest(registry), CONTENT_TYPE_LATEST
    from prometheus_client import REGISTRY

    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST


def worker_exit() -> None:
    """A worker's live gauges leave the sum when it stops."""
    if multiprocess_mode():
        multiprocess.mark_process_dead(os.getpid())
