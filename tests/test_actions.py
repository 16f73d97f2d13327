"""plan → confirm → act → verify → audit, against the demo sandbox over HTTP."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from cmrunbook import actions, audit
from cmrunbook.client import CMClient
from cmrunbook.errors import ActionRefusedError, NotFoundError, ParameterError
from cmrunbook.headless import REPORT_MODE_ENV
from cmrunbook.sandbox import DEMO_TARGETS, SandboxServer
from cmrunbook.status import StatusEnum

FAILED = DEMO_TARGETS["failed_script"]
BLOCKED = DEMO_TARGETS["blocked_script"]
LONG_RUNNING = DEMO_TARGETS["long_running_script"]
LOST_LOG = DEMO_TARGETS["lost_log_script"]
JOB = DEMO_TARGETS["force_accept_job"]


@pytest.fixture
def audit_log(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    log = tmp_path / "audit.jsonl"
    monkeypatch.setenv(audit.AUDIT_LOG_ENV, str(log))
    return log


def statuses(client: CMClient) -> dict[int, StatusEnum]:
    """Every script of every campaign: proof that nothing else changed."""
    return {script.id: script.status for script in client.script.list()}


def test_dry_run_sends_nothing_and_records_the_plan(
    demo: SandboxServer, client: CMClient, audit_log: Path
) -> None:
    before = statuses(client)
    plan = actions.plan_script_reset(client, FAILED)
    outcome = actions.execute(client, plan, confirm="", runbook="script_failed")
    assert outcome.dry_run
    assert f"confirm = '{FAILED}'" in outcome.describe()
    assert statuses(client) == before
    (line,) = audit.read(audit_log)
    assert (line["outcome"], line["dry_run"], line["response_status"]) == ("dry-run", True, None)


def test_confirmed_reset_changes_exactly_the_script_and_audits_it(
    demo: SandboxServer, client: CMClient, audit_log: Path
) -> None:
    before = statuses(client)
    errors_before = len(client.script.errors(FAILED))
    plan = actions.plan_script_reset(client, FAILED)
    outcome = actions.execute(client, plan, confirm=str(FAILED), runbook="script_failed", note="retry")
    after = statuses(client)
    assert (outcome.status_before, outcome.status_after) == (StatusEnum.failed, StatusEnum.waiting)
    assert {key: value for key, value in after.items() if value != before[key]} == {
        FAILED: StatusEnum.waiting
    }
    assert len(client.script.errors(FAILED)) == errors_before
    (line,) = audit.read(audit_log)
    assert line["outcome"] == "done"
    assert line["dry_run"] is False
    assert line["method"] == "POST"
    assert line["path"].endswith(f"/cm-service/v1/script/action/{FAILED}/reset")
    assert (line["status_before"], line["status_after"], line["response_status"]) == (
        "failed",
        "waiting",
        201,
    )
    assert line["request_id"] == outcome.request_id
    assert line["note"] == "retry"
    assert line["target_fullname"].endswith("step1/group3/job_000/bps_submit_000")


def test_wrong_confirm_is_refused_and_says_what_to_set(
    demo: SandboxServer, client: CMClient, audit_log: Path
) -> None:
    plan = actions.plan_script_reset(client, FAILED)
    with pytest.raises(ActionRefusedError, match=f"set confirm = '{FAILED}'"):
        actions.execute(client, plan, confirm=str(FAILED + 1), runbook="script_failed")
    assert client.script.get(FAILED).status is StatusEnum.failed
    assert audit.read(audit_log)[-1]["outcome"].startswith("refused")


def test_target_changed_between_plan_and_act_is_refused(demo: SandboxServer, client: CMClient) -> None:
    plan = actions.plan_script_reset(client, FAILED)
    client.script.update_status(FAILED, StatusEnum.reviewable)
    with pytest.raises(ActionRefusedError, match="changed from failed to reviewable"):
        actions.execute(client, plan, confirm=str(FAILED), runbook="script_failed")
    assert client.script.get(FAILED).status is StatusEnum.reviewable


def test_action_not_allowed_from_the_current_status_is_refused_before_sending(
    demo: SandboxServer, client: CMClient
) -> None:
    plan = actions.plan_script_reset(client, LONG_RUNNING)
    assert not plan.allowed
    with pytest.raises(ActionRefusedError) as caught:
        actions.execute(client, plan, confirm=str(LONG_RUNNING), runbook="script_failed")
    assert "does not allow reset from running" in str(caught.value)
    assert "allowed from: failed, rejected, blocked, ready" in str(caught.value)
    assert client.script.get(LONG_RUNNING).status is StatusEnum.running


def test_nonexistent_id_is_a_clear_not_found(demo: SandboxServer, client: CMClient) -> None:
    with pytest.raises(NotFoundError, match="Script 999999 not found"):
        actions.plan_script_accept(client, 999999)


def test_report_mode_refuses_every_confirmed_action(
    demo: SandboxServer, client: CMClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(REPORT_MODE_ENV, "1")
    plan = actions.plan_script_reset(client, FAILED)
    with pytest.raises(ActionRefusedError, match="report mode"):
        actions.execute(client, plan, confirm=str(FAILED), runbook="script_failed")
    assert client.script.get(FAILED).status is StatusEnum.failed


def test_blocked_script_rechecked_becomes_accepted(demo: SandboxServer, client: CMClient) -> None:
    plan = actions.plan_script_action(client, BLOCKED, "run_check")
    outcome = actions.execute(client, plan, confirm=str(BLOCKED), runbook="script_blocked")
    assert (outcome.status_before, outcome.status_after) == (StatusEnum.blocked, StatusEnum.accepted)


def test_unknown_blocked_action_is_a_parameter_error(demo: SandboxServer, client: CMClient) -> None:
    with pytest.raises(ParameterError, match="run_check, accept"):
        actions.plan_script_action(client, BLOCKED, "release")


def test_run_check_of_a_script_whose_log_is_gone_records_the_failure(
    demo: SandboxServer, client: CMClient
) -> None:
    plan = actions.plan_script_run_check(client, LOST_LOG)
    outcome = actions.execute(client, plan, confirm=str(LOST_LOG), runbook="script_long_running")
    assert outcome.status_after is StatusEnum.failed
    assert client.script.errors(LOST_LOG)


def test_forced_job_accept_is_polled_until_done(demo: SandboxServer, client: CMClient) -> None:
    plan = actions.plan_job_force_accept(client, JOB, "u/pilot/HSC_RC2_w_2026_48/fixed")
    started = time.monotonic()
    outcome = actions.execute(
        client,
        plan,
        confirm=str(JOB),
        runbook="script_fixed",
        note="ran it by hand, DM-12345",
        verify=actions.poll_force_accept(timeout_s=10, interval_s=0.05),
    )
    assert time.monotonic() - started < 10
    assert outcome.response_status == 202
    assert outcome.status_after is StatusEnum.accepted
    assert outcome.details["collections"] == {"job_run": "u/pilot/HSC_RC2_w_2026_48/fixed"}
    assert set(outcome.details["scripts"].values()) <= {"accepted", "reviewable"}


def test_forced_job_accept_needs_an_output_collection(demo: SandboxServer, client: CMClient) -> None:
    plan = actions.plan_job_force_accept(client, JOB, " ")
    with pytest.raises(ActionRefusedError, match="output run collection is required"):
        actions.execute(client, plan, confirm=str(JOB), runbook="script_fixed")
    assert client.job.get(JOB).status is StatusEnum.running


def test_a_fix_without_a_note_is_refused() -> None:
    with pytest.raises(ActionRefusedError, match="needs a note"):
        actions.check_fix_request("accept", note=" ", confirm="28")
    actions.check_fix_request("accept", note="", confirm="")
    with pytest.raises(ParameterError, match="accept, force_job"):
        actions.check_fix_request("approve", note="x", confirm="")
