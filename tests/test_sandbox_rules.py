"""CM Service's state rules and checks, as the sandbox enforces them beyond the recordings.

Each test loads a fresh scenario into one shared sandbox and drives it over HTTP like a pilot's
client would: transitions allowed and refused from every status, data updates, run_check with
and without the world answering, forced job accepts, queues, the demo's runbook targets and
the generated scale scenario.
"""

from __future__ import annotations

import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from cmrunbook.sandbox import (
    DEMO_CAMPAIGNS,
    DEMO_TARGETS,
    SandboxServer,
    load_scenario,
    serve,
)
from cmrunbook.sandbox.scenarios.scale import campaign_sizes
from cmrunbook.status import ALLOWED_FROM, Action, StatusEnum

REFUSED = "Can not {action} {fullname} as it is in status StatusEnum.{status}"
FAILED_SCRIPT = 126  # trivial_i/.../null_script_000 in the recorded snapshot, failed
RUNNING_CAMPAIGN = 2  # rc2_subset_b


@pytest.fixture(scope="module")
def server(sandbox: SandboxServer) -> SandboxServer:
    """The test session's sandbox (``tests/conftest.py``)."""
    return sandbox


@pytest.fixture
def recorded(server: SandboxServer) -> Iterator[httpx.Client]:
    server.load("recorded")
    with httpx.Client(base_url=server.url, timeout=30) as client:
        yield client


@pytest.fixture
def demo(server: SandboxServer) -> Iterator[httpx.Client]:
    server.load("demo")
    with httpx.Client(base_url=server.url, timeout=30) as client:
        yield client


def set_status(client: httpx.Client, resource: str, row_id: int, status: StatusEnum) -> dict[str, Any]:
    response = client.post(f"/{resource}/update/{row_id}/status", json={"status": status.value})
    assert response.status_code == 201, response.text
    return dict(response.json())


def tables(server: SandboxServer) -> dict[str, list[dict[str, Any]]]:
    return {
        name: server.store.dump(name) for name in ("campaign", "job", "script", "script_error", "queue")
    }


# -- transitions ---------------------------------------------------------------------------------

TRANSITIONS = [
    (action, status) for action in (Action.accept, Action.reject, Action.reset) for status in StatusEnum
]


@pytest.mark.parametrize(
    ("action", "status"), TRANSITIONS, ids=[f"{a.value}-{s.name}" for a, s in TRANSITIONS]
)
def test_script_transition_allowed_exactly_from_the_statuses_of_the_rules(
    recorded: httpx.Client, action: Action, status: StatusEnum
) -> None:
    script = set_status(recorded, "script", FAILED_SCRIPT, status)
    body = {} if action is Action.reset else None
    response = recorded.post(f"/script/action/{FAILED_SCRIPT}/{action.value}", json=body)
    allowed = ALLOWED_FROM[action]
    assert allowed is not None
    if status in allowed:
        assert response.status_code == 201
        expected = {Action.accept: 5, Action.reject: -4, Action.reset: 0}[action]
        assert response.json()["status"] == expected
    else:
        assert response.status_code == 422
        message = REFUSED.format(action=action.value, fullname=script["fullname"], status=status.name)
        assert response.json() == {"detail": message}
        assert recorded.get(f"/script/get/{FAILED_SCRIPT}").json()["status"] == status.value


def test_reset_refused_when_script_is_running(recorded: httpx.Client) -> None:
    response = recorded.post("/script/action/130/reset", json={})
    assert response.status_code == 422
    assert response.json()["detail"].endswith("null_script_000 as it is in status StatusEnum.running")


def test_reject_allowed_from_every_status_but_accepted_and_rescued() -> None:
    refused = set(StatusEnum) - (ALLOWED_FROM[Action.reject] or set())
    assert refused == {StatusEnum.accepted, StatusEnum.rescued}


def test_accept_and_reset_are_allowed_from_the_documented_statuses() -> None:
    accept = {StatusEnum.blocked, StatusEnum.running, StatusEnum.reviewable, StatusEnum.rescuable}
    reset = {StatusEnum.blocked, StatusEnum.rejected, StatusEnum.failed, StatusEnum.ready}
    assert (ALLOWED_FROM[Action.accept], ALLOWED_FROM[Action.reset]) == (accept, reset)


