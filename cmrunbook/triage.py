"""Which runbook to open: a campaign's findings grouped by the cookbook's situations.

The triage runbook's helper. Classification is :func:`cmrunbook.diagnose.diagnose`, the same
rules as the status runbook and the scheduled report; this module only picks what the pilot
asked about (the campaign, or one script), groups it by situation, worst first, and says for
each situation which notebook to open and the exact ``cmrunbook run`` commands.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .diagnose import RULES, Diagnosis, Finding, Situation, Verdict
from .errors import ParameterError
from .models import ScriptLike
from .nb import say
from .runbooks import default_campaign

HEADINGS: dict[Situation, str] = {
    Situation.script_failed: "My script is failed",
    Situation.script_blocked: "My script is blocked",
    Situation.script_rejected: "My script was rejected (it is reset like a failed one)",
    Situation.script_long_running: "My script is still running after a long time",
    Situation.script_reviewable: "My script awaits review (...and I fixed it!)",
    Situation.campaign_rejected: "My campaign is rejected (change it, then resume it)",
    Situation.campaign_not_processing: "My campaign is not being processed (no active queue)",
}
"""Each situation in the cookbook's words, as the pilot would look it up."""

MAX_ROWS = 20
"""Commands listed per situation; the status runbook lists every item of a large campaign."""

_SEVERITY = [Verdict.red, Verdict.amber, Verdict.green]


@dataclass(frozen=True)
class Recommendation:
    """One situation present in the campaign, with every finding in it."""

    situation: Situation
    findings: list[Finding]

    @property
    def runbook(self) -> str:
        return RULES[self.situation].runbook

    @property
    def notebook(self) -> str:
        """The notebook's file name, a link that JupyterLab opens beside this one."""
        return f"{self.runbook}.ipynb"

    def as_dict(self) -> dict[str, Any]:
        return {
            "situation": str(self.situation),
            "verdict": str(RULES[self.situation].verdict),
            "runbook": self.runbook,
            "notebook": self.notebook,
            "commands": [finding.command for finding in self.findings],
        }


@dataclass(frozen=True)
class Triage:
    """The recommendations for a campaign, or for one script of it."""

    diagnosis: Diagnosis
    recommendations: list[Recommendation]
    script: ScriptLike | None = None

    @property
    def healthy(self) -> bool:
        return not self.recommendations

    @property
    def script_in_a_situation(self) -> bool:
        """Whether the script asked about is itself in one of the situations."""
        return self.script is not None and any(
            finding.script_id == self.script.id
            for item in self.recommendations
            for finding in item.findings
        )

    def summary(self) -> dict[str, Any]:
        """The triage run's machine-readable conclusion (``summary.json``)."""
        return {
            "campaign": self.diagnosis.campaign,
            "script_id": self.script.id if self.script else None,
            "verdict": str(self.diagnosis.verdict),
            "healthy": self.healthy,
            "recommendations": [item.as_dict() for item in self.recommendations],
        }


def campaign_for(campaign: str, script: ScriptLike | None) -> str:
    """The campaign to triage: as given, else the script's own, else the default campaign.

    A script of another campaign is refused: its findings would silently be missing.
    """
    if script is None:
        return default_campaign(campaign)
    own = script.fullname.split("/", 1)[0]
    if campaign and campaign != own:
        raise ParameterError(
            f"Script {script.id} belongs to campaign {own!r}, not {campaign!r}.",
            hint=f"Set campaign = {own!r}, or leave it empty to use the script's own campaign.",
        )
    return own


def triage(diagnosis: Diagnosis, script: ScriptLike | None = None) -> Triage:
    """Group the findings by situation, worst first; with ``script``, only the findings about
    that script and the campaign itself (a rejected campaign holds every script back)."""
    findings = [
        finding
        for finding in diagnosis.findings
        if script is None or finding.script_id in (None, script.id)
    ]
    situations = sorted(
        {finding.situation for finding in findings},
        key=lambda s: (_SEVERITY.index(RULES[s].verdict), list(Situation).index(s)),
    )
    groups = [
        Recommendation(situation, [finding for finding in findings if finding.situation is situation])
        for situation in situations
    ]
    return Triage(diagnosis, groups, script)


def show(result: Triage) -> None:
    """Say what to open: nothing for a healthy campaign, else one section per situation."""
    diagnosis = result.diagnosis
    if result.script is not None and not result.script_in_a_situation:
        say(
            f"Script {result.script.id} (`{result.script.fullname}`) is "
            f"**{result.script.status.name}**: none of the cookbook's script situations applies "
            "to it. The `campaign_status` runbook shows it among the campaign's scripts."
        )
    if result.healthy:
        say(f"**{diagnosis.campaign} is healthy:** {diagnosis.reason} No runbook to open.")
        return
    for item in result.recommendations:
        say(_section(item))


def _section(item: Recommendation) -> str:
    rows = [
        f"| {finding.target} | {finding.status} | `{finding.command}` |"
        for finding in item.findings[:MAX_ROWS]
    ]
    more = len(item.findings) - MAX_ROWS
    tail = f"\n\n...and {more} more: the `campaign_status` runbook lists them all." if more > 0 else ""
    return (
        f"### {HEADINGS[item.situation]} → `{item.runbook}`\n\n"
        f"{len(item.findings)} item(s): {RULES[item.situation].why}. Open "
        f"[{item.notebook}]({item.notebook}) in JupyterLab and set the parameters shown in the "
        "command in its first cell, or run the command below in a shell.\n\n"
        "| target | status | command |\n|---|---|---|\n" + "\n".join(rows) + tail
    )
