"""CM Service's database at its alembic head: the schema, and the rows the migration writes.

One place for both users of a real CM Service schema: the sandbox's PostgreSQL backend (which
stores its rows in it) and the database runbooks (a restore needs a migrated target, exactly
what the cookbook's ``make migrate`` leaves). The DDL is the ``pg_dump --schema-only`` of a
database CM Service 0.8.0 migrated, shipped as package data.
"""

from __future__ import annotations

from importlib import resources

import psycopg
from psycopg import sql

HEAD_REVISION = "0bac2c4206b1"
"""CM Service 0.8.0's alembic head (``create_audit_log_table``)."""

VERSION_TABLE = "alembic_version"

DEFAULT_CAMPAIGN_V2_ID = "dda54a0c-6878-5c95-ac4f-007f6808049e"
"""The ``campaigns_v2`` row named DEFAULT that the migration inserts."""

DEFAULT_CAMPAIGN_V2 = {
    "id": DEFAULT_CAMPAIGN_V2_ID,
    "name": "DEFAULT",
    "namespace": "6ba7b810-9dad-11d1-80b4-00c04fd430c8",
    "owner": "root",
    "metadata": "{}",
    "configuration": "{}",
    "status": "waiting",
    "machine": None,
}


def schema_sql() -> str:
    """The schema's DDL, without pg_dump's ``\\restrict`` lines (psql-only meta-commands)."""
    text = resources.files(__package__).joinpath("sandbox/data/schema.sql").read_text(encoding="utf-8")
    return "\n".join(line for line in text.splitlines() if not line.startswith("\\"))


def insert_default_campaign(connection: psycopg.Connection) -> None:
    """The DEFAULT ``campaigns_v2`` row the migration writes (a restore meets it as a duplicate)."""
    columns = list(DEFAULT_CAMPAIGN_V2)
    connection.execute(
        sql.SQL("INSERT INTO {} ({}) VALUES ({})").format(
            sql.Identifier("public", "campaigns_v2"),
            sql.SQL(", ").join(map(sql.Identifier, columns)),
            sql.SQL(", ").join(sql.Placeholder() * len(columns)),
        ),
        [DEFAULT_CAMPAIGN_V2[column] for column in columns],
    )


def apply_schema(connection: psycopg.Connection) -> None:
    """Replace schema public of the connected database by CM Service's tables at head and the
    migration's own rows, inside the caller's transaction (the caller commits)."""
    connection.execute("DROP SCHEMA IF EXISTS public CASCADE")
    connection.execute(schema_sql())
    connection.execute("RESET search_path")
    connection.execute(
        sql.SQL("INSERT INTO {} VALUES (%s)").format(sql.Identifier("public", VERSION_TABLE)),
        [HEAD_REVISION],
    )
    insert_default_campaign(connection)
