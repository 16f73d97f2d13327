"""``cmrunbook report``: consecutive reports, what changed, the index, the webhook, pruning, failures.

One sequence of three real reports of the demo campaign (as cron runs them) is shared by the
tests that read it: the first while the webhook receiver is down; then a script fails; the
second reports that change and tells the receiver; the third finds nothing new, tells no one,
and prunes the first (``--keep 2``).
"""

from __future__ import annotations

import json
import re
import socket
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from cmrunbook import history, notify, scheduled
from cmrunbook.changes import compare
from cmrunbook.cli import app
from cmrunbook.client import CMClient
from cmrunbook.config import Secret, Settings
from cmrunbook.sandbox import DEMO_CAMPAIGNS, DEMO_TARGETS, SandboxServer
from tests.conftest import FAKE_TOKEN
from tests.scripted_server import Script, scripted_server
from tests.test_report import run_cli

MAIN = DEMO_CAMPAIGNS[DEMO_TARGETS["campaign"]]
FAILING = DEMO_TARGETS["lost_log_script"]
HOOK_PATH = "/services/T0/B0/hook-secret-5c1e9"
CLOSED_SERVICE = "http://127.0.0.1:9/cm-service/v1"
RUNS_URL = "https://cmrunbook.example.org/runs"


@dataclass
class Report:
    """One ``cmrunbook report`` process: what it printed, the run folder it wrote, and the
    change it filed there (read at once: a later ``--keep`` deletes the folder)."""

    result: subprocess.CompletedProcess[str]
    folder: Path
    change: dict[str, Any]


@dataclass
class Sequence:
    runs: Path
    reports: list[Report]
    receiver: Script
    hooks: list[str]


def report_folders(runs: Path) -> set[Path]:
    return {path.parent for path in runs.glob("*_campaign_status_*/summary.json")}


def index_rows(runs: Path) -> list[str]:
    page = (runs / "index.html").read_text()
    return [row for row in page.split("<tr>")[1:] if "<td>" in row]


def webhook_url(service_url: str) -> str:
    """A Slack-like webhook URL on a local receiver; its path plays the secret part."""
    return service_url.removesuffix("/cm-service/v1") + HOOK_PATH


def report(runs: Path, *arguments: str, **env: str) -> Report:
    before = report_folders(runs)
    result = run_cli("report", MAIN, "--output-dir", str(runs), *arguments, **env)
    (folder,) = report_folders(runs) - before
    return Report(result, folder, json.loads((folder / "change.json").read_text()))


@pytest.fixture(scope="module")
def sequence(sandbox: SandboxServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sequence]:
    sandbox.load("demo")
    runs = tmp_path_factory.mktemp("scheduled") / "runs"
    with scripted_server([(200, "ok")]) as (url, _):
        down = webhook_url(url)  # a receiver that was there and is gone: connection refused
    first = report(runs, "--notify", down)
    with CMClient(Settings(service_url=sandbox.url, token=Secret(FAKE_TOKEN))) as client:
        assert client.script.run_check(FAILING)[1].name == "failed"  # the change between reports
    with scripted_server([(200, "ok")]) as (url, receiver):
        hook = webhook_url(url)
        second = report(runs, "--notify", hook, CMRUNBOOK_RUNS_URL=RUNS_URL)
        third = report(runs, "--keep", "2", CMRUNBOOK_NOTIFY_URL=hook)
    yield Sequence(runs, [first, second, third], receiver, [down, hook])
    sandbox.load("demo")  # leave the shared sandbox as the next test expects it


def test_every_report_of_the_sequence_succeeds_with_one_line_per_campaign(sequence: Sequence) -> None:
    for item in sequence.reports:
        assert item.result.returncode == 0, item.result.stderr
        lines = item.result.stdout.splitlines()
        assert lines[0].startswith(f"{MAIN}: RED: ")
        assert lines[1] == f"index: {sequence.runs / 'index.html'}"


def test_second_report_says_which_script_failed_and_how_the_counts_moved(sequence: Sequence) -> None:
    first, second = (item.change for item in sequence.reports[:2])
    assert first["previous_verdict"] is None
    assert first["text"].startswith("first report: ")
    assert [item["script_id"] for item in second["new_items"]] == [FAILING]
    assert second["resolved_items"] == []
    assert second["counts_moved"]["failed"][1] == second["counts_moved"]["failed"][0] + 1
    assert second["counts_moved"]["running"][1] == second["counts_moved"]["running"][0] - 1
    assert f"new: script {FAILING} failed" in second["text"]
    assert second["text"] in sequence.reports[1].result.stdout


def test_index_lists_the_change_newest_first_with_links_that_exist(sequence: Sequence) -> None:
    rows = index_rows(sequence.runs)
    second, third = sequence.reports[1:]
    assert third.folder.name in rows[0]
    assert second.folder.name in rows[1]
    assert f"new: script {FAILING} failed" in rows[1]
    assert ">RED<" in rows[1]
    for folder in (second.folder, third.folder):
        assert (folder / "report.html").is_file()
        assert (folder / "campaign_status.ipynb").is_file()
    page = (sequence.runs / "index.html").read_text()
    assert "<script" not in page
    assert 'src="http' not in page


