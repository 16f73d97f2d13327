"""``runs/index.html``: the history of runs as one page a reader can browse offline.

One row per run, newest first: when, which campaign, the verdict in its colour, what changed
since the previous report, and links to the report and the executed notebook (relative, so the
folder can be copied or served anywhere). The page shell and style are the HTML report's.
"""

from __future__ import annotations

import html
import os
from pathlib import Path

from . import html_report
from .changes import FAILED
from .diagnose import VERDICT_COLOURS
from .history import ALL_CAMPAIGNS, Run, read_runs
from .report import failure_line

INDEX_FILE = "index.html"
_FAILED_COLOUR = "#24292f"
_OTHER_COLOUR = "#57606a"
_HEADER = ("time (UTC)", "campaign", "verdict", "what changed", "report", "notebook")


def write(runs_dir: Path) -> Path:
    """Regenerate the index from the run folders; replaced in one step, so a reader (or a
    concurrent report) never sees half a page."""
    page = render(read_runs(runs_dir))
    target = runs_dir / INDEX_FILE
    partial = runs_dir / f".{INDEX_FILE}.{os.getpid()}.tmp"
    partial.write_text(page, encoding="utf-8")
    os.replace(partial, target)
    return target


def render(runs: list[Run]) -> str:
    """The page for ``runs`` (newest first): each campaign's latest verdict, then every run."""
    head = "".join(f"<th>{name}</th>" for name in _HEADER)
    rows = "\n".join(_row(run) for run in runs)
    body = (
        f"<h1>cmrunbook runs</h1><p><b>Latest report of each campaign:</b> {_latest(runs)}</p>"
        f"<p>{len(runs)} run(s), newest first. A scheduled report (<code>cmrunbook report</code>) "
        "says what changed since the campaign's previous report.</p>"
        f"<table><tr>{head}</tr>\n{rows}</table>"
    )
    return html_report.page("cmrunbook runs", body)


def _verdict(run: Run) -> str:
    """green/amber/red from the run's summary, ``failed`` when it failed, else ``ok``."""
    if not run.ok:
        return FAILED
    return str(run.summary.get("verdict", "ok"))


def _what_changed(run: Run) -> str:
    """The scheduled report's change line; for other runs, their failure or their reason."""
    if run.change is not None:
        return str(run.change["text"])
    if not run.ok:
        return failure_line(run.summary)
    return str(run.summary.get("reason", ""))


def _latest(runs: list[Run]) -> str:
    """A badge per campaign for its newest status report, linked to that report. A report that
    could not even list the campaigns shows only while nothing newer has run."""
    reports = [run for run in runs if run.is_report]
    newest: dict[str, Run] = {}
    for position, run in enumerate(reports):
        if run.campaign != ALL_CAMPAIGNS or position == 0:
            newest.setdefault(run.campaign, run)
    badges = [
        f"{_link(run.directory / 'report.html', _badge(run)) or _badge(run)} {html.escape(campaign)}"
        for campaign, run in sorted(newest.items())
    ]
    return " &nbsp; ".join(badges) or "none yet."


def _colour(label: str) -> str:
    """The verdict colours of the notebooks' own verdict line."""
    colours = {str(verdict): colour for verdict, colour in VERDICT_COLOURS.items()}
    return colours.get(label, _FAILED_COLOUR if label == FAILED else _OTHER_COLOUR)


def _badge(run: Run) -> str:
    label = _verdict(run)
    colour = _colour(label)
    return f'<b style="color:#fff;background:{colour};padding:1px 6px">{html.escape(label.upper())}</b>'


def _row(run: Run) -> str:
    finished = str(run.summary.get("finished_at", "")).replace("T", " ").removesuffix("+00:00")
    cells = (
        html.escape(finished),
        html.escape(_about(run)),
        _badge(run),
        html.escape(_what_changed(run)),
        _link(run.directory / "report.html", "report"),
        _link(run.directory / f"{run.runbook}.ipynb", "notebook"),
    )
    return "<tr>" + "".join(f"<td>{cell}</td>" for cell in cells) + "</tr>"


def _about(run: Run) -> str:
    """The campaign for a status report; for another runbook, its name and parameters."""
    if run.is_report:
        return run.campaign
    parameters = ", ".join(f"{key}={value}" for key, value in run.summary.get("parameters", {}).items())
    return f"{run.runbook} ({parameters})" if parameters else run.runbook


def _link(path: Path, text: str) -> str:
    """A link relative to the index, or nothing when the run did not leave that file."""
    if not path.is_file():
        return ""
    href = html.escape(f"{path.parent.name}/{path.name}", quote=True)
    return f'<a href="{href}">{text}</a>'
