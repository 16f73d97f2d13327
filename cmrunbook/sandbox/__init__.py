"""A local stand-in for CM Service 0.8.0's legacy v1 REST API, for demos, training and tests.

It serves the same paths, status codes, bodies and state rules as the real service, stores
its rows in CM Service's own table layout (SQLite by default, PostgreSQL when given a URL) and
answers checks from a scenario's simulated world instead of HTCondor.
"""

from __future__ import annotations

from .app import create_app
from .environment import CondorJob, CondorState, Environment
from .scenarios import DEMO_CAMPAIGNS, DEMO_TARGETS, SCENARIO_NAMES, Scenario, load_scenario
from .server import SandboxServer, serve
from .store import Store

__all__ = [
    "DEMO_CAMPAIGNS",
    "DEMO_TARGETS",
    "SCENARIO_NAMES",
    "CondorJob",
    "CondorState",
    "Environment",
    "SandboxServer",
    "Scenario",
    "Store",
    "create_app",
    "load_scenario",
    "serve",
]
