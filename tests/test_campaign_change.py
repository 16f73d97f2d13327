"""The order rules of changing a running campaign, and the diff it shows, without a kernel."""

from __future__ import annotations

import pytest

from cmrunbook.campaign_change import Step, out_of_order, parse_step, parse_updates, read_state
from cmrunbook.client import CMClient
from cmrunbook.errors import ParameterError
from cmrunbook.sandbox import DEMO_TARGETS, SandboxServer
from cmrunbook.status import StatusEnum


@pytest.fixture
def name(demo: SandboxServer, client: CMClient) -> str:
    return client.campaign.get(DEMO_TARGETS["campaign"]).fullname


def test_every_queue_row_of_the_campaign_is_found_by_node_level_and_id(
    client: CMClient, name: str
) -> None:
    state = read_state(client, name)
    assert len(state.queues) == 2
    assert all(q.node_id == state.campaign.id and q.node_level == 1 for q in state.queues)
    assert len(state.active_queues) == 1
    assert state.next_step() is Step.stop


def test_update_while_a_queue_is_active_names_the_step_that_comes_first(
    client: CMClient, name: str
) -> None:
    state = read_state(client, name)
    assert "run step 'stop' first" in out_of_order(state, Step.update, {"x": 1})


def test_existing_keys_of_a_running_campaign_are_marked_refused_new_keys_are_not(
    client: CMClient, name: str
) -> None:
    for queue in read_state(client, name).active_queues:
        client.queue.toggle_active(queue.id)
    state = read_state(client, name)
    existing = next(iter(state.campaign.data))
    changes = {c.key: c for c in state.data_changes({existing: "changed!", "brand_new": 1})}
    assert changes[existing].refused
    assert changes[existing].kind == "changed"
    assert not changes["brand_new"].refused
    assert changes["brand_new"].kind == "new key"
    assert existing in out_of_order(state, Step.update, {existing: "changed!"})
    assert out_of_order(state, Step.update, {"brand_new": 1}) == ""


def test_rejected_campaign_accepts_changes_to_existing_keys(client: CMClient, name: str) -> None:
    campaign = read_state(client, name).campaign
    client.campaign.reject(campaign.id)
    state = read_state(client, name)
    existing = next(iter(state.campaign.data))
    assert not any(c.refused for c in state.data_changes({existing: "new value"}))
    assert state.campaign.status is StatusEnum.rejected


def test_finished_campaign_cannot_be_resumed(demo: SandboxServer, client: CMClient) -> None:
    accepted = next(c for c in client.campaign.list() if c.status is StatusEnum.accepted)
    state = read_state(client, accepted.fullname)
    assert "nothing to resume" in out_of_order(state, Step.resume, {})


@pytest.mark.parametrize("text", ["[1, 2]", "{not json", '"x"'])
def test_data_updates_must_be_a_json_object(text: str) -> None:
    with pytest.raises(ParameterError, match="data_updates"):
        parse_updates(text)


def test_unknown_step_lists_the_steps_in_order() -> None:
    with pytest.raises(ParameterError, match="plan, stop, update, resume"):
        parse_step("restart")
