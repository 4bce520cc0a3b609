"""The decision service behind `qpr-rules serve` (docs/service.md): the library over HTTP.

It imports only downward (engine, facts, policy), never the command line. Its dependencies are
the `serve` extra (Starlette, uvicorn, prometheus-client), imported only when the service runs.
"""
