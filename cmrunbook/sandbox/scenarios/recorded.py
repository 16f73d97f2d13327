"""The ``recorded`` scenario: the database the CM Service recordings start from.

Rows are inserted in the real server's heap order (``physical_order``), so lists come back
exactly as they did from the real service, and the sequences continue where the real ones
stood. The environment is the recording server's: no HTCondor, no ``condor_submit``, and an
artifact directory (``/cm/artifacts``) holding no files.
"""

from __future__ import annotations

import json
from datetime import datetime
from importlib import resources
from typing import Any

from ..environment import Environment
from ..tables import NEG_INFINITY
from .scenario import Scenario

ARTIFACT_ROOT = "/cm/artifacts"
WORKING_DIR = "/cm/configs"
_TIMESTAMPS = ("time_created", "time_updated", "time_finished", "time_next_check")


def _timestamp(value: str | None) -> datetime | None:
    if value is None:
        return None
    return NEG_INFINITY if value == "-infinity" else datetime.fromisoformat(value)


def rows_in_storage_order(table: dict[str, Any]) -> list[dict[str, Any]]:
    """A snapshot table's rows (``row_to_json`` form) in heap order, with Python timestamps."""
    by_id = {row["id"]: row for row in table["rows"]}
    rows = []
    for row_id in table["physical_order"]:
        row = dict(by_id[row_id])
        for column in _TIMESTAMPS:
            if column in row:
                row[column] = _timestamp(row[column])
        rows.append(row)
    return rows


def load_recorded() -> Scenario:
    snapshot_file = resources.files("cmrunbook.sandbox").joinpath("data/recorded_snapshot.json")
    snapshot = json.loads(snapshot_file.read_text(encoding="utf-8"))
    tables = {name: rows_in_storage_order(table) for name, table in snapshot["tables"].items()}
    next_ids = {
        name.removesuffix("_id_seq"): int(sequence["next_value"])
        for name, sequence in snapshot["sequences"].items()
    }
    return Scenario(
        name="recorded",
        tables=tables,
        next_ids=next_ids,
        environment=Environment(artifact_root=ARTIFACT_ROOT, working_dir=WORKING_DIR),
    )
