"""Each mutating runbook run headless with confirmed parameters on a fresh demo sandbox:
the service's state afterwards is exactly what the runbook planned, and the audit log says so."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from cmrunbook import audit, report
from cmrunbook.client import CMClient
from cmrunbook.runbooks import get_runbook
from cmrunbook.sandbox import DEMO_TARGETS, SandboxServer
from cmrunbook.status import LevelEnum, StatusEnum


@pytest.fixture
def audit_log(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    log = tmp_path / "audit.jsonl"
    monkeypatch.setenv(audit.AUDIT_LOG_ENV, str(log))
    return log


def run(name: str, tmp_path: Path, **parameters: Any) -> report.RunResult:
    return report.execute(get_runbook(name), parameters, runs_dir=tmp_path / "runs")


def done(log: Path) -> list[dict[str, Any]]:
    return [line for line in audit.read(log) if line["outcome"] == "done"]


def test_script_failed_reset(
    demo: SandboxServer, client: CMClient, tmp_path: Path, audit_log: Path
) -> None:
    script_id = DEMO_TARGETS["failed_script"]
    result = run("script_failed", tmp_path, script_id=script_id, reset=True, confirm=str(script_id))
    assert result.ok, result.summary
    assert client.script.get(script_id).status is StatusEnum.waiting
    assert len(client.script.errors(script_id)) == 2
    (line,) = done(audit_log)
    assert (line["action"], line["status_before"], line["status_after"]) == (
        "reset",
        "failed",
        "waiting",
    )


@pytest.mark.parametrize(("action", "after"), [("run_check", "accepted"), ("accept", "accepted")])
def test_script_blocked_actions(
    demo: SandboxServer, client: CMClient, tmp_path: Path, audit_log: Path, action: str, after: str
) -> None:
    script_id = DEMO_TARGETS["blocked_script"]
    result = run("script_blocked", tmp_path, script_id=script_id, action=action, confirm=str(script_id))
    assert result.ok, result.summary
    assert client.script.get(script_id).status.name == after
    assert [line["action"] for line in done(audit_log)] == [action]


def test_script_long_running_run_check(
    demo: SandboxServer, client: CMClient, tmp_path: Path, audit_log: Path
) -> None:
    script_id = DEMO_TARGETS["lost_log_script"]
    result = run(
        "script_long_running", tmp_path, script_id=script_id, run_check=True, confirm=str(script_id)
    )
    assert result.ok, result.summary
    assert client.script.get(script_id).status is StatusEnum.failed
    assert "bps" in client.script.errors(script_id)[0].diagnostic_message.lower()
    (line,) = done(audit_log)
    assert (line["status_before"], line["status_after"]) == ("running", "failed")


def test_script_long_running_lists_the_submit_directory_and_its_newest_log(
    demo: SandboxServer, tmp_path: Path
) -> None:
    result = run("script_long_running", tmp_path)
    assert result.ok, result.summary
    html = result.html.read_text()
    assert "Last lines of the newest log" in html
    assert "job.metadata_.bps_submit_dir" in html


def test_script_fixed_by_review_then_accept_is_listed_as_an_override(
    demo: SandboxServer, client: CMClient, tmp_path: Path, audit_log: Path
) -> None:
    script_id = DEMO_TARGETS["failed_script"]
    note = "ran bps submit by hand, DM-54321"
    result = run("script_fixed", tmp_path, script_id=script_id, note=note, confirm=str(script_id))
    assert result.ok, result.summary
    assert client.script.get(script_id).status is StatusEnum.accepted
    steps = done(audit_log)
    assert [(s["action"], s["status_after"], s["note"]) for s in steps] == [
        ("update_status", "reviewable", note),
        ("accept", "accepted", note),
    ]
    status = run("campaign_status", tmp_path, campaign=client.campaign.get(1).fullname)
    assert [item["note"] for item in status.summary["overrides"]] == [note, note]


def test_script_fixed_by_forcing_the_job(
    demo: SandboxServer, client: CMClient, tmp_path: Path, audit_log: Path
) -> None:
    script_id = DEMO_TARGETS["failed_script"]
    job_id = DEMO_TARGETS["force_accept_job"]
    assert client.script.get(script_id).parent_level == LevelEnum.job
    result = run(
        "script_fixed",
        tmp_path,
        script_id=script_id,
        method="force_job",
        output_collection="u/pilot/HSC_RC2_w_2026_48/step1/group3/manual",
        note="DM-54322",
        confirm=str(job_id),
    )
    assert result.ok, result.summary
    job = client.job.get(job_id)
    assert job.status is StatusEnum.accepted
    assert job.collections["job_run"] == "u/pilot/HSC_RC2_w_2026_48/step1/group3/manual"
    assert client.script.get(script_id).status is StatusEnum.accepted
    (line,) = done(audit_log)
    assert (line["target_kind"], line["response_status"]) == ("job", 202)


def test_wrong_confirm_fails_the_run_clearly_and_changes_nothing(
    demo: SandboxServer, client: CMClient, tmp_path: Path
) -> None:
    script_id = DEMO_TARGETS["failed_script"]
    result = run("script_failed", tmp_path, script_id=script_id, reset=True, confirm="1")
    assert not result.ok
    assert result.summary["failure"]["error"] == "ActionRefusedError"
    assert f"set confirm = '{script_id}'" in result.summary["failure"]["message"]
    assert client.script.get(script_id).status is StatusEnum.failed


def test_report_mode_refuses_a_confirmed_runbook(
    demo: SandboxServer, client: CMClient, tmp_path: Path
) -> None:
    script_id = DEMO_TARGETS["failed_script"]
    result = report.execute(
        get_runbook("script_failed"),
        {"script_id": script_id, "reset": True, "confirm": str(script_id)},
        runs_dir=tmp_path,
        report_mode=True,
    )
    assert not result.ok
    assert "report mode" in result.summary["failure"]["message"]
    assert client.script.get(script_id).status is StatusEnum.failed


def test_campaign_change_whole_procedure(
    demo: SandboxServer, client: CMClient, tmp_path: Path, audit_log: Path
) -> None:
    campaign = client.campaign.get(DEMO_TARGETS["campaign"])
    name = campaign.fullname
    updates = json.dumps({"lsst_version": "w_2026_49", "pilot_note": "rerun with w49"})

    early = run(
        "campaign_change", tmp_path, campaign=name, data_updates=updates, step="update", confirm=name
    )
    assert not early.ok
    assert "run step 'stop' first" in early.summary["failure"]["message"]

    stop = run("campaign_change", tmp_path, campaign=name, step="stop", confirm=name)
    assert stop.ok, stop.summary
    assert client.campaign.get(campaign.id).status is StatusEnum.rejected
    assert [q for q in client.queue.list() if q.node_id == campaign.id and q.node_level == 1] == []

    update = run(
        "campaign_change", tmp_path, campaign=name, data_updates=updates, step="update", confirm=name
    )
    assert update.ok, update.summary
    assert client.campaign.get(campaign.id).data["lsst_version"] == "w_2026_49"

    resume = run("campaign_change", tmp_path, campaign=name, step="resume", confirm=name)
    assert resume.ok, resume.summary
    resumed = client.campaign.get(campaign.id)
    assert resumed.status is StatusEnum.running
    queues = [q for q in client.queue.list() if q.node_id == campaign.id and q.node_level == 1]
    assert [q.active for q in queues] == [True]
    scripts_after = client.campaign.all_scripts(campaign.id)
    assert len(scripts_after) == len({s.fullname for s in scripts_after})
    actions_done = [line["action"] for line in done(audit_log)]
    assert actions_done == [
        "queue_delete",
        "queue_delete",
        "reject",
        "update_data",
        "update_status",
        "queue_create",
    ]


def test_campaign_change_resume_refused_while_processing(
    demo: SandboxServer, client: CMClient, tmp_path: Path
) -> None:
    name = client.campaign.get(DEMO_TARGETS["campaign"]).fullname
    result = run("campaign_change", tmp_path, campaign=name, step="resume", confirm=name)
    assert not result.ok
    assert "already has an active queue" in result.summary["failure"]["message"]
