"""The v1 use cases: what each route reads or changes, and which state rule it enforces.

Routes (``app.py``) only translate HTTP; these functions do the work inside one request's
:class:`~cmrunbook.sandbox.engine.Processor` and raise CM Service's own exception types
(``faults.py``), so the reply for every failure is what the real route makes of it. The state
rules come from :mod:`cmrunbook.status`, the same table the client side plans with.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from ..status import (
    Action,
    LevelEnum,
    StatusEnum,
    can_change_existing_data,
    is_allowed,
)
from .engine import CHILD_LEVEL, SCRIPT_OWNER, Node, Processor
from .faults import MissingRowError, TransitionError
from .tables import NEG_INFINITY
from .wire import SCRIPT_FIELDS, wire


def page(p: Processor, table: str, skip: int, limit: int) -> list[dict[str, Any]]:
    return [wire(row) for row in p.tx.page(table, skip, limit)]


def get(p: Processor, table: str, row_id: int) -> dict[str, Any]:
    row = p.tx.get(table, row_id)
    if row is None:
        raise MissingRowError(table, row_id)
    return wire(row)


def get_by(p: Processor, table: str, column: str, value: str) -> dict[str, Any]:
    """``get_row_by_fullname`` / ``get_row_by_name``: the first match, 404 when none."""
    rows = p.tx.find(table, **{column: value})
    if not rows:
        raise MissingRowError(table, value)
    return wire(rows[0])


def element_scripts(
    p: Processor, level: LevelEnum, row_id: int, script_name: str | None
) -> list[dict[str, Any]]:
    """``/get/{id}/scripts``: the element's own non-superseded scripts, optionally by name."""
    scripts = p.scripts_of(p.node(level, row_id))
    return [wire(s.row) for s in scripts if script_name is None or s.row["name"] == script_name]


def all_scripts(p: Processor, level: LevelEnum, row_id: int) -> list[str]:
    """``/get/{id}/all_scripts``: own scripts, then each child's, recursively, in one reply.

    Read with one query per level (not per element) because large campaigns hold many
    thousands of scripts, and returned as each script's JSON text, built by the database; the
    order is still the service's: element, then its children.
    """
    root = p.node(level, row_id)
    children: dict[tuple[LevelEnum, int], list[int]] = {}
    under: dict[LevelEnum, Any] = {level: [root.id]}  # each level's ids, as a nested query
    current = level
    while current in CHILD_LEVEL:
        child_level = CHILD_LEVEL[current]
        rows = p.tx.find(child_level.name, parent_id=under[current])
        if not rows:
            break
        for row in rows:
            children.setdefault((current, row["parent_id"]), []).append(row["id"])
        under[child_level] = p.tx.ids(child_level.name, parent_id=under[current])
        current = child_level
    owned: dict[tuple[LevelEnum, int], list[str]] = {}
    for owner_level, ids in under.items():
        column = SCRIPT_OWNER[owner_level]
        for owner, text in p.tx.find_json(
            "script", SCRIPT_FIELDS, column, superseded=False, **{column: ids}
        ):
            owned.setdefault((owner_level, owner), []).append(text)

    def walk(owner_level: LevelEnum, owner_id: int) -> list[str]:
        texts = list(owned.get((owner_level, owner_id), []))
        for child_id in children.get((owner_level, owner_id), []):
            texts += walk(CHILD_LEVEL[owner_level], child_id)
        return texts

    return walk(level, root.id)


def element_jobs(p: Processor, level: LevelEnum, row_id: int) -> list[dict[str, Any]]:
    return [wire(job.row) for job in p.jobs_of(p.node(level, row_id))]


def data_dict(p: Processor, level: LevelEnum, row_id: int) -> dict[str, Any]:
    return p.data_dict(p.node(level, row_id))


def script_errors(p: Processor, script_id: int) -> list[dict[str, Any]]:
    script = p.node(LevelEnum.script, script_id)
    return [wire(row) for row in p.tx.find("script_error", script_id=script.id)]


def script_parent(p: Processor, script_id: int) -> dict[str, Any]:
    return wire(p.parent(p.node(LevelEnum.script, script_id)).row)