def test_reset_keeps_urls_and_script_errors(recorded: httpx.Client) -> None:
    before = recorded.get(f"/script/get/{FAILED_SCRIPT}").json()
    after = recorded.post(f"/script/action/{FAILED_SCRIPT}/reset", json={"fake_reset": True}).json()
    assert after == {**before, "status": StatusEnum.waiting.value}
    assert len(recorded.get(f"/script/get/{FAILED_SCRIPT}/script_errors").json()) == 2


def test_reset_needs_a_json_body(recorded: httpx.Client) -> None:
    response = recorded.post(f"/script/action/{FAILED_SCRIPT}/reset")
    assert response.status_code == 422
    assert response.json()["detail"][0]["type"] == "missing"


def test_element_transitions_follow_the_same_rules(recorded: httpx.Client) -> None:
    assert recorded.post("/campaign/action/4/reject").status_code == 422
    assert recorded.post(f"/campaign/action/{RUNNING_CAMPAIGN}/accept").json()["status"] == 5
    assert recorded.post("/step/action/3/reset", json={}).json()["detail"].endswith("StatusEnum.waiting")
    assert recorded.post("/group/action/2/reject").json()["status"] == -4


def test_update_status_writes_any_status_over_any_other(recorded: httpx.Client) -> None:
    for status in StatusEnum:
        assert set_status(recorded, "job", 4, status)["status"] == status.value


def test_update_status_refuses_the_status_name(recorded: httpx.Client) -> None:
    response = recorded.post("/script/update/16/status", json={"status": "reviewable"})
    assert response.status_code == 422
    assert response.json()["detail"][0]["type"] == "enum"


def test_missing_rows_give_the_quoted_class_detail(recorded: httpx.Client) -> None:
    for resource, module in [
        ("step", "step.Step"),
        ("group", "group.Group"),
        ("script_error", "script_error.ScriptError"),
    ]:
        response = recorded.get(f"/{resource}/get/424242")
        assert response.status_code == 404
        assert response.json() == {
            "detail": f"\"<class 'lsst.cmservice.db.{module}'> 424242 not found\""
        }


# -- data dict -----------------------------------------------------------------------------------


def test_data_dict_new_key_allowed_in_any_status(recorded: httpx.Client) -> None:
    response = recorded.post(
        f"/campaign/update/{RUNNING_CAMPAIGN}/data_dict", json={"update_dict": {"k": "v"}}
    )
    assert response.status_code == 200
    assert response.json()["data"]["k"] == "v"


@pytest.mark.parametrize(
    "status", [StatusEnum.waiting, StatusEnum.ready, StatusEnum.failed, StatusEnum.rejected]
)
def test_data_dict_existing_key_allowed_below_prepared(
    recorded: httpx.Client, status: StatusEnum
) -> None:
    set_status(recorded, "campaign", RUNNING_CAMPAIGN, status)
    update = {"update_dict": {"lsst_version": "w_2099_01"}}
    response = recorded.post(f"/campaign/update/{RUNNING_CAMPAIGN}/data_dict", json=update)
    assert response.status_code == 200
    assert (
        recorded.get(f"/campaign/get/{RUNNING_CAMPAIGN}/data_dict").json()["lsst_version"] == "w_2099_01"
    )


@pytest.mark.parametrize("status", [StatusEnum.prepared, StatusEnum.reviewable, StatusEnum.accepted])
def test_data_dict_existing_key_refused_from_prepared_with_500(
    recorded: httpx.Client, status: StatusEnum
) -> None:
    set_status(recorded, "step", 2, status)
    response = recorded.post("/step/update/2/data_dict", json={"update_dict": {"lsst_version": "x"}})
    assert response.status_code == 200  # a new key for the step: its own data is empty
    response = recorded.post("/step/update/2/data_dict", json={"update_dict": {"lsst_version": "y"}})
    assert response.status_code == 500
    assert response.json() == {
        "detail": f"Tried to modify a node that is in use. rc2_subset_b/step1:StatusEnum.{status.name}"
    }


# -- run_check -----------------------------------------------------------------------------------


def test_run_check_failed_without_log_url_is_500_and_writes_nothing(
    recorded: httpx.Client, server: SandboxServer
) -> None:
    before = tables(server)
    response = recorded.post("/script/action/110/run_check")  # ready, never prepared
    assert response.status_code == 500
    assert response.json() == {
        "detail": "log_url is not set for trivial_e/trivial_step/group0/job_000/null_script_000"
    }
    assert tables(server) == before


