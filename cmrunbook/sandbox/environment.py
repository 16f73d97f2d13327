"""The world outside CM Service's database, as a scenario describes it.

What a real check finds depends on things no table holds: which HTCondor jobs exist and in
which state, whether ``condor_submit`` works, which log files are on disk. The sandbox asks an
:class:`Environment` instead; files are looked up on the real filesystem under the scenario's
artifact root, so a demo can ship real logs and the recorded scenario (``/cm/artifacts``)
finds none, as the recording server did.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path

from ..status import StatusEnum


class CondorState(Enum):
    """HTCondor ``JobStatus`` values."""

    idle = 1
    running = 2
    removed = 3
    completed = 4
    held = 5
    transferring_output = 6
    suspended = 7


@dataclass(frozen=True)
class CondorJob:
    """One HTCondor job as ``condor_q -userlog`` would report it."""

    state: CondorState
    exit_code: int | None = None


_CONDOR_TO_STATUS = {
    CondorState.idle: StatusEnum.running,
    CondorState.running: StatusEnum.running,
    CondorState.transferring_output: StatusEnum.running,
    CondorState.held: StatusEnum.blocked,
    CondorState.suspended: StatusEnum.paused,
}

NO_SUCH_FILE = "[Errno 2] No such file or directory"

# "key: value" lines of `bps submit` output; like CM Service's parser, a key is made of word
# characters and blanks only (so "lsst.ctrl.bps ERROR: ..." lines are not keys).
_BPS_STDOUT_LINE = re.compile(r"^(?P<key>[\w\s]+):\s*(?P<value>.*)$", re.MULTILINE)


@dataclass
class Environment:
    """HTCondor, the filesystem and the submit command, as one scenario sees them.

    ``htcondor`` maps an HTCondor user log (a script's ``stamp_url``) or a BPS submit
    directory (a job's ``wms_job_id``) to the job HTCondor knows; an absent key means
    ``condor_q`` cannot answer for it. ``working_dir`` is the service's working directory,
    where relative paths (such as a ``bps_submit_dir`` of ``fake_path``) resolve; it defaults
    to the artifact root.
    """

    artifact_root: str
    working_dir: str | None = None
    htcondor: dict[str, CondorJob] = field(default_factory=dict)
    condor_submit: bool = False

    def condor_status(self, user_log: str | None) -> StatusEnum:
        """What CM Service concludes from ``condor_q -userlog <user_log>``.

        Idle, running and transferring are running; a finished job is accepted with exit
        code 0 and failed otherwise; held is blocked; and anything condor cannot answer for
        (no condor, no such log, a null ``stamp_url``) is failed.
        """
        job = self.htcondor.get(user_log) if user_log else None
        if job is None:
            return StatusEnum.failed
        if job.state in (CondorState.completed, CondorState.removed):
            return StatusEnum.accepted if job.exit_code == 0 else StatusEnum.failed
        return _CONDOR_TO_STATUS[job.state]

    def workflow_status(self, wms_job_id: str) -> StatusEnum:
        """What a fresh ``bps report`` concludes about the workflow behind ``wms_job_id``.

        A workflow that finished with failures asks for review; one removed, or one the
        WMS cannot report on, is failed; the rest reads like a single HTCondor job.
        """
        job = self.htcondor.get(wms_job_id)
        if job is None or job.state is CondorState.removed:
            return StatusEnum.failed
        if job.state is CondorState.completed:
            return StatusEnum.accepted if job.exit_code == 0 else StatusEnum.reviewable
        return _CONDOR_TO_STATUS[job.state]

    def submit(self, user_log: str) -> None:
        """Submit a job whose HTCondor user log is ``user_log``; it starts idle.

        Raises ``OSError`` as running a missing ``condor_submit`` does.
        """
        if not self.condor_submit:
            raise FileNotFoundError(2, "No such file or directory")
        self.htcondor[user_log] = CondorJob(CondorState.idle)

    def resolve(self, path: str) -> str:
        """``path`` made absolute against the service's working directory."""
        return str(Path(self.working_dir or self.artifact_root, path))


def diagnostic_message(log_url: str) -> str:
    """The last line of a script's log, which CM Service records as the script's error."""
    path = Path(log_url)
    if not path.exists():
        return f"ERROR Log file {log_url} does not exist"
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        return f"ERROR reading log file: {exc}"
    return lines[-1].strip() if lines else "ERROR Empty log file"


def parse_bps_stdout(log_url: str) -> dict[str, str]:
    """The ``key: value`` pairs of a ``bps submit`` log (``Submit dir``, ``Run Id``, ...)."""
    text = Path(log_url).read_text(encoding="utf-8")
    return {match["key"]: match["value"] for match in _BPS_STDOUT_LINE.finditer(text)}
