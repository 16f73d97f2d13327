"""The CM Service v1 API over httpx, as the runbooks use it.

Why not the official ``cm-client``: against a 0.8.0 server it sends bodies without a JSON
content type (every such call gets a 422) and its ``accept`` crashes after the server has acted.
This client sends every body as JSON, treats any 2xx as success (several reads answer 201),
pages list endpoints until an empty page and drops duplicate ids (the server does not order
rows), retries reads (never actions) on connection errors and 502/503/504, and turns every
failure into one named exception carrying the HTTP status, the URL and the server's message.
"""

from __future__ import annotations

import difflib
import json
import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import httpx
from pydantic import BaseModel

from .config import Settings, load_settings
from .errors import (
    AuthenticationError,
    InvalidRequestError,
    NotAllowedError,
    NotFoundError,
    ServerError,
    ServiceError,
    ServiceUnreachableError,
    V1DisabledError,
)
from .models import Campaign, Element, Health, Job, Queue, Script, ScriptError, ScriptSummary
from .status import Action, StatusEnum, allowed_statuses

logger = logging.getLogger(__name__)

Model = TypeVar("Model", bound=BaseModel)

RETRY_STATUSES = frozenset({502, 503, 504})
DEFAULT_PAGE_SIZE = 1000
_IN_USE_MESSAGE = "Tried to modify a node that is in use"


@dataclass(frozen=True)
class Exchange:
    """What the last request was, for the audit log: never holds a header or the token."""

    method: str
    path: str
    status_code: int | None
    request_id: str


