"""From what CM Service says to what a pilot should do: findings, a verdict, the next runbook.

Pure functions over the reply models, so the status runbook, the triage runbook and the
scheduled report all classify a campaign the same way, and the rules are tested without HTTP.
"""

from __future__ import annotations

import re
import shlex
import time
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any

from .models import Campaign, Queue, ScriptLike
from .status import StatusEnum


class Verdict(StrEnum):
    """Green: nothing needs a pilot. Amber: something to look at. Red: something is broken."""

    green = "green"
    amber = "amber"
    red = "red"


VERDICT_COLOURS = {Verdict.green: "#1a7f37", Verdict.amber: "#b7791f", Verdict.red: "#c62828"}
"""One colour per verdict, the same in a report's verdict line and in the index of runs."""


class Situation(StrEnum):
    """The cookbook's situations that a campaign's state can show."""

    script_failed = "script_failed"
    script_blocked = "script_blocked"
    script_rejected = "script_rejected"
    script_long_running = "script_long_running"
    script_reviewable = "script_reviewable"
    campaign_rejected = "campaign_rejected"
    campaign_not_processing = "campaign_not_processing"


@dataclass(frozen=True)
class SituationRule:
    """How a situation is reported: its severity, the runbook for it, and why it matters."""

    verdict: Verdict
    runbook: str
    why: str


RULES: dict[Situation, SituationRule] = {
    Situation.script_failed: SituationRule(
        Verdict.red, "script_failed", "failed: read its diagnostics, fix the cause, then reset it"
    ),
    Situation.script_blocked: SituationRule(
        Verdict.red,
        "script_blocked",
        "blocked: its WMS jobs were held; after the intervention, accept or re-check it",
    ),
    Situation.script_rejected: SituationRule(
        Verdict.red, "script_failed", "rejected: it will not run again unless it is reset"
    ),
    Situation.script_long_running: SituationRule(
        Verdict.amber,
        "script_long_running",
        "running longer than the threshold: check its BPS submit directory and logs",
    ),
    Situation.script_reviewable: SituationRule(
        Verdict.amber,
        "script_fixed",
        "awaiting review: scripts that depend on it wait until it is accepted",
    ),
    Situation.campaign_rejected: SituationRule(
        Verdict.red,
        "campaign_change",
        "the campaign is rejected: the daemon ignores it until it is resumed",
    ),
    Situation.campaign_not_processing: SituationRule(
        Verdict.green,
        "campaign_change",
        "no active queue points at the campaign, so CM Service is not processing it",
    ),
}

_SCRIPT_SITUATIONS = {
    StatusEnum.failed: Situation.script_failed,
    StatusEnum.blocked: Situation.script_blocked,
    StatusEnum.rejected: Situation.script_rejected,
    StatusEnum.reviewable: Situation.script_reviewable,
}


@dataclass(frozen=True)
class Finding:
    """One thing that needs a pilot, with the runbook that handles it, parameters filled in."""

    situation: Situation
    target: str
    status: str
    reason: str
    runbook: str
    parameters: dict[str, Any]
    script_id: int | None = None

    @property
    def verdict(self) -> Verdict:
        return RULES[self.situation].verdict

    @property
    def command(self) -> str:
        """The exact ``cmrunbook run`` command line for the handling runbook."""
        args = " ".join(f"-p {key} {shlex.quote(str(value))}" for key, value in self.parameters.items())
        return f"cmrunbook run {self.runbook} {args}".strip()

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "verdict": str(self.verdict), "command": self.command}


@dataclass(frozen=True)
class Diagnosis:
    """The verdict on a campaign, its one-sentence reason, and every finding behind it."""

    campaign: str
    verdict: Verdict
    reason: str
    findings: list[Finding] = field(default_factory=list)

    @property
    def attention(self) -> list[Finding]:
        """The findings that need a pilot (everything that is not merely informational)."""
        return [finding for finding in self.findings if finding.verdict is not Verdict.green]


def script_findings(
    scripts: Iterable[ScriptLike], long_running_hours: float, now: float | None = None
) -> list[Finding]:
    """A finding for each script that needs a pilot, in script id order."""
    now = time.time() if now is None else now
    findings = []
    for script in sorted(scripts, key=lambda s: s.id):
        situation = _SCRIPT_SITUATIONS.get(script.status)
        running_h = _running_hours(script, now)
        if situation is None and running_h is not None and running_h > long_running_hours:
            situation = Situation.script_long_running
        if situation is None:
            continue
        rule = RULES[situation]
        reason = rule.why
        parameters: dict[str, Any] = {"script_id": script.id}
        if situation is Situation.script_long_running:
            reason = f"running for {running_h:.1f} h (threshold {long_running_hours:g} h): {reason}"
            parameters["hours"] = long_running_hours
        findings.append(
            Finding(
                situation=situation,
                target=script.fullname,
                status=script.status.name,
                reason=reason,
                runbook=rule.runbook,
                parameters=parameters,
                script_id=script.id,
            )
        )
    return findings


def _running_hours(script: ScriptLike, now: float) -> float | None:
    """How long a running script has been running, from its creation time."""
    if script.status is not StatusEnum.running or script.crtime is None:
        return None
    return (now - script.crtime) / 3600.0


