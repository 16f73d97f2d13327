"""The verdict rules: red beats amber beats green, and each finding names its runbook."""

from __future__ import annotations

from typing import Any

from cmrunbook.diagnose import Situation, Verdict, diagnose
from cmrunbook.models import Campaign, Queue, Script
from cmrunbook.status import LevelEnum, StatusEnum

NOW = 1_800_000_000.0
HOUR = 3600.0


def campaign(status: StatusEnum = StatusEnum.running) -> Campaign:
    return Campaign(id=7, name="c", fullname="c", status=status, spec_id=1, spec_block_id=1)


def script(script_id: int, status: StatusEnum, age_h: float = 1.0) -> Script:
    return Script(
        id=script_id,
        name=f"s{script_id}",
        fullname=f"c/step1/s{script_id}_000",
        status=status,
        spec_block_id=1,
        parent_id=1,
        parent_level=LevelEnum.step,
        metadata_={"crtime": NOW - age_h * HOUR, "mtime": None},
    )


def queue(active: bool) -> Queue:
    moment: Any = "2026-12-04T00:00:00Z"
    return Queue(
        id=1,
        interval=300,
        active=active,
        time_created=moment,
        time_updated=moment,
        node_id=7,
        node_level=LevelEnum.campaign,
    )


def test_green_when_nothing_needs_a_pilot() -> None:
    scripts = [script(1, StatusEnum.accepted), script(2, StatusEnum.running, age_h=2)]
    result = diagnose(campaign(), scripts, [queue(True)], long_running_hours=24, now=NOW)
    assert result.verdict is Verdict.green
    assert result.attention == []


def test_amber_for_review_and_long_running() -> None:
    scripts = [script(1, StatusEnum.reviewable), script(2, StatusEnum.running, age_h=30)]
    result = diagnose(campaign(), scripts, [queue(True)], long_running_hours=24, now=NOW)
    assert result.verdict is Verdict.amber
    assert [f.situation for f in result.attention] == [
        Situation.script_reviewable,
        Situation.script_long_running,
    ]
    assert result.reason == ("1 script awaiting review and 1 script running longer than the threshold.")


def test_red_beats_amber_and_the_reason_names_the_red_items() -> None:
    scripts = [
        script(1, StatusEnum.failed),
        script(2, StatusEnum.blocked),
        script(3, StatusEnum.failed),
        script(4, StatusEnum.reviewable),
    ]
    result = diagnose(campaign(), scripts, [queue(True)], long_running_hours=24, now=NOW)
    assert result.verdict is Verdict.red
    assert result.reason == "2 failed scripts and 1 blocked script."


def test_rejected_campaign_is_red_and_points_to_campaign_change() -> None:
    result = diagnose(campaign(StatusEnum.rejected), [], [queue(False)], 24, now=NOW)
    assert result.verdict is Verdict.red
    (finding,) = result.attention
    assert finding.runbook == "campaign_change"
    assert finding.command == "cmrunbook run campaign_change -p campaign c"


def test_no_active_queue_is_reported_but_does_not_change_the_verdict() -> None:
    result = diagnose(campaign(), [script(1, StatusEnum.accepted)], [queue(False)], 24, now=NOW)
    assert result.verdict is Verdict.green
    assert [f.situation for f in result.findings] == [Situation.campaign_not_processing]


def test_each_script_situation_names_its_runbook_with_the_script_id() -> None:
    scripts = [
        script(11, StatusEnum.failed),
        script(12, StatusEnum.blocked),
        script(13, StatusEnum.rejected),
        script(14, StatusEnum.reviewable),
        script(15, StatusEnum.running, age_h=48),
    ]
    result = diagnose(campaign(), scripts, [queue(True)], long_running_hours=24, now=NOW)
    assert [(f.runbook, f.parameters["script_id"]) for f in result.attention] == [
        ("script_failed", 11),
        ("script_blocked", 12),
        ("script_failed", 13),
        ("script_fixed", 14),
        ("script_long_running", 15),
    ]
    assert result.attention[-1].command == (
        "cmrunbook run script_long_running -p script_id 15 -p hours 24"
    )
