"""What every runbook notebook does around its steps: connect, show, explain, record.

Keeps notebooks thin: a cell calls one of these and reads like a step of the cookbook. Errors
from the runbook (unknown campaign, unreachable service, refused action) are shown as the one
paragraph they carry instead of a traceback, in JupyterLab and under papermill alike; the cell
still fails, so a headless run stops there and says which cell failed.
"""

from __future__ import annotations

import html
import json
import time
from datetime import UTC, datetime
from typing import Any

import pandas as pd
from IPython.display import HTML, Markdown, display

from .client import CMClient
from .diagnose import Diagnosis, Verdict
from .errors import RunbookError
from .models import Campaign, Health, Queue
from .status import StatusEnum

SUMMARY_MIME = "application/vnd.cmrunbook.summary+json"
"""Outputs of this type carry the run's machine-readable summary; the runner collects them."""


def setup() -> None:
    """Show runbook errors as plain paragraphs, and make tables readable."""
    pd.set_option("display.max_rows", 200)
    pd.set_option("display.max_colwidth", 120)
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython is a dependency
        return
    shell = get_ipython()
    if shell is not None:
        shell.set_custom_exc((RunbookError,), _show_runbook_error)


def _show_runbook_error(
    shell: Any, etype: type[BaseException], value: BaseException, tb: Any, tb_offset: Any = None
) -> list[str]:
    """IPython hook: the error's own paragraph replaces the traceback."""
    return [f"{etype.__name__}: {value}"]


def connect() -> tuple[CMClient, Health]:
    """A client from CM_SERVICE/CM_TOKEN, checked: the service answers and v1 is switched on."""
    client = CMClient()
    health = client.health()
    client.check_v1()
    return client, health


def show_banner(client: CMClient, health: Health, **facts: Any) -> None:
    """Which service, which version, what this run is about, and when it ran."""
    rows = {
        "Service": client.service_url,
        "Service version": f"{health.name} {health.version}",
        **{key.replace("_", " ").capitalize(): value for key, value in facts.items()},
        "Run at (UTC)": datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S"),
    }
    lines = ["| | |", "|---|---|"] + [f"| **{key}** | {value} |" for key, value in rows.items()]
    display(Markdown("\n".join(lines)))


def say(text: str) -> None:
    """A paragraph of Markdown in the output (for sentences computed at run time)."""
    display(Markdown(text))


def record_summary(summary: dict[str, Any]) -> None:
    """Leave the run's summary in the executed notebook, where the runner reads it."""
    display({SUMMARY_MIME: json.loads(json.dumps(summary, default=str))}, raw=True)


def now() -> float:
    """Epoch seconds now; one place so a notebook uses a single instant for all its ages."""
    return time.time()


VERDICT_COLOURS = {Verdict.green: "#1a7f37", Verdict.amber: "#b7791f", Verdict.red: "#c62828"}


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
    """Scripts per status as horizontal bars, in CM Service's status order."""
    import matplotlib.pyplot as plt

    if counts.empty:
        say("_The campaign has no scripts yet._")
        return
    figure, axes = plt.subplots(figsize=(7, 0.4 * len(counts) + 1))
    axes.barh(counts["status"], counts["count"], color="#4a7ab5")
    axes.invert_yaxis()
    axes.set_xlabel("scripts")
    for position, value in enumerate(counts["count"]):
        axes.annotate(
            str(value), (value, position), xytext=(3, 0), textcoords="offset points", va="center"
        )
    figure.tight_layout()
    plt.show()


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
