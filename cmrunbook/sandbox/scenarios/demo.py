"""The ``demo`` scenario: four campaigns that show every situation of the cookbook.

``HSC_RC2_w_2026_48`` is mid-run and holds a target for each runbook (a long-running report,
a lost submission, a blocked one, a failed one to force-accept, one awaiting review, ...);
``LSSTCam_DRP_w_2026_47`` finished cleanly; ``LATISS_AOS_2026_49`` was rejected after a
failure; ``DP2_prep_w_2026_49`` has not started. Times are relative to when it is built, and
the logs and BPS submit directories the runbooks read are real files under the artifact root.
"""

from __future__ import annotations

import itertools
import os
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ...runbooks import DEMO_CAMPAIGN
from ...status import StatusEnum
from ..environment import CondorJob, CondorState, Environment
from .builder import JOB_SCRIPTS, TreeBuilder
from .scenario import Scenario

S = StatusEnum

DEMO_CAMPAIGNS = {
    1: DEMO_CAMPAIGN,
    2: "LSSTCam_DRP_w_2026_47",
    3: "LATISS_AOS_2026_49",
    4: "DP2_prep_w_2026_49",
}
"""The demo's campaigns by id: running, accepted, rejected and waiting."""

_MAIN = DEMO_CAMPAIGNS[1]
_MAIN_QUERY = "instrument = 'HSC' AND skymap = 'hsc_rings_v1' AND tract IN (9615, 9697, 9813)"

DEMO_TARGETS = {
    "campaign": 1,
    "long_running_script": 8,
    "lost_log_script": 12,
    "blocked_script": 17,
    "failed_script": 22,
    "reviewable_script": 28,
    "force_accept_job": 4,
}
"""Ids of the demo's runbook targets; notebooks' defaults and tests rely on these numbers.

- ``campaign``: ``HSC_RC2_w_2026_48``, running, with an active queue.
- ``long_running_script``: ``step1/group0/job_000/bps_report_000``, running for ~30 h; its job's
  ``bps_submit_dir`` is a real directory with logs, and HTCondor still runs the workflow.
- ``lost_log_script``: ``step1/group1/job_000/bps_submit_000``, running but unknown to HTCondor;
  its log ends with the BPS error (run_check → failed, with that line as the script error).
- ``blocked_script``: ``step1/group2/job_000/bps_submit_000``, blocked; the held job was released
  and finished with exit code 0 (run_check → accepted).
- ``failed_script``: ``step1/group3/job_000/bps_submit_000``, failed twice (two script errors).
- ``reviewable_script``: ``step1/group4/job_000/bps_report_000``, the workflow finished with
  failures and awaits review.
- ``force_accept_job``: ``step1/group3/job_000``, the failed script's job.
"""

_TARGET_FULLNAMES = {
    "long_running_script": ("script", f"{_MAIN}/step1/group0/job_000/bps_report_000"),
    "lost_log_script": ("script", f"{_MAIN}/step1/group1/job_000/bps_submit_000"),
    "blocked_script": ("script", f"{_MAIN}/step1/group2/job_000/bps_submit_000"),
    "failed_script": ("script", f"{_MAIN}/step1/group3/job_000/bps_submit_000"),
    "reviewable_script": ("script", f"{_MAIN}/step1/group4/job_000/bps_report_000"),
    "force_accept_job": ("job", f"{_MAIN}/step1/group3/job_000"),
    "campaign": ("campaign", _MAIN),
}


def _stages(
    submit: S, report: S = S.waiting, manifest: S = S.waiting, load: S = S.waiting
) -> dict[str, S]:
    """The statuses of a job's four scripts, in the order they run."""
    return dict(zip(JOB_SCRIPTS, (submit, report, manifest, load), strict=True))


_ACCEPTED_JOB = _stages(S.accepted, S.accepted, S.accepted, S.accepted)

