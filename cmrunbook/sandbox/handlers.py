"""CM Service's script handlers: how each kind of script is prepared, launched and checked.

Shell-script handlers write a script, submit it to HTCondor and later ask HTCondor how it went,
recording the log's last line when it failed; function handlers do their work inside the
service (the ``run`` scripts process the element's children, ``bps_report`` asks the WMS about
the job's workflow). Handlers are looked up by their class name as CM Service stores it in a
spec block or script row (``lsst.cmservice.handlers.jobs.HTCondorScriptHandler``).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import yaml

from ..status import ErrorSourceEnum, ScriptMethodEnum, StatusEnum
from .environment import NO_SUCH_FILE, diagnostic_message, parse_bps_stdout
from .faults import BadExecutionMethodError, MissingNodeUrlError, MissingScriptInputError, SubmitError

if TYPE_CHECKING:
    from .engine import Node, Processor

    _Stage = Callable[[Processor, Node, Node], StatusEnum]

_Failures = dict[type[Exception], ErrorSourceEnum]


def _quoted(exc: BaseException) -> str:
    """A handler error as CM Service records it in a script error (outer quotes stripped)."""
    return str(exc).strip('"')


_PREPARE_FAILURES: _Failures = {
    BadExecutionMethodError: ErrorSourceEnum.cmservice,
    MissingScriptInputError: ErrorSourceEnum.cmservice,
}
_LAUNCH_FAILURES: _Failures = {
    BadExecutionMethodError: ErrorSourceEnum.cmservice,
    MissingNodeUrlError: ErrorSourceEnum.cmservice,
    SubmitError: ErrorSourceEnum.local_script,
}
_CHECK_FAILURES: _Failures = {
    BadExecutionMethodError: ErrorSourceEnum.cmservice,
    MissingNodeUrlError: ErrorSourceEnum.cmservice,
}
"""The exceptions each stage of processing records as a script error (with its source)."""


class ScriptHandler:
    """The lifecycle CM Service applies to every script: ready → prepared → running → done."""

    default_method = ScriptMethodEnum.htcondor

    def method(self, script: Node) -> ScriptMethodEnum:
        method = ScriptMethodEnum[script.row["method"]]
        return self.default_method if method is ScriptMethodEnum.default else method

    def process(self, p: Processor, script: Node) -> tuple[bool, StatusEnum]:
        """Move a script as far as it goes in one pass, recording errors on the way."""
        original = status = script.status
        parent = p.parent(script)
        if status is StatusEnum.waiting and p.prerequisites_done(script):
            status = StatusEnum.ready
        if status is StatusEnum.ready:
            status = self._attempt(self.prepare, p, script, parent, _PREPARE_FAILURES)
        if status is StatusEnum.prepared:
            status = self._attempt(self.launch, p, script, parent, _LAUNCH_FAILURES)
        if status is StatusEnum.running:
            status = self._attempt(self.check, p, script, parent, _CHECK_FAILURES)
        if status is StatusEnum.reviewable:
            status = script.status
        if status is original:
            return False, status
        p.set_status(script, status)
        p.touch(script)
        return True, status

    @staticmethod
    def _attempt(
        stage: _Stage, p: Processor, script: Node, parent: Node, failures: _Failures
    ) -> StatusEnum:
        """Run one stage; a failure CM Service expects becomes a script error and ``failed``."""
        try:
            return stage(p, script, parent)
        except tuple(failures) as exc:
            source = next(source for kind, source in failures.items() if isinstance(exc, kind))
            p.add_error(script, source, _quoted(exc))
            return StatusEnum.failed

    def prepare(self, p: Processor, script: Node, parent: Node) -> StatusEnum:
        raise NotImplementedError

    def launch(self, p: Processor, script: Node, parent: Node) -> StatusEnum:
        raise NotImplementedError

    def check(self, p: Processor, script: Node, parent: Node) -> StatusEnum:
        raise NotImplementedError


class ShellScriptHandler(ScriptHandler):
    """A script written to disk and run by the batch system (HTCondor unless configured).

    ``inputs`` lists what writing the script needs, in the order CM Service looks them up:
    ``("collection", name)`` from the resolved collections, ``("data", key)`` from the data.
    """

    def __init__(self, *inputs: tuple[str, str]) -> None:
        self.inputs = inputs or (("collection", "output"), ("data", "butler_repo"))

    def _shell_method(self, script: Node) -> ScriptMethodEnum:
        method = self.method(script)
        if method is ScriptMethodEnum.no_script:
            raise BadExecutionMethodError("ScriptMethodEnum.no_script can not be set for ScriptHandler")
        return method

    def prepare(self, p: Processor, script: Node, parent: Node) -> StatusEnum:
        self._shell_method(script)
        resolved = p.resolve_collections(script)
        data = p.data_dict(script)
        for kind, key in self.inputs:
            if key not in (resolved if kind == "collection" else data):
                raise MissingScriptInputError(f"{script.fullname} missing an input: {KeyError(key)}")
        p.set_script_files(script)
        self.after_write(p, script, parent, resolved)
        p.set_status(script, StatusEnum.prepared)
        return StatusEnum.prepared

    def after_write(self, p: Processor, script: Node, parent: Node, resolved: dict[str, str]) -> None:
        """Hook for what a particular script records besides its files."""

    def launch(self, p: Processor, script: Node, parent: Node) -> StatusEnum:
        method = self.method(script)
        if not script.row["script_url"]:
            raise MissingNodeUrlError(f"script_url is not set for {script.fullname}")
        if not script.row["log_url"]:
            raise MissingNodeUrlError(f"log_url is not set for {script.fullname}")
        if method is ScriptMethodEnum.no_script:
            raise BadExecutionMethodError("ScriptMethodEnum.no_script can not be set for ScriptHandler")
        if method is ScriptMethodEnum.htcondor:
            user_log = str(Path(script.row["script_url"]).with_suffix(".condorlog"))
            try:
                p.env.submit(user_log)
            except OSError as exc:
                raise SubmitError(f"Bad htcondor submit: {exc}") from exc
            p.write(script, stamp_url=user_log)
        elif method is ScriptMethodEnum.slurm:
            raise SubmitError(f"Bad slurm submit: {NO_SUCH_FILE}")
        p.set_status(script, StatusEnum.running)
        return StatusEnum.running

    def check(self, p: Processor, script: Node, parent: Node) -> StatusEnum:
        method = self._shell_method(script)
        if method is ScriptMethodEnum.htcondor:
            status = p.env.condor_status(script.row["stamp_url"])
        elif method is ScriptMethodEnum.bash:
            status = _stamp_file_status(script)
        else:
            status = StatusEnum.failed
        p.set_status(script, status)
        self.after_check(p, script, parent, status)
        if status is StatusEnum.failed:
            if not script.row["log_url"]:
                raise MissingNodeUrlError(f"log_url is not set for {script.fullname}")
            p.add_error(script, ErrorSourceEnum.local_script, diagnostic_message(script.row["log_url"]))
        return status

    def after_check(self, p: Processor, script: Node, parent: Node, status: StatusEnum) -> None:
        """Hook for what a particular script learns from its own log when checked."""


def _stamp_file_status(script: Node) -> StatusEnum:
    """A bash script's status as its stamp file records it (unchanged while there is none)."""
    stamp = script.row["stamp_url"]
    if not stamp or not Path(stamp).exists():
        return script.status
    return StatusEnum[yaml.safe_load(Path(stamp).read_text(encoding="utf-8"))["status"]]


