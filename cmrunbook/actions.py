"""Every change to CM Service goes plan → confirm → act → verify → audit.

*Plan* reads the target now, checks the action is allowed from its status (the table in
:mod:`cmrunbook.status`) and describes exactly the request and the expected change. Nothing is
sent unless the notebook's ``confirm`` parameter equals the target's identifier shown in the
plan (a script, job or queue id; a campaign's name); an empty ``confirm`` is a dry run. *Act*
re-reads the target and stops if its status is no longer the planned one, then sends the
request once (never retried). *Verify* re-reads and reports before → after; the forced job
accept, answered before the work is done, is polled. Every plan shown, refused or carried out
leaves one line in the audit log. In report mode (scheduled runs) every action is refused.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from . import audit
from .client import CMClient
from .errors import ActionRefusedError, NotFoundError, ParameterError, ServiceError
from .headless import report_mode
from .models import Job, Script
from .status import Action, LevelEnum, StatusEnum, allowed_statuses, is_allowed


@dataclass(frozen=True)
class Target:
    """What an action changes, as read when the plan was made."""

    kind: str
    id: int
    fullname: str
    status: StatusEnum | None
    confirm_value: str

    @property
    def label(self) -> str:
        return f"{self.kind} {self.id} ({self.fullname})"


@dataclass(frozen=True)
class Plan:
    """Exactly what would be sent, to what, and what should change."""

    action: Action
    target: Target
    method: str
    path: str
    params: dict[str, str] | None = None
    body: dict[str, Any] | None = None
    expected: str = ""
    refusal: str = ""

    @property
    def allowed(self) -> bool:
        return not self.refusal

    @property
    def request(self) -> str:
        query = "&".join(f"{key}={value}" for key, value in (self.params or {}).items())
        line = f"{self.method} {self.path}" + (f"?{query}" if query else "")
        return line + (f" with JSON body {self.body}" if self.body is not None else "")

    def describe(self) -> str:
        """The plan in one paragraph, as a pilot reads it before confirming."""
        status = f", now {self.target.status.name}" if self.target.status else ""
        text = f"{self.action.value} on {self.target.label}{status}: {self.request}."
        if self.refusal:
            return f"{text} Not possible: {self.refusal}"
        return f"{text} Expected: {self.expected}."


@dataclass(frozen=True)
class Outcome:
    """What happened: a dry run, or the action with its verified before → after."""

    plan: Plan
    dry_run: bool
    status_before: StatusEnum | None
    status_after: StatusEnum | None = None
    response_status: int | None = None
    request_id: str | None = None
    details: dict[str, Any] = field(default_factory=dict)

    def describe(self) -> str:
        plan = self.plan
        if self.dry_run:
            return (
                f"Dry run, nothing was sent. {plan.describe()} To do it, set the parameter "
                f"confirm = {plan.target.confirm_value!r} and run again."
            )
        before = self.status_before.name if self.status_before else "-"
        after = self.status_after.name if self.status_after else "-"
        return (
            f"Done: {plan.action.value} on {plan.target.label}, HTTP {self.response_status}, "
            f"status {before} → {after} (request id {self.request_id})."
        )


# -- reading targets ------------------------------------------------------------------------


def script_target(client: CMClient, script_id: int) -> Target:
    script = client.script.get(script_id)
    return Target("script", script.id, script.fullname, script.status, str(script.id))


def job_target(client: CMClient, job_id: int) -> Target:
    job = client.job.get(job_id)
    return Target("job", job.id, job.fullname, job.status, str(job.id))


def campaign_target(client: CMClient, fullname: str) -> Target:
    campaign = client.campaign.get_by_fullname(fullname)
    return Target("campaign", campaign.id, campaign.fullname, campaign.status, campaign.fullname)


_READERS: dict[str, Callable[[CMClient, Target], Target]] = {
    "script": lambda client, target: script_target(client, target.id),
    "job": lambda client, target: job_target(client, target.id),
    "campaign": lambda client, target: campaign_target(client, target.fullname),
    "queue": lambda client, target: replace(target, id=client.queue.get(target.id).id),
}


def guarded_plan(action: Action, target: Target, method: str, path: str, **extra: Any) -> Plan:
    """A plan whose action is refused unless CM Service allows it from the current status."""
    refusal = ""
    if target.status is not None and not is_allowed(action, target.status):
        allowed = ", ".join(status.name for status in allowed_statuses(action))
        refusal = (
            f"CM Service does not allow {action.value} from {target.status.name}; "
            f"it is allowed from: {allowed}."
        )
    return Plan(action, target, method, path, refusal=refusal, **extra)


# -- plans ----------------------------------------------------------------------------------


def plan_script_accept(client: CMClient, script_id: int) -> Plan:
    return _accept_plan(script_target(client, script_id))


def accept_after_review(target: Target) -> Plan:
    """The accept step of "I fixed it", as it will look once the status is reviewable."""
    return _accept_plan(replace(target, status=StatusEnum.reviewable))


def _accept_plan(target: Target) -> Plan:
    return guarded_plan(
        Action.accept,
        target,
        "POST",
        f"script/action/{target.id}/accept",
        expected="status becomes accepted; scripts that depend on it can run",
    )


def plan_script_reset(client: CMClient, script_id: int) -> Plan:
    target = script_target(client, script_id)
    return guarded_plan(
        Action.reset,
        target,
        "POST",
        f"script/action/{script_id}/reset",
        body={},
        expected="status becomes waiting and the CM daemon runs the script again; the "
        "previous attempt's files, URLs and error rows stay in place",
    )


def plan_script_run_check(client: CMClient, script_id: int) -> Plan:
    target = script_target(client, script_id)
    return guarded_plan(
        Action.run_check,
        target,
        "POST",
        f"script/action/{script_id}/run_check",
        expected="CM Service re-checks the script's WMS job and sets whatever status it finds",
    )


def plan_script_update_status(client: CMClient, script_id: int, status: StatusEnum) -> Plan:
    return update_status_plan(script_target(client, script_id), status)


def update_status_plan(target: Target, status: StatusEnum, expected: str = "") -> Plan:
    """Set a node's status directly: CM Service checks no transition rule for this request."""
    return guarded_plan(
        Action.update_status,
        target,
        "POST",
        f"{target.kind}/update/{target.id}/status",
        body={"status": status.value},
        expected=expected or f"status becomes {status.name} (CM Service checks no rule for this)",
    )


