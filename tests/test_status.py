"""CM Service's status values and action rules, as API.md §2.1 and §4 state them."""

from __future__ import annotations

import pytest

from cmrunbook.status import (
    Action,
    StatusEnum,
    allowed_statuses,
    can_change_existing_data,
    is_allowed,
    status_from_wire,
)


def test_status_values_are_the_real_ones_not_the_stale_docstring() -> None:
    assert StatusEnum.failed.value == -5
    assert StatusEnum.rejected.value == -4
    assert StatusEnum.blocked.value == -3
    assert [s.value for s in StatusEnum] == list(range(-6, 7))


def test_status_prints_like_cm_service_error_messages() -> None:
    assert str(StatusEnum.running) == "StatusEnum.running"


@pytest.mark.parametrize(
    ("status", "bad", "terminal_script", "terminal_element"),
    [
        (StatusEnum.overdue, True, True, True),
        (StatusEnum.failed, True, True, True),
        (StatusEnum.rejected, True, True, True),
        (StatusEnum.blocked, False, False, False),
        (StatusEnum.running, False, False, False),
        (StatusEnum.reviewable, False, True, False),
        (StatusEnum.accepted, False, True, True),
    ],
)
def test_predicates(
    status: StatusEnum, bad: bool, terminal_script: bool, terminal_element: bool
) -> None:
    assert status.is_bad() is bad
    assert status.is_terminal_script() is terminal_script
    assert status.is_terminal_element() is terminal_element


def test_processable_ranges() -> None:
    assert [s.name for s in StatusEnum if s.is_processable_script()] == [
        "waiting",
        "ready",
        "prepared",
        "running",
    ]
    assert StatusEnum.reviewable.is_processable_element()
    assert not StatusEnum.reviewable.is_processable_script()


def test_accept_allowed_only_from_blocked_running_reviewable_rescuable() -> None:
    assert [s.name for s in allowed_statuses(Action.accept)] == [
        "blocked",
        "rescuable",
        "running",
        "reviewable",
    ]
    assert not is_allowed(Action.accept, StatusEnum.failed)


def test_reset_allowed_only_from_bad_or_blocked_or_ready() -> None:
    assert {s.name for s in allowed_statuses(Action.reset)} == {
        "blocked",
        "rejected",
        "failed",
        "ready",
    }
    assert not is_allowed(Action.reset, StatusEnum.running)


def test_reject_allowed_from_everything_but_accepted_and_rescued() -> None:
    refused = [s for s in StatusEnum if not is_allowed(Action.reject, s)]
    assert refused == [StatusEnum.accepted, StatusEnum.rescued]


def test_update_status_and_run_check_have_no_guard() -> None:
    assert all(is_allowed(Action.update_status, s) for s in StatusEnum)
    assert all(is_allowed(Action.run_check, s) for s in StatusEnum)


def test_existing_data_keys_frozen_from_prepared() -> None:
    assert can_change_existing_data(StatusEnum.rejected)
    assert can_change_existing_data(StatusEnum.ready)
    assert not can_change_existing_data(StatusEnum.prepared)
    assert not can_change_existing_data(StatusEnum.running)


def test_status_from_wire_reads_integers_and_database_names() -> None:
    assert status_from_wire(3) is StatusEnum.running
    assert status_from_wire("failed") is StatusEnum.failed
