"""``cmrunbook run``: the executed notebook, report.html and summary.json, and how runs fail."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from cmrunbook.sandbox import SandboxServer
from cmrunbook.sandbox.scenarios import DEMO_CAMPAIGNS
from tests.conftest import FAKE_TOKEN

BAD_STATUSES = {"failed", "blocked", "rejected"}


def run_cli(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "cmrunbook", *args],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def run_folder(output_dir: Path) -> Path:
    (folder,) = output_dir.iterdir()
    return folder


def scenario_scripts(sandbox: SandboxServer, campaign: str) -> list[dict]:
    """The campaign's live scripts as the loaded scenario holds them (the expectation)."""
    return [
        row
        for row in sandbox.scenario.tables["script"]
        if row["fullname"].startswith(campaign + "/") and not row["superseded"]
    ]


def expected_verdict(scripts: list[dict], campaign_status: str) -> str:
    if campaign_status == "rejected" or any(s["status"] in BAD_STATUSES for s in scripts):
        return "red"
    if any(s["status"] == "reviewable" for s in scripts):
        return "amber"
    return "green"


def check_summary(sandbox: SandboxServer, campaign: str, summary: dict) -> None:
    scripts = scenario_scripts(sandbox, campaign)
    assert summary["status"] == "ok"
    assert summary["campaign"] == campaign
    assert summary["counts"] == dict(Counter(s["status"] for s in scripts))
    assert summary["service_url"] == sandbox.url
    assert summary["service_version"] == "0.8.0"
    assert summary["duration_s"] > 0
    flagged = {item["script_id"] for item in summary["attention"] if item["script_id"]}
    bad = {s["id"] for s in scripts if s["status"] in BAD_STATUSES | {"reviewable"}}
    assert bad <= flagged


def test_demo_campaign_report(demo: SandboxServer, tmp_path: Path) -> None:
    result = run_cli("run", "campaign_status", "--output-dir", str(tmp_path))
    assert result.returncode == 0, result.stderr
    folder = run_folder(tmp_path)
    assert "_campaign_status_" in folder.name
    assert f"report:   {folder / 'report.html'}" in result.stdout
    summary = json.loads((folder / "summary.json").read_text())
    campaign = summary["campaign"]
    assert campaign in DEMO_CAMPAIGNS.values()
    check_summary(demo, campaign, summary)
    assert summary["verdict"] == "red"
    html = (folder / "report.html").read_text()
    assert "RED" in html
    assert "from cmrunbook import" not in html
    assert "nb.setup()" not in html
    assert "<script" not in html
    for path in (folder / "report.html", folder / "summary.json", folder / "campaign_status.ipynb"):
        assert FAKE_TOKEN not in path.read_text()


@pytest.mark.parametrize(
    ("campaign", "verdict"),
    [("trivial_i", "red"), ("trivial_l", "amber"), ("rc2_subset_d", "green")],
)
def test_recorded_campaign_reports(
    recorded: SandboxServer, tmp_path: Path, campaign: str, verdict: str
) -> None:
    result = run_cli("run", "campaign_status", "-p", "campaign", campaign, "--output-dir", str(tmp_path))
    assert result.returncode == 0, result.stderr
    summary = json.loads((run_folder(tmp_path) / "summary.json").read_text())
    check_summary(recorded, campaign, summary)
    (row,) = [c for c in recorded.scenario.tables["campaign"] if c["fullname"] == campaign]
    assert (
        summary["verdict"]
        == verdict
        == expected_verdict(scenario_scripts(recorded, campaign), row["status"])
    )


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["-p", "campain", "x"], "has no parameter 'campain'"),
        (["-p", "long_running_hours", "soon"], "'long_running_hours' got 'soon', which is not a number"),
        (["-p", "long_running_hours", "1000"], "outside the allowed range"),
    ],
)
def test_bad_parameters_are_refused_before_any_kernel_starts(
    tmp_path: Path, arguments: list[str], message: str
) -> None:
    result = run_cli("run", "campaign_status", *arguments, "--output-dir", str(tmp_path))
    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert not any(tmp_path.iterdir())


def test_stopped_service_fails_clearly_and_keeps_the_executed_notebook(tmp_path: Path) -> None:
    closed = "http://127.0.0.1:9/cm-service/v1"
    result = run_cli(
        "run", "campaign_status", "--output-dir", str(tmp_path), CM_SERVICE=closed, CM_TIMEOUT="2"
    )
    assert result.returncode == 1
    assert "ServiceUnreachableError" in result.stderr
    assert "cell 3" in result.stderr
    folder = run_folder(tmp_path)
    notebook = json.loads((folder / "campaign_status.ipynb").read_text())
    assert "An Exception was encountered" in "".join(notebook["cells"][0]["source"])
    summary = json.loads((folder / "summary.json").read_text())
    assert summary["status"] == "failed"
    assert summary["failure"]["error"] == "ServiceUnreachableError"
    html = (folder / "report.html").read_text()
    assert f"CM Service at {closed} could not be reached" in html
    assert "Traceback" not in html
