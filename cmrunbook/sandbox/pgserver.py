"""A throw-away PostgreSQL server on 127.0.0.1, for the sandbox's PostgreSQL backend.

The test session, the benchmark and pilots' training all need a real PostgreSQL without touching
any existing one. This starts Debian's (or conda's) server binaries on a free port with a
temporary data directory and a random superuser password, and removes everything on stop.
``initdb`` and ``postgres`` refuse to run as root, so as root they run as the ``postgres`` user.
"""

from __future__ import annotations

import glob
import os
import pwd
import secrets
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

from ..errors import RunbookError

SUPERUSER = "cmrunbook"


class PostgresUnavailableError(RunbookError):
    """No PostgreSQL server binaries were found, or the server did not start."""


def find_bindir() -> Path:
    """The directory holding ``initdb``/``postgres``/``pg_dump``, newest major version first."""
    candidates = [Path(p) for p in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True)]
    on_path = shutil.which("postgres")
    if on_path:
        candidates.append(Path(on_path).resolve().parent)
    for bindir in candidates:
        if (bindir / "initdb").exists() and (bindir / "postgres").exists():
            return bindir
    raise PostgresUnavailableError(
        "No PostgreSQL server binaries (initdb, postgres) were found.",
        hint="Install them, e.g. 'apt-get install postgresql' or 'conda install postgresql'.",
    )


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True)
class Connection:
    """How to reach the server, as libpq environment variables and as a SQLAlchemy URL."""

    host: str
    port: int
    user: str
    password: str = field(repr=False)

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://{self.user}:{self.password}@{self.host}:{self.port}/{database}"

    def libpq_env(self, database: str = "postgres") -> dict[str, str]:
        return {
            "PGHOST": self.host,
            "PGPORT": str(self.port),
            "PGUSER": self.user,
            "PGPASSWORD": self.password,
            "PGDATABASE": database,
        }


class TemporaryPostgres:
    """Start a private PostgreSQL server; use as a context manager or call start/stop."""

    def __init__(self, bindir: Path | None = None) -> None:
        self.bindir = bindir or find_bindir()
        self._workdir: Path | None = None
        self._process: subprocess.Popen[bytes] | None = None
        self.connection: Connection | None = None

    def _run_as(self) -> list[str]:
        """Prefix that drops root privileges, which initdb and postgres insist on."""
        if os.geteuid() != 0:
            return []
        pwd.getpwnam("postgres")  # KeyError here means Debian's package is not installed
        return ["runuser", "-u", "postgres", "--"]

    def start(self) -> Connection:
        workdir = Path(tempfile.mkdtemp(prefix="cmrunbook-pg-"))
        self._workdir = workdir
        datadir, pwfile = workdir / "data", workdir / "pwfile"
        password = secrets.token_urlsafe(16)
        pwfile.write_text(password + "\n")
        if os.geteuid() == 0:
            entry = pwd.getpwnam("postgres")
            os.chmod(workdir, 0o700)
            for path in (workdir, pwfile):
                os.chown(path, entry.pw_uid, entry.pw_gid)
        prefix = self._run_as()
        subprocess.run(
            [
                *prefix,
                str(self.bindir / "initdb"),
                "-D",
                str(datadir),
                "-U",
                SUPERUSER,
                f"--pwfile={pwfile}",
                "--auth=scram-sha-256",
                "--encoding=UTF8",
                "--locale=C",
            ],
            check=True,
            capture_output=True,
        )
        pwfile.unlink()
        port = free_port()
        self._process = subprocess.Popen(
            [
                *prefix,
                str(self.bindir / "postgres"),
                "-D",
                str(datadir),
                "-h",
                "127.0.0.1",
                "-p",
                str(port),
                "-k",
                str(workdir),
                "-c",
                "fsync=off",
                "-c",
                "full_page_writes=off",
                "-c",
                "synchronous_commit=off",
            ],
            stdout=subprocess.DEVNULL,
            stderr=open(workdir / "server.log", "wb"),  # noqa: SIM115 - closed by the child
        )
        self.connection = Connection("127.0.0.1", port, SUPERUSER, password)
        self._wait_ready(port)
        return self.connection

    def _wait_ready(self, port: int, timeout_s: float = 30.0) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self._process is not None and self._process.poll() is not None:
                break
            result = subprocess.run(
                [str(self.bindir / "pg_isready"), "-h", "127.0.0.1", "-p", str(port)],
                capture_output=True,
            )
            if result.returncode == 0:
                return
            time.sleep(0.1)
        log = (self._workdir / "server.log").read_text(errors="replace") if self._workdir else ""
        self.stop()
        raise PostgresUnavailableError(f"PostgreSQL did not start on port {port}: {log[-500:]}")

    def stop(self) -> None:
        if self._process is not None and self._process.poll() is None and self._workdir:
            # "fast" shutdown (a throw-away server needs no clean one), through pg_ctl: as root,
            # the postgres process is a child of runuser, which does not pass SIGINT on.
            datadir = str(self._workdir / "data")
            subprocess.run(
                [*self._run_as(), str(self.bindir / "pg_ctl"), "stop", "-D", datadir, "-m", "fast"],
                capture_output=True,
                check=False,
            )
            try:
                self._process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self._process.kill()
        self._process = None
        if self._workdir is not None:
            shutil.rmtree(self._workdir, ignore_errors=True)
            self._workdir = None

    def __enter__(self) -> Connection:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
