"""The triage runbook: for each situation present, the right runbook and the exact command.

The expectation comes from the cookbook's own mapping (a failed script → the failed-script
page, ...) applied to the scenario's rows, not from the rules under test.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from cmrunbook import diagnose, report, triage, views
from cmrunbook.client import CMClient
from cmrunbook.errors import ParameterError
from cmrunbook.runbooks import get_runbook
from cmrunbook.sandbox import DEMO_CAMPAIGNS, DEMO_TARGETS, SandboxServer
from tests.test_report import scenario_scripts

COOKBOOK = {
    "failed": "script_failed",
    "rejected": "script_failed",
    "blocked": "script_blocked",
    "reviewable": "script_fixed",
}
"""Which runbook the cookbook sends a pilot to for a script in each status."""

PROCESSABLE = {"waiting", "ready", "prepared", "running", "reviewable"}


def expected_runbooks(scenario: SandboxServer, campaign: dict) -> dict[str, set[str]]:
    """runbook -> the targets it should be recommended for, from the scenario's rows."""
    expected: dict[str, set[str]] = {}
    for row in scenario_scripts(scenario, campaign["fullname"]):
        if row["status"] in COOKBOOK:
            expected.setdefault(COOKBOOK[row["status"]], set()).add(row["fullname"])
    active = any(
        queue["active"]
        for queue in scenario.scenario.tables["queue"]
        if queue["node_level"] == "campaign" and queue["node_id"] == campaign["id"]
    )
    if campaign["status"] == "rejected" or (campaign["status"] in PROCESSABLE and not active):
        expected.setdefault("campaign_change", set()).add(campaign["fullname"])
    return expected


def test_every_recorded_campaign_gets_the_cookbook_runbook_for_each_situation(
    recorded: SandboxServer, client: CMClient
) -> None:
    queues = client.queue.list()
    seen: set[str] = set()
    for campaign in recorded.scenario.tables["campaign"]:
        record, scripts = views.fetch_campaign_scripts(client, campaign["fullname"])
        diagnosis = diagnose.diagnose(record, scripts, views.campaign_queues(queues, record.id), 24.0)
        result = triage.triage(diagnosis)
        got = {item.runbook: {f.target for f in item.findings} for item in result.recommendations}
        assert got == expected_runbooks(recorded, campaign), campaign["fullname"]
        assert result.healthy is (got == {})
        seen |= {str(item.situation) for item in result.recommendations}
    assert seen >= {"script_failed", "script_blocked", "script_rejected", "script_reviewable"}


def run_triage(runs: Path, **parameters: Any) -> report.RunResult:
    result = report.execute(get_runbook("triage"), parameters, runs_dir=runs)
    assert result.ok, result.summary.get("failure")
    return result


def test_one_script_triage_finds_its_campaign_and_prints_command_and_link(
    recorded: SandboxServer, tmp_path: Path
) -> None:
    (blocked,) = [row for row in recorded.scenario.tables["script"] if row["status"] == "blocked"]
    result = run_triage(tmp_path, script_id=blocked["id"])
    summary = result.summary
    assert summary["campaign"] == blocked["fullname"].split("/")[0]
    assert {item["situation"]: item["runbook"] for item in summary["recommendations"]} == {
        "script_blocked": "script_blocked",
        "campaign_not_processing": "campaign_change",
    }
    command = f"cmrunbook run script_blocked -p script_id {blocked['id']}"
    assert summary["recommendations"][0]["commands"] == [command]
    page = result.html.read_text()
    assert command in page
    assert 'href="script_blocked.ipynb"' in page


def test_healthy_campaign_is_said_to_be_healthy_and_nothing_else(
    recorded: SandboxServer, tmp_path: Path
) -> None:
    (accepted,) = [row for row in recorded.scenario.tables["campaign"] if row["status"] == "accepted"]
    result = run_triage(tmp_path, campaign=accepted["fullname"])
    assert result.summary["healthy"] is True
    assert result.summary["recommendations"] == []
    page = result.html.read_text()
    assert f"{accepted['fullname']} is healthy:" in page
    assert "cmrunbook run " not in page.split("3. Which runbook to open")[1]


def test_a_script_of_another_campaign_is_refused_naming_its_campaign(
    demo: SandboxServer, client: CMClient
) -> None:
    script = client.script.get(DEMO_TARGETS["blocked_script"])
    own = DEMO_CAMPAIGNS[DEMO_TARGETS["campaign"]]
    with pytest.raises(ParameterError, match=f"belongs to campaign '{own}', not 'other'"):
        triage.campaign_for("other", script)
    assert triage.campaign_for("", script) == own
