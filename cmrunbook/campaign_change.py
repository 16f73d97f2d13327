"""Changing a running campaign: stop it, update its data, resume it — in that order.

CM Service refuses changes to existing ``data`` keys of a node that is prepared or beyond, so
the cookbook first deletes the campaign's queue(s) and rejects it. It stops there; the last
step here is the one it leaves out: bring the campaign back to processing *without*
re-preparing it (API.md §4.1): set its status back to running and create an active queue.
(Resetting it to waiting would run ``prepare`` again and collide with its existing scripts.)
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any

from .actions import Plan, Target, reject_plan, update_status_plan
from .client import CMClient
from .errors import ParameterError
from .models import Campaign, Queue
from .status import Action, StatusEnum, can_change_existing_data
from .views import campaign_queues

RESUME_INTERVAL_S = 300.0


class Step(StrEnum):
    plan = "plan"
    stop = "stop"
    update = "update"
    resume = "resume"


def parse_step(text: str) -> Step:
    try:
        return Step(text)
    except ValueError:
        raise ParameterError(
            f"Parameter 'step' got {text!r}.",
            hint=f"Set step to one of: {', '.join(Step)} (in that order).",
        ) from None


def parse_updates(text: str) -> dict[str, Any]:
    """``data_updates`` is a JSON object of the keys to set."""
    try:
        updates = json.loads(text or "{}")
    except json.JSONDecodeError as error:
        raise ParameterError(
            f"Parameter 'data_updates' is not valid JSON ({error.msg} at character {error.pos}).",
            hint='Give a JSON object, e.g. {"lsst_version": "w_2026_49"}.',
        ) from None
    if not isinstance(updates, dict):
        raise ParameterError(
            f"Parameter 'data_updates' must be a JSON object, not {type(updates).__name__}.",
            hint='Give a JSON object, e.g. {"lsst_version": "w_2026_49"}.',
        )
    return updates


@dataclass(frozen=True)
class DataChange:
    """One requested key: its value now, the value asked for, and whether the server allows it."""

    key: str
    current: Any
    requested: Any
    exists: bool
    refused: bool

    @property
    def kind(self) -> str:
        if not self.exists:
            return "new key"
        return "unchanged" if self.current == self.requested else "changed"


@dataclass(frozen=True)
class CampaignState:
    """The campaign and every queue row pointing at it, read now."""

    campaign: Campaign
    queues: list[Queue]

    @property
    def active_queues(self) -> list[Queue]:
        return [queue for queue in self.queues if queue.active]

    @property
    def stopped(self) -> bool:
        return self.campaign.status is StatusEnum.rejected and not self.active_queues

    def data_changes(self, updates: dict[str, Any]) -> list[DataChange]:
        """The diff the update step would apply, and which keys CM Service would refuse."""
        data = self.campaign.data
        may_change_existing = can_change_existing_data(self.campaign.status)
        return [
            DataChange(
                key=key,
                current=data.get(key),
                requested=value,
                exists=key in data,
                refused=key in data and data[key] != value and not may_change_existing,
            )
            for key, value in updates.items()
        ]

    def next_step(self) -> Step:
        """Where the procedure stands: what a pilot should do next."""
        return Step.update if self.stopped else Step.stop


def read_state(client: CMClient, fullname: str) -> CampaignState:
    campaign = client.campaign.get_by_fullname(fullname)
    return CampaignState(campaign, campaign_queues(client.queue.list(), campaign.id))


def out_of_order(state: CampaignState, step: Step, updates: dict[str, Any]) -> str:
    """Why ``step`` cannot run now (and which step comes first), or '' when it can."""
    name = state.campaign.fullname
    status = state.campaign.status.name
    if step is Step.stop and state.stopped and not state.queues:
        return f"{name} is already stopped (rejected, no queue rows); next: step 'update' or 'resume'."
    if step is Step.update:
        if state.active_queues:
            return f"{name} still has an active queue; run step 'stop' first."
        if not updates:
            return "data_updates is empty: there is nothing to update."
        refused = [change.key for change in state.data_changes(updates) if change.refused]
        if refused:
            return (
                f"CM Service refuses to change existing key(s) {', '.join(refused)} while {name} "
                f"is {status}; run step 'stop' first (it rejects the campaign)."
            )
    if step is Step.resume:
        if state.active_queues:
            return f"{name} already has an active queue: it is being processed."
        if state.campaign.status.is_terminal_element() and not state.campaign.status.is_bad():
            return f"{name} is {status}: there is nothing to resume."
    return ""


def stop_plans(state: CampaignState) -> list[Plan]:
    """Delete every queue row pointing at the campaign, then reject it."""
    campaign = _target(state)
    plans = [
        Plan(
            Action.queue_delete,
            Target("queue", queue.id, campaign.fullname, None, campaign.confirm_value),
            "DELETE",
            f"queue/delete/{queue.id}",
            expected="the queue row is deleted; the daemon stops visiting the campaign",
        )
        for queue in state.queues
    ]
    if state.campaign.status is not StatusEnum.rejected:
        plans.append(reject_plan(campaign))
    return plans


def update_plan(state: CampaignState, updates: dict[str, Any]) -> Plan:
    campaign = _target(state)
    return Plan(
        Action.update_data,
        campaign,
        "POST",
        f"campaign/update/{campaign.id}/data_dict",
        body={"update_dict": updates},
        expected="the keys are merged into the campaign's data (other keys are kept)",
    )


def resume_plans(state: CampaignState, interval_s: float = RESUME_INTERVAL_S) -> list[Plan]:
    """Status back to running (no re-prepare), then a new active queue."""
    campaign = _target(state)
    running = replace(campaign, status=StatusEnum.running)
    plans = []
    if state.campaign.status is not StatusEnum.running:
        plans.append(
            update_status_plan(
                campaign,
                StatusEnum.running,
                expected="status becomes running; its existing scripts are checked and "
                "continued, not prepared again",
            )
        )
    plans.append(
        Plan(
            Action.queue_create,
            running,
            "POST",
            "queue/create",
            body={"fullname": campaign.fullname, "interval": interval_s, "active": True},
            expected="a new active queue row points at the campaign; the daemon processes it",
        )
    )
    return plans


def _target(state: CampaignState) -> Target:
    campaign = state.campaign
    return Target("campaign", campaign.id, campaign.fullname, campaign.status, campaign.fullname)
