"""What CM Service does when a node is checked or processed, computed from the stored rows.

A :class:`Processor` is one request's view of the campaign trees: it walks parents and
children, merges configuration down the tree, creates the rows a preparing element creates, and
processes elements by walking their scripts in dependency order, handing each script to its
handler (``handlers.py``). It follows CM Service's rules including their side effects (new
script errors, URLs, job metadata, ``metadata_.mtime`` copied up the tree), and asks the
scenario's :class:`~cmrunbook.sandbox.environment.Environment` wherever the service asks the
world.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from typing import Any

from ..status import ErrorSourceEnum, LevelEnum, ScriptMethodEnum, StatusEnum
from .environment import Environment
from .faults import MissingRowError, MissingScriptInputError, ResolveCollectionsError
from .handlers import SCRIPT_HANDLERS, ScriptHandler
from .store import Tx

PARENT_LEVEL = {
    LevelEnum.step: LevelEnum.campaign,
    LevelEnum.group: LevelEnum.step,
    LevelEnum.job: LevelEnum.group,
}
CHILD_LEVEL = {parent: child for child, parent in PARENT_LEVEL.items()}
SCRIPT_OWNER = {
    LevelEnum.campaign: "c_id",
    LevelEnum.step: "s_id",
    LevelEnum.group: "g_id",
    LevelEnum.job: "j_id",
}
"""The script column that points at a script's parent, per parent level."""

_FULLNAME_FIELDS = ("campaign", "step", "group", "job")


@dataclass(eq=False)
class Node:
    """A campaign, step, group, job or script row, with its level."""

    level: LevelEnum
    row: dict[str, Any]

    @property
    def table(self) -> str:
        return self.level.name

    @property
    def id(self) -> int:
        return int(self.row["id"])

    @property
    def fullname(self) -> str:
        return str(self.row["fullname"])

    @property
    def status(self) -> StatusEnum:
        return StatusEnum[self.row["status"]]


def is_done(status: StatusEnum) -> bool:
    """A prerequisite counts as done only once accepted (reviewable is not enough)."""
    return status.value >= StatusEnum.accepted.value


