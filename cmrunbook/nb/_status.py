"""The campaign status runbook's views: verdict, bar chart, attention list, queues, summary."""

from __future__ import annotations

import html
from typing import Any

import pandas as pd
from IPython.display import HTML, display

from ..audit import read as read_audit
from ..client import CMClient
from ..diagnose import VERDICT_COLOURS, Diagnosis
from ..models import Campaign, Health, Queue
from ..status import StatusEnum
from ._core import say


def show_verdict(diagnosis: Diagnosis) -> None:
    """The verdict as a coloured line a reader sees first, with its one-sentence reason."""
    colour = VERDICT_COLOURS[diagnosis.verdict]
    display(
        HTML(
            f'<div style="border-left:8px solid {colour};padding:6px 12px;font-size:1.1em">'
            f'<b style="color:{colour}">{diagnosis.verdict.upper()}</b> '
            f"&mdash; {html.escape(diagnosis.campaign)}: {html.escape(diagnosis.reason)}</div>"
        )
    )


def status_bar_chart(counts: pd.DataFrame) -> None:
    """Scripts per status as horizontal bars, in CM Service's status order (plain HTML, so the
    report needs no plotting library and stays readable offline)."""
    if counts.empty:
        say("_The campaign has no scripts yet._")
        return
    largest = max(int(counts["count"].max()), 1)
    rows = "".join(
        f"<tr><td>{html.escape(status)}</td><td style='width:30em'>"
        f"<div style='background:#4a7ab5;height:1em;width:{100 * count / largest:.1f}%'></div>"
        f"</td><td>{count}</td></tr>"
        for status, count in zip(counts["status"], counts["count"], strict=True)
    )
    display(HTML(f"<table><tr><th>status</th><th>scripts</th><th></th></tr>{rows}</table>"))


def findings_table(diagnosis: Diagnosis) -> pd.DataFrame:
    """The attention list: what needs a pilot, why, and the runbook to open (prefilled)."""
    rows = [
        {
            "verdict": str(finding.verdict),
            "target": finding.target,
            "status": finding.status,
            "why": finding.reason,
            "runbook": f"{finding.runbook}.ipynb",
            "command": finding.command,
        }
        for finding in diagnosis.attention
    ]
    return pd.DataFrame(rows, columns=["verdict", "target", "status", "why", "runbook", "command"])


def processing_sentence(campaign: Campaign, queues: list[Queue]) -> str:
    """Whether CM Service is processing the campaign, and what to do when it is not."""
    active = [queue.id for queue in queues if queue.active]
    if campaign.status is StatusEnum.rejected:
        return (
            f"**Processing is stopped: the campaign is rejected** ({len(queues)} queue row(s), "
            f"{len(active)} active). To change it and bring it back, use the `campaign_change` "
            "runbook (steps `update`, then `resume`)."
        )
    if active:
        return f"**Processing is active:** active queue row(s) {', '.join(map(str, active))}."
    if campaign.status.is_terminal_element():
        return f"The campaign is {campaign.status.name}; no queue needs to be active."
    return (
        f"**Processing is not active:** none of the {len(queues)} queue row(s) pointing at the "
        "campaign is active, so CM Service does not advance it. The `campaign_change` runbook's "
        "`resume` step creates an active queue."
    )


def status_summary(
    client: CMClient,
    health: Health,
    diagnosis: Diagnosis,
    campaign: Campaign,
    counts: pd.DataFrame,
    queues: list[Queue],
    long_running_hours: float,
) -> dict[str, Any]:
    """The status runbook's machine-readable conclusion (``summary.json``)."""
    return {
        "service_url": client.service_url,
        "service_version": health.version,
        "campaign": campaign.fullname,
        "campaign_id": campaign.id,
        "campaign_status": campaign.status.name,
        "verdict": str(diagnosis.verdict),
        "reason": diagnosis.reason,
        "counts": dict(zip(counts["status"], counts["count"].astype(int).tolist(), strict=True)),
        "attention": [finding.as_dict() for finding in diagnosis.attention],
        "queues": [{"id": queue.id, "active": queue.active} for queue in queues],
        "processing_active": any(queue.active for queue in queues),
        "long_running_hours": long_running_hours,
    }


def overrides_table(campaign: str) -> pd.DataFrame:
    """Scripts and jobs of the campaign that pilots registered as fixed by hand (audit log)."""
    rows = [
        {
            "time": record["time"],
            "target": record["target_fullname"],
            "action": record["action"],
            "by": record["os_user"],
            "note": record["note"],
        }
        for record in read_audit()
        if record["runbook"] == "script_fixed"
        and record["outcome"] == "done"
        and record["target_fullname"].startswith(campaign + "/")
    ]
    return pd.DataFrame(rows, columns=["time", "target", "action", "by", "note"])
