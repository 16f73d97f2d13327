"""What a scenario is: rows per table, the next id of each table, and its environment."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..environment import Environment


@dataclass
class Scenario:
    """A complete starting state for the sandbox.

    ``tables`` holds each table's rows in insertion order, which is also the order ``/list``
    returns them in right after loading. ``next_ids`` gives each table's next id, which the
    sandbox's sequences continue from (ids are never reused, even after deletes).
    """

    name: str
    tables: dict[str, list[dict[str, Any]]]
    next_ids: dict[str, int]
    environment: Environment
