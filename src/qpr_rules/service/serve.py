"""Running the service under uvicorn: one process, or a supervisor and N workers."""

from __future__ import annotations

from qpr_rules.service.auth import load_tokens
from qpr_rules.service.config import ServiceConfig
from qpr_rules.service.state import PolicyState


def run(config: ServiceConfig) -> None:
    """Serve until SIGINT or SIGTERM (in-flight requests are finished, for up to 30 s). The
    policies and tokens are checked before binding, so a problem is reported once (PolicyError,
    TokenFileError) rather than by every worker."""
    import uvicorn

    options = {
        "host": config.host,
        "port": config.port,
        "access_log": False,
        "server_header": False,
        "timeout_graceful_shutdown": 30,
        "log_level": "info",
    }
    if config.workers <= 1:
        from qpr_rules.service.app import create_app

        uvicorn.run(create_app(config), **options)  # type: ignore[arg-type]
        return
    PolicyState(config)
    if config.tokens_file:
        load_tokens(config.tokens_file)
    # each worker process builds its own application from the settings in the environment
    uvicorn.run("qpr_rules.service.app:app_from_env", factory=True, workers=config.workers, **options)  # type: ignore[arg-type]
