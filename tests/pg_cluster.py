"""A throwaway PostgreSQL server for the store tests: Debian's postgresql package, `initdb` into a
temporary directory, `pg_ctl start` listening on a Unix socket in that directory only (no TCP port,
so no clash with anything else on the machine), stopped and deleted at the end.

PostgreSQL refuses to run as root: as root the server runs as the `postgres` account the Debian
package creates (`runuser -u postgres`). Fsync is off: these tests kill clients, never the server.

Without a server: under CI (`CI=true`, set by the CI runner that runs .ci/run) the tests fail and
say what failed, since .ci/run installs the package; elsewhere they are skipped with that reason.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import pwd
import random
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

INSTALL = "install Debian's PostgreSQL server: apt-get install -y postgresql (.ci/run does this)"


class ClusterUnavailable(Exception):
    pass


def _bindir() -> Path:
    found = shutil.which("initdb")
    if found:
        return Path(found).parent
    versions = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"),
                      key=lambda p: int(p.parent.parent.name) if p.parent.parent.name.isdigit() else 0)
    if versions:
        return versions[-1].parent
    raise ClusterUnavailable(f"no initdb on PATH nor under /usr/lib/postgresql/*/bin: {INSTALL}")


class Cluster:
    """A running server; `database()` makes a new empty database and gives its URL."""

    def __init__(self) -> None:
        try:
            import psycopg  # noqa: F401
        except ImportError:
            raise ClusterUnavailable("psycopg is not installed: pip install -e '.[test]'") from None
        self.bindir = _bindir()
        self.runas: list[str] = []
        self.dir = Path(tempfile.mkdtemp(prefix="qpr-pg-"))
        if os.geteuid() == 0:  # the server refuses root: run it as the package's own account
            try:
                account = pwd.getpwnam("postgres")
            except KeyError:
                raise ClusterUnavailable(f"running as root and there is no 'postgres' account to run "
                                         f"the server as: {INSTALL}") from None
            os.chown(self.dir, account.pw_uid, account.pw_gid)
            self.runas = ["runuser", "-u", "postgres", "--"]
        self.data = self.dir / "data"
        self.port = random.randrange(20000, 60000)
        self._names = itertools.count(1)
        self._run([str(self.bindir / "initdb"), "-D", str(self.data), "-U", "postgres", "-A", "trust",
                   "-E", "UTF8", "--no-locale", "--no-sync"], "initdb")
        options = (f"-k {self.dir} -p {self.port} -c listen_addresses='' -c fsync=off "
                   f"-c synchronous_commit=off -c full_page_writes=off")
        self._run([str(self.bindir / "pg_ctl"), "-D", str(self.data), "-o", options, "-l",
                   str(self.dir / "server.log"), "-w", "-t", "60", "start"], "pg_ctl start")

    def _run(self, command: list[str], what: str) -> None:
        try:
            result = subprocess.run([*self.runas, *command], capture_output=True, text=True, timeout=120,
                                    stdin=subprocess.DEVNULL)
        except (OSError, subprocess.TimeoutExpired) as error:
            self.stop()
            raise ClusterUnavailable(f"{what} could not run: {error}") from None
        if result.returncode != 0:
            log = self.dir / "server.log"
            tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
            self.stop()
            raise ClusterUnavailable(f"{what} failed (exit {result.returncode}): "
                                     f"{(result.stderr or result.stdout).strip()[-2000:]}\n{tail}")

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@/{database}?host={self.dir}&port={self.port}"

    def database(self) -> str:
        import psycopg

        name = f"t{os.getpid()}_{next(self._names)}"
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def stop(self) -> None:
        if (self.data / "postmaster.pid").exists():
            subprocess.run([*self.runas, str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m",
                            "immediate", "-w", "stop"],
                           capture_output=True, timeout=120, stdin=subprocess.DEVNULL)
        shutil.rmtree(self.dir, ignore_errors=True)


def unavailable(reason: str) -> None:
    """Fail under CI (the runner must provide the server), skip with the reason elsewhere."""
    message = f"no PostgreSQL server for the store tests: {reason}"
    if os.environ.get("CI") == "true":
        pytest.fail(f"{message}\n.ci/run should have installed it", pytrace=False)
    pytest.skip(message)


@contextlib.contextmanager
def running_cluster() -> Iterator[Cluster]:
    try:
        cluster = Cluster()
    except ClusterUnavailable as error:
        unavailable(str(error))
        raise AssertionError("unreachable") from None
    try:
        yield cluster
    finally:
        cluster.stop()
