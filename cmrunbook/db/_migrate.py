"""Create an empty CM Service database at the alembic head: the cookbook's ``make migrate``.

A restore needs a migrated target, and the tests' drill needs fresh ones. The schema is the
``pg_dump --schema-only`` of a database CM Service 0.8.0 migrated (shipped with the sandbox), plus
the two rows the migration writes itself: the alembic version and the DEFAULT ``campaigns_v2``.
"""

from __future__ import annotations

from importlib import resources

import psycopg
from psycopg import sql

from ._cmservice import DEFAULT_CAMPAIGN_V2, HEAD_REVISION, VERSION_TABLE
from ._connection import connect

MAINTENANCE_DATABASE = "postgres"
"""Where CREATE DATABASE is sent from: every PostgreSQL server has it."""


def schema_sql() -> str:
    """CM Service's schema at head, without pg_dump's ``\\restrict`` lines (psql-only commands)."""
    schema = resources.files("cmrunbook") / "sandbox" / "data" / "schema.sql"  # no sandbox import
    text = schema.read_text(encoding="utf-8")
    return "\n".join(line for line in text.splitlines() if not line.startswith("\\"))


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
    columns = list(DEFAULT_CAMPAIGN_V2)
    connection.execute(
        sql.SQL("INSERT INTO {} ({}) VALUES ({})").format(
            sql.Identifier("public", "campaigns_v2"),
            sql.SQL(", ").join(map(sql.Identifier, columns)),
            sql.SQL(", ").join(sql.Placeholder() * len(columns)),
        ),
        [DEFAULT_CAMPAIGN_V2[column] for column in columns],
    )


def create_migrated_database(name: str) -> None:
    """Create database ``name`` holding CM Service's tables (schema public) at head and the
    migration's own rows: an empty database ready for a restore."""
    with connect(MAINTENANCE_DATABASE, read_only=False) as connection:
        connection.autocommit = True
        connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    with connect(name, read_only=False) as connection:
        apply_schema(connection)
        connection.commit()
