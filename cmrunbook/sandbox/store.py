"""Where the sandbox keeps its rows: SQLite by default, PostgreSQL when given a URL.

Both backends hold CM Service's own table layout. On PostgreSQL the schema is CM Service's
migrated schema itself (``data/schema.sql``, plus what ``alembic upgrade head`` writes), so the
database can be dumped and restored like a real one. Every request runs in one transaction
under one lock, as the real service runs each request in one transaction: a failure writes
nothing. Lists carry no ORDER BY, like the real server, so rows come back in storage order.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import TYPE_CHECKING, Any

from psycopg.types.datetime import TimestamptzLoader
from sqlalchemy import (
    Column,
    Connection,
    Engine,
    MetaData,
    Select,
    Table,
    create_engine,
    event,
    select,
    text,
)
from sqlalchemy.dialects.postgresql import asyncpg
from sqlalchemy.pool import StaticPool

from ..cmschema import HEAD_REVISION, apply_schema, insert_default_campaign
from .environment import Environment
from .tables import LOAD_ORDER, NEG_INFINITY, TABLES
from .wire import json_row

if TYPE_CHECKING:
    from .scenarios import Scenario

DEFAULT_URL = "sqlite://"
_SEQUENCES_TABLE = "sandbox_sequence"
_ASYNCPG_ERRORS = {
    "OFFSET": "InvalidRowCountInResultOffsetClauseError",
    "LIMIT": "InvalidRowCountInLimitClauseError",
}


class StoreError(Exception):
    """The database refused a statement; ``str()`` is the text CM Service would report."""


class _InfinityTimestamptzLoader(TimestamptzLoader):
    """Load ``-infinity`` as ``datetime.min`` instead of failing, as asyncpg does."""

    def load(self, data: Any) -> datetime:
        if bytes(data) == b"-infinity":
            return NEG_INFINITY
        return super().load(data)


_JSON = json.JSONDecoder()
_WHITESPACE = re.compile(r"[ \t\n\r]*")


def load_json(data: str | bytes | memoryview) -> Any:
    """``json.loads`` for values the database wrote itself, several times faster on the many
    tiny documents a campaign holds (four JSON columns per script): a campaign's scripts in
    one reply spend most of their time here."""
    text = data if isinstance(data, str) else bytes(data).decode("utf-8")
    return _JSON.raw_decode(text, _WHITESPACE.match(text).end())[0]  # type: ignore[union-attr]


def _register_infinity_loader(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.adapters.register_loader("timestamptz", _InfinityTimestamptzLoader)


def negative_paging_message(table: str, skip: int, limit: int) -> str:
    """The error text CM Service 0.8.0 returns for a negative ``skip`` or ``limit``.

    Built like SQLAlchemy's asyncpg error: the compiled SELECT over the table's columns, the
    parameters, and PostgreSQL's complaint (OFFSET is checked before LIMIT).
    """
    public = TABLES[table].to_metadata(MetaData(schema="public"))
    statement = select(public).limit(limit).offset(skip).compile(dialect=asyncpg.dialect())
    clause = "OFFSET" if skip < 0 else "LIMIT"
    return (
        f"(sqlalchemy.dialects.postgresql.asyncpg.Error) "
        f"<class 'asyncpg.exceptions.{_ASYNCPG_ERRORS[clause]}'>: {clause} must not be negative\n"
        f"[SQL: {statement}]\n"
        f"[parameters: {(limit, skip)!r}]\n"
        f"(Background on this error at: https://sqlalche.me/e/20/dbapi)"
    )


def _copy_value(value: Any) -> Any:
    if isinstance(value, dict | list):
        return json.dumps(value)
    return "-infinity" if isinstance(value, datetime) and value == NEG_INFINITY else value


def _copy_rows(connection: Connection, table: Table, rows: Sequence[Mapping[str, Any]]) -> None:
    """Bulk-load rows with COPY, keeping their order in the heap.

    COPY into a table created in the same transaction skips the free-space map, so every row
    lands after the previous one; INSERT may back-fill earlier pages, and then a list without
    ORDER BY would not come back in the scenario's order.
    """
    names = [column.name for column in table.columns]
    columns = ", ".join(f'"{name}"' for name in names)
    cursor = connection.connection.driver_connection.cursor()  # type: ignore[union-attr]
    with cursor.copy(f'COPY public."{table.name}" ({columns}) FROM STDIN') as copy:
        for row in rows:
            copy.write_row([_copy_value(row.get(name)) for name in names])


class Tx:
    """One transaction's view of the tables; rows are plain dicts keyed by column name."""

    def __init__(self, connection: Connection, store: Store) -> None:
        self.connection = connection
        self._store = store

    def _where(self, table: str, equals: Mapping[str, Any]) -> Any:
        columns = TABLES[table].c
        clauses = []
        for name, value in equals.items():
            column: Column[Any] = columns[name]
            if isinstance(value, Select):
                clauses.append(column.in_(value))
            elif isinstance(value, list | tuple | set | frozenset):
                clauses.append(column.in_(list(value)))
            else:
                clauses.append(column == value)
        return clauses

    def find(self, table: str, **equals: Any) -> list[dict[str, Any]]:
        """Rows whose columns equal the given values, in storage order. A collection means IN; so
        does an :meth:`ids` query, which keeps thousands of ids out of the statement."""
        query = select(TABLES[table]).where(*self._where(table, equals))
        return [dict(row._mapping) for row in self.connection.execute(query)]

    def find_json(
        self, table: str, fields: tuple[str, ...], key: str, **equals: Any
    ) -> list[tuple[Any, str]]:
        """Like :meth:`find`, but each row as its v1 JSON text (``fields``, built by the
        database), paired with its ``key`` column."""
        columns = TABLES[table].c
        reply = json_row(TABLES[table], fields, self._store.backend)
        query = select(columns[key], reply).where(*self._where(table, equals))
        return [(row[0], row[1]) for row in self.connection.execute(query)]

    def ids(self, table: str, **equals: Any) -> Select[Any]:
        """The ids of the rows :meth:`find` would return, as a query to nest in another."""
        return select(TABLES[table].c.id).where(*self._where(table, equals))

    def get(self, table: str, row_id: int) -> dict[str, Any] | None:
        rows = self.find(table, id=row_id)
        return rows[0] if rows else None

    def page(self, table: str, skip: int = 0, limit: int | None = None) -> list[dict[str, Any]]:
        """A slice of the table in storage order, as ``/list`` reads it (OFFSET/LIMIT)."""
        if skip < 0 or (limit is not None and limit < 0):
            raise StoreError(negative_paging_message(table, skip, 100 if limit is None else limit))
        query = select(TABLES[table]).offset(skip).limit(limit)
        return [dict(row._mapping) for row in self.connection.execute(query)]

    def insert(self, table: str, values: Mapping[str, Any]) -> dict[str, Any]:
        """Insert one row, taking its id from the table's sequence; returns the stored row."""
        row = {"id": self._store.next_id(self.connection, table), **values}
        self.connection.execute(TABLES[table].insert(), [row])
        stored = self.get(table, row["id"])
        assert stored is not None
        return stored

    def update(self, table: str, row_id: int, **values: Any) -> None:
        if values:
            target = TABLES[table]
            self.connection.execute(target.update().where(target.c.id == row_id).values(**values))

    def delete(self, table: str, row_id: int) -> None:
        target = TABLES[table]
        self.connection.execute(target.delete().where(target.c.id == row_id))


