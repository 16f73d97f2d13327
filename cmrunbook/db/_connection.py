"""Which PostgreSQL server and database a runbook is about to touch, read before anything else.

The connection comes from the libpq environment (``PGHOST``, ``PGPORT``, ``PGUSER``,
``PGPASSWORD`` or ``~/.pgpass``), exactly as for ``pg_dump`` in the cookbook: the runbook never
takes, holds or prints a password. A *fingerprint* is what a pilot needs to recognise a database
(server, version, alembic revision, row counts) and what the restore's refusals are decided on.
Connection failures become one paragraph that says what to set.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import pandas as pd
import psycopg
from psycopg import sql

from ._cmservice import DEFAULT_CAMPAIGN_V2_ID, MAIN_TABLES, VERSION_TABLE
from ._errors import DatabasePermissionError, DatabaseUnreachableError, UnknownDatabaseError

FALLBACK_DATABASE = "cm-service"
"""The local compose database of the cookbook, when neither a parameter nor PGDATABASE names one."""

CONNECT_TIMEOUT_S = 10
"""libpq waits forever for a host that drops packets; a runbook should say so within seconds."""

_LOCAL_NAMES = {"localhost", "localhost.localdomain"}


def resolve_database(name: str) -> str:
    """A database parameter left empty means ``$PGDATABASE``, else the compose ``cm-service``."""
    return name.strip() or os.environ.get("PGDATABASE") or FALLBACK_DATABASE


def scrub(text: str) -> str:
    """``text`` with the libpq password (if one is set) blanked out, for anything shown or kept."""
    password = os.environ.get("PGPASSWORD")
    return text.replace(password, "********") if password else text


def libpq_endpoint() -> str:
    """Where libpq will connect, as ``host:port``, read from the environment (for messages)."""
    host = os.environ.get("PGHOST") or "the default Unix socket"
    return f"{host}:{os.environ.get('PGPORT') or '5432'}"


@contextmanager
def connect(database: str, *, read_only: bool = True) -> Iterator[psycopg.Connection]:
    """A session with ``database`` using the libpq environment; read-only unless asked."""
    options: dict[str, object] = {"application_name": "cmrunbook"}
    if "PGCONNECT_TIMEOUT" not in os.environ:
        options["connect_timeout"] = CONNECT_TIMEOUT_S
    try:
        connection = psycopg.connect(dbname=database, **options)
    except psycopg.OperationalError as error:
        raise _connection_error(database, str(error)) from None
    try:
        connection.read_only = read_only
        yield connection
    except psycopg.errors.InsufficientPrivilege as error:
        raise DatabasePermissionError(
            f"User {connection.info.user!r} may not do this in database {database!r}: "
            f"{scrub(str(error)).splitlines()[0]}",
            hint="Connect as the database's owner or a superuser (PGUSER), or have them grant "
            "the rights; then run again.",
        ) from None
    except psycopg.OperationalError as error:
        raise _connection_error(database, str(error)) from None
    finally:
        connection.close()


def _connection_error(database: str, reason: str) -> Exception:
    """The one-paragraph error for a failed connection, telling the pilot what to set."""
    endpoint = libpq_endpoint()
    first = scrub(reason).strip().splitlines()[0] if reason.strip() else "no reason given"
    if f'database "{database}" does not exist' in reason:
        available = list_databases()
        there = f" Databases there: {', '.join(available)}." if available else ""
        return UnknownDatabaseError(
            f"There is no database {database!r} on the PostgreSQL server at {endpoint}.{there}",
            name=database,
            available=available,
            hint="Set the database parameter to one of them (the cookbook calls the production "
            "database cmservice and the local compose one cm-service), or check PGHOST/PGPORT "
            "point at the server you mean.",
        )
    if "password" in reason or "authentication" in reason:
        return DatabaseUnreachableError(
            f"The PostgreSQL server at {endpoint} refused the login of user "
            f"{os.environ.get('PGUSER') or os.environ.get('USER', '?')!r}: {first}",
            endpoint=endpoint,
            hint="Set PGUSER and PGPASSWORD in the environment, or add a line "
            "host:port:database:user:password to ~/.pgpass (mode 0600); never as a parameter.",
        )
    return DatabaseUnreachableError(
        f"Cannot reach PostgreSQL at {endpoint} (database {database!r}): {first}",
        endpoint=endpoint,
        hint="Check that the server runs and that PGHOST and PGPORT point at it; the local "
        "compose database of CM Service is PGHOST=localhost PGPORT=65432 after "
        "'docker compose up --wait'.",
    )


def list_databases() -> list[str]:
    """The server's non-template databases, or an empty list when even that cannot be read."""
    for maintenance in ("postgres", "template1"):
        try:
            with psycopg.connect(dbname=maintenance, connect_timeout=CONNECT_TIMEOUT_S) as connection:
                rows = connection.execute(
                    "SELECT datname FROM pg_database WHERE NOT datistemplate ORDER BY datname"
                ).fetchall()
                return [row[0] for row in rows]
        except psycopg.Error:
            continue
    return []


