"""The v1 API's reply bodies as typed models, field for field as CM Service 0.8.0 sends them.

Field order follows the service's own models so that a serialised sandbox reply reads like a
recorded one. Enums travel as integers (API.md §2.1); the models turn them into
:mod:`cmrunbook.status` members. Unknown extra fields are ignored so a newer server does not
break a pilot's runbook.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

from pydantic import BaseModel, ConfigDict

from .status import ErrorSourceEnum, LevelEnum, ScriptMethodEnum, StatusEnum


class _Reply(BaseModel):
    model_config = ConfigDict(extra="ignore")


class _Timestamps:
    """``metadata_.crtime``/``mtime``: the only timestamps nodes have (epoch seconds)."""

    if TYPE_CHECKING:  # declared by the models; not a field of this mixin (keeps key order)
        metadata_: dict[str, Any]

    @property
    def crtime(self) -> float | None:
        return self.metadata_.get("crtime")

    @property
    def mtime(self) -> float | None:
        return self.metadata_.get("mtime")


class Element(_Reply, _Timestamps):
    """A campaign, step, group or job in the generic shape (``/script/get/{id}/parent``)."""

    name: str
    data: dict[str, Any] = {}
    metadata_: dict[str, Any] = {}
    child_config: dict[str, Any] | None = None
    collections: dict[str, Any] | None = None
    spec_aliases: dict[str, Any] | None = None
    handler: str | None = None
    id: int
    parent_id: int | None = None
    fullname: str
    status: StatusEnum
    superseded: bool = False


class Campaign(Element):
    """``/campaign/get/{id}`` and friends; ``parent_id`` is always null."""

    spec_id: int
    spec_block_id: int


class Step(Element):
    """``/step/list`` rows (a group has the same shape)."""

    spec_block_id: int


class Job(Element):
    """``/job/get/{id}``; ``metadata_.bps_submit_dir`` is where the BPS submit directory is."""

    attempt: int = 0
    wms_job_id: str | None = None
    stamp_url: str | None = None
    spec_block_id: int


class Script(_Reply, _Timestamps):
    """``/script/get/{id}``; ``j_id`` is not sent, use ``parent_id`` with ``parent_level``."""

    name: str
    attempt: int = 0
    handler: str | None = None
    data: dict[str, Any] = {}
    metadata_: dict[str, Any] = {}
    child_config: dict[str, Any] | None = None
    collections: dict[str, Any] | None = None
    script_url: str | None = None
    stamp_url: str | None = None
    log_url: str | None = None
    id: int
    spec_block_id: int
    parent_id: int
    parent_level: LevelEnum
    method: ScriptMethodEnum = ScriptMethodEnum.default
    c_id: int | None = None
    s_id: int | None = None
    g_id: int | None = None
    fullname: str
    status: StatusEnum
    superseded: bool = False


class ScriptSummary(_Reply, _Timestamps):
    """The fields of a script a campaign-wide view needs, from the same JSON as :class:`Script`.

    A big campaign has tens of thousands of scripts; keeping only these fields keeps a status
    report of the largest campaign in a fraction of the memory full rows would take.
    """

    id: int
    fullname: str
    status: StatusEnum
    parent_id: int
    parent_level: LevelEnum
    attempt: int = 0
    metadata_: dict[str, Any] = {}


class ScriptLike(Protocol):
    """What views and diagnoses read from a script: a :class:`Script` or a
    :class:`ScriptSummary`."""

    id: int
    fullname: str
    status: StatusEnum
    parent_id: int
    parent_level: LevelEnum
    attempt: int

    @property
    def crtime(self) -> float | None: ...

    @property
    def mtime(self) -> float | None: ...


class ScriptError(_Reply):
    """One diagnostic message of one attempt of a script."""

    script_id: int | None
    source: ErrorSourceEnum
    diagnostic_message: str
    id: int


class Queue(_Reply):
    """A queue row: the v1 daemon processes the node it points at while ``active``."""

    interval: float
    options: dict[str, Any] | None = None
    active: bool
    id: int
    time_created: datetime
    time_updated: datetime
    time_finished: datetime | None = None
    time_next_check: datetime | None = None
    node_id: int
    node_level: LevelEnum
    metadata_: dict[str, Any] = {}


class Health(_Reply):
    """``/healthz``: the service's name and version."""

    name: str
    version: str
