"""Reading input files defensively (only regular files, bounded in size, strict UTF-8), and
writing output files atomically.

Every command reads its inputs through here, so that a path that is missing, a directory, a
device (`/dev/zero` never ends) or a FIFO (opening it blocks until someone writes) gets a clear
message instead of a hang or a traceback, and a file in another encoding is named with the
line and column of its first undecodable byte.

Reports are written through `write_atomic`: a temporary file in the target's directory, renamed
over the target, so that a reader never sees half a report, a failed write leaves the old file,
and a symlink planted at the target's name is replaced, never followed.
"""

from __future__ import annotations

import os
import stat
import tempfile
from pathlib import Path
from typing import BinaryIO

from qpr_rules.errors import PolicyError, Problem, QprRulesError

#: Problem code of a path that cannot be read at all (the CLI exits 2 for it: wrong usage).
UNREADABLE = "unreadable"


def unreadable(path: Path | str, message: str) -> PolicyError:
    """The error for a path that cannot be read; printed as `path: message` (no position)."""
    return PolicyError([Problem(str(path), 0, 0, message, UNREADABLE)])


def regular_file(path: Path) -> os.stat_result:
    """path's status, which must be that of a regular file (stat does not open it, so a FIFO
    cannot block here); else the error naming what it is."""
    try:
        info = path.stat()
    except FileNotFoundError:
        raise unreadable(path, "no such file") from None
    except OSError as exc:
        raise unreadable(path, f"cannot read: {exc.strerror or exc}") from None
    if stat.S_ISDIR(info.st_mode):
        raise unreadable(path, "is a directory, not a file")
    if not stat.S_ISREG(info.st_mode):
        raise unreadable(path, "is not a regular file (a device, FIFO or socket); give a file")
    return info


def open_regular(path: Path) -> BinaryIO:
    """path opened for reading in binary, refused unless it is a regular file: checked before
    opening (opening a FIFO blocks) and again on what was opened (the name may have changed)."""
    regular_file(path)
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError as exc:
        raise unreadable(path, f"cannot read: {exc.strerror or exc}") from None
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise unreadable(path, "is not a regular file (a device, FIFO or socket); give a file")
    return os.fdopen(fd, "rb")


def read_regular_file(path: Path, limit: int) -> bytes:
    """The bytes of path, which must be a regular file of at most limit bytes."""
    info = regular_file(path)  # before opening: opening a FIFO would block
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


class OutputError(QprRulesError):
    """An output path that cannot be written (the coverage commands turn it into a usage error)."""


def write_atomic(path: Path, data: str | bytes) -> None:
    """Write data to path through a temporary file in the same directory, renamed over it.

    The rename replaces whatever has path's name (a symlink planted there is replaced, not
    followed; its target is left alone). An existing path that is not a regular file or a symlink
    (a directory, a device, a FIFO) is refused; on any failure the temporary file is removed and
    the old file, if any, is left as it was."""
    raw = data.encode("utf-8") if isinstance(data, str) else data
    try:
        info = path.lstat()
    except FileNotFoundError:
        info = None
    except OSError as exc:
        raise OutputError(f"{path}: cannot write: {exc.strerror or exc}") from None
    if info is not None and stat.S_ISDIR(info.st_mode):
        raise OutputError(f"{path}: is a directory; give a file name")
    if info is not None and not (stat.S_ISREG(info.st_mode) or stat.S_ISLNK(info.st_mode)):
        raise OutputError(f"{path}: is not a regular file (a device, FIFO or socket); give a file name")
    directory = path.parent
    if not directory.is_dir():
        raise OutputError(f"{path}: no such directory {directory}")
    mode = stat.S_IMODE(info.st_mode) if info is not None and stat.S_ISREG(info.st_mode) else None
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=directory)
    except OSError as exc:
        raise OutputError(f"{path}: cannot write in {directory}: {exc.strerror or exc}") from None
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(raw)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, mode if mode is not None else 0o666 & ~_umask())
        os.replace(tmp, path)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise OutputError(f"{path}: cannot write: {exc.strerror or exc}") from None
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def shown_path(path: Path | str) -> str:
    """A path as a reader of a report wants it: relative to the working directory when inside it
    (so a report's first line reads the same in every checkout of a project), else as given."""
    resolved = Path(path).resolve()
    try:
        return str(resolved.relative_to(Path.cwd().resolve())) or "."
    except ValueError:
        return str(path)