def is_local(host: str, address: str) -> bool:
    """Whether the session runs over a Unix socket or to a loopback address of this machine.

    ``address`` is the IP libpq actually connected to (empty for a socket), so a host name that
    resolves elsewhere does not pass for local. A port forwarded from elsewhere to localhost
    does: the restore's other checks (a target holding rows is refused) cover that case.
    """
    if not host or host.startswith("/"):
        return True
    for candidate in (address, host):
        try:
            return ipaddress.ip_address(candidate).is_loopback
        except ValueError:
            continue
    return host.lower() in _LOCAL_NAMES


@dataclass(frozen=True)
class Fingerprint:
    """A database as a pilot recognises it, read in one transaction."""

    host: str
    port: int
    address: str
    database: str
    user: str
    schema: str
    server_version: str
    server_major: int
    superuser: bool
    alembic_revision: str | None
    row_counts: dict[str, int] = field(default_factory=dict)
    migration_rows: dict[str, int] = field(default_factory=dict)
    size_bytes: int = 0

    @property
    def local(self) -> bool:
        return is_local(self.host, self.address)

    @property
    def endpoint(self) -> str:
        """``host:port/database``: how the audit log and messages name this database."""
        return f"{self.host}:{self.port}/{self.database}"

    @property
    def via(self) -> str:
        if self.host.startswith("/"):
            return f"Unix socket in {self.host}"
        shown = self.host if self.address in ("", self.host) else f"{self.host} ({self.address})"
        return f"TCP {shown}"

    @property
    def data_rows(self) -> dict[str, int]:
        """Rows per table beyond those the migration writes itself (the version, the DEFAULT row)."""
        counts = {
            table: count - self.migration_rows.get(table, 0)
            for table, count in self.row_counts.items()
            if table != VERSION_TABLE
        }
        return {table: count for table, count in counts.items() if count}

    def table(self) -> pd.DataFrame:
        """Server, database and revision, one fact a row."""
        facts = {
            "server": f"{self.via}, port {self.port}",
            "on this machine": "yes" if self.local else "NO (remote)",
            "database": self.database,
            "schema": self.schema,
            "user": f"{self.user}{' (superuser)' if self.superuser else ''}",
            "server version": self.server_version,
            "alembic revision": self.alembic_revision
            or "none: no alembic_version table, so not a migrated CM Service database",
            "tables": str(len(self.row_counts)),
            "rows in all tables": str(sum(self.row_counts.values())),
            "size of the tables": f"{self.size_bytes / 2**20:.1f} MiB",
        }
        return pd.DataFrame({"value": list(facts.values())}, index=list(facts))

    def counts_table(self) -> pd.DataFrame:
        """Row counts of the main CM Service tables, the others summed into one line."""
        shown = [table for table in MAIN_TABLES if table in self.row_counts]
        others = [table for table in self.row_counts if table not in shown]
        rows = [(table, self.row_counts[table]) for table in shown]
        if others:
            rows.append((f"({len(others)} other tables)", sum(self.row_counts[t] for t in others)))
        return pd.DataFrame(rows, columns=["table", "rows"]).set_index("table")


