"""Run a runbook headless with papermill and keep the record of the run.

Each run gets its own folder ``runs/<UTC timestamp>_<runbook>_<target>/`` holding the executed
notebook (the full record), ``report.html`` (outputs only, no code, readable offline) and
``summary.json`` (what the notebook concluded, for machines). A failed run keeps the executed
notebook with papermill's error banner at the top and names the failing cell.
"""

from __future__ import annotations

import json
import os
import re
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from . import html_report
from .headless import REPORT_MODE_ENV, SUMMARY_MIME
from .runbooks import Runbook, default_campaign

DEFAULT_RUNS_DIR = Path("runs")

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
KERNEL_NAME = "python3"


@dataclass(frozen=True)
class RunResult:
    """Where a run's files are and how it ended."""

    directory: Path
    notebook: Path
    html: Path
    summary: dict[str, Any]

    @property
    def ok(self) -> bool:
        return self.summary["status"] == "ok"


def run_target(runbook: Runbook, parameters: Mapping[str, Any]) -> str:
    """What the run is about, for its folder name: the campaign, else the first parameter."""
    if "campaign" in runbook.parameters:
        return default_campaign(str(parameters.get("campaign", "")))
    first = next(iter(runbook.parameters), None)
    if first is None:
        return "run"
    value = parameters.get(first, runbook.parameters[first].default)
    return f"{first}-{value}"


def run_directory(runs_dir: Path, runbook: Runbook, target: str) -> Path:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    name = _UNSAFE.sub("-", f"{stamp}_{runbook.name}_{target}").strip("-")
    directory = runs_dir / name
    directory.mkdir(parents=True, exist_ok=False)
    return directory


KERNEL_ARGUMENTS = [
    # The kernel's own start-up warnings (TCP transport) are noise in a report run.
    "--IPKernelApp.log_level=ERROR",
    # A headless run keeps no IPython history (and writes nothing to the home directory).
    "--HistoryManager.hist_file=:memory:",
]


def _start_kernel(cwd: Path, environment: Mapping[str, str]) -> Any:
    """Launch the notebook's kernel now, so it boots while papermill is still being imported."""
    from jupyter_client.manager import AsyncKernelManager
    from jupyter_core.utils import run_sync

    kernel = AsyncKernelManager(kernel_name=KERNEL_NAME)
    run_sync(kernel.start_kernel)(
        cwd=str(cwd), env={**os.environ, **environment}, extra_arguments=KERNEL_ARGUMENTS
    )
    return kernel


def execute(
    runbook: Runbook,
    parameters: Mapping[str, Any],
    *,
    runs_dir: Path = DEFAULT_RUNS_DIR,
    report_mode: bool = False,
    timeout_s: float | None = None,
) -> RunResult:
    """Run ``runbook`` with ``parameters`` (already validated) and write its three files."""
    directory = run_directory(runs_dir, runbook, run_target(runbook, parameters))
    output = directory / f"{runbook.name}.ipynb"
    started = time.monotonic()
    kernel = _start_kernel(runbook.path.parent, {REPORT_MODE_ENV: "1"} if report_mode else {})
    failure: dict[str, Any] | None = None
    try:
        _papermill(runbook.path, output, parameters, kernel, timeout_s)
    except Exception as exc:  # every way a run can fail is recorded in its summary, not raised
        failure = _failure(exc)
    finally:
        stopping = threading.Thread(target=_stop_kernel, args=(kernel,))
        stopping.start()  # the kernel exits while the report is written
    duration = round(time.monotonic() - started, 2)
    summary = _summary(runbook, parameters, output, failure, duration)
    (directory / "summary.json").write_text(json.dumps(summary, indent=2, default=str) + "\n")
    html = directory / "report.html"
    if output.exists():
        title = f"{runbook.title}: {run_target(runbook, parameters)}"
        html.write_text(html_report.render(_read(output), title), encoding="utf-8")
    stopping.join()
    return RunResult(directory, output, html, summary)


def _stop_kernel(kernel: Any) -> None:
    from jupyter_core.utils import run_sync

    run_sync(kernel.shutdown_kernel)(now=True)


def _papermill(
    notebook: Path, output: Path, parameters: Mapping[str, Any], kernel: Any, timeout_s: float | None
) -> None:
    # The fast validator: papermill validates the whole notebook when it saves it.
    os.environ.setdefault("NBFORMAT_VALIDATOR", "fastjsonschema")
    import papermill

    from .papermill_engine import ENGINE_NAME

    deadline = None if timeout_s is None else time.monotonic() + timeout_s

    def remaining(cell: Any) -> int | None:
        """Each cell gets what is left of the run's time, so the limit holds for the whole run."""
        return None if deadline is None else max(1, int(deadline - time.monotonic()))

    papermill.execute_notebook(
        str(notebook),
        str(output),
        parameters=dict(parameters),
        kernel_name=KERNEL_NAME,
        engine_name=ENGINE_NAME,
        km=kernel,
        progress_bar=False,
        timeout_func=remaining,
    )


def _failure(exc: Exception) -> dict[str, Any]:
    """What went wrong, named as papermill names a failing cell when it was one."""
    from papermill.exceptions import PapermillExecutionError

    if isinstance(exc, PapermillExecutionError):
        return {
            "cell_index": exc.cell_index,
            "execution_count": exc.exec_count,
            "error": exc.ename,
            "message": exc.evalue,
        }
    return {"cell_index": None, "error": type(exc).__name__, "message": str(exc)}


def _read(notebook_path: Path) -> dict[str, Any]:
    """The notebook's JSON, without nbformat's (slow, here unneeded) validation."""
    return json.loads(notebook_path.read_text(encoding="utf-8"))


def collected_summary(notebook_path: Path) -> dict[str, Any]:
    """The summary the notebook recorded (the last one wins), or an empty dict."""
    if not notebook_path.exists():
        return {}
    found: dict[str, Any] = {}
    for cell in _read(notebook_path)["cells"]:
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            if SUMMARY_MIME in data:
                found = dict(data[SUMMARY_MIME])
    return found


def _summary(
    runbook: Runbook,
    parameters: Mapping[str, Any],
    notebook: Path,
    failure: dict[str, Any] | None,
    duration: float,
) -> dict[str, Any]:
    recorded = collected_summary(notebook)
    summary: dict[str, Any] = {
        "runbook": runbook.name,
        "parameters": dict(parameters),
        "status": "failed" if failure else "ok",
        "duration_s": duration,
        "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
        **recorded,
    }
    if failure:
        summary["failure"] = failure
    return summary


def failure_line(summary: dict[str, Any]) -> str:
    """Which cell failed and why, in one line (for the CLI and the scheduled report)."""
    failure = summary["failure"]
    cell = failure.get("cell_index")
    where = f"cell {cell} (In [{failure.get('execution_count')}])" if cell is not None else "the run"
    return f"{where} failed: {failure['error']}: {failure['message']}"
