"""What the runbook knows about a CM Service database: its alembic head, the rows the migration
itself writes, and the tables a pilot recognises.

A restore into a freshly migrated database meets the migration's own rows again (pg_restore
reports them as duplicates), and "does the target already hold data?" must not count them.
"""

from __future__ import annotations

HEAD_REVISION = "0bac2c4206b1"
"""CM Service 0.8.0's alembic head (``create_audit_log_table``)."""

DEFAULT_CAMPAIGN_V2_ID = "dda54a0c-6878-5c95-ac4f-007f6808049e"
"""The ``campaigns_v2`` row named DEFAULT that the migration inserts."""

DEFAULT_CAMPAIGN_V2 = {
    "id": DEFAULT_CAMPAIGN_V2_ID,
    "name": "DEFAULT",
    "namespace": "6ba7b810-9dad-11d1-80b4-00c04fd430c8",
    "owner": "root",
    "metadata": "{}",
    "configuration": "{}",
    "status": "waiting",
    "machine": None,
}

VERSION_TABLE = "alembic_version"

MAIN_TABLES = (
    "campaign",
    "step",
    "group",
    "job",
    "script",
    "script_error",
    "queue",
    "spec_block",
    "specification",
    "campaigns_v2",
    "nodes_v2",
)
"""Shown one by one in a fingerprint; the other tables are summed into one line."""
