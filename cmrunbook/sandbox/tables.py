"""CM Service's v1 tables as SQLAlchemy Core ``Table`` objects, named and typed as in its schema.

The sandbox stores rows exactly as CM Service 0.8.0 does (``data/schema.sql``), so a database
it fills can be dumped and restored like a real one. Columns are listed in the order of CM
Service's ORM classes, because that order shows up in the SQL text of some error replies.
Enum columns hold the member *name* (``varchar(20)``); the API speaks integers.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    Integer,
    MetaData,
    String,
    Table,
    Uuid,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.types import TypeDecorator, TypeEngine

NEG_INFINITY = datetime.min
"""PostgreSQL's ``-infinity`` timestamp, as asyncpg (and so CM Service) hands it to Python."""

metadata = MetaData()


class Timestamp(TypeDecorator[datetime]):
    """``timestamp with time zone`` that also round-trips ``-infinity``.

    ``queue.time_next_check`` holds ``-infinity`` when CM Service inserted ``datetime.min``;
    the API shows it as ``0001-01-01T00:00:00``. SQLite has no timestamp type, so there the
    value is stored as ISO-8601 text (``-infinity`` verbatim).
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(String())
        return dialect.type_descriptor(DateTime(timezone=True))

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value == NEG_INFINITY:
            return "-infinity"
        if dialect.name == "sqlite":
            return value.astimezone(UTC).isoformat()
        return value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None or isinstance(value, datetime):
            return value
        if value == "-infinity":
            return NEG_INFINITY
        return datetime.fromisoformat(value)


def _id() -> Column[int]:
    # On SQLite "INTEGER PRIMARY KEY" would alias the rowid and make full scans come back in id
    # order; BIGINT keeps insertion order, like PostgreSQL's heap order right after a load.
    return Column(
        "id", Integer().with_variant(BigInteger(), "sqlite"), primary_key=True, autoincrement=False
    )


def _enum(name: str) -> Column[str]:
    return Column(name, String(20), nullable=False)


def _fk(name: str, target: str, *, nullable: bool = True) -> Column[int]:
    return Column(
        name, Integer, ForeignKey(f"{target}.id", ondelete="CASCADE"), nullable=nullable, index=True
    )


def _json(name: str, *, nullable: bool = True) -> Column[Any]:
    return Column(name, JSON, nullable=nullable)


def _metadata_column() -> Column[Any]:
    return Column("metadata_", JSON().with_variant(JSONB(), "postgresql"), nullable=False)


specification = Table(
    "specification",
    metadata,
    _id(),
    Column("name", String, nullable=False),
    _json("data"),
    _json("child_config"),
    _json("collections"),
    _json("spec_aliases"),
)

spec_block = Table(
    "spec_block",
    metadata,
    _id(),
    Column("name", String, nullable=False),
    Column("handler", String),
    _json("data"),
    _json("collections"),
    _json("child_config"),
    _json("spec_aliases"),
    _json("scripts"),
    _json("steps"),
)


def _element_columns(*, job: bool = False) -> list[Column[Any]]:
    """The columns campaign, step, group and job share (a job adds its attempt and WMS ids)."""
    columns: list[Column[Any]] = [Column("name", String, nullable=False, index=True)]
    if job:
        columns.append(Column("attempt", Integer, nullable=False))
    columns += [
        Column("fullname", String, nullable=False, unique=True),
        _enum("status"),
        Column("superseded", Boolean, nullable=False),
        Column("handler", String),
        _json("data", nullable=False),
        _metadata_column(),
        _json("child_config"),
        _json("collections"),
        _json("spec_aliases"),
    ]
    if job:
        columns += [Column("wms_job_id", String), Column("stamp_url", String)]
    return columns


campaign = Table(
    "campaign",
    metadata,
    _id(),
    _fk("spec_id", "specification", nullable=False),
    _fk("spec_block_id", "spec_block", nullable=False),
    *_element_columns(),
)


def _child_element(name: str, parent: str) -> Table:
    """A step, group or job: an element whose ``parent_id`` points at its parent's table."""
    return Table(
        name,
        metadata,
        _id(),
        _fk("spec_block_id", "spec_block", nullable=False),
        _fk("parent_id", parent, nullable=False),
        *_element_columns(job=name == "job"),
    )


step = _child_element("step", "campaign")
group = _child_element("group", "step")
job = _child_element("job", "group")

