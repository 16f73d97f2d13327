"""Restore a dump into a migrated database with the cookbook's ``pg_restore``, or refuse to.

*Plan* reads the dump's manifest and the target's fingerprint and runs every check before
anything is written: the dump's checksum, the alembic revision on both sides, the target on this
machine (unless ``allow_remote``), the target holding no data of its own (unless ``overwrite``,
which takes a safety dump of the target first), a superuser (``--disable-triggers`` needs one)
and a new enough ``pg_restore``. Nothing is written unless ``confirm`` equals the target
database's name; an empty ``confirm`` is a dry run, and report mode refuses. *Act* re-reads the
target and stops if it changed since the plan, restores, accepts only the duplicates of the
migration's own rows, and *verifies* every table's row count against the manifest. Every dry
run, refusal, failure and restore leaves one line in the audit log.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
from psycopg import sql

from .. import audit
from ..errors import RunbookError
from ..headless import report_mode
from ._backup import BackupPlan, BackupResult, backup, conninfo, plan_backup
from ._cmservice import DEFAULT_CAMPAIGN_V2_ID, VERSION_TABLE
from ._connection import Fingerprint, connect, fingerprint, resolve_database
from ._errors import ClientToolError, DumpError, RestoreFailedError, RestoreRefusedError
from ._manifest import SAFETY_PREFIX, Manifest, dump_dir, newest_dump, read_manifest, sha256_of
from ._tools import ClientTool, find_client, run_tool

RESTORE_OPTIONS = ["--no-owner", "--no-privileges", "--data-only", "--disable-triggers"]
"""The cookbook's ``pg_restore`` options; the schema, connection and file are added."""

RUNBOOK = "database_restore"

_ERROR_BLOCK = re.compile(r"^pg_restore: error: ", re.MULTILINE)
_COMMAND = re.compile(r"^Command was: (.*)$", re.MULTILINE)


@dataclass(frozen=True)
class Check:
    """One condition of the restore: passed (True), failed (False) or not checkable (None)."""

    name: str
    passed: bool | None
    detail: str

    @property
    def verdict(self) -> str:
        return {True: "OK", False: "REFUSE", None: "not checked"}[self.passed]


@dataclass(frozen=True)
class RestorePlan:
    """What would be restored into what, and every check's verdict, read before any write."""

    target: Fingerprint
    searched: Path
    dump: Path | None
    manifest: Manifest | None
    checks: tuple[Check, ...]
    pg_restore: ClientTool | None
    safety: BackupPlan | None = None

    @property
    def confirm_value(self) -> str:
        return self.target.database

    @property
    def refusals(self) -> list[str]:
        return [check.detail for check in self.checks if check.passed is False]

    def arguments(self) -> list[str]:
        """``pg_restore``'s argument list (no shell ever parses it)."""
        assert self.pg_restore is not None
        assert self.dump is not None
        assert self.manifest is not None
        return [
            str(self.pg_restore.path),
            *RESTORE_OPTIONS,
            "--no-password",
            f"--schema={self.manifest.schema}",
            f"--dbname={conninfo(self.target)}",
            str(self.dump),
        ]

    def describe(self) -> str:
        """The plan in a paragraph, as a pilot reads it before confirming."""
        target = f"`{self.target.endpoint}`"
        if self.dump is None:
            return (
                f"**Nothing to restore:** there is no dump with a manifest in `{self.searched}`. "
                "Make one with the database_backup runbook, or set dump_file to a dump's path."
            )
        if self.manifest is None:
            return f"Restore `{self.dump}` into {target}: its manifest cannot be read (see the checks)."
        manifest = self.manifest
        rows = sum(manifest.row_counts.values())
        text = (
            f"Restore `{self.dump.name}` — database `{manifest.source}`, revision "
            f"`{manifest.alembic_revision}`, {rows} rows, taken {manifest.created_at} — into "
            f"{target} with `pg_restore {' '.join(RESTORE_OPTIONS)} --schema={manifest.schema}`."
        )
        if self.safety is not None:
            text += (
                f" The target holds data, and overwrite is set: first a safety dump of it is "
                f"written to `{self.safety.dump}`, then its tables (all but {VERSION_TABLE}) are "
                "emptied."
            )
        if self.refusals:
            return f"{text} **It would be refused:** {' '.join(self.refusals)}"
        return f"{text} All checks pass."

    def checks_table(self) -> pd.DataFrame:
        return pd.DataFrame(
            [(check.name, check.verdict, check.detail) for check in self.checks],
            columns=["check", "verdict", "detail"],
        )


