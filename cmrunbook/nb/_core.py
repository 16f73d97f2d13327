"""Connect, show, explain, record, act: what every runbook notebook does around its steps."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from typing import Any

import pandas as pd
from IPython.display import Markdown, display

from ..actions import Outcome, Plan, execute
from ..client import CMClient
from ..headless import SUMMARY_MIME
from ..models import Health


def setup() -> None:
    """Make tables readable. (Runbook errors show as their paragraph on their own: see
    :meth:`cmrunbook.errors.RunbookError._render_traceback_`.)"""
    pd.set_option("display.max_rows", 200)
    pd.set_option("display.max_colwidth", None)


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


def act(
    client: CMClient,
    plan: Plan,
    *,
    confirm: str,
    runbook: str,
    note: str = "",
    verify: Any = None,
) -> Outcome:
    """Show the plan, carry it out only if confirmed (see :mod:`cmrunbook.actions`), show the result."""
    say(f"**Plan:** {plan.describe()}")
    outcome = execute(client, plan, confirm=confirm, runbook=runbook, note=note, verify=verify)
    say(f"**{'Dry run' if outcome.dry_run else 'Result'}:** {outcome.describe()}")
    return outcome
