"""The database runbooks against a real PostgreSQL: the session's server, real pg_dump/pg_restore.

The drill backs up a database the sandbox filled with the recorded CM Service state, restores it
into a freshly migrated database and compares every row of every table. Each refusal is shown
to leave the target exactly as it was (every row of every table compared before and after).
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import stat
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import nbformat
import papermill
import psycopg
import pytest
from papermill.exceptions import PapermillExecutionError
from psycopg import sql

from cmrunbook import audit, db, report
from cmrunbook.db import _backup, _restore, _tools
from cmrunbook.errors import ParameterError
from cmrunbook.runbooks import get_runbook
from cmrunbook.sandbox import SandboxServer
from cmrunbook.sandbox.pgserver import Connection, free_port

MakeDatabase = Callable[[str], str]


# -- helpers and fixtures -------------------------------------------------------------------


def _admin(statement: sql.Composable | str, database: str = "postgres") -> None:
    with psycopg.connect(dbname=database, autocommit=True) as connection:
        connection.execute(statement)


def _create_filled(postgres: Connection, name: str) -> None:
    """A database the sandbox's PostgreSQL backend migrated and filled with the recorded state."""
    _admin(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    sandbox = SandboxServer(scenario="recorded", db_url=postgres.url(name))
    try:
        sandbox.load("recorded")
    finally:
        sandbox.stop()


def table_rows(database: str) -> dict[str, list[str]]:
    """Every row of every table of schema public, as sorted text: to compare two databases, or
    one database before and after."""
    with psycopg.connect(dbname=database) as connection:
        tables = [
            row[0]
            for row in connection.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1"
            )
        ]
        return {
            table: [
                row[0]
                for row in connection.execute(
                    sql.SQL("SELECT t::text FROM {} t ORDER BY 1").format(
                        sql.Identifier("public", table)
                    )
                )
            ]
            for table in tables
        }