def test_webhook_is_told_about_the_new_red_item_with_a_link_to_the_report(sequence: Sequence) -> None:
    (sent,) = sequence.receiver.seen
    assert sent.method == "POST"
    assert sent.path == HOOK_PATH
    text = json.loads(sent.body)["text"]
    assert MAIN in text
    assert f"script {FAILING} failed" in text
    assert f"<{RUNS_URL}/{sequence.reports[1].folder.name}/report.html>" in text
    assert "[notified]" in sequence.reports[1].result.stdout


def test_webhook_is_not_told_when_nothing_new_turned_red(sequence: Sequence) -> None:
    third = sequence.reports[2]
    assert third.change["new_items"] == []
    assert third.change["notify"] is False
    assert len(sequence.receiver.seen) == 1
    assert "notified" not in third.result.stdout


def test_report_succeeds_when_the_webhook_is_down_and_the_log_hides_its_url(sequence: Sequence) -> None:
    first = sequence.reports[0]
    assert first.result.returncode == 0
    assert "[notification failed]" in first.result.stdout
    assert "notification webhook could not be reached (ConnectError)" in first.result.stderr
    assert "Traceback" not in first.result.stderr


def test_keep_prunes_the_oldest_report_and_the_index_follows(sequence: Sequence) -> None:
    first, second, third = sequence.reports
    assert not first.folder.exists()
    assert report_folders(sequence.runs) == {second.folder, third.folder}
    rows = index_rows(sequence.runs)
    assert len(rows) == 2
    assert first.folder.name not in (sequence.runs / "index.html").read_text()


def test_no_secret_in_any_file_or_output(sequence: Sequence) -> None:
    secrets = [FAKE_TOKEN, HOOK_PATH, *sequence.hooks]
    outputs = [item.result.stdout + item.result.stderr for item in sequence.reports]
    files = [path.read_text() for path in sequence.runs.rglob("*") if path.is_file()]
    for text in outputs + files:
        assert not [secret for secret in secrets if secret in text]


def test_a_failing_campaign_does_not_stop_the_others_and_the_exit_says_so(
    demo: SandboxServer, tmp_path: Path
) -> None:
    request = scheduled.ReportRequest(("No_Such_Campaign", DEMO_CAMPAIGNS[4]), False, tmp_path, 60)
    outcome = scheduled.run(request)
    assert outcome.exit_code == 1
    missing, waiting = outcome.reports
    assert not missing.ok
    assert "There is no campaign named 'No_Such_Campaign'" in missing.line
    assert missing.line.startswith("No_Such_Campaign: FAILED: report failed: ")
    assert waiting.ok
    assert waiting.line.startswith(f"{DEMO_CAMPAIGNS[4]}: GREEN: first report")
    rows = index_rows(tmp_path)
    assert ">FAILED<" in rows[1]
    assert "report failed" in rows[1]
    assert ">GREEN<" in rows[0]


@pytest.fixture
def silent_service() -> Iterator[str]:
    """A service that accepts connections and never answers: the slow campaign of a bad day."""
    with socket.create_server(("127.0.0.1", 0)) as listener:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}/cm-service/v1"


def test_a_run_that_hangs_is_stopped_by_the_timeout_and_reported_failed(
    silent_service: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CM_SERVICE", silent_service)
    outcome = scheduled.run(scheduled.ReportRequest((MAIN,), False, tmp_path, timeout_s=2))
    assert outcome.exit_code == 1
    (item,) = outcome.reports
    assert "timed out" in item.change.text
    assert ">FAILED<" in index_rows(tmp_path)[0]


def test_unreachable_service_exits_non_zero_with_a_failed_row_in_the_index(tmp_path: Path) -> None:
    result = run_cli("report", "--all", "--output-dir", str(tmp_path), CM_SERVICE=CLOSED_SERVICE)
    assert result.returncode == 1
    line = result.stdout.splitlines()[0]
    assert line.startswith(f"{history.ALL_CAMPAIGNS}: FAILED: report failed: ")
    assert f"CM Service at {CLOSED_SERVICE} could not be reached" in line
    assert "Traceback" not in result.stderr
    (row,) = index_rows(tmp_path)
    assert ">FAILED<" in row
    assert "ServiceUnreachableError" in row


def test_all_means_every_campaign_not_accepted_or_rescued(demo: SandboxServer, client: CMClient) -> None:
    expected = [
        row["fullname"]
        for row in sorted(demo.scenario.tables["campaign"], key=lambda row: row["id"])
        if row["status"] not in ("accepted", "rescued")
    ]
    assert "LATISS_AOS_2026_49" in expected  # rejected: a pilot must bring it back, so it is reported
    assert scheduled.campaigns_to_report(client) == expected


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ([], "No campaign to report on."),
        (["--all", MAIN], "Name campaigns or give --all, not both."),
        (["--all", "--notify", "hooks.example.org/x-secret"], "is not an http(s) URL"),
        (["--all", "--keep", "0"], "0 is not in the range x>=1"),
    ],
)
def test_bad_requests_are_refused_before_any_report_runs(
    tmp_path: Path, arguments: list[str], message: str
) -> None:
    result = CliRunner().invoke(app, ["report", "--output-dir", str(tmp_path), *arguments])
    assert result.exit_code == 2
    assert message in result.output
    assert "x-secret" not in result.output
    assert not tmp_path.exists() or not any(tmp_path.iterdir())