def reject_plan(target: Target) -> Plan:
    return guarded_plan(
        Action.reject,
        target,
        "POST",
        f"{target.kind}/action/{target.id}/reject",
        expected="status becomes rejected; the v1 daemon stops processing it",
    )


def plan_job_force_accept(client: CMClient, job_id: int, output_collection: str) -> Plan:
    target = job_target(client, job_id)
    plan = guarded_plan(
        Action.force_accept,
        target,
        "POST",
        f"job/action/{job_id}/accept",
        params={"force": "true", "output_collection": output_collection},
        expected=f"the job and every script of it below reviewable (failed ones included) "
        f"become accepted, and the job's run collection is recorded as {output_collection!r}; "
        "CM Service does this in the background after answering 202",
    )
    if not output_collection.strip():
        plan = replace(
            plan,
            refusal="an output run collection is required (CM Service would silently accept "
            "an empty one and record no collection).",
        )
    return plan


SCRIPT_ACTIONS = ("run_check", "accept")
FIX_METHODS = ("accept", "force_job")


def plan_script_action(client: CMClient, script_id: int, action: str) -> Plan:
    """The blocked-script runbook's choice: ``run_check`` or ``accept``."""
    if action == "run_check":
        return plan_script_run_check(client, script_id)
    if action == "accept":
        return plan_script_accept(client, script_id)
    raise ParameterError(
        f"Parameter 'action' got {action!r}.",
        hint=f"Set action to one of: {', '.join(SCRIPT_ACTIONS)}.",
    )


def check_fix_request(method: str, *, note: str, confirm: str) -> None:
    """The "I fixed it" runbook needs a known method, and a note before anything is sent."""
    if method not in FIX_METHODS:
        raise ParameterError(
            f"Parameter 'method' got {method!r}.",
            hint=f"Set method to one of: {', '.join(FIX_METHODS)}.",
        )
    if confirm.strip() and not note.strip():
        raise ActionRefusedError(
            "Refused: registering a fix done by hand needs a note.",
            hint="Set note to why it was fixed out of band, with the ticket or thread link; "
            "nothing was sent to CM Service.",
        )


def require_job_id(script: Script) -> int:
    """The job a script belongs to; only job-level scripts have one to force-accept."""
    if script.parent_level != LevelEnum.job:
        raise ActionRefusedError(
            f"Refused: script {script.id} ({script.fullname}) belongs to a "
            f"{script.parent_level.name}, not a job, so there is no job to force-accept.",
            hint="Use method = 'accept' for this script; nothing was sent to CM Service.",
        )
    return script.parent_id