def test_run_check_of_a_prepared_script_fails_on_its_missing_log(recorded: httpx.Client) -> None:
    assert recorded.post("/script/action/114/run_check").json() == [True, -5]
    errors = recorded.get("/script/get/114/script_errors").json()
    log = "/cm/artifacts/trivial_f/trivial_step/group0/job_000/null_script_000.log"
    assert errors[-1]["diagnostic_message"] == f"ERROR Log file {log} does not exist"


def test_run_check_of_an_accepted_function_script_processes_its_finished_children(
    recorded: httpx.Client,
) -> None:
    before = recorded.get("/script/list", params={"limit": 1000}).json()
    assert recorded.post("/script/action/22/run_check").json() == [False, 5]
    assert recorded.get("/script/list", params={"limit": 1000}).json() == before


def test_run_check_of_a_group_run_script_accepts_its_reviewable_job(recorded: httpx.Client) -> None:
    assert recorded.post("/script/action/20/run_check").json() == [True, 5]
    assert recorded.get("/job/get/3").json()["status"] == 5


def test_element_run_check_settles_its_status_from_scripts_and_jobs(recorded: httpx.Client) -> None:
    assert recorded.post(f"/campaign/action/{RUNNING_CAMPAIGN}/run_check").json() == [False, 3]
    assert recorded.post("/campaign/action/11/run_check").json() == [True, 5]


def test_processing_prepares_a_step_once_its_prerequisite_is_accepted(recorded: httpx.Client) -> None:
    set_status(recorded, "step", 2, StatusEnum.accepted)
    assert recorded.post("/script/action/5/run_check").json() == [False, 3]
    scripts = recorded.get("/step/get/3/all_scripts").json()
    names = sorted(script["fullname"] for script in scripts)
    assert names == [
        f"rc2_subset_b/step2a/{name}_000"
        for name in ("collect_groups", "make_step_public_output", "prepare", "run")
    ]
    prepare = next(script for script in scripts if script["fullname"].endswith("prepare_000"))
    assert prepare["status"] == StatusEnum.failed.value
    errors = recorded.get(f"/script/get/{prepare['id']}/script_errors").json()
    assert [e["diagnostic_message"] for e in errors] == [
        "Bad htcondor submit: [Errno 2] No such file or directory"
    ]


# -- job accept ----------------------------------------------------------------------------------


def test_force_accept_leaves_reviewable_scripts(demo: httpx.Client) -> None:
    job = demo.get(f"/script/get/{DEMO_TARGETS['reviewable_script']}").json()["parent_id"]
    response = demo.post(
        f"/job/action/{job}/accept", params={"force": "true", "output_collection": "u/p/fix"}
    )
    assert (response.status_code, response.content) == (202, b"null")
    deadline = time.monotonic() + 5
    while demo.get(f"/job/get/{job}").json()["status"] != 5 and time.monotonic() < deadline:
        time.sleep(0.02)
    statuses = [script["status"] for script in demo.get(f"/job/get/{job}/scripts").json()]
    assert Counter(statuses) == {StatusEnum.accepted.value: 3, StatusEnum.reviewable.value: 1}
    assert demo.get(f"/job/get/{job}").json()["collections"] == {"job_run": "u/p/fix"}


def test_force_accept_of_a_missing_job_still_answers_202(demo: httpx.Client) -> None:
    response = demo.post("/job/action/424242/accept", params={"force": "true", "output_collection": ""})
    assert response.status_code == 202


def test_force_accept_needs_an_output_collection(demo: httpx.Client) -> None:
    response = demo.post("/job/action/4/accept", params={"force": "true"})
    assert response.json() == {"detail": "Cannot force accept without output collection"}


def test_plain_job_accept_answers_200_with_the_job(recorded: httpx.Client) -> None:
    response = recorded.post("/job/action/3/accept", params={"force": "false", "output_collection": ""})
    assert response.status_code == 200
    assert response.json()["status"] == 5


# -- lists, queues, switches ---------------------------------------------------------------------


