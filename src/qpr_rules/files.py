"""Reading input files defensively: only regular files, bounded in size, strict UTF-8.

Every command reads its inputs through here, so that a path that is missing, a directory, a
device (`/dev/zero` never ends) or a FIFO (opening it blocks until someone writes) gets a clear
message instead of a hang or a traceback, and a file in another encoding is named with the
line and column of its first undecodable byte.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from qpr_rules.errors import PolicyError, Problem

#: Problem code of a path that cannot be read at all (the CLI exits 2 for it: wrong usage).
UNREADABLE = "unreadable"


def unreadable(path: Path | str, message: str) -> PolicyError:
    """The error for a path that cannot be read; printed as `path: message` (no position)."""
    return PolicyError([Problem(str(path), 0, 0, message, UNREADABLE)])


def read_regular_file(path: Path, limit: int) -> bytes:
    """The bytes of path, which must be a regular file of at most limit bytes."""
    try:
        info = path.stat()  # before opening: opening a FIFO would block
    except FileNotFoundError:
        raise unreadable(path, "no such file") from None
    except OSError as exc:
        raise unreadable(path, f"cannot read: {exc.strerror or exc}") from None
    if stat.S_ISDIR(info.st_mode):
        raise unreadable(path, "is a directory, not a file")
    if not stat.S_ISREG(info.st_mode):
        raise unreadable(path, "is not a regular file (a device, FIFO or socket); give a file")
    if info.st_size > limit:
        raise unreadable(path, f"the file is larger than {limit} bytes (it is {info.st_size:,})")
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
        with os.fdopen(fd, "rb") as handle:
            raw = handle.read(limit + 1)  # the file may have grown since stat
    except OSError as exc:
        raise unreadable(path, f"cannot read: {exc.strerror or exc}") from None
    if len(raw) > limit:
        raise unreadable(path, f"the file is larger than {limit} bytes")
    return raw


def decode_utf8(raw: bytes, name: str) -> str:
    """raw as text (a UTF-8 byte-order mark is dropped); else the position of the first bad byte."""
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        before = raw[:exc.start]
        line = before.count(b"\n") + 1
        column = exc.start - (before.rfind(b"\n") + 1) + 1
        message = f"the text is not UTF-8: {exc.reason} (byte 0x{raw[exc.start]:02x}); save it as UTF-8"
        raise PolicyError([Problem(name, line, column, message)]) from None
