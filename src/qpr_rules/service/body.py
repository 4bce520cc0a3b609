"""Reading request bodies within stated limits: a size (checked against Content-Length before
reading, and counted while reading), a time for the body to arrive, and a content type.

Each refusal is a `Refused` the routes turn into a problem (with the decision's refusal on a
decision's routes). The bytes read are handed to the engine untouched: the library's one reader
of facts (facts_input.py) parses them, so HTTP gets the library's own refusals word for word.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from starlette.requests import ClientDisconnect, Request


class Refused(Exception):
    """A request refused before the engine saw its facts: an HTTP status, a kind, the detail."""

    def __init__(self, status: int, kind: str, detail: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(detail)
        self.status = status
        self.kind = kind
        self.detail = detail
        self.headers = headers or {}


def check_content_type(request: Request, allowed: tuple[str, ...]) -> None:
    given = request.headers.get("content-type", "")
    media, _, params = given.partition(";")
    media = media.strip().lower()
    charset = next(
        (
            v.strip().strip('"').lower()
            for k, _, v in (p.partition("=") for p in params.split(";"))
            if k.strip().lower() == "charset"
        ),
        None,
    )
    if media not in allowed or (charset is not None and charset not in ("utf-8", "utf8")):
        shown = f"{given!r}" if given else "none"
        raise Refused(
            415,
            "unsupported-media-type",
            f"the body must be sent as Content-Type: {allowed[0]} (UTF-8); it was {shown}",
            {"Accept-Post": ", ".join(allowed)},
        )


def _declared_length(request: Request, limit: int) -> None:
    length = request.headers.get("content-length")
    if length is not None and length.strip().isdigit() and int(length) > limit:
        raise Refused(413, "too-large", f"the body is {int(length)} bytes; at most {limit} are read")


async def read_body(request: Request, limit: int, timeout: float) -> bytes:
    """The whole body, at most limit bytes, arrived within timeout seconds."""
    _declared_length(request, limit)
    chunks: list[bytes] = []
    size = 0
    try:
        async with asyncio.timeout(timeout):
            async for chunk in request.stream():
                size += len(chunk)
                if size > limit:
                    raise Refused(
                        413, "too-large", f"the body is over {limit} bytes; at most {limit} are read"
                    )
                chunks.append(chunk)
    except TimeoutError:
        raise Refused(408, "too-slow", f"the body did not arrive within {timeout:g} s") from None
    except ClientDisconnect:
        raise Refused(400, "disconnected", "the client went away before the body arrived") from None
    return b"".join(chunks)


class LineTooLong:
    """Stands for a batch line over the limit: its answer is a refusal, and the batch goes on."""

    def __init__(self, limit: int) -> None:
        self.detail = f"the line is over {limit} bytes; at most {limit} are read"


class TooSlow:
    """Stands for the rest of a batch body that stopped arriving."""

    def __init__(self, timeout: float) -> None:
        self.detail = f"the rest of the body did not arrive within {timeout:g} s; the batch ends here"


async def body_lines(
    request: Request, limit: int, idle_timeout: float
) -> AsyncIterator[list[bytes | LineTooLong | TooSlow]]:
    """The body's lines (NDJSON), a list per chunk received, without their line ends, holding at
    most limit bytes of a line in memory: a longer line is given as LineTooLong and skipped to
    its end. A body that stops arriving for idle_timeout seconds ends with TooSlow."""
    buffer = bytearray()
    skipping = False  # inside a line already found too long
    stream = request.stream().__aiter__()
    while True:
        try:
            async with asyncio.timeout(idle_timeout):
                chunk = await stream.__anext__()
        except (StopAsyncIteration, ClientDisconnect):
            break
        except TimeoutError:
            yield [TooSlow(idle_timeout)]
            return
        out: list[bytes | LineTooLong | TooSlow] = []
        start = 0
        while True:
            end = chunk.find(b"\n", start)
            if end < 0:
                if not skipping:
                    buffer += chunk[start:]
                    if len(buffer) > limit:
                        out.append(LineTooLong(limit))
                        buffer.clear()
                        skipping = True
                break
            if skipping:
                skipping = False
            else:
                buffer += chunk[start:end]
                out.append(
                    bytes(buffer[:-1] if buffer.endswith(b"\r") else buffer)
                    if len(buffer) <= limit
                    else LineTooLong(limit)
                )
            buffer.clear()
            start = end + 1
        if out:
            yield out
    if buffer and not skipping:  # a last line without its newline
        yield [bytes(buffer)]