def find_dump(dump_file: str) -> tuple[Path, Path | None]:
    """The folder searched and the dump to restore: the path given, else the newest backup there.

    A path given that does not exist is an error; an empty parameter with no dump is not (the
    dry run then explains there is nothing to restore)."""
    if dump_file.strip():
        path = Path(dump_file.strip()).expanduser()
        if not path.is_file():
            nearby = newest_dump(path.parent)
            suggestion = f" The newest dump in that folder is {str(nearby)!r}." if nearby else ""
            raise DumpError(
                f"There is no dump file {str(path)!r}.{suggestion}",
                hint="Set dump_file to the path the database_backup runbook printed, or leave it "
                "empty to use the newest dump in the dump folder.",
            )
        return path.parent, path
    directory = dump_dir()
    return directory, newest_dump(directory)


def plan_restore(
    dump_file: str = "",
    target_database: str = "",
    *,
    allow_remote: bool = False,
    overwrite: bool = False,
) -> RestorePlan:
    """Read the dump's manifest and the target, and run every check; writes nothing."""
    searched, dump = find_dump(dump_file)
    manifest: Manifest | None = None
    manifest_problem = ""
    if dump is not None:
        try:
            manifest = read_manifest(dump)
        except DumpError as error:
            manifest_problem = str(error)
    schema = manifest.schema if manifest else "public"
    target = fingerprint(resolve_database(target_database), schema)
    pg_restore, tool_problem = None, ""
    if manifest is not None:
        try:
            pg_restore = find_client("pg_restore", max(target.server_major, manifest.pg_dump_major))
        except ClientToolError as error:
            tool_problem = str(error)
    safety, safety_problem = None, ""
    if overwrite and target.data_rows and dump is not None:
        try:
            safety = plan_backup(target, str(dump.parent), prefix=SAFETY_PREFIX)
        except RunbookError as error:
            safety_problem = f"The safety dump of the target cannot be made: {error}"
    checks = (
        _dump_check(searched, dump),
        Check(
            "manifest", None if dump is None else manifest is not None, manifest_problem or "readable"
        ),
        _checksum_check(dump, manifest),
        _revision_check(target, manifest),
        _local_check(target, allow_remote),
        _empty_check(target, overwrite, safety_problem),
        Check(
            "superuser",
            target.superuser,
            f"{target.user} is a superuser"
            if target.superuser
            else f"{target.user} is not a superuser, and pg_restore --disable-triggers needs "
            "one; connect as the database's superuser (for the compose database: cm-service).",
        ),
        Check(
            "pg_restore",
            None if manifest is None else pg_restore is not None,
            str(pg_restore) if pg_restore else tool_problem or "not checked: no manifest",
        ),
    )
    return RestorePlan(target, searched, dump, manifest, checks, pg_restore, safety)


def _dump_check(searched: Path, dump: Path | None) -> Check:
    if dump is None:
        return Check(
            "dump",
            False,
            f"There is no dump to restore in {searched}: make one with the database_backup "
            "runbook, or set dump_file.",
        )
    return Check("dump", True, str(dump))


def _checksum_check(dump: Path | None, manifest: Manifest | None) -> Check:
    if dump is None or manifest is None:
        return Check("checksum", None, "not checked: no dump or no manifest")
    actual = sha256_of(dump)
    if actual != manifest.sha256:
        return Check(
            "checksum",
            False,
            f"The dump's SHA-256 is {actual}, but its manifest says {manifest.sha256}: the file "
            "changed or is damaged since the backup; restore another dump or make a new one.",
        )
    return Check("checksum", True, f"SHA-256 {actual} matches the manifest")


def _revision_check(target: Fingerprint, manifest: Manifest | None) -> Check:
    if manifest is None:
        return Check("alembic revision", None, "not checked: no manifest")
    if manifest.alembic_revision is None:
        return Check(
            "alembic revision",
            False,
            f"The dump (of {manifest.source}) holds no alembic_version table: it is not a dump of a "
            "CM Service database.",
        )
    if target.alembic_revision != manifest.alembic_revision:
        found = target.alembic_revision or "none (not migrated)"
        return Check(
            "alembic revision",
            False,
            f"The target's alembic revision is {found} but the dump's is "
            f"{manifest.alembic_revision}; their tables would differ. Migrate the target to "
            f"{manifest.alembic_revision} first (CM Service's 'make migrate' at that version).",
        )
    return Check("alembic revision", True, f"{manifest.alembic_revision} on both sides")


def _local_check(target: Fingerprint, allow_remote: bool) -> Check:
    if target.local:
        return Check("on this machine", True, target.via)
    if allow_remote:
        return Check("on this machine", True, f"{target.via}: remote, allowed by allow_remote")
    return Check(
        "on this machine",
        False,
        f"The target is reached by {target.via}, not on this machine; the runbook restores only "
        "into local databases unless allow_remote is set (and be sure it is not production).",
    )