class CMClient:
    """A CM Service v1 client; the resources are sub-clients (``client.script.get(7)``).

    Build it with no arguments to use ``CM_SERVICE``/``CM_TOKEN``/``CM_TIMEOUT``/``CM_COOKIES``
    from the environment or ``~/.cm-client``, exactly like ``cm-client``.
    """

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        read_retries: int = 3,
        backoff_s: float = 0.5,
        page_size: int = DEFAULT_PAGE_SIZE,
    ) -> None:
        self.settings = settings or load_settings()
        self.read_retries = read_retries
        self.backoff_s = backoff_s
        self.page_size = page_size
        self.last_exchange: Exchange | None = None
        headers = {"Accept": "application/json"}
        if self.settings.token:
            headers["Authorization"] = f"Bearer {self.settings.token.reveal()}"
        self._http = httpx.Client(
            base_url=self.settings.service_url + "/",
            headers=headers,
            cookies=self.settings.cookies,
            timeout=self.settings.timeout,
        )
        self.campaign = CampaignClient(self)
        self.script = ScriptClient(self)
        self.script_error = ScriptErrorClient(self)
        self.job = JobClient(self)
        self.queue = QueueClient(self)

    @property
    def service_url(self) -> str:
        return self.settings.service_url

    def __repr__(self) -> str:
        token = "set" if self.settings.token else "unset"
        return f"CMClient(service_url={self.service_url!r}, token={token})"

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> CMClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- service-level checks ---------------------------------------------------------------

    def health(self) -> Health:
        """``GET /healthz`` at the server root: the service's name and version."""
        url = self.settings.server_root + "/healthz"
        return Health.model_validate(self._send("GET", url, idempotent=True).json())

    def check_v1(self) -> None:
        """Raise :class:`V1DisabledError` unless the v1 routes answer (``FEATURE_API_V1``)."""
        self.get_json("campaign/list", params={"limit": 0})

    # -- transport --------------------------------------------------------------------------

    def get_json(self, path: str, *, params: dict[str, Any] | None = None) -> Any:
        """A read: retried with backoff on connection errors and 502/503/504."""
        return _body(self._send("GET", path, params=params, idempotent=True))

    def get_bytes(self, path: str) -> bytes:
        """A read's raw reply, for callers that parse it their own way."""
        return self._send("GET", path, idempotent=True).content

    def act(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        json: Any = None,
    ) -> Any:
        """A mutation: sent exactly once, whatever happens."""
        return _body(self._send(method, path, params=params, json=json, idempotent=False))

    def get_model(self, model: type[Model], path: str, **params: Any) -> Model:
        response = self._send("GET", path, params=params or None, idempotent=True)
        return model.model_validate_json(response.content)

    def get_models(self, model: type[Model], path: str, **params: Any) -> list[Model]:
        return [model.model_validate(item) for item in self.get_json(path, params=params or None)]

    def list_all(self, model: type[Model], path: str) -> list[Model]:
        """Every row of a paged list endpoint: pages until an empty page, unique by id."""
        rows: dict[int, Model] = {}
        skip = 0
        while page := self.get_models(model, path, skip=skip, limit=self.page_size):
            for row in page:
                rows.setdefault(row.id, row)  # type: ignore[attr-defined]
            skip += len(page)
        return list(rows.values())

    def _send(
        self,
        method: str,
        url: str,
        *,
        params: dict[str, Any] | None = None,
        json: Any = None,
        idempotent: bool,
    ) -> httpx.Response:
        request_id = str(uuid.uuid4())
        request = self._http.build_request(
            method, url, params=params, json=json, headers={"X-Request-ID": request_id}
        )
        attempts = 1 + (self.read_retries if idempotent else 0)
        for attempt in range(attempts):
            try:
                response = self._http.send(request)
            except httpx.TransportError as exc:
                if attempt + 1 < attempts:
                    self._sleep(attempt)
                    continue
                self.last_exchange = Exchange(method, request.url.path, None, request_id)
                raise self._unreachable(request, exc) from None
            if response.status_code in RETRY_STATUSES and attempt + 1 < attempts:
                self._sleep(attempt)
                continue
            break
        self.last_exchange = Exchange(method, request.url.path, response.status_code, request_id)
        logger.debug("%s %s -> %s [%s]", method, request.url.path, response.status_code, request_id)
        if response.is_success:
            return response
        raise self._failure(response, request_id)

    def _sleep(self, attempt: int) -> None:
        time.sleep(self.backoff_s * 2**attempt)

    def _unreachable(self, request: httpx.Request, exc: httpx.TransportError) -> ServiceUnreachableError:
        url = str(request.url.copy_with(query=None))
        kind = "timed out" if isinstance(exc, httpx.TimeoutException) else "could not be reached"
        return ServiceUnreachableError(
            f"CM Service at {self.service_url} {kind} ({type(exc).__name__} on {url}).",
            url=url,
            hint="Check that CM_SERVICE points at a running service (it usually ends in "
            "/cm-service/v1), that any port-forward or VPN is up, and try again; for a slow "
            "service raise CM_TIMEOUT (seconds).",
        )

    def _failure(self, response: httpx.Response, request_id: str) -> ServiceError:
        url = str(response.url)
        status = response.status_code
        detail = _detail(response)
        facts: dict[str, Any] = {
            "url": url,
            "status_code": status,
            "detail": detail,
            "request_id": request_id,
        }
        if status == 404 and detail == "Not Found":
            return self._bare_not_found(facts)
        if status == 404:
            return NotFoundError(
                f"{_readable_missing(detail)} (HTTP 404 from {url}).",
                hint="Check the id or name: list the rows first (for example with the "
                "campaign_status runbook) and copy the id from there.",
                **facts,
            )
        if status in (401, 403):
            return AuthenticationError(
                f"CM Service refused the credentials (HTTP {status} from {url}): {detail}",
                hint="Set CM_TOKEN to a valid Gafaelfawr token for this service.",
                **facts,
            )
        if status == 422 and isinstance(response.json().get("detail"), str):
            if detail.startswith("Can not "):
                return NotAllowedError(
                    f"CM Service refused: {detail} (HTTP 422).", hint=_allowed_hint(detail), **facts
                )
            return InvalidRequestError(f"CM Service refused the request: {detail} (HTTP 422).", **facts)
        if status == 422:
            return InvalidRequestError(
                f"CM Service rejected the request to {url} as invalid (HTTP 422): {detail}.",
                hint="This is a bug in the runbook or a parameter of the wrong type; report it "
                "with the request id " + request_id + ".",
                **facts,
            )
        if status >= 500 and detail.startswith(_IN_USE_MESSAGE):
            return NotAllowedError(
                f"CM Service refused the change: {detail} (HTTP {status}).",
                hint="Existing data keys can only change while the node is below 'prepared': "
                "stop and reject the campaign first (campaign_change runbook).",
                **facts,
            )
        return ServerError(
            f"CM Service failed while handling {response.request.method} {url} "
            f"(HTTP {status}): {detail}",
            hint=f"Nothing was changed if the server rolled back; report it to CM Ops with "
            f"request id {request_id}.",
            **facts,
        )

    def _bare_not_found(self, facts: dict[str, Any]) -> ServiceError:
        """A bare ``Not Found``: v1 switched off if ``/healthz`` answers, else a wrong URL."""
        try:
            self.health()
        except ServiceError:
            return NotFoundError(
                f"Nothing answers at {facts['url']} (HTTP 404), and /healthz does not answer either.",
                hint="CM_SERVICE is probably wrong: it should look like https://<host>/cm-service/v1.",
                **facts,
            )
        return V1DisabledError(
            f"CM Service at {self.settings.server_root} is up, but its v1 API is switched off "
            f"(HTTP 404 'Not Found' from {facts['url']}).",
            hint="Ask CM Ops to start the service with FEATURE_API_V1=1 (the runbooks need the "
            "v1 API), or check that CM_SERVICE ends in /cm-service/v1.",
            **facts,
        )


