"""Create an empty CM Service database at the alembic head: the cookbook's ``make migrate``.

A restore needs a migrated target, and the tests' drill needs fresh ones. The schema is the
``pg_dump --schema-only`` of a database CM Service 0.8.0 migrated (shipped with the sandbox), plus
the two rows the migration writes itself: the alembic version and the DEFAULT ``campaigns_v2``.
"""

from __future__ import annotations

from psycopg import sql

from ..cmschema import apply_schema
from ._connection import connect

MAINTENANCE_DATABASE = "postgres"
"""Where CREATE DATABASE is sent from: every PostgreSQL server has it."""


def create_migrated_database(name: str) -> None:
    """Create database ``name`` holding CM Service's tables (schema public) at head and the
    migration's own rows: an empty database ready for a restore."""
    with connect(MAINTENANCE_DATABASE, read_only=False) as connection:
        connection.autocommit = True
        connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    with connect(name, read_only=False) as connection:
        apply_schema(connection)
        connection.commit()
