"""Parameters are checked against the sidecar before any kernel starts."""

from __future__ import annotations

import pytest

from cmrunbook.errors import ParameterError
from cmrunbook.runbooks import DEMO_CAMPAIGN, default_campaign, get_runbook, list_runbooks


def test_every_notebook_with_a_sidecar_is_listed_with_its_title() -> None:
    runbooks = {runbook.name: runbook.title for runbook in list_runbooks()}
    assert runbooks["campaign_status"] == "Campaign status"


def test_unknown_runbook_names_the_available_ones() -> None:
    with pytest.raises(ParameterError, match="campaign_status"):
        get_runbook("campaign_statu")


def test_values_are_converted_to_the_sidecar_types() -> None:
    runbook = get_runbook("campaign_status")
    values = runbook.validate({"campaign": "c1", "long_running_hours": "6"})
    assert values == {"campaign": "c1", "long_running_hours": 6.0}


def test_unknown_parameter_is_refused_with_the_accepted_names() -> None:
    runbook = get_runbook("campaign_status")
    with pytest.raises(ParameterError) as caught:
        runbook.validate({"campain": "c1"})
    message = str(caught.value)
    assert "'campain'" in message
    assert "campaign, long_running_hours" in message


def test_wrong_type_names_the_parameter_and_what_it_accepts() -> None:
    runbook = get_runbook("campaign_status")
    with pytest.raises(ParameterError) as caught:
        runbook.validate({"long_running_hours": "a day"})
    assert "'long_running_hours'" in str(caught.value)
    assert "a number from 0.1 to 720" in str(caught.value)


def test_out_of_range_value_is_refused() -> None:
    runbook = get_runbook("campaign_status")
    with pytest.raises(ParameterError, match="outside the allowed range"):
        runbook.validate({"long_running_hours": "0"})


def test_empty_campaign_defaults_to_cm_campaign_then_demo(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CM_CAMPAIGN", raising=False)
    assert default_campaign("") == DEMO_CAMPAIGN
    monkeypatch.setenv("CM_CAMPAIGN", "HSC_x")
    assert default_campaign("") == "HSC_x"
    assert default_campaign("given") == "given"
