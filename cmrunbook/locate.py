"""Where a script's work lives on disk: its BPS submit directory, its log, its newest log lines.

``stamp_url`` is not always the submit directory (API.md §8): for a ``bps_submit`` script it is
an HTCondor user log, for ``bps_report`` the submit directory (HTCondor) or a PanDA run id. The
reliable field is the job's ``metadata_.bps_submit_dir``, then the job's ``wms_job_id``; only
then is ``stamp_url`` read, by script kind.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from .models import Job, Script

LOG_SUFFIXES = (".log", ".out", ".err", ".condorlog")


@dataclass(frozen=True)
class Location:
    """A place to look, where the runbook found it, and what it is."""

    path: str
    source: str
    meaning: str


def script_kind(script: Script) -> str:
    """The script's kind from its readable name: ``bps_submit_000`` → ``bps_submit``."""
    name = script.fullname.rsplit("/", 1)[-1]
    stem, _, attempt = name.rpartition("_")
    return stem if attempt.isdigit() else name


def stamp_meaning(script: Script) -> str:
    """What ``stamp_url`` holds for this kind of script."""
    stamp = script.stamp_url or ""
    if stamp.endswith(".condorlog"):
        return "the HTCondor user log of the script's own job; its folder is the job's artifact folder"
    if stamp.endswith(".stamp"):
        return "the stamp file a bash script writes its final status to"
    if script_kind(script) == "bps_report":
        if stamp.startswith("/"):
            return "the BPS submit directory (HTCondor)"
        return "the PanDA run id of the workflow (not a path)"
    if stamp.isdigit():
        return "the Slurm job id"
    return "a handler-specific stamp"


def submit_locations(script: Script, job: Job | None) -> list[Location]:
    """The places to inspect for a (long-)running script, most reliable first."""
    found: list[Location] = []
    if job is not None and job.metadata_.get("bps_submit_dir"):
        found.append(
            Location(
                job.metadata_["bps_submit_dir"], "job.metadata_.bps_submit_dir", "BPS submit directory"
            )
        )
    if job is not None and job.wms_job_id:
        meaning = "BPS submit directory" if job.wms_job_id.startswith("/") else "PanDA run id"
        found.append(Location(job.wms_job_id, "job.wms_job_id", meaning))
    if script.stamp_url:
        found.append(Location(script.stamp_url, "script.stamp_url", stamp_meaning(script)))
    if script.log_url:
        found.append(Location(script.log_url, "script.log_url", "the script's own log"))
    return found


def readable_directory(locations: Iterable[Location]) -> Path | None:
    """The first location that is a directory this process can read (the submit directory)."""
    for location in locations:
        path = Path(location.path)
        if path.is_absolute() and path.is_dir() and os.access(path, os.R_OK | os.X_OK):
            return path
    return None


def directory_listing(directory: Path, limit: int = 50) -> pd.DataFrame:
    """The directory's entries, newest first: what a pilot would ``ls -lt``."""
    entries = []
    for entry in directory.iterdir():
        info = entry.stat()
        entries.append(
            {
                "name": entry.name + ("/" if entry.is_dir() else ""),
                "size": info.st_size,
                "modified (UTC)": datetime.fromtimestamp(info.st_mtime, UTC).strftime(
                    "%Y-%m-%d %H:%M:%S"
                ),
            }
        )
    table = pd.DataFrame(entries, columns=["name", "size", "modified (UTC)"])
    return table.sort_values("modified (UTC)", ascending=False, ignore_index=True).head(limit)


def newest_log(directory: Path) -> Path | None:
    """The most recently modified log file anywhere below ``directory``."""
    logs = [path for path in directory.rglob("*") if path.is_file() and path.suffix in LOG_SUFFIXES]
    return max(logs, key=lambda path: path.stat().st_mtime, default=None)


def tail(path: Path, lines: int = 20) -> str:
    """The last ``lines`` lines of a text file, without reading a huge log whole."""
    with path.open("rb") as handle:
        handle.seek(0, os.SEEK_END)
        size = handle.tell()
        handle.seek(max(0, size - 64 * 1024))
        text = handle.read().decode("utf-8", errors="replace")
    return "\n".join(text.splitlines()[-lines:])
