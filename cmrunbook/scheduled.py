"""``cmrunbook report``: the scheduled status report of many campaigns, with history and alerts.

For each campaign it runs the status runbook headless in report mode (no action possible,
whatever the parameters), compares the summary with the campaign's previous report, files the
change next to the run, and tells the chat channel when the campaign turned. Then it prunes old
runs and regenerates ``runs/index.html``. One campaign's failure or time-out never stops the
others; the exit status says whether every report was produced, so cron can alert.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from . import history, index_page, notify, report
from .changes import Change, compare
from .client import CMClient
from .config import Secret
from .errors import ParameterError, ServiceError
from .runbooks import get_runbook
from .status import StatusEnum


@dataclass(frozen=True)
class ReportRequest:
    """What to report on and where; ``campaigns`` or ``all_campaigns``, not both.

    ``timeout_s`` is handed to the runner for each campaign's run (see :func:`report.execute`).
    """

    campaigns: tuple[str, ...]
    all_campaigns: bool
    runs_dir: Path
    timeout_s: float
    keep: int | None = None
    notify_url: Secret | None = None
    runs_url: str = ""


@dataclass(frozen=True)
class CampaignReport:
    """One campaign's report: its run folder, what changed, and whether the channel was told
    (None: nothing worth telling, or no webhook)."""

    campaign: str
    directory: Path
    change: Change
    notified: bool | None = None

    @property
    def ok(self) -> bool:
        return self.change.failure is None

    @property
    def line(self) -> str:
        told = {None: "", True: " [notified]", False: " [notification failed]"}[self.notified]
        verdict = self.change.verdict.upper()
        return f"{self.campaign}: {verdict}: {self.change.text}{told} ({self.directory})"


@dataclass(frozen=True)
class ReportOutcome:
    reports: list[CampaignReport]
    index: Path

    @property
    def exit_code(self) -> int:
        """0 when every report was produced, 1 otherwise (cron mails on a non-zero status)."""
        return 0 if all(item.ok for item in self.reports) else 1


def is_finished(status: StatusEnum) -> bool:
    """Accepted or rescued. Rejected and failed campaigns are not finished: they are the ones
    that need a pilot most (a campaign being changed is rejected on purpose)."""
    return status.value >= StatusEnum.accepted.value


def campaigns_to_report(client: CMClient) -> list[str]:
    """Every campaign that is not finished, by id."""
    campaigns = sorted(client.campaign.list(), key=lambda campaign: campaign.id)
    return [campaign.fullname for campaign in campaigns if not is_finished(campaign.status)]


def run(request: ReportRequest) -> ReportOutcome:
    """Report on every campaign asked for, then prune and regenerate the index."""
    named = _campaign_names(request)
    request.runs_dir.mkdir(parents=True, exist_ok=True)
    try:
        campaigns = _all_campaigns() if request.all_campaigns else named
    except ServiceError as error:
        failed = history.record_failure(request.runs_dir, error)
        change = compare(None, failed.summary, history.ALL_CAMPAIGNS)
        reports = [CampaignReport(history.ALL_CAMPAIGNS, failed.directory, change)]
    else:
        earlier = history.read_runs(request.runs_dir)
        reports = [_report(request, campaign, earlier) for campaign in campaigns]
    if request.keep is not None:
        history.prune(request.runs_dir, request.keep)
    return ReportOutcome(reports, index_page.write(request.runs_dir))


def _campaign_names(request: ReportRequest) -> list[str]:
    """The campaigns named, without repeats; refuses an empty or a contradictory request."""
    if request.campaigns and request.all_campaigns:
        raise ParameterError(
            "Name campaigns or give --all, not both.",
            hint="--all already reports every campaign that is not finished.",
        )
    named = list(dict.fromkeys(name.strip() for name in request.campaigns if name.strip()))
    if not named and not request.all_campaigns:
        raise ParameterError(
            "No campaign to report on.",
            hint="Name one or more campaigns (their fullnames), or give --all for every "
            "campaign that is not finished.",
        )
    return named


def _all_campaigns() -> list[str]:
    with CMClient() as client:
        return campaigns_to_report(client)


def _report(request: ReportRequest, campaign: str, earlier: list[history.Run]) -> CampaignReport:
    result = report.execute(
        get_runbook(history.STATUS_RUNBOOK),
        {"campaign": campaign},
        runs_dir=request.runs_dir,
        report_mode=True,
        timeout_s=request.timeout_s,
    )
    previous = history.previous_report(earlier, campaign, result.directory)
    change = compare(previous.summary if previous else None, result.summary, campaign)
    history.write_change(result.directory, change)
    notified = None
    if request.notify_url is not None and change.worth_notifying:
        link = _link(request, result.html)
        notified = notify.post(request.notify_url, notify.message(change, link))
    return CampaignReport(campaign, result.directory, change, notified)


def _link(request: ReportRequest, html: Path) -> str:
    """Where a reader opens the report: under ``runs_url`` when the runs folder is published
    there, else the file itself."""
    if request.runs_url:
        return f"{request.runs_url.rstrip('/')}/{html.parent.name}/{html.name}"
    return html.resolve().as_uri()