_MAIN_JOBS: list[tuple[float, dict[str, S], dict[str, float]]] = [
    (30.2, _stages(S.accepted, S.running), {"bps_submit": 30.0, "bps_report": 29.9}),
    (6.0, _stages(S.running), {"bps_submit": 5.9}),
    (20.0, _stages(S.blocked), {"bps_submit": 8.0}),
    (26.0, _stages(S.failed), {"bps_submit": 3.0}),
    (28.0, _stages(S.accepted, S.reviewable), {"bps_submit": 27.5, "bps_report": 2.0}),
    (24.0, _stages(S.accepted, S.accepted, S.ready), {"manifest_report": 0.3}),
    (22.0, _stages(S.accepted, S.accepted, S.prepared), {"manifest_report": 0.2}),
    (
        0.7,
        _stages(S.accepted, S.accepted, S.running),
        {"bps_submit": 0.6, "bps_report": 0.4, "manifest_report": 0.35},
    ),
    (45.0, _ACCEPTED_JOB, {}),
    (44.0, _ACCEPTED_JOB, {}),
]
"""``HSC_RC2_w_2026_48/step1``: one job per group, each at a different stage.

Each entry: hours since the job was created, its scripts' statuses, and hours since a
script's status last changed (when not at creation).
"""


@dataclass(frozen=True)
class _CampaignPlan:
    """How old a demo campaign is, where it stands, and what it processes."""

    status: S
    hours: float
    changed_hours: float | None
    steps: tuple[str, ...]
    lsst_version: str
    data_query: str
    campaign_input: str


_PLANS = {
    1: _CampaignPlan(
        S.running, 52, 0.35, ("step1", "step2a", "step2b", "step3"), "w_2026_48",
        _MAIN_QUERY, "HSC/RC2/defaults",
    ),
    2: _CampaignPlan(
        S.accepted, 150, 100, ("step1", "step2"), "w_2026_47",
        "instrument = 'LSSTCam' AND day_obs = 20261124", "LSSTCam/defaults",
    ),
    3: _CampaignPlan(
        S.rejected, 20, 18, ("step1",), "w_2026_49",
        "instrument = 'LATISS' AND day_obs = 20261203", "LATISS/defaults",
    ),
    4: _CampaignPlan(
        S.waiting, 1, None, ("step1", "step2"), "w_2026_49",
        "instrument = 'LSSTComCam'", "LSSTComCam/defaults",
    ),
}  # fmt: skip

_BPS_START = "lsst.ctrl.bps.drivers INFO: Starting submission process"


def _timestamp(epoch: int) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y%m%dT%H%M%SZ")


