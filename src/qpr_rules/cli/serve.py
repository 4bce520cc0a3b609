"""`qpr-rules serve`: the decision service (docs/service.md). Its dependencies are the `serve`
extra, imported only here, when the command runs."""

from __future__ import annotations

import dataclasses
import os
import tempfile
from pathlib import Path

import click

from qpr_rules.cli.app import EXIT_USAGE, cli

MISSING = ("`qpr-rules serve` needs the serve extra: pip install 'qpr-rules[serve]' "
           "(Starlette, uvicorn, prometheus-client); missing: {}")


@cli.command()
@click.option("--policies", "-p", "policies", multiple=True, type=click.Path(),
              help="Policy file or directory (default: the bundled policies); repeatable.")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to bind; 127.0.0.1 answers this machine only, 0.0.0.0 every interface.")
@click.option("--port", type=click.IntRange(0, 65535), default=8181, show_default=True)
@click.option("--workers", type=click.IntRange(min=1), default=1, show_default=True,
              help="Worker processes (each loads the policies; one decision log file each).")
@click.option("--tokens", "tokens_file", type=click.Path(dir_okay=False),
              help="File of `NAME TOKEN` lines: bearer tokens the API then requires.")
@click.option("--cors-origin", "cors_origins", multiple=True,
              help="Allow browser calls from this origin (repeatable); CORS is off without it.")
@click.option("--decision-log", type=click.Path(dir_okay=False),
              help="Write every answer to this hash-chained JSON-lines log, with its request id "
                   "(default: the project's `decision_log`, if it names one).")
@click.option("--log-mask", "log_mask", multiple=True, metavar="PATH",
              help="A fact path the decision log must not record (repeatable; default: the "
                   "project's `decision_log_mask`).")
@click.option("--evaluator", type=click.Choice(["durable", "compiled"]), default="durable", show_default=True)
@click.option("--max-body-bytes", type=click.IntRange(min=1), default=None,
              help="The largest facts document or batch line (default: 1 MiB).")
@click.option("--body-timeout", type=click.FloatRange(min=0.1), default=10.0, show_default=True,
              help="Seconds a request body may take to arrive.")
def serve(policies: tuple[str, ...], host: str, port: int, workers: int, tokens_file: str | None,
          cors_origins: tuple[str, ...], decision_log: str | None, log_mask: tuple[str, ...], evaluator: str,
          max_body_bytes: int | None, body_timeout: float) -> None:
    """Answer decisions over HTTP: POST facts to /v1/decisions/ID.

    \b
    Example:
      qpr-rules serve --port 8181 &
      curl -s -H 'Content-Type: application/json' -d @facts.json \\
           http://127.0.0.1:8181/v1/decisions/qpr.placement
    Routes, status codes, security, reload (SIGHUP), metrics: docs/service.md.
    """
    missing = [m for m in ("starlette", "uvicorn", "prometheus_client") if not _importable(m)]
    if missing:
        click.echo("error: " + MISSING.format(", ".join(missing)), err=True)
        raise SystemExit(EXIT_USAGE)
    from qpr_rules.cli.project import find_project
    from qpr_rules.service.config import CONFIG_ENV, ServiceConfig
    from qpr_rules.service.serve import run

    project = find_project()  # the project's decision log and mask, unless given here
    if project is not None:
        decision_log = decision_log or (str(project.decision_log) if project.decision_log else None)
        log_mask = log_mask or project.decision_log_mask

    metrics_dir = None
    if workers > 1:
        # prometheus-client's multiprocess mode: every worker writes its values here, and
        # /metrics adds them up; set before any worker imports prometheus_client
        metrics_dir = os.environ.get("PROMETHEUS_MULTIPROC_DIR") or tempfile.mkdtemp(prefix="qpr-metrics-")
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = metrics_dir
        for stale in Path(metrics_dir).glob("*.db"):
            stale.unlink()
    config = ServiceConfig(policies=tuple(str(Path(p).resolve()) for p in policies), host=host, port=port,
                           workers=workers, tokens_file=tokens_file, cors_origins=cors_origins,
                           decision_log=str(Path(decision_log).resolve()) if decision_log else None,
                           evaluator=evaluator, body_timeout=body_timeout, metrics_dir=metrics_dir,
                           log_mask=tuple(log_mask))
    if max_body_bytes:
        config = dataclasses.replace(config, max_body_bytes=max_body_bytes)
    os.environ[CONFIG_ENV] = config.to_env()
    run(config)


def _importable(module: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(module) is not None
