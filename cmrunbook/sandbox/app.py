"""The sandbox's HTTP face: CM Service 0.8.0's v1 routes, status codes and error shapes.

Each route opens one transaction, runs one use case from :mod:`.service` and turns what it
raises into the reply the real route gives: a missing row is a 404 with the quoted detail, a
refused transition a 422 (or a 500 on the routes that do not catch it), anything else a 500
with ``str(exc)``. Validation errors are FastAPI's own, as in the real service.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Callable
from typing import Any, TypeVar

from fastapi import APIRouter, BackgroundTasks, FastAPI, HTTPException, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from pydantic_core import to_jsonable_python

from ..models import Campaign, Element, Health, Job, Queue, Script, ScriptError, Step
from ..status import Action, LevelEnum, StatusEnum
from . import service
from .engine import Processor
from .faults import MissingRowError, TransitionError
from .store import Store

VERSION = "0.8.0"
REQUEST_ID_HEADER = "X-Request-ID"
V1_PREFIX = "/cm-service/v1"

MODELS: dict[str, type[BaseModel]] = {
    "campaign": Campaign,
    "step": Step,
    "group": Step,
    "job": Job,
    "script": Script,
    "script_error": ScriptError,
    "queue": Queue,
}
"""The reply model of each resource's rows (a group has the same shape as a step)."""

ELEMENTS = ("campaign", "step", "group", "job")
NODES = (*ELEMENTS, "script")

logger = logging.getLogger(__name__)
T = TypeVar("T")


class ResetQuery(BaseModel):
    """Body of ``/action/{id}/reset``: required, though this route ignores both fields."""

    fake_reset: bool = False
    status: StatusEnum = StatusEnum.waiting


class UpdateStatusQuery(BaseModel):
    """Body of ``/update/{id}/status``; the status must be the integer value."""

    fullname: str | None = None
    status: StatusEnum


class UpdateDictQuery(BaseModel):
    """Body of ``/update/{id}/data_dict``; ``fullname`` is accepted and ignored."""

    fullname: str | None = None
    update_dict: dict[str, Any]


class QueueCreate(BaseModel):
    """Body of ``/queue/create``; only fullname, interval, options and active are used."""

    interval: float = 300.0
    options: dict[str, Any] | None = None
    active: bool = False
    fullname: str | None = None
    node_id: int | None = None
    node_level: LevelEnum | None = None


def _run(store: Store, work: Callable[[Processor], T], *, refused: int = 422, missing: int = 404) -> T:
    """Run ``work`` in one transaction and map its failure to CM Service's reply.

    ``refused`` and ``missing`` are the codes the route gives for a state-rule error and for a
    missing row: the real routes that do not catch those answer 500.
    """
    try:
        with store.transaction() as tx:
            return work(Processor(tx, store.environment))
    except MissingRowError as exc:
        raise HTTPException(status_code=missing, detail=str(exc)) from exc
    except TransitionError as exc:
        raise HTTPException(status_code=refused, detail=str(exc)) from exc
    except Exception as exc:
        raise HTTPException(status_code=500, detail=str(exc)) from exc


def _rows_reply(rows: list[dict[str, Any]], model: type[BaseModel], status_code: int = 200) -> Response:
    """A list reply shaped by ``model`` (its fields, in its order), serialised directly.

    The rows are already in wire form, so FastAPI's validation of every row against the
    response model would only cost time: for a campaign's scripts, more than the query. A field
    the table lacks (a campaign's ``parent_id``) is null, as the model's default says.
    """
    fields = list(model.model_fields)
    body = json.dumps(
        [{field: row.get(field) for field in fields} for row in rows],
        default=to_jsonable_python,
        separators=(",", ":"),
    )
    return Response(body, status_code=status_code, media_type="application/json")


def _force_accept(store: Store, job_id: int, output_collection: str) -> None:
    """The background task of a forced job accept; its failures only reach the log."""
    try:
        _run(store, lambda p: service.force_accept_job(p, job_id, output_collection))
    except HTTPException as exc:
        logger.error("Forced accept of job %s failed: %s", job_id, exc.detail)


def _add_reads(router: APIRouter, store: Store, resource: str) -> None:
    model = MODELS[resource]

    # Extra query parameters (the queue list's ``parent_id``) are accepted and ignored.
    @router.get(f"/{resource}/list", response_model=list[model])  # type: ignore[valid-type]
    def list_rows(skip: int = 0, limit: int = 100) -> Response:
        return _rows_reply(_run(store, lambda p: service.page(p, resource, skip, limit)), model)

    @router.get(f"/{resource}/get/{{row_id}}", response_model=model)
    def get_row(row_id: int) -> dict[str, Any]:
        return _run(store, lambda p: service.get(p, resource, row_id))


def _add_element_reads(router: APIRouter, store: Store, resource: str) -> None:
    level = LevelEnum[resource]

    @router.get(f"/{resource}/get/{{row_id}}/scripts", status_code=201, response_model=list[Script])
    def get_scripts(row_id: int, script_name: str | None = None) -> Response:
        rows = _run(store, lambda p: service.element_scripts(p, level, row_id, script_name))
        return _rows_reply(rows, Script, 201)

    if level is LevelEnum.job:
        return

    @router.get(f"/{resource}/get/{{row_id}}/all_scripts", status_code=201, response_model=list[Script])
    def get_all_scripts(row_id: int) -> Response:
        texts = _run(store, lambda p: service.all_scripts(p, level, row_id))
        return Response(f"[{','.join(texts)}]", status_code=201, media_type="application/json")

    @router.get(f"/{resource}/get/{{row_id}}/jobs", status_code=201, response_model=list[Job])
    def get_jobs(row_id: int) -> Response:
        return _rows_reply(_run(store, lambda p: service.element_jobs(p, level, row_id)), Job, 201)