class Store:
    """The sandbox database and the world its checks see.

    :meth:`load` replaces both with a scenario; :meth:`transaction` works on the rows.
    """

    def __init__(self, url: str | None = None) -> None:
        self._lock = threading.RLock()
        self.environment = Environment(artifact_root="/cm/artifacts")
        self.connect(url)

    def connect(self, url: str | None) -> None:
        """Use the database at ``url`` (SQLite in memory when ``None``) from now on."""
        with self._lock:
            if hasattr(self, "engine"):
                self.engine.dispose()
            self.url = url or DEFAULT_URL
            self.engine: Engine = self._create_engine(self.url)
            self.backend = self.engine.dialect.name

    @staticmethod
    def _create_engine(url: str) -> Engine:
        if url.startswith("sqlite"):
            engine = create_engine(
                url,
                connect_args={"check_same_thread": False},
                poolclass=StaticPool,
                json_deserializer=load_json,
            )
            event.listen(engine, "connect", lambda conn, _rec: conn.execute("PRAGMA foreign_keys=ON"))
            return engine
        engine = create_engine(
            url,
            pool_pre_ping=True,
            connect_args={"options": "-c timezone=UTC"},
            json_deserializer=load_json,
        )
        event.listen(engine, "connect", _register_infinity_loader)
        return engine

    @contextmanager
    def transaction(self) -> Iterator[Tx]:
        """One serialised transaction: committed when the block ends, rolled back on error."""
        with self._lock, self.engine.begin() as connection:
            yield Tx(connection, self)

    def next_id(self, connection: Connection, table: str) -> int:
        """The table's next id; ids are never reused, even after deletes (like a sequence)."""
        if self.backend == "postgresql":
            return int(
                connection.execute(select(text(f"nextval('public.{table}_id_seq')"))).scalar_one()
            )
        current = connection.execute(
            text(f"SELECT next_value FROM {_SEQUENCES_TABLE} WHERE table_name = :t"), {"t": table}
        ).scalar_one()
        connection.execute(
            text(f"UPDATE {_SEQUENCES_TABLE} SET next_value = :v WHERE table_name = :t"),
            {"v": current + 1, "t": table},
        )
        return int(current)

    def load(self, scenario: Scenario) -> None:
        """Replace the whole database (rows in the scenario's order, sequences) and the world."""
        self._load_rows(scenario.tables, scenario.next_ids)
        self.environment = scenario.environment

    def _load_rows(
        self, rows: Mapping[str, Sequence[Mapping[str, Any]]], next_ids: Mapping[str, int]
    ) -> None:
        with self._lock, self.engine.begin() as connection:
            if self.backend == "postgresql":
                self._create_postgres_schema(connection)
            else:
                self._create_sqlite_schema(connection)
            for table in LOAD_ORDER:
                table_rows = rows.get(table.name, ())
                if table_rows and self.backend == "postgresql":
                    _copy_rows(connection, table, table_rows)
                elif table_rows:
                    names = [column.name for column in table.columns]
                    connection.execute(
                        table.insert(), [{name: row.get(name) for name in names} for row in table_rows]
                    )
                self._set_next_id(connection, table.name, next_ids.get(table.name, 1))
            if self.backend == "postgresql":
                # Statistics now, as a long-lived database has them, rather than autovacuum's
                # background pass over the fresh rows later, in the middle of someone's requests.
                connection.exec_driver_sql("ANALYZE")

    def _create_postgres_schema(self, connection: Connection) -> None:
        """CM Service's migrated schema with what the migrations insert, and nothing else.

        A database already at the migration head is emptied instead of rebuilt (TRUNCATE is
        much faster than replaying the schema, and a table truncated in this transaction loads
        in order just like a new one).
        """
        tables = connection.execute(
            text("SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename != :v"),
            {"v": "alembic_version"},
        ).scalars()
        names = ", ".join(f'public."{name}"' for name in tables)
        driver = connection.connection.driver_connection
        if names and self._postgres_at_head(connection):
            connection.exec_driver_sql(f"TRUNCATE {names} RESTART IDENTITY")
            insert_default_campaign(driver)  # type: ignore[arg-type]
        else:
            apply_schema(driver)  # type: ignore[arg-type]

    @staticmethod
    def _postgres_at_head(connection: Connection) -> bool:
        if connection.execute(text("SELECT to_regclass('public.alembic_version')")).scalar() is None:
            return False
        versions = connection.execute(text("SELECT version_num FROM public.alembic_version")).scalars()
        return list(versions) == [HEAD_REVISION]

    def _create_sqlite_schema(self, connection: Connection) -> None:
        for table in reversed(LOAD_ORDER):
            table.drop(connection, checkfirst=True)
        connection.exec_driver_sql(f"DROP TABLE IF EXISTS {_SEQUENCES_TABLE}")
        for table in LOAD_ORDER:
            table.create(connection)
        connection.exec_driver_sql(
            f"CREATE TABLE {_SEQUENCES_TABLE} (table_name VARCHAR PRIMARY KEY, next_value BIGINT)"
        )

    def _set_next_id(self, connection: Connection, table: str, next_id: int) -> None:
        if self.backend == "postgresql":
            connection.execute(
                text("SELECT setval(:seq, :value, :called)"),
                {"seq": f"public.{table}_id_seq", "value": max(next_id - 1, 1), "called": next_id > 1},
            )
        else:
            connection.execute(
                text(f"INSERT INTO {_SEQUENCES_TABLE} (table_name, next_value) VALUES (:t, :v)"),
                {"t": table, "v": next_id},
            )

    def dump(self, table: str) -> list[dict[str, Any]]:
        """Every row of ``table`` in storage order (what ``/list`` pages through)."""
        with self.transaction() as tx:
            return tx.page(table)

    def dispose(self) -> None:
        self.engine.dispose()