class BpsSubmitHandler(ShellScriptHandler):
    """``bps submit``: its log names the submit directory and the WMS id of the workflow."""

    def __init__(self, job_id_key: str) -> None:
        super().__init__(
            ("data", "butler_repo"),
            ("data", "lsst_distrib_dir"),
            ("data", "pipeline_yaml"),
            ("collection", "run"),
            ("collection", "inputs"),
        )
        self.job_id_key = job_id_key

    def launch(self, p: Processor, script: Node, parent: Node) -> StatusEnum:
        status = super().launch(p, script, parent)
        p.write(parent, stamp_url=script.row["stamp_url"])
        return status

    def after_check(self, p: Processor, script: Node, parent: Node, status: StatusEnum) -> None:
        log_url = script.row["log_url"]
        bps = parse_bps_stdout(log_url) if log_url and Path(log_url).exists() else None
        if bps is not None and bps.get("Submit dir") is not None:
            p.merge_metadata(parent, bps_submit_dir=bps["Submit dir"])
        if status in (StatusEnum.reviewable, StatusEnum.accepted):
            p.write(parent, wms_job_id=None if bps is None else bps[self.job_id_key])


class ManifestReportHandler(ShellScriptHandler):
    """``pipetask report``: records where the report and the quantum graph are on the job."""

    def __init__(self) -> None:
        super().__init__(("collection", "job_run"), ("data", "butler_repo"))

    def after_write(self, p: Processor, script: Node, parent: Node, resolved: dict[str, str]) -> None:
        qgraph = f"{resolved['job_run']}.qgraph".replace("/", "_")
        submit_dir = parent.row["metadata_"].get("bps_submit_dir")
        root = p.env.artifact_root
        if submit_dir is not None:
            graph_url = str(Path(p.env.resolve(submit_dir), qgraph))
        else:
            graph_url = f"{root}/{parent.fullname}/submit/{qgraph}"
        p.merge_metadata(
            parent, report_url=f"{root}/{parent.fullname}/manifest_report.yaml", graph_url=graph_url
        )


