"""Run the sandbox as a real HTTP server, in a background thread or in the foreground.

Tests and notebooks need a server they can reach with any HTTP client (``CM_SERVICE``), start
in well under a second, reset between cases and stop cleanly; ``make demo`` needs one that
lives exactly as long as a command. :class:`SandboxServer` is the first, :func:`serve` the
second.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from types import TracebackType

import uvicorn

from .app import V1_PREFIX, create_app
from .scenarios import Scenario, load_scenario
from .store import Store

_START_TIMEOUT_S = 10.0


class SandboxServer:
    """The sandbox on ``host:port`` (port 0 picks a free one), serving one scenario at a time.

    Use it as a context manager, or call :meth:`start` and :meth:`stop`. The demo's logs and
    submit directories live in a private directory that :meth:`stop` removes.
    """

    def __init__(
        self,
        scenario: str | Scenario = "demo",
        db_url: str | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        api_v1: bool = True,
    ) -> None:
        self.scenario = scenario
        self.host = host
        self.port = port
        self.api_v1 = api_v1
        self.store = Store(db_url)
        self._workdir = Path(tempfile.mkdtemp(prefix="cmrunbook-sandbox-"))
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def root_url(self) -> str:
        """Where ``/healthz`` and ``/openapi.json`` are."""
        return f"http://{self.host}:{self.port}"

    @property
    def url(self) -> str:
        """The v1 base URL, the value a pilot puts in ``CM_SERVICE``."""
        return f"{self.root_url}{V1_PREFIX}"

    def load(self, scenario: str | Scenario, db_url: str | None = None) -> None:
        """Replace the stored state (and, with ``db_url``, the database) by a scenario."""
        if db_url is not None and db_url != self.store.url:
            self.store.connect(db_url)
        if isinstance(scenario, str):
            artifacts = self._workdir / "artifacts"
            shutil.rmtree(artifacts, ignore_errors=True)
            scenario = load_scenario(scenario, artifact_root=artifacts)
        self.store.load(scenario)
        self.scenario = scenario

    def start(self) -> SandboxServer:
        """Load the scenario, start serving in a thread, return once connections are accepted."""
        self.load(self.scenario)
        config = uvicorn.Config(
            create_app(self.store, api_v1=self.api_v1),
            host=self.host,
            port=self.port,
            log_level="warning",
            lifespan="off",
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, name="cmrunbook-sandbox", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + _START_TIMEOUT_S
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"The sandbox did not start on {self.host}:{self.port}")
            time.sleep(0.01)
        self.port = int(self._server.servers[0].sockets[0].getsockname()[1])
        return self

    def stop(self) -> None:
        """Stop serving, close the database and remove the demo's files."""
        if self._server is not None and self._thread is not None:
            self._server.should_exit = True
            self._thread.join(timeout=_START_TIMEOUT_S)
        self._server = self._thread = None
        self.store.dispose()
        shutil.rmtree(self._workdir, ignore_errors=True)

    def __enter__(self) -> SandboxServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def serve(
    host: str,
    port: int,
    scenario: str,
    db_url: str | None,
    command: list[str] | None,
    api_v1: bool = True,
) -> int:
    """``cmrunbook sandbox``: serve until Ctrl-C, or just for the duration of ``command``.

    With a command, the sandbox listens on a free port, the command runs with ``CM_SERVICE``
    pointing at it, and the command's exit code is returned.
    """
    server = SandboxServer(scenario, db_url, host, 0 if command else port, api_v1)
    with server:
        if command:
            environ = {**os.environ, "CM_SERVICE": server.url}
            return subprocess.run(command, env=environ, check=False).returncode
        print(f"CM Service sandbox ({scenario}) serving at {server.url}", file=sys.stderr)
        print(f"export CM_SERVICE={server.url}")
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            return 0