def read_fingerprint(connection: psycopg.Connection, schema: str) -> Fingerprint:
    """The fingerprint of ``schema`` through an open session (inside the caller's transaction,
    so a backup's counts describe exactly the snapshot it dumps)."""
    info = connection.info
    database = info.dbname
    if connection.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", [schema]).fetchone() is None:
        schemas = [
            row[0]
            for row in connection.execute(
                "SELECT nspname FROM pg_namespace WHERE nspname !~ '^pg_' "
                "AND nspname <> 'information_schema' ORDER BY nspname"
            )
        ]
        raise UnknownDatabaseError(
            f"Database {database!r} has no schema {schema!r}; its schemas: {', '.join(schemas)}.",
            name=schema,
            available=schemas,
            hint="Set the schema parameter to the one CM Service uses (DB__TABLE_SCHEMA, "
            "normally public).",
        )
    tables = [
        row[0]
        for row in connection.execute(
            "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = %s AND c.relkind IN ('r', 'p') ORDER BY c.relname",
            [schema],
        )
    ]
    counts = _row_counts(connection, schema, tables)
    (size,) = connection.execute(
        "SELECT coalesce(sum(pg_table_size(c.oid)), 0)::bigint FROM pg_class c "
        "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = %s "
        "AND c.relkind IN ('r', 'p', 'm')",
        [schema],
    ).fetchone() or (0,)
    (version,) = connection.execute("SHOW server_version").fetchone() or ("?",)
    revision = None
    migration_rows: dict[str, int] = {}
    if VERSION_TABLE in tables:
        versions = connection.execute(
            sql.SQL("SELECT version_num FROM {} ORDER BY 1").format(
                sql.Identifier(schema, VERSION_TABLE)
            )
        ).fetchall()
        revision = ",".join(row[0] for row in versions) or None
        migration_rows[VERSION_TABLE] = len(versions)
    if "campaigns_v2" in tables:
        query = sql.SQL("SELECT count(*) FROM {} WHERE id::text = %s").format(
            sql.Identifier(schema, "campaigns_v2")
        )
        (default_rows,) = connection.execute(query, [DEFAULT_CAMPAIGN_V2_ID]).fetchone() or (0,)
        migration_rows["campaigns_v2"] = int(default_rows)
    return Fingerprint(
        host=info.host,
        port=int(info.port),
        address=info.hostaddr,
        database=database,
        user=info.user,
        schema=schema,
        server_version=str(version),
        server_major=info.server_version // 10000,
        superuser=info.parameter_status("is_superuser") == "on",
        alembic_revision=revision,
        row_counts=counts,
        migration_rows=migration_rows,
        size_bytes=int(size),
    )


def _row_counts(connection: psycopg.Connection, schema: str, tables: list[str]) -> dict[str, int]:
    """Exact row counts of ``tables`` in one statement (estimates would not verify a restore)."""
    if not tables:
        return {}
    parts = [
        sql.SQL("SELECT {}::text, count(*) FROM {}").format(
            sql.Literal(table), sql.Identifier(schema, table)
        )
        for table in tables
    ]
    rows = connection.execute(sql.SQL(" UNION ALL ").join(parts)).fetchall()
    return {name: int(count) for name, count in rows}


def fingerprint(database: str = "", schema: str = "public") -> Fingerprint:
    """Connect (read-only) and read the fingerprint of ``database`` (empty: ``$PGDATABASE``)."""
    with connect(resolve_database(database)) as connection, connection.transaction():
        return read_fingerprint(connection, schema)