class FunctionHandler(ScriptHandler):
    """A script that is a Python function in the service; its changes bump ``mtime``."""

    default_method = ScriptMethodEnum.no_script

    def __init__(self, path: str) -> None:
        self.path = path

    def _require_no_script(self, script: Node) -> None:
        if self.method(script) is not ScriptMethodEnum.no_script:
            raise BadExecutionMethodError(
                f"ScriptMethodEnum.no_script must be set for <class '{self.path}'>"
            )

    def _settle(self, p: Processor, script: Node, status: StatusEnum) -> StatusEnum:
        if status is not script.status:
            p.set_status(script, status)
            p.touch(script)
        return status

    def prepare(self, p: Processor, script: Node, parent: Node) -> StatusEnum:
        self._require_no_script(script)
        return self._settle(p, script, self.do_prepare(p, script, parent))

    def launch(self, p: Processor, script: Node, parent: Node) -> StatusEnum:
        self._require_no_script(script)
        return self._settle(p, script, self.do_run(p, script, parent))

    def check(self, p: Processor, script: Node, parent: Node) -> StatusEnum:
        self._require_no_script(script)
        status = self.do_check(p, script, parent)
        p.set_status(script, status)
        return status

    def do_prepare(self, p: Processor, script: Node, parent: Node) -> StatusEnum:
        return StatusEnum.prepared

    def do_run(self, p: Processor, script: Node, parent: Node) -> StatusEnum:
        return StatusEnum.running

    def do_check(self, p: Processor, script: Node, parent: Node) -> StatusEnum:
        raise NotImplementedError


class RunChildrenHandler(FunctionHandler):
    """``run`` scripts: running and checking both process every child element once."""

    def do_run(self, p: Processor, script: Node, parent: Node) -> StatusEnum:
        lowest = min(
            (p.process_element(child)[1].value for child in p.children(parent)),
            default=StatusEnum.accepted.value,
        )
        status = StatusEnum.accepted if lowest >= StatusEnum.accepted.value else StatusEnum.running
        p.set_status(script, status)
        return status

    do_check = do_run


class RunGroupsHandler(RunChildrenHandler):
    def do_prepare(self, p: Processor, script: Node, parent: Node) -> StatusEnum:
        p.create_groups(parent)
        return StatusEnum.prepared


class RunJobsHandler(RunChildrenHandler):
    def do_prepare(self, p: Processor, script: Node, parent: Node) -> StatusEnum:
        p.create_job(parent)
        p.set_status(script, StatusEnum.prepared)
        return StatusEnum.running