def campaign_findings(campaign: Campaign, queues: Iterable[Queue]) -> list[Finding]:
    """Findings about the campaign itself: rejected, or nothing processing it."""
    situation = None
    if campaign.status is StatusEnum.rejected:
        situation = Situation.campaign_rejected
    elif campaign.status.is_processable_element() and not any(q.active for q in queues):
        situation = Situation.campaign_not_processing
    if situation is None:
        return []
    rule = RULES[situation]
    return [
        Finding(
            situation=situation,
            target=campaign.fullname,
            status=campaign.status.name,
            reason=rule.why,
            runbook=rule.runbook,
            parameters={"campaign": campaign.fullname},
        )
    ]


def diagnose(
    campaign: Campaign,
    scripts: Iterable[ScriptLike],
    queues: Iterable[Queue],
    long_running_hours: float,
    now: float | None = None,
) -> Diagnosis:
    """The campaign's verdict: red beats amber beats green; the reason names the worst items."""
    findings = campaign_findings(campaign, queues) + script_findings(scripts, long_running_hours, now)
    order = [Verdict.green, Verdict.amber, Verdict.red]
    verdict = max((finding.verdict for finding in findings), key=order.index, default=Verdict.green)
    return Diagnosis(campaign.fullname, verdict, _reason(verdict, findings), findings)


def _reason(verdict: Verdict, findings: list[Finding]) -> str:
    """One sentence: what makes the verdict what it is."""
    if verdict is Verdict.green:
        return (
            "Nothing needs a pilot: no script is failed, blocked, rejected, awaiting review "
            "or running too long."
        )
    worst = [finding for finding in findings if finding.verdict is verdict]
    counts: dict[Situation, int] = {}
    for finding in worst:
        counts[finding.situation] = counts.get(finding.situation, 0) + 1
    parts = [_count_phrase(situation, count) for situation, count in counts.items()]
    return f"{_join(parts).capitalize()}."


_PHRASES = {
    Situation.script_failed: ("failed script", "failed scripts"),
    Situation.script_blocked: ("blocked script", "blocked scripts"),
    Situation.script_rejected: ("rejected script", "rejected scripts"),
    Situation.script_long_running: (
        "script running longer than the threshold",
        "scripts running longer than the threshold",
    ),
    Situation.script_reviewable: ("script awaiting review", "scripts awaiting review"),
    Situation.campaign_rejected: ("the campaign is rejected", "the campaign is rejected"),
    Situation.campaign_not_processing: ("no active queue", "no active queue"),
}


def _count_phrase(situation: Situation, count: int) -> str:
    singular, plural = _PHRASES[situation]
    if situation in (Situation.campaign_rejected, Situation.campaign_not_processing):
        return singular
    return f"{count} {singular if count == 1 else plural}"


def _join(parts: list[str]) -> str:
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]


@dataclass(frozen=True)
class FailurePattern:
    """A known way for a script to fail, recognised in its diagnostic messages."""

    name: str
    pattern: re.Pattern[str]
    meaning: str
    what_to_do: str


FAILURE_PATTERNS = [
    FailurePattern(
        "output run collection already exists",
        re.compile(
            r"(collection\b.*\balready exists|ConflictingDefinitionError|RUN collection .* exists)", re.I
        ),
        "The butler already holds the output RUN collection written by an earlier attempt, and "
        "BPS refuses to write into it again.",
        "If that attempt's outputs are not wanted, remove the run collection "
        "(`butler remove-runs <repo> <collection>`); otherwise give the job a new output "
        "collection. Then reset the script.",
    ),
    FailurePattern(
        "submit directory left over after a reschedule",
        re.compile(
            r"(submit\b.*\balready exists|FileExistsError.*submit|submit directory exists)", re.I
        ),
        "A previous attempt's BPS submit directory is still in the job's artifact folder: a "
        "reset does not delete files.",
        "Move the old `submit/<timestamp>` folder out of the job's artifact folder (keep it "
        "for its logs), then reset the script.",
    ),
    FailurePattern(
        "missing stack version",
        re.compile(
            r"(lsst_distrib.*not found|stack version.*(not found|missing|unknown)|"
            r"(lsst_version|w_\d{4}_\d{2}|d_\d{4}_\d{2}_\d{2})"
            r".*(not (found|installed)|no such|missing|does not exist)|"
            r"loadLSST.*No such file)",
            re.I,
        ),
        "The LSST stack version named in the campaign's data (`lsst_version`, "
        "`lsst_distrib_dir`) is not installed where the script runs.",
        "Correct the version in the campaign's data (campaign_change runbook) or install it, "
        "then reset the script.",
    ),
    FailurePattern(
        "empty quantum graph",
        re.compile(r"(quantum ?graph\b.*\b(is )?empty|empty quantum ?graph|no quanta|0 quanta)", re.I),
        "The pipeline found nothing to do for this data query: the quantum graph is empty. "
        "This is not transient; a reset alone fails the same way.",
        "Check the data query and the input collections in the campaign or step data, "
        "correct them, then reset the script.",
    ),
]
"""The failure states the CM Service documentation describes, with what a pilot does next."""


def match_failures(messages: Iterable[str]) -> list[FailurePattern]:
    """The known patterns found in any of ``messages``, in the table's order."""
    texts = list(messages)
    return [
        pattern for pattern in FAILURE_PATTERNS if any(pattern.pattern.search(text) for text in texts)
    ]
