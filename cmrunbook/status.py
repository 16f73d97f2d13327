"""CM Service's status values, levels and action rules (v1 API, release 0.8.0).

One pure module that both sides read: the client uses it to plan and explain actions, the
sandbox uses it to enforce the same rules the real service enforces. The integer values are
the real ones (the enum's docstring in CM Service lists stale numbers; see API.md §2.1).
"""

from __future__ import annotations

from enum import Enum, IntEnum, StrEnum


class StatusEnum(Enum):
    """Status of a campaign, step, group, job or script.

    A plain ``Enum`` (not ``IntEnum``) on purpose: pydantic then validates request bodies exactly
    as CM Service does, refusing a name such as ``"reviewable"`` with the same 422 message.
    """

    overdue = -6
    failed = -5
    rejected = -4
    blocked = -3
    paused = -2
    rescuable = -1
    waiting = 0
    ready = 1
    prepared = 2
    running = 3
    reviewable = 4
    accepted = 5
    rescued = 6

    def is_bad(self) -> bool:
        """Failed, rejected or overdue: the states CM Service calls "bad"."""
        return self.value <= StatusEnum.rejected.value

    def is_terminal_script(self) -> bool:
        """Scripts stop moving once reviewable, accepted, rescued or bad."""
        return self.value >= StatusEnum.accepted.value or self.is_bad() or self is StatusEnum.reviewable

    def is_terminal_element(self) -> bool:
        return self.value >= StatusEnum.accepted.value or self.is_bad()

    def is_processable_script(self) -> bool:
        return StatusEnum.waiting.value <= self.value <= StatusEnum.running.value

    def is_processable_element(self) -> bool:
        return StatusEnum.waiting.value <= self.value <= StatusEnum.reviewable.value

    def __str__(self) -> str:
        # CM Service prints statuses as ``StatusEnum.running`` in its error messages.
        return f"StatusEnum.{self.name}"


class LevelEnum(IntEnum):
    """Level of a node in the campaign tree (script ``parent_level``, queue ``node_level``)."""

    campaign = 1
    step = 2
    group = 3
    job = 4
    script = 5


class ScriptMethodEnum(IntEnum):
    """How a script is executed; ``default`` means the handler's own choice."""

    default = -1
    no_script = 0
    bash = 1
    slurm = 2
    htcondor = 3


class ErrorSourceEnum(IntEnum):
    """Where a script error came from. ``htc_workflow`` is an alias of ``local_script``."""

    cmservice = 0
    local_script = 1
    manifest = 2


class Action(StrEnum):
    """The state-changing requests a pilot can send, as named in the runbook."""

    accept = "accept"
    reject = "reject"
    reset = "reset"
    run_check = "run_check"
    update_status = "update_status"
    force_accept = "force_accept"
    update_data = "update_data"
    queue_delete = "queue_delete"
    queue_create = "queue_create"


ALLOWED_FROM: dict[Action, frozenset[StatusEnum] | None] = {
    Action.accept: frozenset(
        {StatusEnum.blocked, StatusEnum.running, StatusEnum.reviewable, StatusEnum.rescuable}
    ),
    Action.reject: frozenset(set(StatusEnum) - {StatusEnum.accepted, StatusEnum.rescued}),
    Action.reset: frozenset(
        {StatusEnum.blocked, StatusEnum.rejected, StatusEnum.failed, StatusEnum.ready}
    ),
    Action.run_check: None,
    Action.update_status: None,
    Action.force_accept: None,
    Action.update_data: None,
    Action.queue_delete: None,
    Action.queue_create: None,
}
"""Statuses from which CM Service allows each action (API.md §4); ``None`` means any status.

``update_data`` is always allowed for new keys; existing keys follow
:func:`can_change_existing_data`.
"""

DATA_KEYS_FROZEN_FROM = StatusEnum.prepared
"""Existing ``data`` keys of a node can be changed only while its status is below this one."""


def is_allowed(action: Action, status: StatusEnum) -> bool:
    """Whether CM Service accepts ``action`` on a node that is currently in ``status``."""
    allowed = ALLOWED_FROM[action]
    return allowed is None or status in allowed


def allowed_statuses(action: Action) -> list[StatusEnum]:
    """The statuses ``action`` is allowed from, lowest first (all of them when unrestricted)."""
    allowed = ALLOWED_FROM[action]
    return sorted(set(StatusEnum) if allowed is None else allowed, key=lambda s: s.value)


def can_change_existing_data(status: StatusEnum) -> bool:
    """Whether existing keys of a node's ``data`` may be changed in ``status``."""
    return status.value < DATA_KEYS_FROZEN_FROM.value


def status_from_wire(value: int | str) -> StatusEnum:
    """Read a status as the v1 API sends it (an integer) or as the database stores it (a name)."""
    if isinstance(value, str):
        return StatusEnum[value]
    return StatusEnum(value)