# -- execution ------------------------------------------------------------------------------


def execute(
    client: CMClient,
    plan: Plan,
    *,
    confirm: str,
    runbook: str,
    note: str = "",
    verify: Callable[[CMClient, Plan], dict[str, Any]] | None = None,
) -> Outcome:
    """Carry out ``plan`` if confirmed and still valid; always leave one audit line."""

    def record(outcome: str, **facts: Any) -> None:
        audit.append(
            audit.AuditRecord(
                runbook=runbook,
                action=plan.action.value,
                target_kind=plan.target.kind,
                target_id=plan.target.id,
                target_fullname=plan.target.fullname,
                method=plan.method,
                path=f"{client.service_url.rstrip('/')}/{plan.path}",
                outcome=outcome,
                note=note,
                service_url=client.service_url,
                status_before=plan.target.status.name if plan.target.status else None,
                **facts,
            )
        )

    def refuse(reason: str) -> ActionRefusedError:
        record(f"refused: {reason}", dry_run=True)
        return ActionRefusedError(f"Refused: {reason}", hint="Nothing was sent to CM Service.")

    confirm = confirm.strip()
    if confirm and report_mode():
        raise refuse("this run is in report mode (a scheduled report), which never changes anything.")
    if not plan.allowed:
        raise refuse(plan.refusal)
    if not confirm:
        record("dry-run", dry_run=True)
        return Outcome(plan, dry_run=True, status_before=plan.target.status)
    if confirm != plan.target.confirm_value:
        raise refuse(
            f"confirm is {confirm!r} but this plan is for {plan.target.label}; set confirm = "
            f"{plan.target.confirm_value!r} to carry it out."
        )
    current = _READERS[plan.target.kind](client, plan.target)
    if current.status != plan.target.status:
        raise refuse(
            f"{plan.target.label} changed from {_name(plan.target.status)} to "
            f"{_name(current.status)} since the plan was made; run the runbook again to see "
            "the new state."
        )
    try:
        response = client.act(plan.method, plan.path, params=plan.params, json=plan.body)
    except ServiceError as error:
        record(
            f"failed: {error.message}",
            dry_run=False,
            response_status=error.status_code,
            request_id=error.request_id,
        )
        raise
    exchange = client.last_exchange
    assert exchange is not None
    details = {"response": response, **(verify or _verify_by_rereading)(client, plan)}
    after = details.pop("status_after", None)
    record(
        "done",
        dry_run=False,
        response_status=exchange.status_code,
        request_id=exchange.request_id,
        status_after=_name(after),
    )
    return Outcome(
        plan,
        dry_run=False,
        status_before=plan.target.status,
        status_after=after,
        response_status=exchange.status_code,
        request_id=exchange.request_id,
        details=details,
    )


def _name(status: StatusEnum | None) -> str | None:
    return status.name if status else None


def _verify_by_rereading(client: CMClient, plan: Plan) -> dict[str, Any]:
    """Re-read the target; after a DELETE, verify it is gone."""
    try:
        target = _READERS[plan.target.kind](client, plan.target)
    except NotFoundError:
        if plan.method != "DELETE":
            raise
        return {"status_after": None, "deleted": True}
    if plan.method == "DELETE":
        raise ActionRefusedError(
            f"{plan.target.label} still exists after CM Service answered the DELETE.",
            hint="Re-run the runbook to see the current state and report it to CM Ops.",
        )
    return {"status_after": target.status}


def poll_force_accept(timeout_s: float = 30.0, interval_s: float = 0.5) -> Callable[..., dict]:
    """Verification for a forced job accept: poll until the job is accepted or time runs out,
    then report what the job and each of its scripts became."""

    def verify(client: CMClient, plan: Plan) -> dict[str, Any]:
        deadline = time.monotonic() + timeout_s
        job: Job = client.job.get(plan.target.id)
        while job.status is not StatusEnum.accepted and time.monotonic() < deadline:
            time.sleep(interval_s)
            job = client.job.get(plan.target.id)
        scripts: list[Script] = client.job.scripts(plan.target.id)
        return {
            "status_after": job.status,
            "timed_out": job.status is not StatusEnum.accepted,
            "collections": job.collections,
            "scripts": {script.fullname: script.status.name for script in scripts},
        }

    return verify
