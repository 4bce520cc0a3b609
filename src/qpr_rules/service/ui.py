"""Pages to try decisions (placeholder, filled in below)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response


async def index(request: Request) -> Response:
    return HTMLResponse("<!doctype html><title>qpr-rules</title>")


async def form(request: Request) -> Response:
    return HTMLResponse("<!doctype html><title>qpr-rules</title>")
