"""What every runbook notebook does around its steps: connect, show, explain, record, act.

Keeps notebooks thin: a cell calls one of these and reads like a step of the cookbook. Errors
from the runbook (unknown campaign, unreachable service, refused action) show as the one
paragraph they carry instead of a traceback, in JupyterLab and under papermill alike; the cell
still fails, so a headless run stops there and says which cell failed.
"""

from ._change import run_campaign_step, show_campaign_state, show_data_changes
from ._core import act, connect, now, record_summary, say, setup, show_banner
from ._scripts import (
    RESET_WARNING,
    blocked_sentence,
    cm_ops_message,
    locations_table,
    parent_job,
    register_fix,
    script_facts,
    show_failure_patterns,
    show_long_running,
    show_submit_directory,
)
from ._status import (
    findings_table,
    overrides_table,
    processing_sentence,
    show_verdict,
    status_bar_chart,
    status_summary,
)

__all__ = [
    "RESET_WARNING",
    "act",
    "blocked_sentence",
    "cm_ops_message",
    "connect",
    "findings_table",
    "locations_table",
    "now",
    "overrides_table",
    "parent_job",
    "processing_sentence",
    "record_summary",
    "register_fix",
    "run_campaign_step",
    "say",
    "script_facts",
    "setup",
    "show_banner",
    "show_campaign_state",
    "show_data_changes",
    "show_failure_patterns",
    "show_long_running",
    "show_submit_directory",
    "show_verdict",
    "status_bar_chart",
    "status_summary",
]
