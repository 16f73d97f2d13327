"""Build campaign trees row by row, shaped like the ones CM Service itself creates.

The demo and the scale scenarios describe campaigns in terms a pilot knows (steps, groups,
jobs, the standard job scripts and their statuses); this builder turns that into rows with CM
Service's columns, fullnames, spec blocks, script dependencies, URLs and timestamps, with ids
given in creation order.
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from datetime import UTC, datetime
from typing import Any

from ...status import StatusEnum
from ..tables import NEG_INFINITY

HANDLERS = "lsst.cmservice.handlers"
JOB_SCRIPTS = ("bps_submit", "bps_report", "manifest_report", "manifest_report_load")
"""The scripts of a standard job, each depending on the one before."""

_SCRIPT_BLOCKS = {
    "run_steps": f"{HANDLERS}.elements.RunStepsScriptHandler",
    "run_groups": f"{HANDLERS}.elements.RunGroupsScriptHandler",
    "run_jobs": f"{HANDLERS}.elements.RunJobsScriptHandler",
    "prepare_step_script": f"{HANDLERS}.scripts.PrepareStepScriptHandler",
    "chain_collect_steps_script": f"{HANDLERS}.scripts.ChainCollectScriptHandler",
    "chain_collect_jobs_script": f"{HANDLERS}.scripts.ChainCollectScriptHandler",
    "bps_submit_script": f"{HANDLERS}.jobs.HTCondorScriptHandler",
    "bps_report_script": f"{HANDLERS}.jobs.HTCondorReportHandler",
    "manifest_report_script": f"{HANDLERS}.jobs.ManifestReportScriptHandler",
    "manifest_report_load": f"{HANDLERS}.jobs.ManifestReportLoadHandler",
}
_FUNCTION_BLOCKS = {"run_steps", "run_groups", "run_jobs", "bps_report_script", "manifest_report_load"}
_SCRIPT_ITEMS: dict[str, list[dict[str, Any]]] = {
    "campaign": [
        {"name": "run", "spec_block": "run_steps"},
        {
            "name": "collect_steps",
            "spec_block": "chain_collect_steps_script",
            "prerequisites": ["run"],
            "collections": {"inputs": [], "output": "{campaign_output}"},
        },
    ],
    "step": [
        {
            "name": "prepare",
            "spec_block": "prepare_step_script",
            "collections": {"output": "{step_input}", "inputs": []},
        },
        {"name": "run", "spec_block": "run_groups", "prerequisites": ["prepare"]},
        {
            "name": "collect_groups",
            "spec_block": "chain_collect_jobs_script",
            "prerequisites": ["run"],
            "collections": {"inputs": [], "output": "{step_output}"},
        },
    ],
    "group": [{"name": "run", "spec_block": "run_jobs"}],
    "job": [
        {
            "name": "bps_submit",
            "spec_block": "bps_submit_script",
            "collections": {"run": "{job_run}", "inputs": ["{step_input}", "{campaign_input}"]},
        },
        {
            "name": "bps_report",
            "spec_block": "bps_report_script",
            "prerequisites": ["bps_submit"],
            "collections": {"run": "{job_run}"},
        },
        {
            "name": "manifest_report",
            "spec_block": "manifest_report_script",
            "prerequisites": ["bps_report"],
            "collections": {"run": "{job_run}"},
        },
        {
            "name": "manifest_report_load",
            "spec_block": "manifest_report_load",
            "prerequisites": ["manifest_report"],
            "collections": {"run": "{job_run}"},
        },
    ],
}
_LAUNCHED = {StatusEnum.running, StatusEnum.blocked, StatusEnum.reviewable, StatusEnum.accepted}


def _items(level: str) -> list[dict[str, Any]]:
    return [{"Script": dict(item)} for item in _SCRIPT_ITEMS[level]]


def _stamp(epoch: int) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


class TreeBuilder:
    """Accumulates rows for every table; ids count up per table in creation order."""

    def __init__(self, artifact_root: str, now: float) -> None:
        self.artifact_root = artifact_root
        self.now = int(now)
        self.tables: dict[str, list[dict[str, Any]]] = defaultdict(list)
        self.blocks: dict[str, int] = {}
        self._add_spec_blocks()

    def add(self, table: str, **values: Any) -> dict[str, Any]:
        row = {"id": len(self.tables[table]) + 1, **values}
        self.tables[table].append(row)
        return row

    def next_ids(self) -> dict[str, int]:
        return {table: len(rows) + 1 for table, rows in self.tables.items()}

    def ago(self, hours: float) -> int:
        """Epoch seconds ``hours`` before now."""
        return self.now - int(hours * 3600)

    def _add_spec_blocks(self) -> None:
        for name, handler in _SCRIPT_BLOCKS.items():
            data = {"collect": name.split("_")[2]} if name.startswith("chain_collect") else None
            self._block(name, handler, data=data)
        self._block(
            "step",
            f"{HANDLERS}.element_handler.ElementHandler",
            collections={
                "step_input": "{out}/{step}/input",
                "step_output": "{out}/{step}_output",
                "step_public_output": "{out}/{step}",
            },
            child_config={"spec_block": "group", "split_method": "no_split", "base_query": ""},
            scripts=_items("step"),
        )
        self._block(
            "group",
            f"{HANDLERS}.element_handler.ElementHandler",
            collections={"group_output": "{out}/{step}/{group}"},
            child_config={"spec_block": "job"},
            scripts=_items("group"),
        )
        self._block(
            "job",
            f"{HANDLERS}.job_handler.JobHandler",
            collections={"job_run": "{out}/{step}/{group}/{job}"},
            scripts=_items("job"),
        )

    def _block(self, name: str, handler: str, **values: Any) -> int:
        row = self.add(
            "spec_block",
            name=name,
            handler=handler,
            data=values.get("data"),
            collections=values.get("collections"),
            child_config=values.get("child_config"),
            spec_aliases=None,
            scripts=values.get("scripts"),
            steps=values.get("steps"),
        )
        self.blocks[name] = row["id"]
        return int(row["id"])

    # -- elements -----------------------------------------------------------------------------

    def campaign(
        self,
        name: str,
        status: StatusEnum,
        *,
        created: int,
        steps: list[str],
        data: dict[str, Any],
        collections: dict[str, Any],
        mtime: int | None = None,
    ) -> dict[str, Any]:
        """A campaign with its specification; ``steps`` run one after the other."""
        spec = self.add(
            "specification", name=name, data=None, child_config=None, collections=None, spec_aliases=None
        )
        step_items = [{"Step": {"name": step, "spec_block": "step"}} for step in steps]
        for before, after in itertools.pairwise(step_items):
            after["Step"]["prerequisites"] = [before["Step"]["name"]]
        block_id = self._block(
            f"{name}_campaign",
            f"{HANDLERS}.element_handler.CampaignHandler",
            data={
                "butler_repo": "/repo/main",
                "prod_area": self.artifact_root,
                "lsst_distrib_dir": "/cvmfs/sw.lsst.eu/linux-x86_64/lsst_distrib",
                "lsst_version": "MUST_OVERRIDE",
            },
            collections={
                "out": "MUST_OVERRIDE",
                "campaign_input": "MUST_OVERRIDE",
                "campaign_output": "{out}/output",
                "campaign_public_output": "{out}",
            },
            scripts=_items("campaign"),
            steps=step_items,
        )
        return self.add(
            "campaign",
            spec_id=spec["id"],
            spec_block_id=block_id,
            name=name,
            fullname=name,
            status=status.name,
            superseded=False,
            handler=None,
            data=data,
            metadata_={
                "crtime": created,
                "mtime": mtime,
                "start_after": created,
                "weight": 3,
                "duration": 86400,
                "due_date": created + 86400,
            },
            child_config={},
            collections=collections,
            spec_aliases={},
        )

    def element(
        self,
        level: str,
        parent: dict[str, Any],
        name: str,
        status: StatusEnum,
        *,
        created: int,
        mtime: int | None = None,
        **values: Any,
    ) -> dict[str, Any]:
        """A step, group or job under ``parent``."""
        fullname = f"{parent['fullname']}/{name}"
        job_columns = {"attempt": 0, "wms_job_id": None, "stamp_url": None} if level == "job" else {}
        return self.add(
            level,
            spec_block_id=self.blocks[level],
            parent_id=parent["id"],
            name="job" if level == "job" else name,
            fullname=fullname,
            status=status.name,
            superseded=False,
            handler=None,
            data=values.pop("data", {}),
            metadata_={"crtime": created, "mtime": mtime, **values.pop("metadata", {})},
            child_config={},
            collections={},
            spec_aliases={},
            **{**job_columns, **values},
        )

    def step_dependency(self, prereq: dict[str, Any], depend: dict[str, Any]) -> None:
        self.add("step_dependency", prereq_id=prereq["id"], depend_id=depend["id"], namespace=None)

    # -- scripts ------------------------------------------------------------------------------

    def scripts(
        self,
        level: str,
        parent: dict[str, Any],
        statuses: dict[str, StatusEnum],
        *,
        created: int,
        mtimes: dict[str, int] | None = None,
    ) -> dict[str, dict[str, Any]]:
        """The standard scripts of an element, with dependencies, in the given statuses.

        Scripts not in ``statuses`` are not created (as when a run stopped part way).
        """
        created_rows: dict[str, dict[str, Any]] = {}
        for item in _SCRIPT_ITEMS[level]:
            name = item["name"]
            if name not in statuses:
                continue
            row = self._script(level, parent, item, statuses[name], created, (mtimes or {}).get(name))
            created_rows[name] = row
            for prereq in item.get("prerequisites", []):
                if prereq in created_rows:
                    self.add(
                        "script_dependency",
                        prereq_id=created_rows[prereq]["id"],
                        depend_id=row["id"],
                        namespace=None,
                    )
        return created_rows

    def _script(
        self,
        level: str,
        parent: dict[str, Any],
        item: dict[str, Any],
        status: StatusEnum,
        created: int,
        mtime: int | None,
    ) -> dict[str, Any]:
        fullname = f"{parent['fullname']}/{item['name']}_000"
        owner = {"campaign": "c_id", "step": "s_id", "group": "g_id", "job": "j_id"}[level]
        return self.add(
            "script",
            spec_block_id=self.blocks[item["spec_block"]],
            parent_level=level,
            parent_id=parent["id"],
            **{
                column: parent["id"] if column == owner else None
                for column in ("c_id", "s_id", "g_id", "j_id")
            },
            name=item["name"],
            attempt=0,
            fullname=fullname,
            status=status.name,
            method="default",
            superseded=False,
            handler=None,
            data={},
            metadata_={
                "crtime": created,
                "mtime": mtime if mtime is not None else self._mtime(status, created),
            },
            child_config={},
            collections=item.get("collections", {}),
            **self._urls(fullname, item["spec_block"], status, parent),
        )

    @staticmethod
    def _mtime(status: StatusEnum, created: int) -> int | None:
        return None if status is StatusEnum.waiting else created

    def _urls(
        self, fullname: str, block: str, status: StatusEnum, parent: dict[str, Any]
    ) -> dict[str, Any]:
        """The URLs a script has in ``status``: written when prepared, submitted when launched."""
        urls: dict[str, Any] = {"script_url": None, "stamp_url": None, "log_url": None}
        prepared = (
            status.value >= StatusEnum.prepared.value or status.is_bad() or status is StatusEnum.blocked
        )
        if not prepared:
            return urls
        if block == "bps_report_script":
            urls["stamp_url"] = parent.get("wms_job_id")
        elif block == "manifest_report_load":
            urls["stamp_url"] = f"{self.artifact_root}/{parent['fullname']}/manifest_report.yaml"
        elif block not in _FUNCTION_BLOCKS:
            base = f"{self.artifact_root}/{fullname}"
            launched = status in _LAUNCHED or status.is_bad()
            urls.update(
                script_url=f"{base}.sh",
                log_url=f"{base}.log",
                stamp_url=f"{base}.condorlog" if launched else f"{base}.stamp",
            )
        return urls

    def error(self, script: dict[str, Any], message: str, source: str = "local_script") -> None:
        self.add("script_error", script_id=script["id"], source=source, diagnostic_message=message)

    # -- queues -------------------------------------------------------------------------------

    def queue(
        self,
        campaign: dict[str, Any],
        *,
        created: int,
        active: bool = False,
        explicit: bool = False,
        finished: int | None = None,
        updated: int | None = None,
        next_check: int | None = None,
    ) -> dict[str, Any]:
        """A campaign's queue row: the one created with it, or one made with ``/queue/create``."""
        return self.add(
            "queue",
            time_created=_stamp(created),
            time_updated=_stamp(updated or created),
            time_finished=None if finished is None else _stamp(finished),
            time_next_check=NEG_INFINITY if next_check is None else _stamp(next_check),
            interval=300.0,
            options=None if explicit else {},
            node_level="campaign",
            node_id=campaign["id"],
            c_id=campaign["id"],
            s_id=None,
            g_id=None,
            j_id=None,
            script_id=None,
            metadata_={},
            active=active,
        )
