"""The campaign change runbook: where the procedure stands, the data diff, and each step."""

from __future__ import annotations

import json
from typing import Any

import pandas as pd
from IPython.display import display

from ..actions import Outcome
from ..campaign_change import (
    CampaignState,
    Step,
    out_of_order,
    resume_plans,
    stop_plans,
    update_plan,
)
from ..client import CMClient
from ..errors import ActionRefusedError
from ..views import queues_table
from ._core import act, say
from ._status import processing_sentence


def show_campaign_state(state: CampaignState) -> None:
    """The campaign's status, its queue rows, and where the change procedure stands."""
    campaign = state.campaign
    say(
        f"**{campaign.fullname}** (id {campaign.id}) is **{campaign.status.name}**; "
        f"{len(state.queues)} queue row(s) point at it, {len(state.active_queues)} active. "
        f"{processing_sentence(campaign, state.queues)}"
    )
    display(queues_table(state.queues))


def show_data_changes(state: CampaignState, updates: dict[str, Any]) -> None:
    say("Current `data`:\n\n```json\n" + json.dumps(state.campaign.data, indent=2) + "\n```")
    if not updates:
        say("`data_updates` is empty: no change requested.")
        return
    rows = [
        {
            "key": change.key,
            "change": change.kind,
            "now": json.dumps(change.current) if change.exists else "",
            "requested": json.dumps(change.requested),
            "CM Service would refuse it now": change.refused,
        }
        for change in state.data_changes(updates)
    ]
    display(pd.DataFrame(rows))


def run_campaign_step(
    client: CMClient,
    state: CampaignState,
    step: Step,
    updates: dict[str, Any],
    *,
    confirm: str,
) -> list[Outcome]:
    """Plan (and, when confirmed, carry out) one step of changing a running campaign."""
    if step is Step.plan:
        say(f"Nothing to do in step 'plan'. Next step: **{state.next_step()}**.")
        return []
    problem = out_of_order(state, step, updates)
    if problem:
        raise ActionRefusedError(f"Refused: {problem}", hint="Nothing was sent to CM Service.")
    plans = {
        Step.stop: lambda: stop_plans(state),
        Step.update: lambda: [update_plan(state, updates)],
        Step.resume: lambda: resume_plans(state),
    }[step]()
    return [act(client, plan, confirm=confirm, runbook="campaign_change") for plan in plans]