class BpsReportHandler(FunctionHandler):
    """``bps report`` on the job's workflow; nothing to ask while the job has no WMS id."""

    def do_prepare(self, p: Processor, script: Node, parent: Node) -> StatusEnum:
        p.write(script, stamp_url=parent.row["wms_job_id"])
        return StatusEnum.prepared

    def do_check(self, p: Processor, script: Node, parent: Node) -> StatusEnum:
        wms_job_id = parent.row["wms_job_id"]
        return script.status if wms_job_id is None else p.env.workflow_status(wms_job_id)


class ManifestReportLoadHandler(FunctionHandler):
    """Loads the ``pipetask report`` YAML; a report listing failed quanta asks for review."""

    def do_prepare(self, p: Processor, script: Node, parent: Node) -> StatusEnum:
        default = f"{p.env.artifact_root}/{parent.fullname}/manifest_report.yaml"
        p.write(script, stamp_url=parent.row["metadata_"].get("report_url") or default)
        return StatusEnum.prepared

    def do_check(self, p: Processor, script: Node, parent: Node) -> StatusEnum:
        with open(script.row["stamp_url"], encoding="utf-8") as report:
            tasks = yaml.safe_load(report) or {}
        failed = any(task.get("failed_quanta") for task in tasks.values())
        return StatusEnum.reviewable if failed else StatusEnum.accepted


def _function(cls: type[FunctionHandler], module: str, name: str) -> tuple[str, FunctionHandler]:
    return name, cls(f"lsst.cmservice.handlers.{module}.{name}")


SCRIPT_HANDLERS: dict[str, ScriptHandler] = dict(
    [
        _function(RunChildrenHandler, "elements", "RunStepsScriptHandler"),
        _function(RunGroupsHandler, "elements", "RunGroupsScriptHandler"),
        _function(RunJobsHandler, "elements", "RunJobsScriptHandler"),
        _function(BpsReportHandler, "jobs", "HTCondorReportHandler"),
        _function(BpsReportHandler, "jobs", "PandaReportHandler"),
        _function(ManifestReportLoadHandler, "jobs", "ManifestReportLoadHandler"),
    ]
) | {
    "HTCondorScriptHandler": BpsSubmitHandler(job_id_key="Submit dir"),
    "PandaScriptHandler": BpsSubmitHandler(job_id_key="Run Id"),
    "ManifestReportScriptHandler": ManifestReportHandler(),
    "NullScriptHandler": ShellScriptHandler(),
    "ChainCreateScriptHandler": ShellScriptHandler(
        ("collection", "output"), ("collection", "inputs"), ("data", "butler_repo")
    ),
    "ChainPrependScriptHandler": ShellScriptHandler(
        ("collection", "output"), ("collection", "input"), ("data", "butler_repo")
    ),
    "ChainCollectScriptHandler": ShellScriptHandler(
        ("collection", "output"), ("collection", "inputs"), ("data", "collect"), ("data", "butler_repo")
    ),
    "TagInputsScriptHandler": ShellScriptHandler(
        ("collection", "output"), ("collection", "input"), ("data", "butler_repo")
    ),
    "TagCreateScriptHandler": ShellScriptHandler(),
    "TagAssociateScriptHandler": ShellScriptHandler(
        ("collection", "input"), ("collection", "output"), ("data", "butler_repo")
    ),
    "PrepareStepScriptHandler": ShellScriptHandler(("data", "butler_repo"), ("collection", "output")),
    "ValidateScriptHandler": ShellScriptHandler(
        ("collection", "input"), ("collection", "output"), ("data", "butler_repo")
    ),
    "ResourceUsageScriptHandler": ShellScriptHandler(
        ("data", "butler_repo"), ("data", "lsst_distrib_dir"), ("data", "lsst_version")
    ),
    "HipsMapsScriptHandler": ShellScriptHandler(
        ("data", "butler_repo"), ("data", "lsst_distrib_dir"), ("data", "lsst_version")
    ),
}
"""Each CM Service script handler class (by class name) and what the sandbox does for it."""
