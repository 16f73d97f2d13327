"""What every runbook notebook does around its steps: connect, show, explain, record.

Keeps notebooks thin: a cell calls one of these and reads like a step of the cookbook. Errors
from the runbook (unknown campaign, unreachable service, refused action) show as the one
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

from .actions import (
    Outcome,
    Plan,
    accept_after_review,
    check_fix_request,
    execute,
    plan_job_force_accept,
    plan_script_accept,
    plan_script_update_status,
    poll_force_accept,
    require_job_id,
)
from .audit import read as read_audit
from .campaign_change import (
    CampaignState,
    Step,
    out_of_order,
    resume_plans,
    stop_plans,
    update_plan,
)
from .client import CMClient
from .diagnose import VERDICT_COLOURS, Diagnosis, FailurePattern, Situation, script_findings
from .errors import ActionRefusedError
from .headless import SUMMARY_MIME
from .locate import Location, directory_listing, newest_log, readable_directory, tail
from .models import Campaign, Health, Job, Queue, Script
from .status import LevelEnum, StatusEnum
from .views import fetch_campaign_scripts, hours_since, queues_table


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


def script_facts(script: Script, job: Job | None, now: float) -> pd.DataFrame:
    """The facts a pilot checks first about one script (and its job, for job-level scripts)."""
    facts: dict[str, Any] = {
        "script id": script.id,
        "fullname": script.fullname,
        "status": script.status.name,
        "attempt": script.attempt,
        "age (h, from crtime)": hours_since(script.crtime, now),
        "since last change by CM Service (h, from mtime)": hours_since(script.mtime, now),
        "stamp_url": script.stamp_url,
        "log_url": script.log_url,
    }
    if job is not None:
        facts |= {
            "job id": job.id,
            "job": job.fullname,
            "job status": job.status.name,
            "job wms_job_id": job.wms_job_id,
            "job bps_submit_dir": job.metadata_.get("bps_submit_dir"),
        }
    return pd.DataFrame({"value": [str(value) for value in facts.values()]}, index=list(facts))


def parent_job(client: CMClient, script: Script) -> Job | None:
    """The script's job when it is a job-level script (``parent_level`` 4), else None."""
    if script.parent_level != LevelEnum.job:
        return None
    return client.job.get(script.parent_id)


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


RESET_WARNING = (
    "**Before you reset:** a reset does not clean up. The previous attempt's script file, log, "
    "stamp and URLs stay in place, and its error rows stay attached to the script (they will "
    "still be listed after the retry). Move aside anything that would make the retry fail the "
    "same way (see the failure patterns above)."
)


def show_long_running(client: CMClient, campaign: str, hours: float, now: float) -> None:
    """The campaign's scripts running longer than ``hours``, oldest first, with their command."""
    record, scripts = fetch_campaign_scripts(client, campaign)
    findings = [
        finding
        for finding in script_findings(scripts, hours, now)
        if finding.situation is Situation.script_long_running
    ]
    say(f"{len(findings)} script(s) of {record.fullname} running longer than {hours:g} h.")
    if findings:
        table = pd.DataFrame(
            [{"script": f.target, "why": f.reason, "command": f.command} for f in findings]
        )
        display(table)


def locations_table(locations: list[Location]) -> pd.DataFrame:
    return pd.DataFrame(
        [{"where": loc.source, "path": loc.path, "what it is": loc.meaning} for loc in locations],
        columns=["where", "path", "what it is"],
    )


def show_submit_directory(locations: list[Location]) -> None:
    """List the submit directory and tail its newest log, if this machine can read it."""
    directory = readable_directory(locations)
    if directory is None:
        say(
            "None of these directories is readable from this machine. Look at them where the "
            "workflow runs (for example on the submit node), with `bps report` or `ls -lt`."
        )
        return
    say(f"**{directory}** (newest first):")
    display(directory_listing(directory))
    log = newest_log(directory)
    if log is not None:
        say(f"Last lines of the newest log, `{log}`:\n\n```\n{tail(log)}\n```")


def cm_ops_message(
    client: CMClient, script: Script, job: Job | None, locations: list[Location], now: float
) -> str:
    """A ready-to-paste message for CM Ops about a script CM Service wrongly thinks runs."""
    where = "; ".join(f"{loc.source}={loc.path}" for loc in locations) or "none recorded"
    job_text = f", job {job.id} ({job.fullname}, {job.status.name})" if job else ""
    return (
        "Message for CM Ops (paste into the CM Ops channel or ticket):\n\n"
        f"> CM Service at {client.service_url} shows script {script.id} "
        f"(`{script.fullname}`){job_text} as **{script.status.name}** for "
        f"{hours_since(script.crtime, now)} h, but its workflow is not running. "
        f"Places checked: {where}. A run_check did not change its status. "
        "Please check the v1 daemon and the script's WMS state."
    )


def blocked_sentence(script: Script) -> str:
    if script.status is StatusEnum.blocked:
        return (
            f"Script {script.id} is **blocked**: its WMS jobs were held. Once they have been "
            "dealt with, accept it (the intervention worked) or re-check it (run_check)."
        )
    return (
        f"Script {script.id} is **{script.status.name}**, not blocked: check the id. The plan "
        "below says whether the action is still possible from this status."
    )


def show_failure_patterns(patterns: list[FailurePattern]) -> None:
    if not patterns:
        say(
            "No known failure pattern matches these messages. Read the newest message and the "
            "script's log (`log_url` above) to find the cause."
        )
        return
    for pattern in patterns:
        say(f"**{pattern.name}.** {pattern.meaning}\n\n*What to do:* {pattern.what_to_do}")


def register_fix(
    client: CMClient,
    script: Script,
    method: str,
    *,
    output_collection: str,
    note: str,
    confirm: str,
) -> list[Outcome]:
    """The "I fixed it" runbook's action: status → reviewable → accepted, or force the job."""
    check_fix_request(method, note=note, confirm=confirm)
    if not note.strip():
        say("**A `note` is required before you can confirm:** say why and link the ticket.")
    runbook = "script_fixed"
    if method == "force_job":
        plan = plan_job_force_accept(client, require_job_id(script), output_collection)
        outcome = act(
            client, plan, confirm=confirm, runbook=runbook, note=note, verify=poll_force_accept()
        )
        if not outcome.dry_run:
            display(pd.DataFrame(outcome.details["scripts"].items(), columns=["script", "status now"]))
        return [outcome]
    outcomes = []
    if script.status is not StatusEnum.reviewable:
        first = plan_script_update_status(client, script.id, StatusEnum.reviewable)
        outcomes.append(act(client, first, confirm=confirm, runbook=runbook, note=note))
        if outcomes[-1].dry_run:
            say(f"**Then:** {accept_after_review(first.target).describe()}")
            return outcomes
    outcomes.append(
        act(client, plan_script_accept(client, script.id), confirm=confirm, runbook=runbook, note=note)
    )
    return outcomes


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
