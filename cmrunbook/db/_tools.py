"""The PostgreSQL client programs (``pg_dump``, ``pg_restore``): which one to use, and running it.

``pg_dump`` refuses a server of a newer major version, and ``pg_restore`` cannot read an archive
written by a newer ``pg_dump``, so the runbook picks, among Debian's side-by-side installations
(``/usr/lib/postgresql/<major>/bin``) and the one on ``PATH``, the oldest major version that is
new enough. Programs run without a shell, from an argument list, with no stdin (a kernel has
none to answer a password prompt), and what they print is scrubbed of the password.
"""

from __future__ import annotations

import glob
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from ._connection import scrub
from ._errors import ClientToolError

_VERSION = re.compile(r"\(PostgreSQL\)\s+(\d+)(?:\.(\d+))?")


@dataclass(frozen=True)
class ClientTool:
    """One client program and its version."""

    path: Path
    version: str
    major: int

    def __str__(self) -> str:
        return f"{self.path} ({self.version})"


def candidate_paths(name: str) -> list[Path]:
    """Every installed copy of the program ``name``: Debian's per-version ones, then PATH's."""
    found = [Path(path) for path in sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))]
    on_path = shutil.which(name)
    if on_path:
        found.append(Path(on_path))
    return found


def tool_version(path: Path) -> ClientTool | None:
    """The program at ``path`` with its version, or None if it does not run or say one."""
    try:
        result = subprocess.run(
            [str(path), "--version"],
            capture_output=True,
            text=True,
            timeout=30,
            stdin=subprocess.DEVNULL,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    match = _VERSION.search(result.stdout)
    if result.returncode != 0 or match is None:
        return None
    version = match.group(1) + (f".{match.group(2)}" if match.group(2) else "")
    return ClientTool(path, version, int(match.group(1)))


def find_client(name: str, at_least_major: int, candidates: list[Path] | None = None) -> ClientTool:
    """The oldest installed ``name`` whose major version is at least ``at_least_major``."""
    tools = [
        tool
        for path in (candidate_paths(name) if candidates is None else candidates)
        if (tool := tool_version(path))
    ]
    usable = sorted((tool for tool in tools if tool.major >= at_least_major), key=lambda t: t.major)
    if usable:
        return usable[0]
    seen = ", ".join(str(tool) for tool in tools) or "none"
    raise ClientToolError(
        f"{name} must be at least version {at_least_major} (the server's, or the dump's, major "
        f"version); installed: {seen}.",
        hint=f"Install the PostgreSQL {at_least_major} client programs, e.g. 'apt-get install "
        f"postgresql-client-{at_least_major}' or 'conda install \"postgresql>={at_least_major}\"', "
        "and run the runbook again.",
    )


def run_tool(arguments: list[str]) -> subprocess.CompletedProcess[str]:
    """Run a client program from an argument list (never a shell); stdout and stderr scrubbed.

    ``--no-password`` belongs in ``arguments``: with no stdin a prompt would only hang.
    """
    try:
        result = subprocess.run(
            arguments, capture_output=True, text=True, stdin=subprocess.DEVNULL, check=False
        )
    except OSError as error:
        raise ClientToolError(
            f"Could not start {arguments[0]}: {error.strerror}.",
            hint="Check the PostgreSQL client programs are installed and executable.",
        ) from None
    return subprocess.CompletedProcess(
        result.args, result.returncode, scrub(result.stdout), scrub(result.stderr)
    )
