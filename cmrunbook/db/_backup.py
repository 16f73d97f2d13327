"""Back up a CM Service database with the cookbook's ``pg_dump``, checked before and after.

Before: the ``pg_dump`` found is at least the server's major version, and the output disk has
room. During: ``pg_dump`` reads a snapshot exported by the runbook's own read-only transaction,
so the row counts put in the manifest describe exactly the data dumped, even on a live database.
After: ``pg_restore --list`` reads the archive back, then the manifest (with the SHA-256) is
written and the dump takes its final, timestamped name; a failed dump leaves no file behind.
"""

from __future__ import annotations

import re
import shutil
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd
import psycopg
from psycopg.conninfo import make_conninfo

from ..errors import ParameterError
from ._connection import Fingerprint, connect, read_fingerprint
from ._errors import DumpError, NotEnoughSpaceError
from ._manifest import (
    BACKUP_PREFIX,
    DUMP_SUFFIX,
    Manifest,
    dump_dir,
    manifest_path,
    partial_file,
    publish,
    write_manifest,
)
from ._tools import ClientTool, find_client, run_tool

DUMP_OPTIONS = [
    "--verbose",
    "--format=c",
    "--encoding=UTF-8",
    "--inserts",
    "--no-privileges",
    "--clean",
    "--create",
]
"""The cookbook's ``pg_dump`` options; the schema, file, snapshot and connection are added."""

DISK_MARGIN_BYTES = 64 * 2**20
"""Room kept free beyond the dump's estimated size, so the disk is not filled to the last byte."""

_PLAIN_NAME = re.compile(r"^[a-z_][a-z0-9_]*$")
_UNSAFE_IN_FILE_NAME = re.compile(r"[^A-Za-z0-9._-]+")
_TABLE_DATA = re.compile(r"^\d+; \d+ \d+ TABLE DATA (\S+) (\S+) ", re.MULTILINE)


def conninfo(source: Fingerprint) -> str:
    """The libpq connection string of the database the fingerprint was read from, without any
    password: the programs take it from PGPASSWORD or ~/.pgpass like the runbook did."""
    return make_conninfo(dbname=source.database, host=source.host, port=source.port, user=source.user)


@dataclass(frozen=True)
class BackupPlan:
    """What the backup will run and where it will write, after the preflight checks passed."""

    source: Fingerprint
    pg_dump: ClientTool
    pg_restore: ClientTool
    dump: Path
    needed_bytes: int
    free_bytes: int

    def arguments(self, snapshot: str, output: Path) -> list[str]:
        """``pg_dump``'s argument list (no shell ever parses it)."""
        return [
            str(self.pg_dump.path),
            *DUMP_OPTIONS,
            "--no-password",
            f"--schema={self.source.schema}",
            f"--snapshot={snapshot}",
            f"--file={output}",
            f"--dbname={conninfo(self.source)}",
        ]

    def table(self) -> pd.DataFrame:
        facts = {
            "pg_dump": f"{self.pg_dump} — server is {self.source.server_major}: OK",
            "output file": str(self.dump),
            "free on that disk": f"{self.free_bytes / 2**20:.0f} MiB (needs about "
            f"{self.needed_bytes / 2**20:.0f} MiB): OK",
            "options": " ".join([*DUMP_OPTIONS, f"--schema={self.source.schema}"]),
        }
        return pd.DataFrame({"value": list(facts.values())}, index=list(facts))


def plan_backup(source: Fingerprint, output_dir: str = "", *, prefix: str = BACKUP_PREFIX) -> BackupPlan:
    """Check the client version and the disk room, and choose the dump's timestamped name."""
    if not _PLAIN_NAME.match(source.schema):
        raise ParameterError(
            f"Schema {source.schema!r} is not a plain lower-case name, which pg_dump would read "
            "as a pattern and might not match.",
            hint="Back up a schema with a plain name, such as CM Service's public.",
        )
    pg_dump = find_client("pg_dump", source.server_major)
    pg_restore = find_client("pg_restore", pg_dump.major)
    directory = dump_dir(output_dir)
    stamp = datetime.now(UTC).strftime("%Y%m%d%H%M%S")
    name = _UNSAFE_IN_FILE_NAME.sub("_", source.database)
    dump = directory / f"{prefix}-{name}-{stamp}{DUMP_SUFFIX}"
    needed = source.size_bytes + DISK_MARGIN_BYTES
    free = shutil.disk_usage(_existing_ancestor(directory)).free
    if free < needed:
        raise NotEnoughSpaceError(
            f"The disk of {directory} has {free / 2**20:.0f} MiB free; the dump of "
            f"{source.database!r} needs about {needed / 2**20:.0f} MiB (its tables take "
            f"{source.size_bytes / 2**20:.0f} MiB, plus a margin). Nothing was written.",
            needed_bytes=needed,
            free_bytes=free,
            hint="Set output_dir to a folder on a disk with more room, or free some space.",
        )
    return BackupPlan(source, pg_dump, pg_restore, dump, needed, free)


