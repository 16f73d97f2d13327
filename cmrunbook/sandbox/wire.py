"""Stored rows in the v1 API's wire form: enum names become integers, and whole script rows can
be turned into their JSON reply by the database itself.

A campaign's ``all_scripts`` can hold tens of thousands of rows; decoding each row's JSON
columns into Python only to encode them again took most of that reply's time. The database
builds each script's JSON object instead (``json_build_object`` in PostgreSQL, ``json_object``
in SQLite), with the same keys, order and values as the reply model.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, Boolean, ColumnElement, Table, Text, case, cast, func, literal_column, null

from ..models import Script
from ..status import ErrorSourceEnum, LevelEnum, ScriptMethodEnum, StatusEnum

WIRE_ENUMS = {
    "status": StatusEnum,
    "parent_level": LevelEnum,
    "node_level": LevelEnum,
    "method": ScriptMethodEnum,
    "source": ErrorSourceEnum,
}
"""Columns that hold an enum member's name in the database and its value on the wire."""

_WIRE_VALUES = {column: {m.name: m.value for m in enum} for column, enum in WIRE_ENUMS.items()}
SCRIPT_FIELDS = tuple(Script.model_fields)


def wire(row: dict[str, Any]) -> dict[str, Any]:
    """A stored row as the v1 API sends it: enum names become their integer values."""
    wired = dict(row)
    for column, values in _WIRE_VALUES.items():
        if wired.get(column) is not None:
            wired[column] = values[wired[column]]
    return wired


def json_row(table: Table, fields: tuple[str, ...], dialect: str) -> ColumnElement[str]:
    """An SQL expression giving each row of ``table`` as the JSON object of ``fields``."""
    arguments: list[Any] = []
    for field in fields:
        arguments += [literal_column(f"'{field}'"), _json_value(table, field, dialect)]
    if dialect == "postgresql":
        return cast(func.json_build_object(*arguments), Text)
    return func.json_object(*arguments)


def _json_value(table: Table, field: str, dialect: str) -> ColumnElement[Any]:
    if field not in table.c:
        return null()
    column = table.c[field]
    if field in _WIRE_VALUES:
        return case(_WIRE_VALUES[field], value=column)
    if dialect == "sqlite" and isinstance(column.type, JSON):
        return func.json(column)  # stored as text: embed it as JSON, not as a string
    if dialect == "sqlite" and isinstance(column.type, Boolean):
        return func.json(case((column.is_(True), "true"), else_="false"))
    return column