def _summary(verdict: str, *items: tuple[str, str, str], status: str = "ok") -> dict[str, Any]:
    attention = [
        {"situation": situation, "target": target, "verdict": colour, "status": "x", "script_id": 1}
        for situation, target, colour in items
    ]
    return {"status": status, "verdict": verdict, "attention": attention, "counts": {}}


RED_ITEM = ("script_failed", "c/s1", "red")
AMBER_ITEM = ("script_reviewable", "c/s2", "amber")


@pytest.mark.parametrize(
    ("previous", "current", "notify"),
    [
        (None, _summary("red", RED_ITEM), True),
        (None, _summary("amber", AMBER_ITEM), False),
        (_summary("red", RED_ITEM), _summary("red", RED_ITEM), False),
        (_summary("amber", AMBER_ITEM), _summary("green"), True),
        (_summary("green"), _summary("amber", AMBER_ITEM), True),
        (_summary("red", RED_ITEM), _summary("red", RED_ITEM, ("script_blocked", "c/s3", "red")), True),
        (_summary("red", RED_ITEM), _summary("red", RED_ITEM, AMBER_ITEM), False),
    ],
)
def test_notify_only_when_the_verdict_changes_or_a_new_item_is_red(
    previous: dict[str, Any] | None, current: dict[str, Any], notify: bool
) -> None:
    assert compare(previous, current, "c").worth_notifying is notify


def test_a_failed_report_is_not_notified_but_says_why() -> None:
    failed = {"status": "failed", "failure": {"cell_index": None, "error": "E", "message": "down"}}
    change = compare(_summary("green"), failed, "c")
    assert not change.worth_notifying
    assert change.text == "report failed: the run failed: E: down"


DEPLOY = Path(__file__).parent.parent / "deploy"
SECRET_VARIABLES = {"CM_TOKEN", "CMRUNBOOK_NOTIFY_URL"}
REPORT_VARIABLES = {"CM_SERVICE", "CMRUNBOOK_RUNS_URL"} | SECRET_VARIABLES


def test_kubernetes_cronjob_runs_report_all_with_secrets_only_by_reference() -> None:
    cronjob, claim = yaml.safe_load_all((DEPLOY / "cronjob.yaml").read_text())
    assert (cronjob["kind"], claim["kind"]) == ("CronJob", "PersistentVolumeClaim")
    assert cronjob["spec"]["concurrencyPolicy"] == "Forbid"
    pod = cronjob["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert container["command"][:3] == ["cmrunbook", "report", "--all"]
    env = {item["name"]: item for item in container["env"]}
    assert set(env) >= REPORT_VARIABLES
    for name in SECRET_VARIABLES:
        assert "value" not in env[name]
        assert env[name]["valueFrom"]["secretKeyRef"]["name"] == "cmrunbook"
    assert pod["volumes"][0]["persistentVolumeClaim"]["claimName"] == claim["metadata"]["name"]


def test_systemd_and_cron_run_report_all_with_secrets_from_the_environment_file() -> None:
    service = (DEPLOY / "cmrunbook-report.service").read_text()
    assert "EnvironmentFile=/etc/cmrunbook/report.env" in service
    assert "cmrunbook report --all " in service
    assert "Unit=" not in (DEPLOY / "cmrunbook-report.timer").read_text()  # same name as the service
    (line,) = [line for line in (DEPLOY / "crontab").read_text().splitlines() if line[:1].isdigit()]
    assert all(re.fullmatch(r"[0-9*/,-]+", field) for field in line.split()[:5]), line
    assert ". /etc/cmrunbook/report.env" in line
    assert "cmrunbook report --all " in line
    settings = dict(
        line.split("=", 1) for line in (DEPLOY / "report.env").read_text().splitlines() if "=" in line
    )
    assert set(settings) == REPORT_VARIABLES
    assert all(settings[name] == "" for name in SECRET_VARIABLES)
    for text in (service, line):
        assert not [name for name in SECRET_VARIABLES if f"{name}=" in text]


def test_a_webhook_that_refuses_is_logged_by_status_without_its_url(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with scripted_server([(404, {"error": "no_service"})]) as (url, receiver):
        hook = webhook_url(url)
        assert notify.post(Secret(hook), "hello") is False
    assert json.loads(receiver.seen[0].body) == {"text": "hello"}
    assert "refused the message (HTTP 404)" in caplog.text
    assert HOOK_PATH not in caplog.text
