"""The contract between the runner and the notebooks it runs: report mode and the summary.

A tiny module on purpose: the ``cmrunbook`` command imports it without pulling in the notebook
helpers (pandas, the client), which only the kernel needs.
"""

from __future__ import annotations

import os

REPORT_MODE_ENV = "CMRUNBOOK_REPORT_MODE"
"""Set to ``1`` for scheduled runs: every mutation is then refused, whatever the parameters."""

SUMMARY_MIME = "application/vnd.cmrunbook.summary+json"
"""Outputs of this type carry a run's machine-readable summary; the runner collects them."""


def report_mode() -> bool:
    """Whether this process runs a scheduled report, in which every mutation is refused."""
    return os.environ.get(REPORT_MODE_ENV, "").lower() in {"1", "true", "yes"}
