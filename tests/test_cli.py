"""The ``cmrunbook`` command's own surface: list, show, and the sandbox wrapping a command."""

from __future__ import annotations

import subprocess
import sys

from click.testing import CliRunner

from cmrunbook.cli import app
from cmrunbook.runbooks import list_runbooks


def test_list_names_every_runbook_with_its_title_and_marks_the_mutating_ones() -> None:
    result = CliRunner().invoke(app, ["list"])
    assert result.exit_code == 0
    lines = result.output.splitlines()
    assert len(lines) == len(list_runbooks())
    (failed,) = [line for line in lines if line.startswith("script_failed ")]
    assert "Script failed" in failed
    assert "needs confirm" in failed
    (status,) = [line for line in lines if line.startswith("campaign_status ")]
    assert "needs confirm" not in status


def test_show_gives_each_parameter_with_type_default_and_description() -> None:
    result = CliRunner().invoke(app, ["show", "campaign_status"])
    assert result.exit_code == 0
    assert "long_running_hours: a number from 0.1 to 720, default 24.0" in result.output
    assert "A running script older than this many hours" in result.output


def test_show_of_an_unknown_runbook_is_a_clear_error() -> None:
    result = CliRunner().invoke(app, ["show", "script_fail"])
    assert result.exit_code == 2
    assert "There is no runbook called 'script_fail'" in result.output


def test_sandbox_runs_a_command_against_itself_and_returns_its_status() -> None:
    probe = "import os, sys, httpx; url = os.environ['CM_SERVICE']; "
    probe += "print(httpx.get(url + '/campaign/list').json()[0]['fullname']); sys.exit(3)"
    command = [sys.executable, "-c", probe]
    result = subprocess.run(
        [sys.executable, "-m", "cmrunbook", "sandbox", "--scenario", "recorded", "--", *command],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 3
    assert result.stdout.strip() == "rc2_subset_b"
