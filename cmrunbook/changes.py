"""What changed in a campaign between two status reports, as facts and as one line for a reader.

Pure functions over two ``summary.json`` dicts (the previous successful report and the current
one), so the scheduled report, the index page and the notification all say the same thing and
the rules are tested without running a notebook.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from .diagnose import Situation
from .report import failure_line

FAILED = "failed"
"""The verdict shown for a report that could not be produced."""

LONG_RUNNING = str(Situation.script_long_running)

_LISTED_ITEMS = 3
"""How many items a one-line summary names before it says 'and N more'."""


@dataclass(frozen=True)
class Change:
    """A campaign's report compared with its previous successful report.

    ``previous_verdict`` is None for a campaign's first report; ``failure`` is set (and the
    comparison empty) when this report could not be produced.
    """

    campaign: str
    verdict: str
    previous_verdict: str | None = None
    new_items: list[dict[str, Any]] = field(default_factory=list)
    resolved_items: list[dict[str, Any]] = field(default_factory=list)
    counts_moved: dict[str, tuple[int, int]] = field(default_factory=dict)
    still_long_running: list[int] = field(default_factory=list)
    hours_since_previous: float | None = None
    failure: str | None = None

    @property
    def first(self) -> bool:
        return self.previous_verdict is None

    @property
    def verdict_changed(self) -> bool:
        return not self.first and self.verdict != self.previous_verdict

    @property
    def new_red_items(self) -> list[dict[str, Any]]:
        return [item for item in self.new_items if item["verdict"] == "red"]

    @property
    def worth_notifying(self) -> bool:
        """Tell someone only when the verdict moved or something new turned red; a report that
        failed is for cron's alert (the exit status), not for the pilots' channel."""
        return self.failure is None and (self.verdict_changed or bool(self.new_red_items))

    @property
    def text(self) -> str:
        """One line: what a reader of the index needs to know about this report."""
        if self.failure is not None:
            return f"report failed: {self.failure}"
        if self.first:
            if not self.new_items:
                return "first report: nothing needs a pilot"
            return f"first report: {_list_items(self.new_items)} ({len(self.new_red_items)} red)"
        parts = []
        if self.verdict_changed:
            parts.append(f"{self.previous_verdict} → {self.verdict}")
        if self.new_items:
            parts.append(f"new: {_list_items(self.new_items)}")
        if self.resolved_items:
            parts.append(f"resolved: {_list_items(self.resolved_items)}")
        if self.counts_moved:
            moved = ", ".join(f"{status} {a}→{b}" for status, (a, b) in self.counts_moved.items())
            parts.append(f"counts: {moved}")
        if self.still_long_running:
            scripts = ", ".join(map(str, self.still_long_running))
            parts.append(f"still running long{self._later()}: script {scripts}")
        return "; ".join(parts) if parts else f"no change since the previous report{self._ago()}"

    def _later(self) -> str:
        return "" if self.hours_since_previous is None else f" {self.hours_since_previous:.1f} h later"

    def _ago(self) -> str:
        return "" if self.hours_since_previous is None else f" ({self.hours_since_previous:.1f} h ago)"

    def as_dict(self) -> dict[str, Any]:
        """What ``change.json`` holds: the facts, the line and whether it was worth telling."""
        return {**asdict(self), "text": self.text, "notify": self.worth_notifying}


def compare(previous: dict[str, Any] | None, current: dict[str, Any], campaign: str) -> Change:
    """The change from ``previous`` (a successful report's summary, or None) to ``current``."""
    if current.get("status") != "ok":
        return Change(campaign, FAILED, failure=failure_line(current))
    items = current.get("attention", [])
    if previous is None:
        return Change(campaign, current["verdict"], new_items=items)
    before = {_key(item): item for item in previous.get("attention", [])}
    after = {_key(item): item for item in items}
    return Change(
        campaign,
        current["verdict"],
        previous_verdict=previous["verdict"],
        new_items=[item for key, item in after.items() if key not in before],
        resolved_items=[item for key, item in before.items() if key not in after],
        counts_moved=_counts_moved(previous.get("counts", {}), current.get("counts", {})),
        still_long_running=[
            item["script_id"]
            for key, item in after.items()
            if key in before and item["situation"] == LONG_RUNNING
        ],
        hours_since_previous=_hours_between(previous.get("finished_at"), current.get("finished_at")),
    )


def _key(item: dict[str, Any]) -> tuple[str, str]:
    """An attention item is the same item when the same target is in the same situation."""
    return item["situation"], item["target"]


def _counts_moved(before: dict[str, int], after: dict[str, int]) -> dict[str, tuple[int, int]]:
    """Statuses whose number of scripts changed, in the order the current report lists them."""
    statuses = list(after) + [status for status in before if status not in after]
    return {
        status: (before.get(status, 0), after.get(status, 0))
        for status in statuses
        if before.get(status, 0) != after.get(status, 0)
    }


def _hours_between(start: str | None, end: str | None) -> float | None:
    if not start or not end:
        return None
    elapsed = datetime.fromisoformat(end) - datetime.fromisoformat(start)
    return round(elapsed.total_seconds() / 3600.0, 2)


def _label(item: dict[str, Any]) -> str:
    """``script 12 failed`` or ``campaign rejected``: short enough for one line."""
    state = "running long" if item["situation"] == LONG_RUNNING else item["status"]
    if item.get("script_id"):
        return f"script {item['script_id']} {state}"
    return f"campaign {state}"


def _list_items(items: list[dict[str, Any]]) -> str:
    named = ", ".join(_label(item) for item in items[:_LISTED_ITEMS])
    more = len(items) - _LISTED_ITEMS
    return f"{named} and {more} more" if more > 0 else named