def _existing_ancestor(directory: Path) -> Path:
    """The folder itself or its nearest existing parent (the folder is made only when writing)."""
    for candidate in (directory, *directory.parents):
        if candidate.exists():
            return candidate
    return Path("/")


@dataclass(frozen=True)
class BackupResult:
    """A finished, checked dump and its manifest."""

    dump: Path
    manifest_file: Path
    manifest: Manifest
    archive_entries: int
    seconds: float

    def describe(self) -> str:
        manifest = self.manifest
        return (
            f"**Backup done** in {self.seconds:.1f} s: `{self.dump}` "
            f"({manifest.size_bytes / 2**20:.2f} MiB, {self.archive_entries} archive entries, "
            f"read back with pg_restore --list), SHA-256 `{manifest.sha256}`. Manifest: "
            f"`{self.manifest_file}`. To restore it, run the database_restore runbook with "
            f"dump_file = {str(self.dump)!r}."
        )

    def summary(self) -> dict[str, Any]:
        manifest = self.manifest
        return {
            "database": manifest.database,
            "server": f"{manifest.host}:{manifest.port}",
            "server_version": manifest.server_version,
            "alembic_revision": manifest.alembic_revision,
            "dump_file": str(self.dump),
            "manifest": str(self.manifest_file),
            "size_bytes": manifest.size_bytes,
            "sha256": manifest.sha256,
            "row_counts": manifest.row_counts,
        }


def backup(plan: BackupPlan) -> BackupResult:
    """Dump, read the archive back, write the manifest, then give the dump its final name."""
    started = time.monotonic()
    plan.dump.parent.mkdir(parents=True, exist_ok=True)
    final_manifest = manifest_path(plan.dump)
    with partial_file(plan.dump) as partial:
        source = _dump_snapshot(plan, partial)
        entries = _check_archive(plan, partial, source)
        created_at = datetime.now(UTC).isoformat(timespec="seconds")
        options = [*DUMP_OPTIONS, f"--schema={source.schema}"]
        manifest = Manifest.describe_dump(
            partial, plan.dump.name, source, created_at, plan.pg_dump, options
        )
        write_manifest(manifest, final_manifest)
        try:
            publish(partial, plan.dump)
        except BaseException:
            final_manifest.unlink(missing_ok=True)
            raise
    return BackupResult(plan.dump, final_manifest, manifest, entries, time.monotonic() - started)


def _dump_snapshot(plan: BackupPlan, output: Path) -> Fingerprint:
    """Run pg_dump on a snapshot exported by a read-only transaction; return the fingerprint
    read in that same snapshot (its row counts are the dump's)."""
    with connect(plan.source.database) as connection:
        connection.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        with connection.transaction():
            (snapshot,) = connection.execute("SELECT pg_export_snapshot()").fetchone() or ("",)
            source = read_fingerprint(connection, plan.source.schema)
            result = run_tool(plan.arguments(snapshot, output))
    if result.returncode != 0:
        raise DumpError(
            f"pg_dump of {source.endpoint} failed (exit {result.returncode}): "
            f"{_last_lines(result.stderr)} No dump file was left behind.",
            hint="Fix what pg_dump says (permissions, space, connection) and run again.",
        )
    return source


def _check_archive(plan: BackupPlan, archive: Path, source: Fingerprint) -> int:
    """Read the archive's table of contents back; every table must have its data entry."""
    result = run_tool([str(plan.pg_restore.path), "--list", str(archive)])
    if result.returncode != 0:
        raise DumpError(
            f"pg_restore --list cannot read the new dump: {_last_lines(result.stderr)} "
            "The dump was discarded.",
            hint="Run the backup again; if it fails the same way, the output disk is suspect.",
        )
    with_data = {
        table for schema, table in _TABLE_DATA.findall(result.stdout) if schema == source.schema
    }
    missing = sorted(set(source.row_counts) - with_data)
    if missing:
        raise DumpError(
            f"The new dump has no data entry for table(s) {', '.join(missing)}. The dump was discarded.",
            hint="Check the user may read every table of the schema, then run again.",
        )
    return sum(1 for line in result.stdout.splitlines() if line and not line.startswith(";"))


def _last_lines(text: str, count: int = 3) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return " / ".join(lines[-count:]) if lines else "(no message)"
