"""The script runbooks' views and the "I fixed it" procedure."""

from __future__ import annotations

from typing import Any

import pandas as pd
from IPython.display import display

from ..actions import (
    Outcome,
    accept_after_review,
    check_fix_request,
    plan_job_force_accept,
    plan_script_accept,
    plan_script_update_status,
    poll_force_accept,
    require_job_id,
)
from ..client import CMClient
from ..diagnose import FailurePattern, Situation, script_findings
from ..locate import Location, directory_listing, newest_log, readable_directory, tail
from ..models import Job, Script
from ..status import LevelEnum, StatusEnum
from ..views import fetch_campaign_scripts, hours_since
from ._core import act, say


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
