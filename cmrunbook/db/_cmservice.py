"""What the runbook knows about a CM Service database: its alembic head, the rows the migration
itself writes, and the tables a pilot recognises.

A restore into a freshly migrated database meets the migration's own rows again (pg_restore
reports them as duplicates), and "does the target already hold data?" must not count them.
"""

from __future__ import annotations

from ..cmschema import DEFAULT_CAMPAIGN_V2_ID, HEAD_REVISION, VERSION_TABLE

__all__ = ["DEFAULT_CAMPAIGN_V2_ID", "HEAD_REVISION", "MAIN_TABLES", "VERSION_TABLE"]

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