class _Resource:
    def __init__(self, client: CMClient) -> None:
        self._client = client


class CampaignClient(_Resource):
    """``/campaign/...``"""

    def list(self) -> list[Campaign]:
        return self._client.list_all(Campaign, "campaign/list")

    def get(self, campaign_id: int) -> Campaign:
        return self._client.get_model(Campaign, f"campaign/get/{campaign_id}")

    def get_by_fullname(self, fullname: str) -> Campaign:
        """The campaign named ``fullname``; a miss names the closest existing campaigns."""
        try:
            return self._client.get_model(Campaign, "campaign/get_row_by_fullname", fullname=fullname)
        except NotFoundError as exc:
            names = [campaign.fullname for campaign in self.list()]
            close = difflib.get_close_matches(fullname, names, n=5, cutoff=0.4)
            exc.message = f"There is no campaign named {fullname!r} at {self._client.service_url}."
            exc.hint = (
                f"Closest names: {', '.join(close)}."
                if close
                else "No similar name exists; list the campaigns to find the right one."
            )
            raise

    def all_scripts(self, campaign_id: int) -> list[Script]:
        """Every non-superseded script under the campaign, in one (unpaged) reply."""
        return self._client.get_models(Script, f"campaign/get/{campaign_id}/all_scripts")

    def script_summaries(self, campaign_id: int) -> list[ScriptSummary]:
        """The same scripts as :meth:`all_scripts`, keeping only what a campaign view needs.

        The other fields are dropped while the reply is parsed, so the scripts of the largest
        campaign never sit in memory as full rows.
        """
        content = self._client.get_bytes(f"campaign/get/{campaign_id}/all_scripts")
        rows = json.loads(content, object_pairs_hook=_trimming(frozenset(ScriptSummary.model_fields)))
        return [ScriptSummary.model_validate(row) for row in rows]

    def scripts(self, campaign_id: int, script_name: str | None = None) -> list[Script]:
        """Only the scripts directly under the campaign."""
        params = {"script_name": script_name} if script_name else {}
        return self._client.get_models(Script, f"campaign/get/{campaign_id}/scripts", **params)

    def jobs(self, campaign_id: int) -> list[Job]:
        return self._client.get_models(Job, f"campaign/get/{campaign_id}/jobs")

    def data_dict(self, campaign_id: int) -> dict[str, Any]:
        """The effective ``data``: spec block defaults merged with the campaign's own values."""
        return dict(self._client.get_json(f"campaign/get/{campaign_id}/data_dict"))

    def reject(self, campaign_id: int) -> Campaign:
        return Campaign.model_validate(self._client.act("POST", f"campaign/action/{campaign_id}/reject"))

    def update_status(self, campaign_id: int, status: StatusEnum) -> Campaign:
        body = {"status": status.value}
        return Campaign.model_validate(
            self._client.act("POST", f"campaign/update/{campaign_id}/status", json=body)
        )

    def update_data_dict(self, campaign_id: int, updates: dict[str, Any]) -> Campaign:
        """Shallow-merge ``updates`` into the campaign's own ``data``."""
        body = {"update_dict": updates}
        return Campaign.model_validate(
            self._client.act("POST", f"campaign/update/{campaign_id}/data_dict", json=body)
        )


