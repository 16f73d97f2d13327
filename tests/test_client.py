"""The CM Service client, over real HTTP: the sandbox for behaviour, a scripted server for faults."""

from __future__ import annotations

import json
import logging
import socket
import time

import pytest

from cmrunbook.client import CMClient
from cmrunbook.config import Secret, Settings
from cmrunbook.errors import (
    InvalidRequestError,
    NotAllowedError,
    NotFoundError,
    ServerError,
    ServiceUnreachableError,
    V1DisabledError,
)
from cmrunbook.sandbox import SandboxServer
from cmrunbook.status import StatusEnum
from tests.conftest import FAKE_TOKEN
from tests.scripted_server import scripted_server


def _client(url: str, **kwargs: object) -> CMClient:
    return CMClient(Settings(service_url=url, token=Secret(FAKE_TOKEN)), backoff_s=0.01, **kwargs)


def _closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/cm-service/v1"


# -- reads ------------------------------------------------------------------------------------


def test_health_names_the_service_and_version(recorded: SandboxServer, client: CMClient) -> None:
    health = client.health()
    assert (health.name, health.version) == ("cm-service", "0.8.0")
    client.check_v1()


def test_campaign_scripts_come_from_fullname_then_all_scripts(
    recorded: SandboxServer, client: CMClient
) -> None:
    campaign = client.campaign.get_by_fullname("rc2_subset_b")
    scripts = client.campaign.all_scripts(campaign.id)
    assert campaign.id == 2
    assert len(scripts) == 13
    assert all(script.fullname.startswith("rc2_subset_b/") for script in scripts)
    paths = [client.last_exchange.path]
    assert paths == ["/cm-service/v1/campaign/get/2/all_scripts"]


def test_list_pages_until_an_empty_page(recorded: SandboxServer) -> None:
    with _client(recorded.url, page_size=100) as small_pages:
        scripts = small_pages.script.list()
    assert len(scripts) == 134
    assert len({script.id for script in scripts}) == 134


def test_list_drops_duplicate_ids_across_pages() -> None:
    row = {"script_id": 1, "source": 0, "diagnostic_message": "m"}
    pages = [(200, [{**row, "id": 1}, {**row, "id": 2}]), (200, [{**row, "id": 2}, {**row, "id": 3}])]
    with scripted_server([*pages, (200, [])]) as (url, script), _client(url, page_size=2) as cm:
        errors = cm.script_error.list()
    assert [error.id for error in errors] == [1, 2, 3]
    assert [seen.path.split("?")[1] for seen in script.seen] == [
        "skip=0&limit=2",
        "skip=2&limit=2",
        "skip=4&limit=2",
    ]


def test_reads_answered_201_are_success(recorded: SandboxServer, client: CMClient) -> None:
    errors = client.script.errors(126)
    assert client.last_exchange.status_code == 201
    assert sorted(error.id for error in errors) == [5, 6]


def test_reads_are_retried_on_503_with_backoff() -> None:
    health = {"name": "cm-service", "version": "0.8.0"}
    with scripted_server([(503, {}), (502, {}), (200, health)]) as (url, script), _client(url) as cm:
        assert cm.health().version == "0.8.0"
    assert len(script.seen) == 3


def test_actions_are_never_retried() -> None:
    with (
        scripted_server([(503, {"detail": "busy"})]) as (url, script),
        _client(url) as cm,
        pytest.raises(ServerError),
    ):
        cm.script.accept(7)
    assert len(script.seen) == 1


def test_every_request_carries_a_request_id_and_json_bodies(recorded: SandboxServer) -> None:
    reply = {"id": 1, "name": "s", "fullname": "c/s_000", "status": 4, "spec_block_id": 1}
    reply |= {"parent_id": 1, "parent_level": 1}
    with scripted_server([(201, reply)]) as (url, script), _client(url) as cm:
        cm.script.update_status(1, StatusEnum.reviewable)
        cm.script.reset(1)
    update, reset = script.seen
    assert update.headers["Content-Type"] == "application/json"
    assert json.loads(update.body) == {"status": 4}
    assert json.loads(reset.body) == {}
    assert update.headers["X-Request-ID"] != reset.headers["X-Request-ID"]
    assert update.headers["Authorization"] == f"Bearer {FAKE_TOKEN}"


# -- actions against the sandbox ---------------------------------------------------------------


def test_accept_returns_the_script_unlike_cm_client(recorded: SandboxServer, client: CMClient) -> None:
    script = client.script.accept(118)
    assert script.status is StatusEnum.accepted
    assert client.script.get(118).status is StatusEnum.accepted


def test_reset_then_update_status_then_accept(recorded: SandboxServer, client: CMClient) -> None:
    assert client.script.reset(4).status is StatusEnum.waiting
    assert client.script.update_status(4, StatusEnum.reviewable).status is StatusEnum.reviewable
    assert client.script.accept(4).status is StatusEnum.accepted


def test_run_check_returns_changed_and_status(recorded: SandboxServer, client: CMClient) -> None:
    assert client.script.run_check(14) == (True, StatusEnum.failed)


