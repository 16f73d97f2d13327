"""One sandbox and one PostgreSQL for the whole test session, shared by pytest and nbval.

Both start in ``pytest_sessionstart`` because nbval cells cannot see fixtures: the notebooks'
kernels find the sandbox through ``CM_SERVICE`` and PostgreSQL through the libpq variables,
which kernels inherit from this process. Jupyter and IPython keep their state in a temporary
folder, never in the home directory. A fake ``CM_TOKEN`` is set so tests can prove it never
leaks into reports, logs or errors.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from cmrunbook.client import CMClient
from cmrunbook.config import Secret, Settings
from cmrunbook.sandbox import SandboxServer
from cmrunbook.sandbox.pgserver import Connection, TemporaryPostgres

FAKE_TOKEN = "test-token-3f9c2e-must-never-leak"
FIXTURES = Path(__file__).parent / "fixtures"


class _Session:
    """The shared servers; module-level because nbval items are not fixture-aware."""

    postgres: TemporaryPostgres
    connection: Connection
    sandbox: SandboxServer
    tmpdir: tempfile.TemporaryDirectory[str]


def pytest_sessionstart(session: pytest.Session) -> None:
    _Session.tmpdir = tempfile.TemporaryDirectory(prefix="cmrunbook-tests-")
    state = Path(_Session.tmpdir.name)
    for variable in ("JUPYTER_CONFIG_DIR", "JUPYTER_DATA_DIR", "JUPYTER_RUNTIME_DIR", "IPYTHONDIR"):
        os.environ[variable] = str(state / variable.lower())
    os.environ.pop("CM_CAMPAIGN", None)
    os.environ["CM_TOKEN"] = FAKE_TOKEN
    os.environ["CMRUNBOOK_AUDIT_LOG"] = str(state / "audit.jsonl")
    os.environ["CMRUNBOOK_DUMP_DIR"] = str(state / "dumps")
    _Session.postgres = TemporaryPostgres()
    _Session.connection = _Session.postgres.start()
    os.environ.update(_Session.connection.libpq_env())
    _Session.sandbox = SandboxServer(scenario="demo")
    try:
        _Session.sandbox.start()
    except BaseException:
        _Session.postgres.stop()
        raise
    os.environ["CM_SERVICE"] = _Session.sandbox.url
    session.config.pluginmanager.register(_FreshDemoPerNotebook(), "fresh-demo-per-notebook")


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    for stop in (_Session.sandbox.stop, _Session.postgres.stop, _Session.tmpdir.cleanup):
        stop()


class _FreshDemoPerNotebook:
    """nbval runs each notebook against a freshly loaded demo scenario."""

    def __init__(self) -> None:
        self._current: Path | None = None

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_setup(self, item: pytest.Item) -> None:
        path = Path(str(item.path))
        if path.suffix == ".ipynb" and path != self._current:
            self._current = path
            _Session.sandbox.load("demo")


@pytest.fixture(scope="session")
def sandbox() -> SandboxServer:
    """The session's sandbox; tests that change it load the scenario they need first."""
    return _Session.sandbox


@pytest.fixture
def demo(sandbox: SandboxServer) -> SandboxServer:
    """The sandbox with a fresh demo scenario."""
    sandbox.load("demo")
    return sandbox


@pytest.fixture
def recorded(sandbox: SandboxServer) -> SandboxServer:
    """The sandbox with the recorded snapshot of a real CM Service 0.8.0."""
    sandbox.load("recorded")
    return sandbox


@pytest.fixture(scope="session")
def postgres() -> Connection:
    return _Session.connection


@pytest.fixture
def client(sandbox: SandboxServer) -> Iterator[CMClient]:
    """A client for the sandbox, carrying the fake token like a pilot's would."""
    settings = Settings(service_url=sandbox.url, token=Secret(FAKE_TOKEN))
    with CMClient(settings, backoff_s=0.01) as cm:
        yield cm
