"""The ``scale:N`` scenario: generated campaigns totalling exactly N scripts, for benchmarks.

``scale_000`` holds about a third of the scripts (the "big campaign" a status page must still
render quickly); the rest are spread over campaigns of at most 2,000 scripts. Campaigns are
accepted, running or rejected; a running campaign's finished steps are accepted and its
current step holds jobs at every stage (mostly accepted, some running, failed, blocked or
awaiting review). Everything but the timestamps is the same on every build.
"""

from __future__ import annotations

import math
import random
import time
from typing import Any

from ...status import StatusEnum
from ..environment import Environment
from .builder import JOB_SCRIPTS, TreeBuilder
from .scenario import Scenario

S = StatusEnum
ARTIFACT_ROOT = "/cm/artifacts"
CAMPAIGN_LIMIT = 2000
GROUPS_PER_STEP = 25
STEP_SCRIPTS = ("prepare", "run", "collect_groups")
_CYCLE = (S.accepted, S.running, S.running, S.accepted, S.rejected)

_JOB_STAGES: tuple[tuple[int, tuple[S, S, S, S]], ...] = (
    (70, (S.accepted, S.accepted, S.accepted, S.accepted)),
    (8, (S.accepted, S.running, S.waiting, S.waiting)),
    (5, (S.running, S.waiting, S.waiting, S.waiting)),
    (4, (S.failed, S.waiting, S.waiting, S.waiting)),
    (3, (S.blocked, S.waiting, S.waiting, S.waiting)),
    (3, (S.accepted, S.reviewable, S.waiting, S.waiting)),
    (4, (S.accepted, S.accepted, S.running, S.waiting)),
    (3, (S.accepted, S.accepted, S.ready, S.waiting)),
)
"""Weights of the stages a job of a running step is in (statuses of its four scripts)."""


def campaign_sizes(total: int) -> list[int]:
    """Scripts per campaign: a third in the first, the rest in campaigns of ≤ 2,000."""
    big = total // 3
    rest = total - big
    count = math.ceil(rest / CAMPAIGN_LIMIT)
    return (
        [big] + [rest // count + (1 if index < rest % count else 0) for index in range(count)]
        if count
        else [big]
    )


class _Generator:
    def __init__(self, tree: TreeBuilder, rng: random.Random) -> None:
        self.tree = tree
        self.rng = rng
        self.budget = 0

    def take(self, names: tuple[str, ...], statuses: tuple[S, ...]) -> dict[str, S]:
        """As many of the scripts as the campaign's budget still allows."""
        count = min(len(names), self.budget)
        self.budget -= count
        return dict(zip(names[:count], statuses[:count], strict=True))

    def campaign(self, index: int, size: int) -> None:
        tree = self.tree
        status = S.running if index == 0 else _CYCLE[index % len(_CYCLE)]
        created = tree.ago(24 * (1 + index % 7))
        steps_needed = max(1, math.ceil(max(size - 2, 0) / (len(STEP_SCRIPTS) + GROUPS_PER_STEP * 5)))
        name = f"scale_{index:03d}"
        campaign = tree.campaign(
            name,
            status,
            created=created,
            mtime=tree.ago(1),
            steps=[f"step{number}" for number in range(1, steps_needed + 1)],
            data={
                "lsst_version": "w_2026_48",
                "data_query": f"instrument = 'LSSTCam' AND tract = {index}",
            },
            collections={"out": f"u/pilot/{name}", "campaign_input": "LSSTCam/defaults"},
        )
        tree.queue(
            campaign,
            created=created,
            next_check=created,
            finished=tree.ago(2) if status is S.accepted else None,
        )
        if status is S.running:
            tree.queue(campaign, created=created, active=True, explicit=True, next_check=tree.now + 30)
        self.budget = size
        done = status is S.accepted
        tree.scripts(
            "campaign",
            campaign,
            self.take(("run", "collect_steps"), (S.accepted, S.accepted if done else S.waiting)),
            created=created,
        )
        for number in range(1, steps_needed + 1):
            if self.budget == 0:
                break
            current = not done and number > steps_needed * 2 // 3
            self.step(campaign, number, current, created)
        if status is S.rejected:
            self.fail_one(campaign)

    def step(self, campaign: dict[str, Any], number: int, current: bool, created: int) -> None:
        tree = self.tree
        step = tree.element(
            "step", campaign, f"step{number}", S.running if current else S.accepted, created=created
        )
        step_statuses = (S.accepted, S.accepted, S.waiting if current else S.accepted)
        tree.scripts("step", step, self.take(STEP_SCRIPTS, step_statuses), created=created)
        for index in range(GROUPS_PER_STEP):
            if self.budget == 0:
                return
            stage = (
                self.rng.choices([s for _, s in _JOB_STAGES], [w for w, _ in _JOB_STAGES])[0]
                if current
                else _JOB_STAGES[0][1]
            )
            finished = all(status is S.accepted for status in stage)
            group = tree.element(
                "group", step, f"group{index}", S.accepted if finished else S.running, created=created
            )
            tree.scripts("group", group, self.take(("run",), (S.accepted,)), created=created)
            if self.budget == 0:
                return
            job = tree.element(
                "job", group, "job_000", S.accepted if finished else S.running, created=created
            )
            scripts = tree.scripts("job", job, self.take(JOB_SCRIPTS, stage), created=created)
            for script in scripts.values():
                if script["status"] == S.failed.name:
                    tree.error(
                        script,
                        "lsst.ctrl.mpexec ERROR: RuntimeError: Output run collection already exists",
                    )

    def fail_one(self, campaign: dict[str, Any]) -> None:
        """A rejected campaign stopped on a failure: its first running script failed."""
        prefix = f"{campaign['fullname']}/"
        for script in self.tree.tables["script"]:
            if script["fullname"].startswith(prefix) and script["status"] == S.running.name:
                script["status"] = S.failed.name
                self.tree.error(
                    script, "lsst.ctrl.bps.drivers ERROR: ValueError: quantum graph is empty"
                )
                return


def build_scale(total: int) -> Scenario:
    """Generated campaigns holding exactly ``total`` scripts."""
    tree = TreeBuilder(ARTIFACT_ROOT, time.time())
    generator = _Generator(tree, random.Random(20261204))
    for index, size in enumerate(campaign_sizes(total)):
        generator.campaign(index, size)
    return Scenario(f"scale:{total}", dict(tree.tables), tree.next_ids(), Environment(ARTIFACT_ROOT))