def _add_node_routes(router: APIRouter, store: Store, resource: str) -> None:
    level = LevelEnum[resource]
    model = MODELS[resource]

    @router.get(f"/{resource}/get/{{row_id}}/data_dict", response_model=dict[str, Any])
    def get_data_dict(row_id: int) -> dict[str, Any]:
        return _run(store, lambda p: service.data_dict(p, level, row_id))

    for action in (Action.accept, Action.reject):
        if action is Action.accept and level is LevelEnum.job:
            continue
        _add_action(router, store, resource, action)

    @router.post(f"/{resource}/action/{{row_id}}/reset", status_code=201, response_model=model)
    def reset(row_id: int, reset_query: ResetQuery) -> dict[str, Any]:
        return _run(store, lambda p: service.act(p, level, row_id, Action.reset))

    @router.post(
        f"/{resource}/action/{{row_id}}/run_check", status_code=201, response_model=tuple[bool, int]
    )
    def run_check(row_id: int) -> tuple[bool, int]:
        return _run(store, lambda p: service.run_check(p, level, row_id))

    @router.post(f"/{resource}/update/{{row_id}}/status", status_code=201, response_model=model)
    def update_status(row_id: int, query: UpdateStatusQuery) -> dict[str, Any]:
        return _run(store, lambda p: service.update_status(p, level, row_id, query.status))

    @router.post(f"/{resource}/update/{{row_id}}/data_dict", response_model=model)
    def update_data_dict(row_id: int, query: UpdateDictQuery) -> dict[str, Any]:
        return _run(
            store, lambda p: service.update_data_dict(p, level, row_id, query.update_dict), refused=500
        )


def _add_action(router: APIRouter, store: Store, resource: str, action: Action) -> None:
    level = LevelEnum[resource]

    @router.post(
        f"/{resource}/action/{{row_id}}/{action.value}", status_code=201, response_model=MODELS[resource]
    )
    def node_action(row_id: int) -> dict[str, Any]:
        return _run(store, lambda p: service.act(p, level, row_id, action))


def _add_specific_routes(router: APIRouter, store: Store) -> None:
    @router.get("/campaign/get_row_by_fullname", response_model=Campaign)
    def campaign_by_fullname(fullname: str) -> dict[str, Any]:
        return _run(store, lambda p: service.get_by(p, "campaign", "fullname", fullname))

    @router.get("/campaign/get_row_by_name", response_model=Campaign)
    def campaign_by_name(name: str) -> dict[str, Any]:
        return _run(store, lambda p: service.get_by(p, "campaign", "name", name))

    @router.get("/script/get/{row_id}/script_errors", status_code=201, response_model=list[ScriptError])
    def script_errors(row_id: int) -> Response:
        return _rows_reply(_run(store, lambda p: service.script_errors(p, row_id)), ScriptError, 201)

    @router.get("/script/get/{row_id}/parent", response_model=Element)
    def script_parent(row_id: int) -> dict[str, Any]:
        return _run(store, lambda p: service.script_parent(p, row_id))

    @router.post("/job/action/{row_id}/accept", status_code=200, response_model=None)
    def accept_job(
        row_id: int,
        background_tasks: BackgroundTasks,
        force: bool = False,
        output_collection: str | None = None,
    ) -> Any:
        """Plain accept answers with the Job; a forced one answers 202 and works afterwards."""
        if not force:
            return _run(store, lambda p: service.accept_job(p, row_id))
        if output_collection is None:
            raise HTTPException(status_code=422, detail="Cannot force accept without output collection")
        background_tasks.add_task(_force_accept, store, row_id, output_collection)
        return JSONResponse(status_code=202, content=None)

    @router.post("/queue/create", status_code=201, response_model=Queue)
    def create_queue(query: QueueCreate) -> dict[str, Any]:
        return _run(
            store,
            lambda p: service.create_queue(
                p, query.fullname, query.interval, query.options, query.active
            ),
            missing=500,
        )

    @router.delete("/queue/delete/{row_id}", status_code=204, response_class=Response)
    def delete_queue(row_id: int) -> Response:
        _run(store, lambda p: service.delete_queue(p, row_id))
        return Response(status_code=204, media_type="application/json")

    @router.patch("/queue/pause/{row_id}", response_model=bool)
    def pause_queue(row_id: int) -> bool:
        return _run(store, lambda p: service.toggle_queue(p, row_id))


def v1_router(store: Store) -> APIRouter:
    """Every v1 route the runbook uses, relative to ``/cm-service/v1``."""
    router = APIRouter()
    _add_specific_routes(router, store)
    for resource in MODELS:
        _add_reads(router, store, resource)
    for resource in ELEMENTS:
        _add_element_reads(router, store, resource)
    for resource in NODES:
        _add_node_routes(router, store, resource)
    return router


def create_app(store: Store, *, api_v1: bool = True) -> FastAPI:
    """The sandbox app; ``api_v1=False`` behaves like CM Service with ``FEATURE_API_V1`` off."""
    app = FastAPI(title="cm-service", version=VERSION, docs_url=None, redoc_url=None)

    @app.middleware("http")
    async def correlation_id(request: Request, call_next: Callable[[Request], Any]) -> Any:
        """Echo the caller's ``X-Request-ID`` (or make one), as CM Service's middleware does."""
        request_id = request.headers.get(REQUEST_ID_HEADER) or str(uuid.uuid4())
        response = await call_next(request)
        response.headers[REQUEST_ID_HEADER] = request_id
        return response

    @app.get("/healthz", response_model=Health)
    def healthz() -> dict[str, str]:
        return {"name": "cm-service", "version": VERSION}

    if api_v1:
        app.include_router(v1_router(store), prefix=V1_PREFIX)
    return app
