"""Back up and restore CM Service's PostgreSQL database: the cookbook's pg_dump and pg_restore,
with a fingerprint of the database first, checks before and after, and a manifest per dump.

The notebooks ``database_backup`` and ``database_restore`` call these names; the connection
always comes from the libpq environment (``PGHOST``, ``PGPORT``, ``PGUSER``, ``PGPASSWORD`` or
``~/.pgpass``), never from a parameter.
"""

from ..cmschema import apply_schema
from ._backup import BackupPlan, BackupResult, backup, plan_backup
from ._cmservice import DEFAULT_CAMPAIGN_V2_ID, HEAD_REVISION
from ._connection import Fingerprint, fingerprint, is_local, resolve_database
from ._errors import (
    ClientToolError,
    DatabasePermissionError,
    DatabaseUnreachableError,
    DumpError,
    NotEnoughSpaceError,
    RestoreFailedError,
    RestoreRefusedError,
    UnknownDatabaseError,
)
from ._manifest import Manifest, dump_dir, manifest_path, newest_dump, read_manifest, sha256_of
from ._migrate import create_migrated_database
from ._restore import Check, RestoreOutcome, RestorePlan, classify_restore_errors, plan_restore, restore
from ._tools import ClientTool, find_client

__all__ = [
    "DEFAULT_CAMPAIGN_V2_ID",
    "HEAD_REVISION",
    "BackupPlan",
    "BackupResult",
    "Check",
    "ClientTool",
    "ClientToolError",
    "DatabasePermissionError",
    "DatabaseUnreachableError",
    "DumpError",
    "Fingerprint",
    "Manifest",
    "NotEnoughSpaceError",
    "RestoreFailedError",
    "RestoreOutcome",
    "RestorePlan",
    "RestoreRefusedError",
    "UnknownDatabaseError",
    "apply_schema",
    "backup",
    "classify_restore_errors",
    "create_migrated_database",
    "dump_dir",
    "find_client",
    "fingerprint",
    "is_local",
    "manifest_path",
    "newest_dump",
    "plan_backup",
    "plan_restore",
    "read_manifest",
    "resolve_database",
    "restore",
    "sha256_of",
]