class ScriptClient(_Resource):
    """``/script/...``"""

    def list(self) -> list[Script]:
        """Every script of every campaign; prefer ``campaign.all_scripts`` for one campaign."""
        return self._client.list_all(Script, "script/list")

    def get(self, script_id: int) -> Script:
        return self._client.get_model(Script, f"script/get/{script_id}")

    def errors(self, script_id: int) -> list[ScriptError]:
        """Every diagnostic message of every attempt of the script (unordered)."""
        return self._client.get_models(ScriptError, f"script/get/{script_id}/script_errors")

    def parent(self, script_id: int) -> Element:
        return self._client.get_model(Element, f"script/get/{script_id}/parent")

    def accept(self, script_id: int) -> Script:
        return Script.model_validate(self._client.act("POST", f"script/action/{script_id}/accept"))

    def reset(self, script_id: int) -> Script:
        """Back to waiting; leaves the previous attempt's files and error rows in place."""
        return Script.model_validate(
            self._client.act("POST", f"script/action/{script_id}/reset", json={})
        )

    def run_check(self, script_id: int) -> tuple[bool, StatusEnum]:
        """Ask the service to re-check the script; returns (changed, new status)."""
        changed, status = self._client.act("POST", f"script/action/{script_id}/run_check")
        return bool(changed), StatusEnum(status)

    def update_status(self, script_id: int, status: StatusEnum) -> Script:
        body = {"status": status.value}
        return Script.model_validate(
            self._client.act("POST", f"script/update/{script_id}/status", json=body)
        )


class ScriptErrorClient(_Resource):
    """``/script_error/...``"""

    def list(self) -> list[ScriptError]:
        return self._client.list_all(ScriptError, "script_error/list")


class JobClient(_Resource):
    """``/job/...``"""

    def get(self, job_id: int) -> Job:
        return self._client.get_model(Job, f"job/get/{job_id}")

    def scripts(self, job_id: int) -> list[Script]:
        return self._client.get_models(Script, f"job/get/{job_id}/scripts")

    def accept(self, job_id: int) -> Job:
        return Job.model_validate(self._client.act("POST", f"job/action/{job_id}/accept"))

    def force_accept(self, job_id: int, output_collection: str) -> None:
        """Force-accept the job and its unfinished scripts; the server works in the background.

        The reply (202) comes before the work is done, even for a job id that does not exist:
        verify by re-reading the job.
        """
        params = {"force": "true", "output_collection": output_collection}
        self._client.act("POST", f"job/action/{job_id}/accept", params=params)


class QueueClient(_Resource):
    """``/queue/...``"""

    def list(self) -> list[Queue]:
        return self._client.list_all(Queue, "queue/list")

    def get(self, queue_id: int) -> Queue:
        return self._client.get_model(Queue, f"queue/get/{queue_id}")

    def create(self, fullname: str, *, interval: float = 300.0, active: bool = False) -> Queue:
        body = {"fullname": fullname, "interval": interval, "active": active}
        return Queue.model_validate(self._client.act("POST", "queue/create", json=body))

    def delete(self, queue_id: int) -> None:
        self._client.act("DELETE", f"queue/delete/{queue_id}")

    def toggle_active(self, queue_id: int) -> bool:
        """Flip the queue's ``active`` flag (the server's ``pause`` toggles); returns the new value."""
        return bool(self._client.act("PATCH", f"queue/pause/{queue_id}"))


def _trimming(fields: frozenset[str]) -> Callable[[list[tuple[str, Any]]], dict[str, Any]]:
    """A JSON object hook keeping only ``fields`` of each row (an object that has them all);
    nested objects, such as a row's ``metadata_``, stay whole."""

    def hook(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        row = dict(pairs)
        return {field: row[field] for field in fields} if fields <= row.keys() else row

    return hook


def _body(response: httpx.Response) -> Any:
    return response.json() if response.content else None


def _detail(response: httpx.Response) -> str:
    """The server's message, cleaned of the stray quotes a KeyError puts around it."""
    try:
        detail = response.json().get("detail", response.text)
    except (ValueError, AttributeError):
        return response.text.strip()
    if isinstance(detail, list):
        return "; ".join(
            f"{'.'.join(str(part) for part in item.get('loc', []))}: {item.get('msg', '')}"
            for item in detail
        )
    return str(detail).strip().strip('"')


def _allowed_hint(detail: str) -> str:
    """For ``Can not <action> <name> as it is in status ...``: where the action is allowed from."""
    verb = detail.split()[2] if len(detail.split()) > 2 else ""
    if verb not in Action.__members__:
        return "Re-read the target's current status before trying again."
    allowed = ", ".join(status.name for status in allowed_statuses(Action(verb)))
    return (
        f"CM Service allows {verb} only from: {allowed}. Re-read the target and pick the right runbook."
    )


def _readable_missing(detail: str) -> str:
    """``<class 'lsst.cmservice.db.script.Script'> 99 not found`` → ``Script 99 not found``."""
    if detail.startswith("<class '") and "'>" in detail:
        class_path, _, rest = detail[len("<class '") :].partition("'>")
        return f"{class_path.rsplit('.', 1)[-1]}{rest}"
    return detail