def test_force_accept_is_answered_before_the_job_is_accepted(
    recorded: SandboxServer, client: CMClient
) -> None:
    assert client.job.force_accept(2, "u/pilot/fixed") is None
    assert client.last_exchange.status_code == 202
    deadline = time.monotonic() + 10
    while client.job.get(2).status is not StatusEnum.accepted and time.monotonic() < deadline:
        time.sleep(0.05)
    job = client.job.get(2)
    assert job.status is StatusEnum.accepted
    assert job.collections == {"job_run": "u/pilot/fixed"}


def test_plain_job_accept_returns_the_job(recorded: SandboxServer, client: CMClient) -> None:
    assert client.job.accept(3).status is StatusEnum.accepted


def test_queue_create_toggle_delete(recorded: SandboxServer, client: CMClient) -> None:
    queue = client.queue.create("trivial_h", interval=60, active=True)
    assert (queue.id, queue.node_id, queue.active) == (15, 8, True)
    assert client.queue.toggle_active(queue.id) is False
    client.queue.delete(queue.id)
    with pytest.raises(NotFoundError):
        client.queue.get(queue.id)


def test_campaign_reject_data_and_status(recorded: SandboxServer, client: CMClient) -> None:
    assert client.campaign.reject(8).status is StatusEnum.rejected
    updated = client.campaign.update_data_dict(8, {"lsst_version": "w_2026_49"})
    assert updated.data["lsst_version"] == "w_2026_49"
    assert client.campaign.update_status(8, StatusEnum.running).status is StatusEnum.running
    assert client.campaign.data_dict(8)["lsst_version"] == "w_2026_49"


# -- bad input: one clear error each, and nothing changed ---------------------------------------


def test_unknown_campaign_name_lists_the_closest_names(
    recorded: SandboxServer, client: CMClient
) -> None:
    with pytest.raises(NotFoundError) as caught:
        client.campaign.get_by_fullname("rc2_subset")
    assert "Closest names: rc2_subset_d, rc2_subset_b." in str(caught.value)
    assert caught.value.status_code == 404


def test_unknown_id_is_not_found_with_a_clean_message(recorded: SandboxServer, client: CMClient) -> None:
    with pytest.raises(NotFoundError) as caught:
        client.script.get(999999)
    error = caught.value
    assert error.detail == "<class 'lsst.cmservice.db.script.Script'> 999999 not found"
    assert str(error).startswith("Script 999999 not found (HTTP 404 from http://127.0.0.1:")
    assert error.url.endswith("/cm-service/v1/script/get/999999")


def test_action_refused_in_current_status_says_status_and_what_is_allowed(
    recorded: SandboxServer, client: CMClient
) -> None:
    with pytest.raises(NotAllowedError) as caught:
        client.script.accept(126)
    message = str(caught.value)
    assert "as it is in status StatusEnum.failed" in message
    assert "allows accept only from: blocked, rescuable, running, reviewable" in message
    assert caught.value.status_code == 422
    assert client.script.get(126).status is StatusEnum.failed


def test_data_change_of_a_running_campaign_is_not_allowed(
    recorded: SandboxServer, client: CMClient
) -> None:
    with pytest.raises(NotAllowedError) as caught:
        client.campaign.update_data_dict(2, {"lsst_version": "w_2099_01"})
    assert caught.value.status_code == 500
    assert client.campaign.get(2).data["lsst_version"] == "w_latest"


def test_validation_error_is_an_invalid_request(recorded: SandboxServer, client: CMClient) -> None:
    with pytest.raises(InvalidRequestError, match=r"body\.status: Input should be -6"):
        client.act("POST", "script/update/16/status", json={"status": "reviewable"})


def test_server_error_carries_status_url_and_detail(recorded: SandboxServer, client: CMClient) -> None:
    with pytest.raises(ServerError) as caught:
        client.get_json("script/list", params={"limit": -1})
    assert caught.value.status_code == 500
    assert "LIMIT must not be negative" in caught.value.detail


def test_unreachable_service_names_the_url_and_what_to_check() -> None:
    url = _closed_port_url()
    with _client(url) as cm, pytest.raises(ServiceUnreachableError) as caught:
        cm.campaign.list()
    message = str(caught.value)
    assert url in message
    assert "CM_SERVICE" in message
    assert caught.value.status_code is None


def test_v1_switched_off_points_at_feature_api_v1() -> None:
    with SandboxServer(scenario="recorded", api_v1=False) as off, _client(off.url) as cm:
        assert cm.health().version == "0.8.0"
        with pytest.raises(V1DisabledError) as caught:
            cm.check_v1()
    assert "FEATURE_API_V1=1" in str(caught.value)
    assert caught.value.status_code == 404


def test_token_never_appears_in_errors_logs_or_repr(
    recorded: SandboxServer, client: CMClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    errors = []
    for call in (lambda: client.script.get(999999), lambda: client.script.accept(126)):
        with pytest.raises(Exception) as caught:  # noqa: PT011 - each kind is tested above
            call()
        errors.append(caught.value)
    with _client(_closed_port_url()) as down, pytest.raises(ServiceUnreachableError) as caught:
        down.health()
    errors.append(caught.value)
    texts = [str(error) for error in errors] + [repr(error) for error in errors]
    texts += [repr(client), caplog.text]
    assert caplog.text
    assert all(FAKE_TOKEN not in text for text in texts)