def _empty_check(target: Fingerprint, overwrite: bool, safety_problem: str) -> Check:
    rows = target.data_rows
    if not rows:
        return Check("target holds no data", True, "only the migration's own rows")
    held = ", ".join(
        f"{table} {count}" for table, count in sorted(rows.items(), key=lambda r: -r[1])[:6]
    )
    if safety_problem:
        return Check("target holds no data", False, safety_problem)
    if overwrite:
        return Check(
            "target holds no data",
            True,
            f"it holds rows ({held}); overwrite is set, so a safety dump is taken first",
        )
    return Check(
        "target holds no data",
        False,
        f"The target already holds rows ({held}). Restore into a freshly migrated database, or set "
        "overwrite = True to replace them (a safety dump of the target is taken first).",
    )


@dataclass(frozen=True)
class RestoreOutcome:
    """A dry run, or a finished restore with its verification."""

    plan: RestorePlan
    dry_run: bool
    safety: BackupResult | None = None
    expected_errors: list[str] = field(default_factory=list)
    after: Fingerprint | None = None
    seconds: float = 0.0

    def describe(self) -> str:
        plan = self.plan
        if self.dry_run:
            if plan.refusals:
                return (
                    f"**Dry run, nothing was written to `{plan.target.endpoint}`.** As things are "
                    f"the restore would be refused: {' '.join(plan.refusals)}"
                )
            return (
                f"**Dry run, nothing was written to `{plan.target.endpoint}`.** To restore, set "
                f"confirm = {plan.confirm_value!r} and run again."
            )
        assert plan.manifest is not None
        assert plan.dump is not None
        safety = f" Safety dump of the target first: `{self.safety.dump}`." if self.safety else ""
        expected = (
            f" pg_restore reported {len(self.expected_errors)} expected duplicate(s) of rows the "
            f"migration wrote ({'; '.join(self.expected_errors)})."
            if self.expected_errors
            else ""
        )
        return (
            f"**Restored** `{plan.dump.name}` into `{plan.target.endpoint}` in {self.seconds:.1f} s."
            f"{safety}{expected} Row counts match the manifest in all "
            f"{len(plan.manifest.row_counts)} tables."
        )

    def verification_table(self) -> pd.DataFrame:
        """Each table's rows in the dump (manifest) and in the target now."""
        if self.after is None or self.plan.manifest is None:
            return pd.DataFrame(columns=["table", "in the dump", "in the target", "match"])
        return _comparison(self.plan.manifest.row_counts, self.after.row_counts)

    def summary(self) -> dict[str, Any]:
        plan = self.plan
        return {
            "target": plan.target.endpoint,
            "dump_file": str(plan.dump) if plan.dump else None,
            "dump_source": plan.manifest.source if plan.manifest else None,
            "alembic_revision": plan.manifest.alembic_revision if plan.manifest else None,
            "dry_run": self.dry_run,
            "refusals": plan.refusals,
            "checks": {check.name: check.verdict for check in plan.checks},
            "safety_dump": str(self.safety.dump) if self.safety else None,
            "expected_errors": self.expected_errors,
            "row_counts_after": self.after.row_counts if self.after else None,
        }


def _comparison(expected: dict[str, int], actual: dict[str, int]) -> pd.DataFrame:
    rows = [
        (table, count, actual.get(table), "yes" if actual.get(table) == count else "NO")
        for table, count in sorted(expected.items())
    ]
    return pd.DataFrame(rows, columns=["table", "in the dump", "in the target", "match"])


def restore(plan: RestorePlan, *, confirm: str, runbook: str = RUNBOOK) -> RestoreOutcome:
    """Carry out ``plan`` if ``confirm`` names the target and every check passed."""
    record = _recorder(plan, runbook)
    confirm = confirm.strip()
    if not confirm:
        would = f" (would be refused: {' '.join(plan.refusals)})" if plan.refusals else ""
        record(f"dry-run{would}", dry_run=True)
        return RestoreOutcome(plan, dry_run=True)

    def refuse(*reasons: str) -> RestoreRefusedError:
        record(f"refused: {' '.join(reasons)}", dry_run=True)
        return RestoreRefusedError(list(reasons))

    if report_mode():
        raise refuse("This run is in report mode (a scheduled report), which never changes anything.")
    if confirm != plan.confirm_value:
        raise refuse(
            f"confirm is {confirm!r} but the target database is {plan.confirm_value!r}; set "
            f"confirm = {plan.confirm_value!r} to restore into it."
        )
    if plan.refusals:
        raise refuse(*plan.refusals)
    current = fingerprint(plan.target.database, plan.target.schema)
    if (current.row_counts, current.alembic_revision) != (
        plan.target.row_counts,
        plan.target.alembic_revision,
    ):
        raise refuse(
            f"{plan.target.endpoint} changed since the plan was made (its row counts or revision "
            "differ); run the runbook again to see it as it is now."
        )
    try:
        return _carry_out(plan, record)
    except RestoreFailedError as error:
        record(f"failed: {error.message}", dry_run=False)
        raise
    except RunbookError as error:
        record(f"failed: {error}", dry_run=False)
        raise