def test_negative_skip_reports_the_offset_error(recorded: httpx.Client) -> None:
    response = recorded.get("/queue/list", params={"skip": -2})
    assert response.status_code == 500
    detail = response.json()["detail"]
    assert "InvalidRowCountInResultOffsetClauseError'>: OFFSET must not be negative" in detail
    assert "public.queue.time_next_check" in detail
    assert detail.endswith(
        "[parameters: (100, -2)]\n(Background on this error at: https://sqlalche.me/e/20/dbapi)"
    )


def test_queue_ids_continue_after_a_delete(recorded: httpx.Client) -> None:
    assert recorded.delete("/queue/delete/14").status_code == 204
    created = recorded.post("/queue/create", json={"fullname": "trivial_h/trivial_step", "interval": 30})
    assert created.status_code == 201
    assert (created.json()["id"], created.json()["node_level"], created.json()["node_id"]) == (15, 2, 24)


def test_queue_create_for_an_unknown_campaign_is_500(recorded: httpx.Client) -> None:
    response = recorded.post("/queue/create", json={"fullname": "nope"})
    assert response.status_code == 500
    assert "lsst.cmservice.db.campaign.Campaign'> nope not found" in response.json()["detail"]


def test_queue_pause_toggles_active(recorded: httpx.Client) -> None:
    assert [recorded.patch("/queue/pause/13").json() for _ in range(3)] == [True, False, True]


def test_v1_disabled_gives_bare_404_but_healthz_answers() -> None:
    with SandboxServer(scenario="recorded", api_v1=False) as server:
        assert httpx.get(f"{server.url}/script/list").json() == {"detail": "Not Found"}
        assert httpx.get(f"{server.url}/campaign/get/2").status_code == 404
        assert httpx.get(f"{server.root_url}/healthz").json() == {
            "name": "cm-service",
            "version": "0.8.0",
        }
        assert httpx.get(f"{server.root_url}/openapi.json").status_code == 200


# -- demo ----------------------------------------------------------------------------------------

DEMO_RUN_CHECKS = {
    "long_running_script": [False, 3],
    "lost_log_script": [True, -5],
    "blocked_script": [True, 5],
    "failed_script": [False, -5],
    "reviewable_script": [False, 4],
}


@pytest.mark.parametrize("target", DEMO_RUN_CHECKS)
def test_demo_run_check_outcome(demo: httpx.Client, target: str) -> None:
    script_id = DEMO_TARGETS[target]
    errors_before = len(demo.get(f"/script/get/{script_id}/script_errors").json())
    assert demo.post(f"/script/action/{script_id}/run_check").json() == DEMO_RUN_CHECKS[target]
    errors = demo.get(f"/script/get/{script_id}/script_errors").json()
    assert len(errors) == errors_before + (DEMO_RUN_CHECKS[target][1] == -5)


def test_demo_lost_log_error_is_the_last_line_of_the_log(demo: httpx.Client) -> None:
    script_id = DEMO_TARGETS["lost_log_script"]
    log_url = demo.get(f"/script/get/{script_id}").json()["log_url"]
    demo.post(f"/script/action/{script_id}/run_check")
    message = demo.get(f"/script/get/{script_id}/script_errors").json()[-1]["diagnostic_message"]
    assert message == Path(log_url).read_text().splitlines()[-1]
    assert message.startswith("lsst.ctrl.bps")


def test_demo_blocked_script_accepted_records_the_submit_dir_on_its_job(demo: httpx.Client) -> None:
    script = demo.get(f"/script/get/{DEMO_TARGETS['blocked_script']}").json()
    demo.post(f"/script/action/{script['id']}/run_check")
    job = demo.get(f"/job/get/{script['parent_id']}").json()
    assert job["wms_job_id"] == job["metadata_"]["bps_submit_dir"]
    assert "/step1/group2/job_000/submit/" in job["wms_job_id"]


def test_demo_failed_script_has_two_errors_and_its_job_can_be_force_accepted(demo: httpx.Client) -> None:
    script = demo.get(f"/script/get/{DEMO_TARGETS['failed_script']}").json()
    errors = demo.get(f"/script/get/{script['id']}/script_errors").json()
    assert [e["diagnostic_message"].split(":")[1].strip() for e in errors] == [
        "FileExistsError",
        "RuntimeError",
    ]
    assert script["parent_id"] == DEMO_TARGETS["force_accept_job"]


