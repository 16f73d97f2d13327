"""Times Square compatibility beyond the notebook structure: the sidecar format refuses what Times
Square refuses, every default is one Times Square accepts, and notebooks that can change
something say so in their tags and change nothing when run with their defaults.
"""

from __future__ import annotations

import keyword
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from cmrunbook import audit, report
from cmrunbook.runbooks import Runbook, list_runbooks
from cmrunbook.sandbox import SandboxServer
from cmrunbook.sandbox.tables import TABLES
from cmrunbook.sidecar import NotebookSidecar, RepositorySettings

RUNBOOKS = list_runbooks()
MUTATING = [runbook for runbook in RUNBOOKS if runbook.mutates]

VALID: dict[str, Any] = {
    "title": "t",
    "description": "d",
    "parameters": {"n": {"type": "integer", "description": "a number", "default": 1}},
}


def with_parameter(**schema: Any) -> dict[str, Any]:
    return {**VALID, "parameters": {"n": schema}}


@pytest.mark.parametrize(
    "sidecar",
    [
        with_parameter(type="string", description="choice", default="a", enum=["a", "b"]),
        with_parameter(type="array", description="list", default="a"),
        with_parameter(type="integer", description="both", default=1, dynamic_default="today"),
        with_parameter(type="integer", default=1),
        with_parameter(type="integer", description="", default=1),
        with_parameter(type="integer", description="wrong type", default="1"),
        with_parameter(type="string", description="range", default="a", minimum=1),
        with_parameter(type="integer", description="format", default=1, format="date"),
        {**VALID, "schedule": [{"freq": "fortnightly"}]},
        {**VALID, "schedule": [{"freq": "hourly", "interval": 0}]},
        {**VALID, "tilte": "typo"},
    ],
    ids=[
        "enum",
        "array",
        "default-and-dynamic",
        "no-description",
        "empty-description",
        "default-of-wrong-type",
        "range-on-string",
        "format-on-integer",
        "unknown-frequency",
        "zero-interval",
        "misspelt-key",
    ],
)
def test_sidecar_format_refuses_what_times_square_cannot_render(sidecar: dict[str, Any]) -> None:
    NotebookSidecar.model_validate(VALID)
    with pytest.raises(ValidationError):
        NotebookSidecar.model_validate(sidecar)


def test_repository_settings_refuse_unknown_keys() -> None:
    with pytest.raises(ValidationError):
        RepositorySettings.model_validate({"description": "d", "enabled": True, "extra": 1})


@pytest.mark.parametrize("runbook", RUNBOOKS, ids=lambda r: r.name)
def test_parameter_names_and_defaults_are_ones_times_square_accepts(runbook: Runbook) -> None:
    for name, schema in runbook.parameters.items():
        assert name.isidentifier(), name
        assert not keyword.iskeyword(name), name
        assert not name.startswith("_"), name
        if schema.minimum is not None:
            assert schema.default >= schema.minimum, name
        if schema.maximum is not None:
            assert schema.default <= schema.maximum, name


def test_status_runbook_is_scheduled_for_times_square() -> None:
    (status,) = [runbook for runbook in RUNBOOKS if runbook.name == "campaign_status"]
    assert status.sidecar.schedule, "campaign_status.yaml has no schedule"
    assert status.sidecar.schedule_enabled


@pytest.mark.parametrize("runbook", RUNBOOKS, ids=lambda r: r.name)
def test_a_runbook_is_tagged_mutating_exactly_when_it_asks_for_confirmation(runbook: Runbook) -> None:
    """Every action is guarded by a ``confirm`` parameter, so a runbook without one cannot act,
    and one with one must warn Times Square's readers through its tags."""
    assert runbook.mutates == ("confirm" in runbook.parameters)
    assert "read-only" not in runbook.sidecar.tags or not runbook.mutates


def sandbox_rows(sandbox: SandboxServer) -> dict[str, list[dict[str, Any]]]:
    return {table: sandbox.store.dump(table) for table in TABLES}


@pytest.mark.parametrize("runbook", MUTATING, ids=lambda r: r.name)
def test_mutating_runbook_changes_nothing_with_its_default_parameters(
    runbook: Runbook, demo: SandboxServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    audit_log = tmp_path / "audit.jsonl"
    monkeypatch.setenv(audit.AUDIT_LOG_ENV, str(audit_log))
    monkeypatch.setenv("CMRUNBOOK_DUMP_DIR", str(tmp_path / "dumps"))
    before = sandbox_rows(demo)
    result = report.execute(runbook, {}, runs_dir=tmp_path / "runs", timeout_s=120)
    assert result.ok, report.failure_line(result.summary)
    assert sandbox_rows(demo) == before
    assert [record for record in audit.read(audit_log) if not record["dry_run"]] == []