def _carry_out(plan: RestorePlan, record: Callable[..., None]) -> RestoreOutcome:
    assert plan.manifest is not None
    started = time.monotonic()
    safety = None
    if plan.safety is not None:
        safety = backup(plan.safety)
        _empty_tables(plan.target)
    result = run_tool(plan.arguments())
    expected, unexpected = classify_restore_errors(
        result.stderr, result.returncode, plan.manifest.schema
    )
    after = fingerprint(plan.target.database, plan.target.schema)
    mismatches = {
        table: (count, after.row_counts.get(table, -1))
        for table, count in plan.manifest.row_counts.items()
        if after.row_counts.get(table) != count
    }
    kept = f" The safety dump of its earlier contents is {safety.dump}." if safety else ""
    if unexpected or mismatches:
        differing = ", ".join(
            f"{t} {want} in the dump, {got} now" for t, (want, got) in mismatches.items()
        )
        raise RestoreFailedError(
            f"The restore into {plan.target.endpoint} did not complete cleanly: "
            + (f"pg_restore reported: {' | '.join(unexpected)}. " if unexpected else "")
            + (f"Row counts differ: {differing}." if differing else ""),
            errors=unexpected,
            mismatches=mismatches,
            hint="The target may be partly restored." + kept + " Fix the cause, then restore again "
            "into a freshly migrated database (or with overwrite = True).",
        )
    outcome = RestoreOutcome(plan, False, safety, expected, after, time.monotonic() - started)
    record("done", dry_run=False, note=f"safety dump {safety.dump}" if safety else "")
    return outcome


def _empty_tables(target: Fingerprint) -> None:
    """Empty every table of the target but the version table, in one statement (overwrite only)."""
    tables = [table for table in target.row_counts if table != VERSION_TABLE]
    statement = sql.SQL("TRUNCATE {}").format(
        sql.SQL(", ").join(sql.Identifier(target.schema, table) for table in tables)
    )
    with connect(target.database, read_only=False) as connection:
        connection.execute(statement)
        connection.commit()


def classify_restore_errors(stderr: str, returncode: int, schema: str) -> tuple[list[str], list[str]]:
    """pg_restore's errors split into the expected ones (the migration's own rows inserted
    again: the alembic version, the DEFAULT ``campaigns_v2`` row) and every other one."""
    expected: list[str] = []
    unexpected: list[str] = []
    blocks = _ERROR_BLOCK.split(stderr)[1:]
    for block in blocks:
        block = block.split("\npg_restore: ")[0].strip()
        command = _COMMAND.search(block)
        statement = command.group(1) if command else ""
        prefix = rf'^INSERT INTO "?{re.escape(schema)}"?\.'
        if "duplicate key value" in block and re.match(rf"{prefix}{VERSION_TABLE} VALUES", statement):
            expected.append(f"{VERSION_TABLE} row {statement.split('VALUES', 1)[1].strip(' ;')}")
        elif "duplicate key value" in block and re.match(
            rf"{prefix}campaigns_v2 VALUES \('{DEFAULT_CAMPAIGN_V2_ID}'", statement
        ):
            expected.append("campaigns_v2 DEFAULT row")
        else:
            unexpected.append(" ".join(block.split())[:500])
    if returncode != 0 and not blocks:
        unexpected.append(" ".join(stderr.split())[-500:] or f"pg_restore exited with {returncode}")
    return expected, unexpected


def _recorder(plan: RestorePlan, runbook: str) -> Callable[..., None]:
    """One audit line per dry run, refusal, failure or restore of ``plan``."""

    def record(outcome: str, *, dry_run: bool, note: str = "") -> None:
        audit.append(
            audit.AuditRecord(
                runbook=runbook,
                action="restore",
                target_kind="database",
                target_id=None,
                target_fullname=plan.target.endpoint,
                method="pg_restore",
                path=str(plan.dump) if plan.dump else "",
                outcome=outcome,
                dry_run=dry_run,
                status_before=f"revision {plan.target.alembic_revision}, "
                f"{sum(plan.target.row_counts.values())} rows",
                note=note,
            )
        )

    return record
