"""The runs folder as a history: every run's summary, each campaign's previous report, pruning.

A run folder (``<UTC stamp>_<runbook>_<target>/``, written by :mod:`cmrunbook.report`) holds
``summary.json`` and, for scheduled reports, ``change.json``. Folder names start with the UTC
stamp, so sorting them sorts the runs by time without trusting file modification times.
"""

from __future__ import annotations

import contextlib
import json
import logging
import shutil
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from . import report
from .changes import Change
from .runbooks import get_runbook

logger = logging.getLogger(__name__)

STATUS_RUNBOOK = "campaign_status"
"""The runbook whose runs make up a campaign's history of reports."""

ALL_CAMPAIGNS = "(all campaigns)"
"""The campaign a scheduled report's own failure is filed under (when it could not list them)."""

CHANGE_FILE = "change.json"


@dataclass(frozen=True)
class Run:
    """One run folder: its summary and, for a scheduled report, what changed."""

    directory: Path
    summary: dict[str, Any]
    change: dict[str, Any] | None

    @property
    def runbook(self) -> str:
        return str(self.summary.get("runbook", ""))

    @property
    def campaign(self) -> str:
        """The campaign the run is about (the one it resolved, else the one it was given)."""
        given = self.summary.get("parameters", {}).get("campaign", "")
        return str(self.summary.get("campaign") or given)

    @property
    def ok(self) -> bool:
        return self.summary.get("status") == "ok"

    @property
    def is_report(self) -> bool:
        return self.runbook == STATUS_RUNBOOK


def read_runs(runs_dir: Path) -> list[Run]:
    """Every finished run in ``runs_dir``, newest first. Folders still being written (no
    summary yet) and unreadable summaries are passed over, so a concurrent run cannot break
    the history."""
    runs = []
    for summary_file in sorted(runs_dir.glob("*/summary.json"), reverse=True):
        directory = summary_file.parent
        summary = _read_json(summary_file)
        if summary is None:
            continue
        runs.append(Run(directory, summary, _read_json(directory / CHANGE_FILE)))
    return runs


def _read_json(path: Path) -> dict[str, Any] | None:
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        logger.warning("Skipping unreadable %s: %s", path, error)
        return None


def previous_report(runs: Iterable[Run], campaign: str, before: Path) -> Run | None:
    """The campaign's newest successful status report older than the run in ``before``."""
    for run in runs:
        if run.directory.name < before.name and run.is_report and run.ok and run.campaign == campaign:
            return run
    return None


def write_change(directory: Path, change: Change) -> None:
    """File the comparison next to the run it describes."""
    text = json.dumps(change.as_dict(), indent=2, ensure_ascii=False)
    (directory / CHANGE_FILE).write_text(text + "\n", encoding="utf-8")


def record_failure(runs_dir: Path, error: Exception) -> Run:
    """A run folder for a scheduled report that could not start (the campaigns could not be
    listed), so the index shows the failure like any other failed run."""
    runbook = get_runbook(STATUS_RUNBOOK)
    directory = report.run_directory(runs_dir, runbook, "all-campaigns")
    summary = {
        "runbook": runbook.name,
        "parameters": {},
        "campaign": ALL_CAMPAIGNS,
        "status": "failed",
        "duration_s": 0.0,
        "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "failure": {"cell_index": None, "error": type(error).__name__, "message": str(error)},
    }
    (directory / "summary.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    return Run(directory, summary, None)


def prune(runs_dir: Path, keep: int) -> None:
    """Delete all but the newest ``keep`` status reports of each campaign.

    Only status-report folders are candidates: runs of other runbooks (which may record an
    action a pilot took) and the audit log are never deleted.
    """
    seen: dict[str, int] = {}
    for run in read_runs(runs_dir):
        if not run.is_report:
            continue
        seen[run.campaign] = seen.get(run.campaign, 0) + 1
        if seen[run.campaign] > keep:
            with contextlib.suppress(FileNotFoundError):  # an overlapping report was first
                shutil.rmtree(run.directory)