script = Table(
    "script",
    metadata,
    _id(),
    _fk("spec_block_id", "spec_block", nullable=False),
    _enum("parent_level"),
    Column("parent_id", Integer, nullable=False),
    _fk("c_id", "campaign"),
    _fk("s_id", "step"),
    _fk("g_id", "group"),
    _fk("j_id", "job"),
    Column("name", String, nullable=False, index=True),
    Column("attempt", Integer, nullable=False),
    Column("fullname", String, nullable=False, unique=True),
    _enum("status"),
    _enum("method"),
    Column("superseded", Boolean, nullable=False),
    Column("handler", String),
    _json("data", nullable=False),
    _metadata_column(),
    _json("child_config"),
    _json("collections"),
    Column("script_url", String),
    Column("stamp_url", String),
    Column("log_url", String),
)

script_error = Table(
    "script_error",
    metadata,
    _id(),
    _fk("script_id", "script"),
    _enum("source"),
    Column("diagnostic_message", String, nullable=False),
)

queue = Table(
    "queue",
    metadata,
    _id(),
    Column("time_created", Timestamp, nullable=False),
    Column("time_updated", Timestamp, nullable=False),
    Column("time_finished", Timestamp),
    Column("time_next_check", Timestamp),
    Column("interval", Float, nullable=False),
    _json("options"),
    _enum("node_level"),
    Column("node_id", Integer, nullable=False),
    _fk("c_id", "campaign"),
    _fk("s_id", "step"),
    _fk("g_id", "group"),
    _fk("j_id", "job"),
    _fk("script_id", "script"),
    _metadata_column(),
    Column("active", Boolean, nullable=False),
)


def _dependency(name: str, target: str) -> Table:
    return Table(
        name,
        metadata,
        _id(),
        _fk("prereq_id", target, nullable=False),
        _fk("depend_id", target, nullable=False),
        Column("namespace", Uuid(as_uuid=False)),
    )


script_dependency = _dependency("script_dependency", "script")
step_dependency = _dependency("step_dependency", "step")


def _job_summary(
    name: str, counts: tuple[str, ...], *, per_task: bool = False, node: bool = False
) -> Table:
    """task_set, product_set, wms_task_report: per-job (or per-task) counts under a fullname."""
    columns: list[Column[Any]] = [_id(), _fk("job_id", "job", nullable=False)]
    if per_task:
        columns.append(_fk("task_id", "task_set", nullable=False))
    columns += [
        Column("name", String, nullable=False),
        Column("fullname", String, nullable=False, unique=True),
        *(Column(count, Integer, nullable=False) for count in counts),
    ]
    if node:
        columns += [Column("namespace", Uuid(as_uuid=False)), Column("node", Uuid(as_uuid=False))]
    return Table(name, metadata, *columns)


_TASK_COUNTS = ("n_expected", "n_done", "n_failed", "n_failed_upstream")
task_set = _job_summary("task_set", _TASK_COUNTS)
product_set = _job_summary("product_set", (*_TASK_COUNTS, "n_missing"), per_task=True)
wms_task_report = _job_summary(
    "wms_task_report",
    tuple(
        f"n_{state}"
        for state in (
            "unknown", "misfit", "unready", "ready", "pending", "running",
            "deleted", "held", "succeeded", "failed", "pruned",
        )
    ),
    node=True,
)  # fmt: skip

pipetask_error_type = Table(
    "pipetask_error_type",
    metadata,
    _id(),
    Column("error_source", String, nullable=False),
    Column("error_flavor", String, nullable=False),
    Column("error_action", String, nullable=False),
    Column("task_name", String, nullable=False),
    Column("diagnostic_message", String, nullable=False),
)

pipetask_error = Table(
    "pipetask_error",
    metadata,
    _id(),
    _fk("error_type_id", "pipetask_error_type"),
    _fk("task_id", "task_set", nullable=False),
    Column("quanta", String, nullable=False, unique=True),
    Column("diagnostic_message", String, nullable=False),
    _json("data_id"),
)

LOAD_ORDER: tuple[Table, ...] = (
    specification,
    spec_block,
    campaign,
    step,
    group,
    job,
    script,
    script_dependency,
    step_dependency,
    script_error,
    queue,
    task_set,
    product_set,
    wms_task_report,
    pipetask_error_type,
    pipetask_error,
)
"""Every v1 table, parents before children (the order rows can be inserted in)."""

TABLES: dict[str, Table] = {table.name: table for table in LOAD_ORDER}

ENUM_COLUMNS: dict[str, tuple[str, ...]] = {
    "campaign": ("status",),
    "step": ("status",),
    "group": ("status",),
    "job": ("status",),
    "script": ("status", "parent_level", "method"),
    "script_error": ("source",),
    "queue": ("node_level",),
}
"""Columns holding an enum member's name in the database and its integer value on the wire."""