@pytest.fixture
def databases(postgres: Connection) -> Iterator[MakeDatabase]:
    """Makes throw-away databases, ``migrated`` (empty, at head) or ``recorded`` (filled by the
    sandbox); drops them afterwards."""
    made: list[str] = []

    def make(kind: str) -> str:
        name = f"cmrb_{kind}_{secrets.token_hex(4)}"
        made.append(name)
        if kind == "migrated":
            db.create_migrated_database(name)
        else:
            _create_filled(postgres, name)
        return name

    yield make
    for name in made:
        _admin(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


@pytest.fixture(scope="module")
def source(postgres: Connection) -> Iterator[str]:
    """The sandbox's recorded CM Service database, backed up by the tests (never written)."""
    name = f"cmrb_source_{secrets.token_hex(4)}"
    _create_filled(postgres, name)
    yield name
    _admin(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


@pytest.fixture(scope="module")
def dump(source: str, tmp_path_factory: pytest.TempPathFactory) -> db.BackupResult:
    """One backup of ``source``, shared by the restore tests (they copy it to alter it)."""
    directory = tmp_path_factory.mktemp("dumps")
    return db.backup(db.plan_backup(db.fingerprint(source), str(directory)))


@pytest.fixture(autouse=True)
def audit_log(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Each test's own audit log, so it can read exactly the lines it caused."""
    path = tmp_path / "audit.jsonl"
    monkeypatch.setenv(audit.AUDIT_LOG_ENV, str(path))
    return path


def _fake_tool(path: Path, body: str) -> Path:
    path.write_text("#!/bin/sh\n" + body + "\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


def _copy_dump(result: db.BackupResult, directory: Path) -> Path:
    """A copy of the dump and its manifest that a test may damage."""
    directory.mkdir(parents=True, exist_ok=True)
    copy = directory / result.dump.name
    shutil.copy(result.dump, copy)
    shutil.copy(result.manifest_file, db.manifest_path(copy))
    return copy


# -- fingerprint and connection -------------------------------------------------------------


def test_fingerprint_names_server_version_revision_and_row_counts(
    source: str, postgres: Connection
) -> None:
    found = db.fingerprint(source)
    assert (found.host, found.port, found.database) == ("127.0.0.1", postgres.port, source)
    assert found.local
    assert found.server_major == 15
    assert found.alembic_revision == db.HEAD_REVISION
    assert found.row_counts["script"] == 134
    assert found.row_counts["campaign"] == 12
    assert "alembic_version" not in found.data_rows
    assert "campaigns_v2" not in found.data_rows  # only the migration's DEFAULT row
    counts = found.counts_table()["rows"]
    assert counts["script"] == 134
    assert found.table().loc["alembic revision", "value"] == db.HEAD_REVISION


def test_empty_database_parameter_means_pgdatabase_then_cm_service(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PGDATABASE", "cmservice")
    assert db.resolve_database("") == "cmservice"
    assert db.resolve_database(" mine ") == "mine"
    monkeypatch.delenv("PGDATABASE")
    assert db.resolve_database("") == "cm-service"


def test_unknown_database_is_one_paragraph_naming_the_databases_there() -> None:
    with pytest.raises(db.UnknownDatabaseError) as caught:
        db.fingerprint("no_such_database")
    message = str(caught.value)
    assert "no database 'no_such_database'" in message
    assert "postgres" in caught.value.available
    assert "Set the database parameter" in message


def test_unknown_schema_is_refused_listing_the_schemas(source: str) -> None:
    with pytest.raises(db.UnknownDatabaseError, match=r"has no schema 'cm_service_test'.*public"):
        db.fingerprint(source, "cm_service_test")


def test_unreachable_server_says_what_to_set(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PGPORT", str(free_port()))
    with pytest.raises(db.DatabaseUnreachableError) as caught:
        db.fingerprint("postgres")
    assert "Cannot reach PostgreSQL at 127.0.0.1:" in str(caught.value)
    assert "PGHOST and PGPORT" in str(caught.value)


def test_refused_login_points_at_pgpass_and_never_shows_the_password(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PGPASSWORD", "wrong-secret-4d1f")
    with pytest.raises(db.DatabaseUnreachableError) as caught:
        db.fingerprint("postgres")
    assert "refused the login" in str(caught.value)
    assert "~/.pgpass" in str(caught.value)
    assert "wrong-secret-4d1f" not in str(caught.value)


@pytest.mark.parametrize(
    ("host", "address", "local"),
    [
        ("/var/run/postgresql", "", True),
        ("127.0.0.1", "127.0.0.1", True),
        ("localhost", "::1", True),
        ("localhost", "10.0.0.5", False),
        ("db.example.org", "10.1.2.3", False),
    ],
)
def test_only_unix_sockets_and_loopback_addresses_count_as_this_machine(
    host: str, address: str, local: bool
) -> None:
    assert db.is_local(host, address) is local


# -- client programs ------------------------------------------------------------------------


def test_client_is_the_oldest_new_enough_and_an_older_one_is_refused(tmp_path: Path) -> None:
    fakes = [
        _fake_tool(tmp_path / f"pg_dump{major}", f'echo "pg_dump (PostgreSQL) {major}.2"')
        for major in (14, 17, 16)
    ]
    assert db.find_client("pg_dump", 15, fakes).major == 16
    with pytest.raises(db.ClientToolError, match=r"at least version 18.*postgresql-client-18"):
        db.find_client("pg_dump", 18, fakes)


def test_backup_refuses_a_pg_dump_older_than_the_server(
    source: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    old = _fake_tool(tmp_path / "pg_dump", 'echo "pg_dump (PostgreSQL) 14.9"')
    monkeypatch.setattr(_tools, "candidate_paths", lambda name: [old])
    with pytest.raises(db.ClientToolError, match="pg_dump must be at least version 15"):
        db.plan_backup(db.fingerprint(source), str(tmp_path / "out"))
    assert not (tmp_path / "out").exists()


# -- backup ---------------------------------------------------------------------------------


def test_backup_writes_a_checked_dump_and_its_manifest_and_nothing_else(
    dump: db.BackupResult, source: str
) -> None:
    assert dump.dump.name.startswith(f"dump-{source}-")
    assert sorted(path.name for path in dump.dump.parent.iterdir()) == sorted(
        [dump.dump.name, dump.manifest_file.name]
    )
    manifest = json.loads(dump.manifest_file.read_text())
    assert manifest["sha256"] == db.sha256_of(dump.dump)
    assert manifest["size_bytes"] == dump.dump.stat().st_size
    assert manifest["alembic_revision"] == db.HEAD_REVISION
    assert manifest["row_counts"] == db.fingerprint(source).row_counts
    assert (manifest["database"], manifest["host"]) == (source, "127.0.0.1")
    for option in ("--format=c", "--inserts", "--no-privileges", "--clean", "--create"):
        assert option in manifest["pg_dump_options"]
    assert dump.archive_entries > len(manifest["row_counts"])


def test_backup_only_reads_the_database(source: str, tmp_path: Path) -> None:
    before = table_rows(source)
    db.backup(db.plan_backup(db.fingerprint(source), str(tmp_path)))
    assert table_rows(source) == before


def test_backup_refuses_when_the_output_disk_has_no_room(
    source: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    full = SimpleNamespace(total=2**30, used=2**30 - 1024, free=1024)
    monkeypatch.setattr(_backup.shutil, "disk_usage", lambda path: full)
    with pytest.raises(db.NotEnoughSpaceError, match="Set output_dir") as caught:
        db.plan_backup(db.fingerprint(source), str(tmp_path / "out"))
    assert caught.value.free_bytes == 1024
    assert not (tmp_path / "out").exists()


def test_backup_refuses_a_schema_name_pg_dump_would_read_as_a_pattern(source: str) -> None:
    with pytest.raises(ParameterError, match="plain lower-case name"):
        db.plan_backup(replace(db.fingerprint(source), schema="pub*"))


def test_failed_pg_dump_leaves_no_file_behind(source: str, tmp_path: Path) -> None:
    plan = db.plan_backup(db.fingerprint(source), str(tmp_path))
    failing = _fake_tool(
        tmp_path.parent / "pg_dump_failing",
        'for a in "$@"; do case "$a" in --file=*) echo half > "${a#--file=}";; esac; done\n'
        'echo "pg_dump: error: disk quota exceeded" >&2; exit 1',
    )
    with pytest.raises(db.DumpError, match=r"disk quota exceeded.*No dump file was left"):
        db.backup(replace(plan, pg_dump=replace(plan.pg_dump, path=failing)))
    assert list(tmp_path.iterdir()) == []


def test_created_database_is_migrated_and_holds_no_data(databases: MakeDatabase) -> None:
    found = db.fingerprint(databases("migrated"))
    assert found.alembic_revision == db.HEAD_REVISION
    assert found.data_rows == {}
    assert found.row_counts["campaigns_v2"] == 1
    assert len(found.row_counts) == 27


# -- restore: the drill ---------------------------------------------------------------------


def test_drill_restores_every_row_of_the_sandbox_database(
    source: str, dump: db.BackupResult, databases: MakeDatabase, audit_log: Path
) -> None:
    target = databases("migrated")
    plan = db.plan_restore(str(dump.dump), target)
    assert plan.refusals == []
    outcome = db.restore(plan, confirm=target)
    assert table_rows(target) == table_rows(source)
    assert outcome.expected_errors == [
        "alembic_version row ('0bac2c4206b1')",
        "campaigns_v2 DEFAULT row",
    ]
    assert set(outcome.verification_table()["match"]) == {"yes"}
    assert "Row counts match the manifest in all 27 tables" in outcome.describe()
    (line,) = audit.read(audit_log)
    assert (line["action"], line["outcome"], line["dry_run"]) == ("restore", "done", False)
    assert line["target_fullname"] == f"127.0.0.1:{plan.target.port}/{target}"


def test_overwrite_writes_a_safety_dump_first_then_replaces_the_rows(
    source: str, dump: db.BackupResult, databases: MakeDatabase, tmp_path: Path
) -> None:
    target = databases("recorded")
    _admin("DELETE FROM public.script_error WHERE id > 3", target)
    _admin("""UPDATE public.campaign SET data = '{"changed": true}'""", target)
    before = table_rows(target)
    copy = _copy_dump(dump, tmp_path / "dumps")
    outcome = db.restore(db.plan_restore(str(copy), target, overwrite=True), confirm=target)
    assert outcome.safety is not None
    assert outcome.safety.dump.parent == copy.parent
    assert outcome.safety.manifest.row_counts["script_error"] == 3
    assert table_rows(target) == table_rows(source)
    restored_safety = databases("migrated")
    db.restore(db.plan_restore(str(outcome.safety.dump), restored_safety), confirm=restored_safety)
    assert table_rows(restored_safety) == before


# -- restore: refusals, each leaving the target as it was ------------------------------------


def _assert_refused(plan: db.RestorePlan, confirm: str, match: str, audit_log: Path) -> None:
    before = table_rows(plan.target.database)
    with pytest.raises(db.RestoreRefusedError, match=match) as caught:
        db.restore(plan, confirm=confirm)
    assert "Nothing was written to the target" in str(caught.value)
    assert table_rows(plan.target.database) == before
    assert audit.read(audit_log)[-1]["outcome"].startswith("refused: ")


def test_dry_run_writes_nothing_and_says_what_to_confirm(
    dump: db.BackupResult, databases: MakeDatabase, audit_log: Path
) -> None:
    target = databases("migrated")
    before = table_rows(target)
    outcome = db.restore(db.plan_restore(str(dump.dump), target), confirm="")
    assert outcome.dry_run
    assert f"set confirm = '{target}'" in outcome.describe()
    assert table_rows(target) == before
    assert audit.read(audit_log)[-1]["outcome"] == "dry-run"


def test_wrong_confirm_is_refused_naming_the_value_to_set(
    dump: db.BackupResult, databases: MakeDatabase, audit_log: Path
) -> None:
    target = databases("migrated")
    plan = db.plan_restore(str(dump.dump), target)
    _assert_refused(plan, "cm-service", f"set confirm = '{target}'", audit_log)


def test_remote_target_is_refused_unless_allow_remote(
    dump: db.BackupResult, databases: MakeDatabase, audit_log: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = databases("migrated")
    real = _restore.fingerprint

    def seen_from_afar(*arguments: Any) -> db.Fingerprint:
        return replace(real(*arguments), host="db.example.org", address="10.1.2.3")

    monkeypatch.setattr(_restore, "fingerprint", seen_from_afar)
    plan = db.plan_restore(str(dump.dump), target)
    _assert_refused(plan, target, "not on this machine.*allow_remote", audit_log)
    assert db.plan_restore(str(dump.dump), target, allow_remote=True).refusals == []


def test_target_holding_rows_is_refused_without_overwrite(
    dump: db.BackupResult, databases: MakeDatabase, audit_log: Path
) -> None:
    target = databases("recorded")
    plan = db.plan_restore(str(dump.dump), target)
    _assert_refused(
        plan, target, r"already holds rows \(spec_block 346, script 134.*overwrite", audit_log
    )


def test_target_of_another_alembic_revision_is_refused(
    dump: db.BackupResult, databases: MakeDatabase, audit_log: Path
) -> None:
    target = databases("migrated")
    _admin("UPDATE public.alembic_version SET version_num = 'c8b0cbdc11b5'", target)
    plan = db.plan_restore(str(dump.dump), target)
    _assert_refused(plan, target, "revision is c8b0cbdc11b5 but the dump's is 0bac2c4206b1", audit_log)


def test_dump_whose_checksum_differs_from_its_manifest_is_refused(
    dump: db.BackupResult, databases: MakeDatabase, tmp_path: Path, audit_log: Path
) -> None:
    target = databases("migrated")
    copy = _copy_dump(dump, tmp_path)
    with copy.open("ab") as stream:
        stream.write(b"\0")
    _assert_refused(
        db.plan_restore(str(copy), target), target, "SHA-256 .* but its manifest says", audit_log
    )


def test_dump_without_manifest_is_refused(
    dump: db.BackupResult, databases: MakeDatabase, tmp_path: Path, audit_log: Path
) -> None:
    target = databases("migrated")
    copy = _copy_dump(dump, tmp_path)
    db.manifest_path(copy).unlink()
    _assert_refused(db.plan_restore(str(copy), target), target, "has no manifest", audit_log)


@contextmanager
def _logged_in_as(role: str, password: str) -> Iterator[None]:
    with pytest.MonkeyPatch.context() as patched:
        patched.setenv("PGUSER", role)
        patched.setenv("PGPASSWORD", password)
        yield


def test_login_that_is_not_a_superuser_is_told_what_it_lacks(
    dump: db.BackupResult, databases: MakeDatabase, audit_log: Path
) -> None:
    target = databases("migrated")
    role, password = f"cmrb_reader_{secrets.token_hex(3)}", secrets.token_hex(8)
    _admin(
        sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(sql.Identifier(role), sql.Literal(password))
    )
    try:
        denied = pytest.raises(db.DatabasePermissionError, match=f"User '{role}' may not")
        with _logged_in_as(role, password), denied:
            db.plan_restore(str(dump.dump), target)
        _admin(sql.SQL("GRANT USAGE ON SCHEMA public TO {}").format(sql.Identifier(role)), target)
        _admin(
            sql.SQL("GRANT SELECT ON ALL TABLES IN SCHEMA public TO {}").format(sql.Identifier(role)),
            target,
        )
        with _logged_in_as(role, password):
            plan = db.plan_restore(str(dump.dump), target)
            _assert_refused(plan, target, "not a superuser.*disable-triggers", audit_log)
    finally:
        _admin(sql.SQL("DROP OWNED BY {}").format(sql.Identifier(role)), target)
        _admin(sql.SQL("DROP ROLE {}").format(sql.Identifier(role)))


def test_report_mode_refuses_a_confirmed_restore(
    dump: db.BackupResult, databases: MakeDatabase, audit_log: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = databases("migrated")
    monkeypatch.setenv("CMRUNBOOK_REPORT_MODE", "1")
    _assert_refused(db.plan_restore(str(dump.dump), target), target, "report mode", audit_log)


def test_target_changed_since_the_plan_is_refused(
    dump: db.BackupResult, databases: MakeDatabase, audit_log: Path
) -> None:
    target = databases("migrated")
    plan = db.plan_restore(str(dump.dump), target)
    _admin("DELETE FROM public.campaigns_v2", target)
    _assert_refused(plan, target, "changed since the plan", audit_log)


def test_missing_dump_file_is_a_clear_error_naming_the_newest_dump(
    dump: db.BackupResult, databases: MakeDatabase
) -> None:
    with pytest.raises(
        db.DumpError, match=f"no dump file .*newest dump in that folder is .*{dump.dump.name}"
    ):
        db.plan_restore(str(dump.dump.parent / "dump-typo.dump"), databases("migrated"))


def test_no_dump_in_the_folder_is_a_dry_run_that_explains(
    databases: MakeDatabase, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CMRUNBOOK_DUMP_DIR", str(tmp_path / "none-yet"))
    plan = db.plan_restore("", databases("migrated"))
    assert plan.dump is None
    assert "Nothing to restore" in plan.describe()
    outcome = db.restore(plan, confirm="")
    assert "no dump to restore" in outcome.describe()


# -- restore: failures ----------------------------------------------------------------------


def test_any_other_pg_restore_error_is_a_failure_not_a_success(
    dump: db.BackupResult, databases: MakeDatabase, audit_log: Path
) -> None:
    target = databases("migrated")
    _admin("ALTER TABLE public.script_error ADD CONSTRAINT short CHECK (length(source) < 2)", target)
    with pytest.raises(db.RestoreFailedError) as caught:
        db.restore(db.plan_restore(str(dump.dump), target), confirm=target)
    assert caught.value.mismatches == {"script_error": (6, 0)}
    assert any('constraint "short"' in error for error in caught.value.errors)
    assert audit.read(audit_log)[-1]["outcome"].startswith("failed: ")


def test_only_the_migrations_own_rows_count_as_expected_duplicates() -> None:
    stderr = (
        "pg_restore: error: could not execute query: ERROR:  duplicate key value violates unique "
        'constraint "alembic_version_pkc"\nDETAIL:  Key (version_num)=(0bac2c4206b1) already exists.\n'
        "Command was: INSERT INTO public.alembic_version VALUES ('0bac2c4206b1');\n"
        "pg_restore: error: could not execute query: ERROR:  duplicate key value violates unique "
        'constraint "campaigns_v2_name_namespace_key"\n'
        "Command was: INSERT INTO public.campaigns_v2 VALUES ('dda54a0c-6878-5c95-ac4f-007f6808049e', "
        "'DEFAULT');\n"
        "pg_restore: error: could not execute query: ERROR:  duplicate key value violates unique "
        'constraint "campaign_pkey"\nCommand was: INSERT INTO public.campaign VALUES (1, 2);\n'
        "pg_restore: warning: errors ignored on restore: 3\n"
    )
    expected, unexpected = db.classify_restore_errors(stderr, 1, "public")
    assert expected == ["alembic_version row ('0bac2c4206b1')", "campaigns_v2 DEFAULT row"]
    assert len(unexpected) == 1
    assert "campaign_pkey" in unexpected[0]
    assert db.classify_restore_errors("pg_restore: [archiver] input file is too short", 1, "public")[1]


# -- the notebooks, headless ----------------------------------------------------------------


def test_backup_then_restore_notebooks_headless_and_the_password_is_nowhere(
    source: str, databases: MakeDatabase, tmp_path: Path, audit_log: Path
) -> None:
    target = databases("migrated")
    dumps, runs = tmp_path / "dumps", tmp_path / "runs"
    backed_up = report.execute(
        get_runbook("database_backup"), {"database": source, "output_dir": str(dumps)}, runs_dir=runs
    )
    assert backed_up.ok, backed_up.summary
    dump_file = backed_up.summary["dump_file"]
    restored = report.execute(
        get_runbook("database_restore"),
        {"dump_file": dump_file, "target_database": target, "confirm": target},
        runs_dir=runs,
    )
    assert restored.ok, restored.summary
    assert restored.summary["dry_run"] is False
    assert table_rows(target) == table_rows(source)
    password = os.environ["PGPASSWORD"].encode()
    written = [path for path in (*dumps.rglob("*"), *runs.rglob("*"), audit_log) if path.is_file()]
    assert {path.suffix for path in written} >= {".dump", ".json", ".ipynb", ".html", ".jsonl"}
    assert [path for path in written if password in path.read_bytes()] == []
    for name in ("database_backup", "database_restore"):
        assert not any("pass" in parameter for parameter in get_runbook(name).parameters)


def _run(name: str, output: Path, **parameters: Any) -> nbformat.NotebookNode:
    notebook = get_runbook(name).path
    papermill.execute_notebook(
        str(notebook),
        str(output),
        parameters=parameters,
        kernel_name="python3",
        progress_bar=False,
        cwd=str(notebook.parent),
    )
    return nbformat.read(output, as_version=4)


def test_default_runs_read_only_and_end_cleanly_as_under_nbval(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """nbval runs the notebooks with their defaults: $PGDATABASE, the dump folder from the
    environment; the backup writes a dump, the restore is a dry run that explains itself."""
    monkeypatch.setenv("CMRUNBOOK_DUMP_DIR", str(tmp_path / "dumps"))
    default = db.resolve_database("")
    before = table_rows(default)
    _run("database_backup", tmp_path / "backup.ipynb")
    assert len(list((tmp_path / "dumps").glob("dump-*.dump"))) == 1
    restored = _run("database_restore", tmp_path / "restore.ipynb")
    shown = json.dumps([cell.get("outputs", []) for cell in restored.cells])
    assert "Dry run, nothing was written" in shown
    assert table_rows(default) == before


def test_restore_notebook_with_a_wrong_confirm_stops_with_the_paragraph(
    dump: db.BackupResult, databases: MakeDatabase, tmp_path: Path
) -> None:
    target = databases("migrated")
    before = table_rows(target)
    output = tmp_path / "out.ipynb"
    with pytest.raises(PapermillExecutionError) as caught:
        _run(
            "database_restore", output, dump_file=str(dump.dump), target_database=target, confirm="wrong"
        )
    assert caught.value.ename == "RestoreRefusedError"
    assert f"set confirm = '{target}' to restore into it" in caught.value.evalue
    assert table_rows(target) == before
    executed = nbformat.read(output, as_version=4)
    outputs = [output for cell in executed.cells for output in cell.get("outputs", [])]
    assert "127.0.0.1" in json.dumps(outputs)  # the target's fingerprint was shown before the refusal
    tracebacks = ["".join(output.traceback) for output in outputs if output.output_type == "error"]
    assert not any("most recent call last" in traceback for traceback in tracebacks)