class _Demo:
    """Builds the demo's rows, files and HTCondor state together, so they agree."""

    def __init__(self, artifact_root: Path, now: float) -> None:
        self.root = artifact_root
        self.tree = TreeBuilder(str(artifact_root), now)
        self.environment = Environment(artifact_root=str(artifact_root))

    def write(self, path: str, lines: list[str], *, hours_ago: float) -> None:
        file = Path(path)
        file.parent.mkdir(parents=True, exist_ok=True)
        file.write_text("".join(f"{line}\n" for line in lines), encoding="utf-8")
        mtime = self.tree.ago(hours_ago)
        os.utime(file, (mtime, mtime))

    def submit_dir(self, job_fullname: str, created: int) -> str:
        return f"{self.root}/{job_fullname}/submit/{_timestamp(created)}"

    def bps_log(self, script: dict[str, Any], submit_dir: str, *, hours_ago: float) -> None:
        """The stdout of a successful ``bps submit``, which names the submit directory."""
        run = submit_dir.split("/submit/")[0].removeprefix(f"{self.root}/").replace("/", "_")
        self.write(
            script["log_url"],
            [
                _BPS_START,
                "lsst.ctrl.bps.drivers INFO: Submitting run to a workflow management system",
                f"Submit dir: {submit_dir}",
                f"Run Id: {script['id'] + 3301800}.0",
                f"Run Name: u_pilot_{run}",
            ],
            hours_ago=hours_ago,
        )

    def campaigns(self) -> None:
        self.main_campaign()
        self.finished_campaign()
        self.rejected_campaign()
        self.new_campaign(4)

    def new_campaign(self, number: int) -> tuple[dict[str, Any], int]:
        """Demo campaign ``number`` with the queue created with it; returns it and its time."""
        plan = _PLANS[number]
        tree = self.tree
        created = tree.ago(plan.hours)
        changed = None if plan.changed_hours is None else tree.ago(plan.changed_hours)
        name = DEMO_CAMPAIGNS[number]
        campaign = tree.campaign(
            name,
            plan.status,
            created=created,
            mtime=changed,
            steps=list(plan.steps),
            data={"lsst_version": plan.lsst_version, "data_query": plan.data_query},
            collections={"out": f"u/pilot/{name}", "campaign_input": plan.campaign_input},
        )
        finished = changed if plan.status is S.accepted else None
        tree.queue(campaign, created=created, updated=changed, finished=finished, next_check=created)
        return campaign, created

    def main_campaign(self) -> None:
        tree = self.tree
        campaign, created = self.new_campaign(1)
        tree.queue(
            campaign,
            created=tree.ago(51.9),
            active=True,
            explicit=True,
            updated=tree.ago(0.01),
            next_check=tree.now + 30,
        )
        tree.scripts(
            "campaign", campaign, {"run": S.accepted, "collect_steps": S.waiting}, created=created
        )
        steps = [
            tree.element(
                "step", campaign, name, S.running if name == "step1" else S.waiting, created=created
            )
            for name in _PLANS[1].steps
        ]
        for before, after in itertools.pairwise(steps):
            tree.step_dependency(before, after)
        step1 = steps[0]
        tree.scripts(
            "step",
            step1,
            {"prepare": S.accepted, "run": S.accepted, "collect_groups": S.accepted},
            created=tree.ago(51.5),
        )
        for index, (hours, statuses, changed) in enumerate(_MAIN_JOBS):
            self.main_job(step1, index, hours, statuses, changed)

    def main_job(
        self,
        step: dict[str, Any],
        index: int,
        hours: float,
        statuses: dict[str, S],
        changed: dict[str, float],
    ) -> None:
        tree = self.tree
        job_status = S.accepted if statuses == _ACCEPTED_JOB else S.running
        group = tree.element(
            "group",
            step,
            f"group{index}",
            job_status,
            created=tree.ago(51),
            data={"data_query": _MAIN_QUERY},
        )
        tree.scripts("group", group, {"run": S.accepted}, created=tree.ago(51))
        created = tree.ago(hours)
        fullname = f"{group['fullname']}/job_000"
        submit_dir = self.submit_dir(fullname, created)
        submitted = statuses["bps_submit"] is S.accepted or statuses["bps_submit"] is S.blocked
        job_values: dict[str, Any] = {
            "stamp_url": f"{tree.artifact_root}/{fullname}/bps_submit_000.condorlog"
        }
        if statuses["bps_submit"] is S.accepted:
            job_values.update(wms_job_id=submit_dir, metadata={"bps_submit_dir": submit_dir})
        if statuses["manifest_report"] in (S.prepared, S.running, S.accepted):
            job_values.setdefault("metadata", {}).update(
                report_url=f"{tree.artifact_root}/{fullname}/manifest_report.yaml",
                graph_url=f"{submit_dir}/u_pilot_{_MAIN}_step1_group{index}_job_000.qgraph",
            )
        job = tree.element("job", group, "job_000", job_status, created=created, **job_values)
        mtimes = {name: tree.ago(value) for name, value in changed.items()}
        scripts = tree.scripts("job", job, statuses, created=created, mtimes=mtimes)
        self.job_world(index, scripts, submit_dir if submitted else None)

    def job_world(self, index: int, scripts: dict[str, dict[str, Any]], submit_dir: str | None) -> None:
        """Logs on disk and HTCondor's view of job ``index`` of the main campaign."""
        condor = self.environment.htcondor
        submit, report, manifest = (
            scripts["bps_submit"],
            scripts["bps_report"],
            scripts["manifest_report"],
        )
        if submit_dir is not None:
            self.bps_log(submit, submit_dir, hours_ago=8)
        if index == 0:
            self.submit_directory(submit_dir or "")
            condor[report["stamp_url"]] = CondorJob(CondorState.running)
        elif index == 1:
            self.write(
                submit["log_url"],
                [
                    _BPS_START,
                    "lsst.ctrl.bps.drivers INFO: Submitting run to a workflow management system",
                    "lsst.ctrl.bps.drivers ERROR: RuntimeError: Failed to submit the workflow: "
                    "schedd sdfiana012.sdf.slac.stanford.edu did not respond (connection timed out)",
                ],
                hours_ago=5.8,
            )
        elif index == 2:
            condor[submit["stamp_url"]] = CondorJob(CondorState.completed, exit_code=0)
        elif index == 3:
            self.failed_twice(submit)
        elif index == 4:
            condor[report["stamp_url"]] = CondorJob(CondorState.completed, exit_code=1)
        elif index == 7:
            condor[manifest["stamp_url"]] = CondorJob(CondorState.running)

    def submit_directory(self, submit_dir: str) -> None:
        """The BPS submit directory of the long-running workflow, with its DAGMan logs."""
        name = f"u_pilot_{_MAIN}_step1_group0_job_000"
        self.write(
            f"{submit_dir}/{name}.dag.nodes.log",
            [
                "000 (3301828.000.000) 12/03 08:31:02 Job submitted from host: <134.79.23.12:9618>",
                "001 (3301828.000.000) 12/03 08:33:40 Job executing on host: <172.24.7.41:9618>",
            ],
            hours_ago=29.5,
        )
        self.write(
            f"{submit_dir}/{name}.dag.dagman.out",
            [
                "12/03/26 08:30:58 Starting DAGMan: 212 nodes",
                "12/04/26 13:02:11 Number of idle job procs: 14",
                "12/04/26 13:02:11 Of 212 nodes total: Done 171, Queued 37, Failed 4, Unready 0",
            ],
            hours_ago=0.1,
        )

    def failed_twice(self, submit: dict[str, Any]) -> None:
        """Two attempts at ``bps submit``, two errors; the log holds the second attempt."""
        job_dir = submit["fullname"].rsplit("/", 1)[0]
        first = (
            "lsst.ctrl.bps.drivers ERROR: FileExistsError: Submit directory "
            f"{self.root}/{job_dir}/submit/{_timestamp(self.tree.ago(26))} already exists"
        )
        second = (
            "lsst.ctrl.mpexec ERROR: RuntimeError: Output run collection "
            f"u/pilot/{_MAIN}/step1/group3/job_000 already exists"
        )
        self.tree.error(submit, first)
        self.tree.error(submit, second)
        self.write(submit["log_url"], [_BPS_START, second], hours_ago=3)
        self.environment.htcondor[submit["stamp_url"]] = CondorJob(CondorState.completed, exit_code=1)

    def finished_campaign(self) -> None:
        tree = self.tree
        campaign, created = self.new_campaign(2)
        tree.scripts(
            "campaign", campaign, {"run": S.accepted, "collect_steps": S.accepted}, created=created
        )
        for step_name in ("step1", "step2"):
            step = tree.element(
                "step", campaign, step_name, S.accepted, created=created, mtime=tree.ago(110)
            )
            accepted = {"prepare": S.accepted, "run": S.accepted, "collect_groups": S.accepted}
            tree.scripts("step", step, accepted, created=created)
            for index in range(2):
                group = tree.element("group", step, f"group{index}", S.accepted, created=created)
                tree.scripts("group", group, {"run": S.accepted}, created=created)
                job = tree.element("job", group, "job_000", S.accepted, created=created)
                tree.scripts("job", job, _ACCEPTED_JOB, created=created)

    def rejected_campaign(self) -> None:
        tree = self.tree
        campaign, created = self.new_campaign(3)
        tree.scripts(
            "campaign", campaign, {"run": S.accepted, "collect_steps": S.waiting}, created=created
        )
        step = tree.element("step", campaign, "step1", S.running, created=created)
        tree.scripts(
            "step",
            step,
            {"prepare": S.accepted, "run": S.accepted, "collect_groups": S.waiting},
            created=created,
        )
        group = tree.element("group", step, "group0", S.running, created=created)
        tree.scripts("group", group, {"run": S.accepted}, created=created)
        job = tree.element("job", group, "job_000", S.running, created=created)
        scripts = tree.scripts("job", job, _stages(S.failed), created=created)
        tree.error(
            scripts["bps_submit"],
            "lsst.ctrl.bps.drivers ERROR: ValueError: Pipeline file "
            "${AOS_PIPE_DIR}/pipelines/LATISS/aos.yaml#wep does not exist",
        )

    def scenario(self) -> Scenario:
        tables = dict(self.tree.tables)
        for key, (table, fullname) in _TARGET_FULLNAMES.items():
            row_id = next(row["id"] for row in tables[table] if row["fullname"] == fullname)
            if row_id != DEMO_TARGETS[key]:
                raise AssertionError(f"demo target {key} is {table} {row_id}, not {DEMO_TARGETS[key]}")
        return Scenario("demo", tables, self.tree.next_ids(), self.environment)


def build_demo(artifact_root: Path | None = None) -> Scenario:
    """The demo scenario, writing its files under ``artifact_root`` (a new temporary directory
    when ``None``)."""
    root = artifact_root or Path(tempfile.mkdtemp(prefix="cmrunbook-demo-"))
    root.mkdir(parents=True, exist_ok=True)
    demo = _Demo(root.resolve(), time.time())
    demo.campaigns()
    return demo.scenario()
