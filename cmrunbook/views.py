"""pandas tables for people: what the cookbook's ``jq`` filters printed, and a little more.

``scripts_table`` replaces ``step_status.jq`` (script id, status, name) and adds what a pilot
needs next to it (fullname, level, attempt, age); ``script_errors_table`` replaces
``script_error.jq``. A campaign's scripts are fetched with get-by-fullname then ``all_scripts``
(one request for the campaign) rather than by paging through every script in the service.
"""

from __future__ import annotations

import time
from collections.abc import Iterable

import pandas as pd

from .client import CMClient
from .models import Campaign, Queue, ScriptError, ScriptLike, ScriptSummary
from .status import ErrorSourceEnum, LevelEnum, StatusEnum

SCRIPT_COLUMNS = [
    "id",
    "status",
    "name",
    "fullname",
    "parent_level",
    "parent_id",
    "attempt",
    "age_h",
    "since_change_h",
]


def display_name(script: ScriptLike) -> str:
    """The readable script name: the last part of its fullname.

    In namespaced campaigns the ``name`` field is a UUID; the fullname always ends in the
    readable ``<name>_<attempt>``.
    """
    return script.fullname.rsplit("/", 1)[-1]


def hours_since(epoch_s: float | None, now: float) -> float | None:
    """Hours from an epoch-seconds timestamp to ``now``, or None when the timestamp is unset."""
    return None if epoch_s is None else round((now - epoch_s) / 3600.0, 2)


def fetch_campaign_scripts(client: CMClient, fullname: str) -> tuple[Campaign, list[ScriptSummary]]:
    """The campaign named ``fullname`` and every (non-superseded) script under it, summarised."""
    campaign = client.campaign.get_by_fullname(fullname)
    return campaign, client.campaign.script_summaries(campaign.id)


def scripts_table(scripts: Iterable[ScriptLike], now: float | None = None) -> pd.DataFrame:
    """One row per script, ordered by id: the cookbook's id/status/name plus context.

    ``age_h`` counts from ``metadata_.crtime``; ``since_change_h`` from ``metadata_.mtime``
    (the last status change made by the service itself, not by a pilot's action).
    """
    now = time.time() if now is None else now
    rows = [
        {
            "id": script.id,
            "status": script.status.name,
            "name": display_name(script),
            "fullname": script.fullname,
            "parent_level": LevelEnum(script.parent_level).name,
            "parent_id": script.parent_id,
            "attempt": script.attempt,
            "age_h": hours_since(script.crtime, now),
            "since_change_h": hours_since(script.mtime, now),
        }
        for script in scripts
    ]
    table = pd.DataFrame(rows, columns=SCRIPT_COLUMNS)
    return table.sort_values("id", ignore_index=True)


def status_counts(scripts_view: pd.DataFrame) -> pd.DataFrame:
    """How many scripts are in each status, ordered as CM Service orders statuses."""
    counts = scripts_view["status"].value_counts()
    order = [status.name for status in StatusEnum if status.name in counts.index]
    return pd.DataFrame({"status": order, "count": [int(counts[name]) for name in order]})


def script_errors_table(errors: Iterable[ScriptError]) -> pd.DataFrame:
    """Diagnostic messages, newest first (error ids grow with time; the server sends no order)."""
    rows = [
        {
            "id": error.id,
            "script_id": error.script_id,
            "source": ErrorSourceEnum(error.source).name,
            "diagnostic_message": error.diagnostic_message,
        }
        for error in errors
    ]
    table = pd.DataFrame(rows, columns=["id", "script_id", "source", "diagnostic_message"])
    return table.sort_values("id", ascending=False, ignore_index=True)


def campaign_queues(queues: Iterable[Queue], campaign_id: int) -> list[Queue]:
    """The queue rows that point at the campaign.

    The server ignores the ``parent_id`` filter, so match on node level and node id; several
    rows can point at one campaign.
    """
    return [
        queue
        for queue in queues
        if queue.node_level == LevelEnum.campaign and queue.node_id == campaign_id
    ]


def queues_table(queues: Iterable[Queue]) -> pd.DataFrame:
    """The queue rows as a table; ``active`` says whether the daemon processes the node."""
    rows = [
        {
            "id": queue.id,
            "active": queue.active,
            "interval_s": queue.interval,
            "time_created": queue.time_created,
            "time_updated": queue.time_updated,
            "time_finished": queue.time_finished,
        }
        for queue in queues
    ]
    return pd.DataFrame(
        rows,
        columns=["id", "active", "interval_s", "time_created", "time_updated", "time_finished"],
    )
