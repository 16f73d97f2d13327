"""The Times Square settings files: a notebook's ``<name>.yaml`` sidecar and ``times-square.yaml``.

The models accept exactly the subset of Times Square's format the runbooks use and refuse
anything else (a misspelt key would otherwise be silently ignored by Times Square), so the
tests can validate every sidecar before Times Square ever sees it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, model_validator

ParameterType = Literal["string", "number", "integer", "boolean"]
PYTHON_TYPES: dict[str, type | tuple[type, ...]] = {
    "string": str,
    "number": (int, float),
    "integer": int,
    "boolean": bool,
}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ParameterSchema(_Strict):
    """One notebook parameter: a JSON-schema subset (no enums, no arrays)."""

    type: ParameterType
    description: str = Field(min_length=1)
    default: str | int | float | bool | None = None
    dynamic_default: str | None = None
    minimum: int | float | None = None
    maximum: int | float | None = None
    format: Literal["date", "date-time", "dayobs", "dayobs-date"] | None = None

    @model_validator(mode="after")
    def _check(self) -> ParameterSchema:
        if (self.default is None) == (self.dynamic_default is None):
            raise ValueError("exactly one of 'default' and 'dynamic_default' must be set")
        if self.default is not None and not _is_of_type(self.default, self.type):
            raise ValueError(f"default {self.default!r} is not of type {self.type}")
        if self.format is not None and self.type != "string":
            raise ValueError("'format' applies to string parameters only")
        if (self.minimum is not None or self.maximum is not None) and self.type not in (
            "number",
            "integer",
        ):
            raise ValueError("'minimum'/'maximum' apply to number and integer parameters only")
        return self


class Author(_Strict):
    name: str
    github: str | None = None


class ScheduleRule(_Strict):
    """A recurring rule as Times Square reads it (a subset of RFC 5545)."""

    freq: Literal["yearly", "monthly", "weekly", "hourly", "minutely"]
    interval: int = Field(default=1, ge=1)
    by_hour: list[int] | None = None
    by_minute: list[int] | None = None
    timezone: str | None = None


class NotebookSidecar(_Strict):
    """``<name>.yaml`` beside ``<name>.ipynb``."""

    title: str
    description: str
    authors: list[Author] = Field(default_factory=list)
    tags: list[str] = Field(default_factory=list)
    timeout: int | str | None = None
    cache_ttl: int | None = None
    enabled: bool = True
    schedule: list[ScheduleRule] | None = None
    schedule_enabled: bool = True
    parameters: dict[str, ParameterSchema] = Field(default_factory=dict)


class RepositorySettings(_Strict):
    """``times-square.yaml`` at the root of the notebooks folder."""

    description: str
    enabled: bool = True


def _is_of_type(value: Any, type_name: str) -> bool:
    if isinstance(value, bool) and type_name != "boolean":
        return False
    return isinstance(value, PYTHON_TYPES[type_name])


def read_sidecar(path: Path) -> NotebookSidecar:
    return NotebookSidecar.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))


def read_repository_settings(path: Path) -> RepositorySettings:
    return RepositorySettings.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))