def _refuse(node: Node, action: Action) -> TransitionError:
    return TransitionError(f"Can not {action.value} {node.fullname} as it is in status {node.status}")


def act(p: Processor, level: LevelEnum, row_id: int, action: Action) -> dict[str, Any]:
    """Accept, reject or reset a node, if its current status allows it (API.md §4)."""
    node = p.node(level, row_id)
    if not is_allowed(action, node.status):
        raise _refuse(node, action)
    if action is Action.reset:
        p.write(node, status=StatusEnum.waiting.name, superseded=False)
    else:
        p.set_status(node, StatusEnum.accepted if action is Action.accept else StatusEnum.rejected)
    return wire(node.row)


def update_status(p: Processor, level: LevelEnum, row_id: int, status: StatusEnum) -> dict[str, Any]:
    """Write any status over any other: this route checks no rule."""
    node = p.node(level, row_id)
    p.set_status(node, status)
    return wire(node.row)


def update_data_dict(
    p: Processor, level: LevelEnum, row_id: int, update: dict[str, Any]
) -> dict[str, Any]:
    """Merge keys into the node's ``data``; changing an existing key needs status < prepared."""
    node = p.node(level, row_id)
    data = node.row["data"] or {}
    changes_existing = any(key in data and data[key] != value for key, value in update.items())
    if changes_existing and not can_change_existing_data(node.status):
        raise TransitionError(f"Tried to modify a node that is in use. {node.fullname}:{node.status}")
    p.write(node, data={**data, **update})
    return wire(node.row)


def run_check(p: Processor, level: LevelEnum, row_id: int) -> tuple[bool, int]:
    if level is LevelEnum.script:
        changed, status = p.run_check_script(row_id)
    else:
        changed, status = p.run_check_element(level, row_id)
    return changed, status.value


def accept_job(p: Processor, job_id: int) -> dict[str, Any]:
    return act(p, LevelEnum.job, job_id, Action.accept)


def force_accept_job(p: Processor, job_id: int, output_collection: str) -> None:
    """The background half of ``accept?force=true``: no state check at all."""
    p.force_accept_job(job_id, output_collection)


def _level_of(fullname: str) -> tuple[LevelEnum, str]:
    """A queue target's level from its fullname: ``script:<fullname>`` or by its depth."""
    if fullname.startswith("script:"):
        return LevelEnum.script, fullname.removeprefix("script:")
    return LevelEnum(LevelEnum.campaign.value + fullname.count("/")), fullname


def create_queue(
    p: Processor, fullname: str | None, interval: float, options: dict[str, Any] | None, active: bool
) -> dict[str, Any]:
    """``POST /queue/create``: a queue row for the named node (``time_next_check`` at -infinity)."""
    if fullname is None:
        raise AttributeError("'NoneType' object has no attribute 'startswith'")
    level, name = _level_of(fullname)
    targets = p.tx.find(level.name, fullname=name)
    if not targets:
        raise MissingRowError(level.name, name)
    node_id = targets[0]["id"]
    now = datetime.now(UTC)
    row = {
        "time_created": now,
        "time_updated": now,
        "time_finished": None,
        "time_next_check": NEG_INFINITY,
        "interval": interval,
        "options": options,
        "node_level": level.name,
        "node_id": node_id,
        **{column: None for column in (*SCRIPT_OWNER.values(), "script_id")},
        _queue_column(level): node_id,
        "metadata_": {},
        "active": active,
    }
    return wire(p.tx.insert("queue", row))


def _queue_column(level: LevelEnum) -> str:
    return "script_id" if level is LevelEnum.script else SCRIPT_OWNER[level]


def delete_queue(p: Processor, queue_id: int) -> None:
    get(p, "queue", queue_id)
    p.tx.delete("queue", queue_id)


def toggle_queue(p: Processor, queue_id: int) -> bool:
    """``PATCH /queue/pause/{id}`` flips ``active`` and answers with the new value."""
    active = not get(p, "queue", queue_id)["active"]
    p.tx.update("queue", queue_id, active=active)
    return active