class Processor:
    """Checks and processes nodes inside one transaction, like one request to CM Service.

    Rows are cached by id and written through, so every handler sees the others' changes as
    the service's ORM session does.
    """

    def __init__(self, tx: Tx, env: Environment, now: float | None = None) -> None:
        self.tx = tx
        self.env = env
        self.now = int(time.time() if now is None else now)
        self._rows: dict[tuple[str, int], dict[str, Any]] = {}

    # -- rows -------------------------------------------------------------------------------

    def _cache(self, table: str, row: dict[str, Any]) -> dict[str, Any]:
        return self._rows.setdefault((table, int(row["id"])), row)

    def rows(self, table: str, **equals: Any) -> list[dict[str, Any]]:
        """Matching rows in storage order, as the cached (shared) dicts."""
        return [self._cache(table, row) for row in self.tx.find(table, **equals)]

    def node(self, level: LevelEnum, row_id: int) -> Node:
        """The node with this id; a missing one is CM Service's "not found" (404)."""
        cached = self._rows.get((level.name, row_id))
        row = cached if cached is not None else self.tx.get(level.name, row_id)
        if row is None:
            raise MissingRowError(level.name, row_id)
        return Node(level, self._cache(level.name, row))

    def write(self, node: Node, **values: Any) -> None:
        """Store the values that differ, in the database and in the cached row."""
        changed = {key: value for key, value in values.items() if node.row.get(key) != value}
        if changed:
            self.tx.update(node.table, node.id, **changed)
            node.row.update(changed)

    def set_status(self, node: Node, status: StatusEnum) -> None:
        self.write(node, status=status.name)

    def merge_metadata(self, node: Node, **values: Any) -> None:
        self.write(node, metadata_={**node.row["metadata_"], **values})

    def touch(self, node: Node) -> None:
        """Set ``metadata_.mtime`` to now on the node and every ancestor, as CM Service does."""
        current: Node | None = node
        while current is not None:
            self.merge_metadata(current, mtime=self.now)
            current = self.parent(current) if current.level is not LevelEnum.campaign else None

    def add_error(self, script: Node, source: ErrorSourceEnum, message: str) -> None:
        self.tx.insert(
            "script_error",
            {"script_id": script.id, "source": source.name, "diagnostic_message": message},
        )

    # -- tree ---------------------------------------------------------------------------------

    def parent(self, node: Node) -> Node:
        """A script's parent element (any level) or an element's parent one level up."""
        if node.level is LevelEnum.script:
            return self.node(LevelEnum[node.row["parent_level"]], node.row["parent_id"])
        return self.node(PARENT_LEVEL[node.level], node.row["parent_id"])

    def campaign_of(self, node: Node) -> Node:
        while node.level is not LevelEnum.campaign:
            node = self.parent(node)
        return node

    def children(self, node: Node) -> list[Node]:
        """An element's child elements (a job has none), in storage order."""
        child_level = CHILD_LEVEL.get(node.level)
        if child_level is None:
            return []
        return [Node(child_level, row) for row in self.rows(child_level.name, parent_id=node.id)]

    def scripts_of(self, node: Node, *, remaining_only: bool = False) -> list[Node]:
        """The element's own non-superseded scripts; "remaining" ones are below reviewable."""
        scripts = [
            Node(LevelEnum.script, row)
            for row in self.rows("script", **{SCRIPT_OWNER[node.level]: node.id})
        ]
        return [
            script
            for script in scripts
            if not script.row["superseded"]
            and not (remaining_only and script.status.value >= StatusEnum.reviewable.value)
        ]

    def jobs_of(self, node: Node, *, remaining_only: bool = False) -> list[Node]:
        """Every non-superseded job under the element; "remaining" ones are below accepted."""
        elements = [node]
        while elements and elements[0].level is not LevelEnum.job:
            elements = [child for element in elements for child in self.children(element)]
        return [
            job
            for job in elements
            if job.level is LevelEnum.job
            and not job.row["superseded"]
            and not (remaining_only and is_done(job.status))
        ]

    def in_dependency_order(self, scripts: list[Node]) -> list[Node]:
        """``scripts`` with every prerequisite before its dependents, otherwise as stored."""
        ids = {script.id for script in scripts}
        prereqs = {
            script.id: {dep["prereq_id"] for dep in self.rows("script_dependency", depend_id=script.id)}
            & ids
            for script in scripts
        }
        ordered: list[Node] = []
        placed: set[int] = set()
        while len(ordered) < len(scripts):
            pending = [script for script in scripts if script.id not in placed]
            after = next((script for script in pending if prereqs[script.id] <= placed), pending[0])
            ordered.append(after)
            placed.add(after.id)
        return ordered

    def prerequisites_done(self, node: Node) -> bool:
        """Whether every prerequisite of a script or step is accepted (others have none)."""
        if node.level is LevelEnum.script:
            table, level = "script_dependency", LevelEnum.script
        elif node.level is LevelEnum.step:
            table, level = "step_dependency", LevelEnum.step
        else:
            return True
        return all(
            is_done(self.node(level, dep["prereq_id"]).status)
            for dep in self.rows(table, depend_id=node.id)
        )

    # -- configuration, merged down the tree ------------------------------------------------

    def spec_block(self, node: Node) -> dict[str, Any]:
        row = self.tx.get("spec_block", node.row["spec_block_id"])
        assert row is not None
        return row

    def handler_path(self, node: Node) -> str:
        return str(node.row.get("handler") or self.spec_block(node)["handler"])

    def _merged(self, node: Node, column: str) -> dict[str, Any]:
        merged: dict[str, Any] = {}
        if node.level is not LevelEnum.campaign:
            merged.update(self._merged(self.parent(node), column))
        merged.update(self.spec_block(node)[column] or {})
        merged.update(node.row[column] or {})
        return merged

    def data_dict(self, node: Node) -> dict[str, Any]:
        """The node's data: its parents', then its spec block's, then its own values."""
        return self._merged(node, "data")

    def spec_aliases(self, node: Node) -> dict[str, Any]:
        return self._merged(node, "spec_aliases")

    def child_config(self, node: Node) -> dict[str, Any]:
        return {**(self.spec_block(node)["child_config"] or {}), **(node.row["child_config"] or {})}

    def collections(self, node: Node) -> dict[str, Any]:
        merged = self._merged(node, "collections")
        return {
            key: ",".join(value) if isinstance(value, list) else value for key, value in merged.items()
        }

    def resolve_collections(self, node: Node) -> dict[str, str]:
        """Collection names with their templates filled from other collections and the fullname."""
        templates = self.collections(node)
        lookup = dict(templates)
        tokens = node.fullname.split("/")
        names: dict[str, str] = {"script": tokens.pop()} if node.level is LevelEnum.script else {}
        names.update(zip(_FULLNAME_FIELDS, tokens, strict=False))
        names["out"] = lookup.pop("out")
        resolved: dict[str, str] = {}
        for key, template in templates.items():
            try:
                partial = template.format(**lookup)
            except KeyError:
                partial = template
            try:
                resolved[key] = partial.format(**names)
            except KeyError as exc:
                raise ResolveCollectionsError(
                    f"Failed to resolve collection {key}, {partial} using: {names!s}"
                ) from exc
        for key, value in resolved.items():
            if "MUST_OVERRIDE" in value:
                raise ResolveCollectionsError(
                    f"Attempts to resolve {key} collection includes MUST_OVERRIDE. "
                    "Make sure to provide necessary collection names."
                )
        return resolved

    def find_spec_block(self, name: str, campaign: Node) -> dict[str, Any]:
        """A spec block by name; in a namespaced campaign names are UUID5s of the readable one."""
        candidates = [name]
        namespace = campaign.row["data"].get("namespace")
        if namespace:
            candidates.append(str(uuid.uuid5(uuid.UUID(namespace), name)))
        for candidate in candidates:
            rows = self.tx.find("spec_block", name=candidate)
            if rows:
                return rows[0]
        raise MissingRowError("spec_block", name)

    # -- scripts ----------------------------------------------------------------------------

    def script_handler(self, script: Node) -> ScriptHandler:
        """The handler named by the script row, or else by its spec block."""
        path = self.handler_path(script)
        handler = SCRIPT_HANDLERS.get(path.rsplit(".", 1)[-1])
        if handler is None:
            raise ModuleNotFoundError(f"No handler class {path}")
        return handler

    def process_script(self, script: Node) -> tuple[bool, StatusEnum]:
        return self.script_handler(script).process(self, script)

    def run_check_script(self, script_id: int) -> tuple[bool, StatusEnum]:
        """``POST /script/action/{id}/run_check``: ask the handler, persist what it finds."""
        script = self.node(LevelEnum.script, script_id)
        original = script.status
        status = self.script_handler(script).check(self, script, self.parent(script))
        return status is not original, status

    def set_script_files(self, script: Node) -> None:
        """Where a shell script's files go: ``<artifact root>/<fullname>.{sh,log,stamp}``."""
        base = f"{self.env.artifact_root}/{script.fullname}"
        self.write(script, script_url=f"{base}.sh", log_url=f"{base}.log", stamp_url=f"{base}.stamp")

    # -- elements ---------------------------------------------------------------------------

    def process_element(self, node: Node) -> tuple[bool, StatusEnum]:
        """Move an element along: prepare it, run its scripts, settle its status."""
        original = status = node.status
        changed = False
        if status is StatusEnum.waiting and self.prerequisites_done(node):
            status, changed = StatusEnum.ready, True
        if status is StatusEnum.ready:
            status = self.prepare_element(node)
            changed = True
        if status is StatusEnum.prepared:
            step_changed, status = self.continue_processing(node)
            changed |= step_changed
        if status is StatusEnum.running:
            step_changed, status = self.check_element(node)
            changed |= step_changed
            if status is StatusEnum.running:
                step_changed, status = self.continue_processing(node)
                changed |= step_changed
        if status is StatusEnum.reviewable:
            status = StatusEnum.accepted
        if status is not original:
            changed = True
            self.set_status(node, status)
        return changed, status

    def check_element(self, node: Node) -> tuple[bool, StatusEnum]:
        """An element is running while any remaining script or job is below accepted."""
        lowest = min(
            (item.status.value for item in self.scripts_of(node, remaining_only=True)),
            default=StatusEnum.accepted.value,
        )
        if node.level is not LevelEnum.job:
            lowest = min(
                [lowest, *(job.status.value for job in self.jobs_of(node, remaining_only=True))]
            )
        if lowest < StatusEnum.accepted.value:
            self.set_status(node, StatusEnum.running)
            return False, StatusEnum.running
        self.set_status(node, StatusEnum.accepted)
        return True, StatusEnum.accepted

    def run_check_element(self, level: LevelEnum, row_id: int) -> tuple[bool, StatusEnum]:
        return self.check_element(self.node(level, row_id))

    def continue_processing(self, node: Node) -> tuple[bool, StatusEnum]:
        """Process each remaining script once; the element stays running meanwhile."""
        changed = False
        for script in self.in_dependency_order(self.scripts_of(node, remaining_only=True)):
            script_changed, _status = self.process_script(script)
            changed |= script_changed
        self.set_status(node, StatusEnum.running)
        return changed, StatusEnum.running

    def prepare_element(self, node: Node) -> StatusEnum:
        """Create the element's scripts (and a campaign's steps) from its spec block."""
        spec_block = self.spec_block(node)
        if node.level is LevelEnum.campaign:
            self._add_steps(node, spec_block["steps"] or [])
        aliases = self.spec_aliases(node)
        created: dict[str, int] = {}
        prerequisites: list[tuple[str, str]] = []
        for item in spec_block["scripts"] or []:
            values = dict(item["Script"])
            name = values.pop("name")
            block = aliases.get(values["spec_block"], values["spec_block"])
            created[name] = self._create_script(node, name, block, values).id
            prerequisites += [(name, prereq) for prereq in values.get("prerequisites", [])]
        namespace = self.campaign_of(node).row["data"].get("namespace")
        for depend, prereq in prerequisites:
            self.tx.insert(
                "script_dependency",
                {"prereq_id": created[prereq], "depend_id": created[depend], "namespace": namespace},
            )
        self.set_status(node, StatusEnum.prepared)
        return StatusEnum.prepared

    def _node_name(self, campaign: Node, name: str) -> str:
        namespace = campaign.row["data"].get("namespace")
        return str(uuid.uuid5(uuid.UUID(namespace), name)) if namespace else name

    def _new_element(self, level: LevelEnum, values: dict[str, Any]) -> Node:
        row = {
            "status": StatusEnum.waiting.name,
            "superseded": False,
            "handler": None,
            "data": {},
            "metadata_": {"mtime": None, "crtime": self.now},
            "child_config": {},
            "collections": {},
            "spec_aliases": {},
            **values,
        }
        return Node(level, self._cache(level.name, self.tx.insert(level.name, row)))

    def _add_steps(self, campaign: Node, step_items: list[dict[str, Any]]) -> None:
        aliases = self.spec_aliases(campaign)
        overrides = self.child_config(campaign)
        step_ids = {self._readable(step): step.id for step in self.children(campaign)}
        prerequisites: list[tuple[str, str]] = []
        for item in step_items:
            values = dict(item["Step"])
            name = values.pop("name")
            raw_block = values.pop("spec_block")
            block = aliases.get(raw_block, raw_block)
            values.update(overrides.get(name, {}))
            prerequisites += [(name, prereq) for prereq in values.pop("prerequisites", [])]
            step = self._new_element(
                LevelEnum.step,
                {
                    "spec_block_id": self.find_spec_block(block, campaign)["id"],
                    "parent_id": campaign.id,
                    "name": self._node_name(campaign, name),
                    "fullname": f"{campaign.fullname}/{name}",
                    **{
                        key: values[key]
                        for key in ("data", "child_config", "collections")
                        if key in values
                    },
                },
            )
            step_ids[name] = step.id
        namespace = campaign.row["data"].get("namespace")
        for depend, prereq in prerequisites:
            self.tx.insert(
                "step_dependency",
                {"prereq_id": step_ids[prereq], "depend_id": step_ids[depend], "namespace": namespace},
            )

    @staticmethod
    def _readable(node: Node) -> str:
        return node.fullname.rsplit("/", 1)[-1]

    def _create_script(self, parent: Node, name: str, block: str, values: dict[str, Any]) -> Node:
        campaign = self.campaign_of(parent)
        row = {
            "spec_block_id": self.find_spec_block(block, campaign)["id"],
            "parent_level": parent.level.name,
            "parent_id": parent.id,
            **{column: None for column in SCRIPT_OWNER.values()},
            SCRIPT_OWNER[parent.level]: parent.id,
            "name": self._node_name(campaign, name),
            "attempt": 0,
            "fullname": f"{parent.fullname}/{name}_000",
            "status": StatusEnum.waiting.name,
            "method": values.get("method", ScriptMethodEnum.default.name),
            "superseded": False,
            "handler": values.get("handler"),
            "data": values.get("data", {}),
            "metadata_": {"mtime": None, "crtime": self.now},
            "child_config": values.get("child_config", {}),
            "collections": values.get("collections", {}),
            "script_url": None,
            "stamp_url": None,
            "log_url": None,
        }
        return Node(LevelEnum.script, self._cache("script", self.tx.insert("script", row)))

    def _child_spec_block(self, element: Node) -> tuple[int, dict[str, Any]]:
        """The spec block an element's ``child_config`` names for its children, and the rest."""
        config = self.child_config(element)
        block = config.pop("spec_block", None)
        if block is None:
            raise MissingScriptInputError(
                f"child_config for {element.fullname} does not contain spec_block"
            )
        block = self.spec_aliases(element).get(block, block)
        return self.find_spec_block(block, self.campaign_of(element))["id"], config

    def create_groups(self, step: Node) -> None:
        """Split a step into groups as its ``child_config`` says (``no_split`` or listed values)."""
        block_id, config = self._child_spec_block(step)
        method = config.get("split_method", "no_split")
        base_query = config.get("base_query", "")
        if method == "no_split":
            parts = [self.data_dict(step).get("data_query"), base_query]
            queries = [" AND ".join(part for part in parts if part)]
        elif method == "split_by_vals":
            field = config["split_field"]
            queries = [f"{base_query} AND {field} IN ({vals})" for vals in config.get("split_vals", [])]
        else:
            raise NotImplementedError(f"Split method {method} needs a Butler, which the sandbox has not")
        for index, query in enumerate(queries):
            self._new_element(
                LevelEnum.group,
                {
                    "spec_block_id": block_id,
                    "parent_id": step.id,
                    "name": f"group{index}",
                    "fullname": f"{step.fullname}/group{index}",
                    "data": {"data_query": query},
                },
            )

    def create_job(self, group: Node) -> None:
        """Create the group's job (attempt 0) from the spec block its ``child_config`` names."""
        block_id, config = self._child_spec_block(group)
        self._new_element(
            LevelEnum.job,
            {
                "spec_block_id": block_id,
                "parent_id": group.id,
                "name": "job",
                "attempt": 0,
                "fullname": f"{group.fullname}/job_000",
                "wms_job_id": None,
                "stamp_url": None,
                **{key: config[key] for key in ("data", "collections") if key in config},
            },
        )

    # -- job force-accept ---------------------------------------------------------------------

    def force_accept_job(self, job_id: int, output_collection: str) -> None:
        """Accept a job whatever its state: its scripts below reviewable, its run collection."""
        job = self.node(LevelEnum.job, job_id)
        for script in self.scripts_of(job):
            if script.status.value < StatusEnum.reviewable.value:
                self.set_status(script, StatusEnum.accepted)
        self.write(job, collections={**(job.row["collections"] or {}), "job_run": output_collection})
        self.set_status(job, StatusEnum.accepted)
