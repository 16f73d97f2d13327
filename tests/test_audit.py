"""The audit log only ever grows, one whole JSON line per record, even under concurrent writers."""

from __future__ import annotations

import json
import multiprocessing
from pathlib import Path

import pytest

from cmrunbook import audit


def _record(index: int, note: str = "") -> audit.AuditRecord:
    return audit.AuditRecord(
        runbook="script_failed",
        action="reset",
        target_kind="script",
        target_id=index,
        target_fullname=f"c/step1/s_{index:03}",
        method="POST",
        path=f"/cm-service/v1/script/action/{index}/reset",
        outcome="done",
        dry_run=False,
        note=note,
    )


def _write_many(path: str, start: int, count: int) -> None:
    for index in range(start, start + count):
        audit.append(_record(index, note="x" * 3000), Path(path))


def test_append_keeps_earlier_lines(tmp_path: Path) -> None:
    log = tmp_path / "audit.jsonl"
    audit.append(_record(1), log)
    before = log.read_text()
    audit.append(_record(2), log)
    assert log.read_text().startswith(before)
    assert [record["target_id"] for record in audit.read(log)] == [1, 2]


def test_concurrent_writers_lose_and_interleave_nothing(tmp_path: Path) -> None:
    log = tmp_path / "audit.jsonl"
    context = multiprocessing.get_context("fork")
    writers = [context.Process(target=_write_many, args=(str(log), n * 100, 50)) for n in range(4)]
    for writer in writers:
        writer.start()
    for writer in writers:
        writer.join()
    lines = log.read_text().splitlines()
    assert len(lines) == 200
    ids = sorted(json.loads(line)["target_id"] for line in lines)
    assert ids == sorted(n * 100 + i for n in range(4) for i in range(50))


def test_record_holds_who_and_when(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CM_USER", "pilot1")
    log = tmp_path / "audit.jsonl"
    audit.append(_record(5), log)
    (record,) = audit.read(log)
    assert record["cm_user"] == "pilot1"
    assert record["os_user"]
    assert record["time"].endswith("+00:00")


def test_log_location_follows_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(audit.AUDIT_LOG_ENV, str(tmp_path / "elsewhere.jsonl"))
    assert audit.audit_log_path() == tmp_path / "elsewhere.jsonl"
    monkeypatch.delenv(audit.AUDIT_LOG_ENV)
    assert audit.audit_log_path() == Path("runs/audit.jsonl")
