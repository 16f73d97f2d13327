"""The append-only record of every action a runbook planned or took: one JSON line each.

Lines are appended under an exclusive ``flock`` with a single ``write`` on an ``O_APPEND``
descriptor, so two runs writing at once never interleave or lose a line, and earlier lines are
never rewritten. The record holds no secret: no token, no header, no password.
"""

from __future__ import annotations

import fcntl
import getpass
import json
import os
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

AUDIT_LOG_ENV = "CMRUNBOOK_AUDIT_LOG"
DEFAULT_AUDIT_LOG = Path("runs/audit.jsonl")


def audit_log_path(path: Path | None = None) -> Path:
    """The audit log: the given path, else ``$CMRUNBOOK_AUDIT_LOG``, else ``runs/audit.jsonl``."""
    if path is not None:
        return path
    configured = os.environ.get(AUDIT_LOG_ENV)
    return Path(configured) if configured else DEFAULT_AUDIT_LOG


@dataclass(frozen=True)
class AuditRecord:
    """One line of the audit log."""

    runbook: str
    action: str
    target_kind: str
    target_id: int | None
    target_fullname: str
    method: str
    path: str
    outcome: str
    dry_run: bool
    response_status: int | None = None
    status_before: str | None = None
    status_after: str | None = None
    request_id: str | None = None
    note: str = ""
    service_url: str = ""
    time: str = field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))
    os_user: str = field(default_factory=getpass.getuser)
    cm_user: str | None = field(default_factory=lambda: os.environ.get("CM_USER"))


def append(record: AuditRecord, path: Path | None = None) -> Path:
    """Append ``record`` as one line; returns the log's path."""
    target = audit_log_path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    line = (json.dumps(asdict(record), sort_keys=True, default=str) + "\n").encode("utf-8")
    descriptor = os.open(target, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX)
        os.write(descriptor, line)
        os.fsync(descriptor)
    finally:
        os.close(descriptor)  # closing releases the lock
    return target


def read(path: Path | None = None) -> list[dict[str, Any]]:
    """Every record in the log, oldest first (an absent log is an empty one)."""
    target = audit_log_path(path)
    if not target.exists():
        return []
    return [json.loads(line) for line in target.read_text(encoding="utf-8").splitlines() if line]