def test_demo_long_running_script_has_a_submit_directory_with_logs(demo: httpx.Client) -> None:
    script = demo.get(f"/script/get/{DEMO_TARGETS['long_running_script']}").json()
    assert time.time() - script["metadata_"]["crtime"] == pytest.approx(30 * 3600, abs=3600)
    job = demo.get(f"/job/get/{script['parent_id']}").json()
    submit_dir = Path(job["metadata_"]["bps_submit_dir"])
    assert job["wms_job_id"] == str(submit_dir) == script["stamp_url"]
    logs = sorted(submit_dir.iterdir(), key=lambda path: path.stat().st_mtime)
    assert len(logs) == 2
    assert logs[-1].name.endswith(".dagman.out")


def test_demo_campaigns_show_each_campaign_state(demo: httpx.Client) -> None:
    campaigns = {c["id"]: (c["fullname"], c["status"]) for c in demo.get("/campaign/list").json()}
    assert campaigns == {
        1: (DEMO_CAMPAIGNS[1], 3),
        2: (DEMO_CAMPAIGNS[2], 5),
        3: (DEMO_CAMPAIGNS[3], -4),
        4: (DEMO_CAMPAIGNS[4], 0),
    }
    active = [(q["node_id"], q["active"]) for q in demo.get("/queue/list").json()]
    assert sorted(active) == [(1, False), (1, True), (2, False), (3, False), (4, False)]
    statuses = {s["status"] for s in demo.get("/campaign/get/1/all_scripts").json()}
    assert statuses >= {-5, -3, 0, 1, 2, 3, 4, 5}
    assert {s["status"] for s in demo.get("/campaign/get/2/all_scripts").json()} == {5}
    assert demo.get("/campaign/get/4/all_scripts").json() == []


def test_demo_targets_are_the_published_ids(demo: httpx.Client) -> None:
    assert demo.get(f"/campaign/get/{DEMO_TARGETS['campaign']}").json()["fullname"] == DEMO_CAMPAIGNS[1]
    assert demo.post(f"/campaign/action/{DEMO_TARGETS['campaign']}/run_check").json() == [False, 3]
    job = demo.get(f"/job/get/{DEMO_TARGETS['force_accept_job']}").json()
    assert job["fullname"] == f"{DEMO_CAMPAIGNS[1]}/step1/group3/job_000"


# -- scale ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("total", [0, 1, 7, 2500, 50000])
def test_scale_totals_exactly_n_scripts_with_a_third_in_the_first_campaign(total: int) -> None:
    scripts = load_scenario(f"scale:{total}").tables.get("script", [])
    assert len(scripts) == total
    per_campaign = Counter(script["fullname"].split("/")[0] for script in scripts)
    assert per_campaign.get("scale_000", 0) == total // 3
    assert all(count <= 2000 for name, count in per_campaign.items() if name != "scale_000")
    assert sum(campaign_sizes(total)) == total


def test_scale_is_generated_the_same_way_every_time() -> None:
    def shape(name: str) -> list[tuple[str, str]]:
        return [(s["fullname"], s["status"]) for s in load_scenario(name).tables["script"]]

    assert shape("scale:3000") == shape("scale:3000")
    assert len({status for _, status in shape("scale:3000")}) >= 5


def test_scale_serves_the_big_campaign_in_one_reply(server: SandboxServer) -> None:
    server.load("scale:3000")
    with httpx.Client(base_url=server.url, timeout=30) as client:
        assert len(client.get("/campaign/get/1/all_scripts").json()) == 1000
        assert len(client.get("/script/list", params={"limit": 5000}).json()) == 3000


def test_serve_runs_a_command_with_cm_service_pointing_at_the_sandbox() -> None:
    check = (
        "import os, sys, httpx; "
        "sys.exit(len(httpx.get(os.environ['CM_SERVICE'] + '/campaign/list').json()))"
    )
    assert serve("127.0.0.1", 0, "demo", None, [sys.executable, "-c", check]) == len(DEMO_CAMPAIGNS)


def test_request_id_is_echoed_or_created_like_the_correlation_middleware(
    recorded: httpx.Client,
) -> None:
    given = recorded.get("campaign/list", headers={"X-Request-ID": "pilot-trace-1"})
    assert given.headers["X-Request-ID"] == "pilot-trace-1"
    made = recorded.get("campaign/list")
    assert len(made.headers["X-Request-ID"]) == 36
