"""The sandbox replays CM Service 0.8.0's recorded exchanges exactly, on SQLite and PostgreSQL.

``fixtures/exchanges.json`` holds 85 request/reply pairs recorded in order from a real server
starting at the snapshot the ``recorded`` scenario loads, each with its row-level effects. The
sandbox must give the same status, content type and body, and change its own tables exactly as
the real database changed; time-derived values are compared by type only. The two backends must
also agree beyond the recordings (the demo) and PostgreSQL must take large scenarios quickly.
"""

from __future__ import annotations

import copy
import json
import re
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from sqlalchemy import select

from cmrunbook.sandbox import DEMO_TARGETS, SandboxServer, Scenario, Store, load_scenario
from cmrunbook.sandbox.pgserver import Connection
from cmrunbook.sandbox.tables import NEG_INFINITY, TABLES

FIXTURES = Path(__file__).parent / "fixtures"
SNAPSHOT = Path(__file__).parents[1] / "cmrunbook" / "sandbox" / "data" / "recorded_snapshot.json"
EXCHANGES: list[dict[str, Any]] = json.loads((FIXTURES / "exchanges.json").read_text())
STATE_AFTER: dict[str, Any] = json.loads((FIXTURES / "state_after.json").read_text())
PHYSICAL_ORDER = {
    name: table["physical_order"] for name, table in json.loads(SNAPSHOT.read_text())["tables"].items()
}
DIFFED_TABLES = (
    "campaign",
    "step",
    "group",
    "job",
    "script",
    "script_error",
    "queue",
    "script_dependency",
)
TIMESTAMP_COLUMNS = ("time_created", "time_updated", "time_finished", "time_next_check")
PG_DATABASE = "sandbox_fidelity"


@pytest.fixture(scope="module")
def server(sandbox: SandboxServer) -> SandboxServer:
    """The test session's sandbox (``tests/conftest.py``)."""
    return sandbox


@pytest.fixture(scope="module")
def postgres_url(postgres: Connection) -> Iterator[str]:
    """A fresh database on the test session's PostgreSQL (``tests/conftest.py``)."""
    admin_url = postgres.url().replace("+psycopg", "")
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {PG_DATABASE} WITH (FORCE)")
        admin.execute(f"CREATE DATABASE {PG_DATABASE}")
    yield postgres.url(PG_DATABASE)
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f"DROP DATABASE {PG_DATABASE} WITH (FORCE)")


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest, server: SandboxServer) -> Iterator[str]:
    """The database URL of each backend in turn (SQLite in memory, then PostgreSQL)."""
    yield "sqlite://" if request.param == "sqlite" else request.getfixturevalue("postgres_url")
    server.store.connect(None)  # let go of PostgreSQL before its database is dropped


@pytest.fixture(scope="module")
def scale_50000() -> Scenario:
    return load_scenario("scale:50000")


# -- normalising rows and bodies -----------------------------------------------------------------


def _timestamp(value: Any) -> Any:
    if isinstance(value, str):
        return NEG_INFINITY if value == "-infinity" else datetime.fromisoformat(value)
    return value


def normalise_row(row: dict[str, Any]) -> dict[str, Any]:
    """A row in one form for both sides: recorded ``row_to_json`` text or sandbox values."""
    return {key: _timestamp(value) if key in TIMESTAMP_COLUMNS else value for key, value in row.items()}


def tables(server: SandboxServer) -> dict[str, dict[int, dict[str, Any]]]:
    with server.store.transaction() as tx:
        return {name: {row["id"]: normalise_row(row) for row in tx.page(name)} for name in DIFFED_TABLES}


def table_diff(
    before: dict[str, dict[int, dict[str, Any]]], after: dict[str, dict[int, dict[str, Any]]]
) -> dict[str, Any]:
    """Row-level effects in the recordings' ``db_effects`` format."""
    effects: dict[str, Any] = {}
    for name in DIFFED_TABLES:
        old, new = before[name], after[name]
        effect: dict[str, Any] = {}
        added = [new[row_id] for row_id in new if row_id not in old]
        removed = sorted(row_id for row_id in old if row_id not in new)
        changed = {
            str(row_id): {
                column: {"old": old[row_id][column], "new": value}
                for column, value in row.items()
                if old[row_id][column] != value
            }
            for row_id, row in new.items()
            if row_id in old and row != old[row_id]
        }
        for key, value in (("added", added), ("removed", removed), ("changed", changed)):
            if value:
                effect[key] = value
        if effect:
            effects[name] = effect
    return effects


def normalise_effects(effects: dict[str, Any]) -> dict[str, Any]:
    normalised: dict[str, Any] = {}
    for name, effect in effects.items():
        normalised[name] = dict(effect)
        if "added" in effect:
            normalised[name]["added"] = sorted((normalise_row(row) for row in effect["added"]), key=_id)
        if "changed" in effect:
            normalised[name]["changed"] = {
                row_id: {
                    column: {
                        key: _timestamp(v) if column in TIMESTAMP_COLUMNS else v
                        for key, v in pair.items()
                    }
                    for column, pair in columns.items()
                }
                for row_id, columns in effect["changed"].items()
            }
    return normalised


def _id(item: Any) -> Any:
    return item["id"] if isinstance(item, dict) and "id" in item else json.dumps(item, sort_keys=True)


_PATH_TOKEN = re.compile(r"\.(\w+)|\[\?\(@\.id==(\d+)\)\]|\['([^']+)'\]")


def masked(document: Any, paths: list[str]) -> Any:
    """A copy of ``document`` with the value at each recordings JSONPath replaced by its type."""
    document = copy.deepcopy(document)
    for path in paths:
        _mask(document, path)
    return document


def _mask(document: Any, path: str) -> None:
    """Replace the value at ``path`` (``$.a[?(@.id==3)].b['2'].c``) by its type's name."""
    steps = [match.groups() for match in _PATH_TOKEN.finditer(path.removeprefix("$"))]
    targets = [document]
    for index, (name, row_id, key) in enumerate(steps):
        last = index == len(steps) - 1
        found = []
        for target in targets:
            if row_id is not None:
                items = [
                    item for item in target if isinstance(item, dict) and item.get("id") == int(row_id)
                ]
                found += items
                continue
            field = name if name is not None else key
            if isinstance(target, dict) and field in target:
                if last:
                    target[field] = f"<{type(target[field]).__name__}>"
                else:
                    found.append(target[field])
        targets = found


def comparable(body: Any, volatile: list[str], *, unordered: bool) -> Any:
    body = masked(json.loads(json.dumps(body, default=str)), volatile)
    if unordered and isinstance(body, list):
        body.sort(key=lambda item: json.dumps(_id(item)))
    return body


# -- replaying -----------------------------------------------------------------------------------


def send(client: httpx.Client, server: SandboxServer, exchange: dict[str, Any]) -> httpx.Response:
    request = exchange["request"]
    base = server.root_url if exchange.get("absolute") else server.url
    content = None
    if request.get("body") is not None or request.get("body_sent_without_content_type"):
        content = json.dumps(request["body"]).encode()
    return client.request(
        request["method"],
        base + request["path"],
        params=request.get("query") or None,
        headers=request.get("headers") or None,
        content=content,
    )


Replay = tuple[dict[int, tuple[httpx.Response, dict[str, Any]]], dict[str, list[dict[str, Any]]]]


@pytest.fixture(scope="module")
def replay(backend: str, server: SandboxServer) -> Replay:
    """Every exchange sent in order, each reply with its table changes; then the final tables."""
    server.load("recorded", db_url=backend)
    results = {}
    with httpx.Client(timeout=30) as client:
        for exchange in EXCHANGES:
            before = tables(server)
            response = send(client, server, exchange)
            after = tables(server)
            deadline = time.monotonic() + exchange.get("wait_after_s", 0)
            while after == before and time.monotonic() < deadline:
                time.sleep(0.02)
                after = tables(server)
            results[exchange["seq"]] = (response, table_diff(before, after))
    return results, {name: server.store.dump(name) for name in STATE_AFTER["tables"]}


@pytest.mark.parametrize("exchange", EXCHANGES, ids=[f"{e['seq']:02d}-{e['name']}" for e in EXCHANGES])
def test_exchange_replays_like_cm_service(exchange: dict[str, Any], replay: Replay) -> None:
    response, effects = replay[0][exchange["seq"]]
    recorded = exchange["response"]
    assert response.status_code == recorded["status"], response.text
    assert response.headers.get("content-type") == recorded["content_type"]
    if recorded.get("empty_body"):
        assert response.content == b""
    else:
        unordered = exchange["order_insensitive"]
        volatile = exchange["volatile_fields"]
        assert comparable(response.json(), volatile, unordered=unordered) == comparable(
            recorded["body"], volatile, unordered=unordered
        )
    volatile_effects = exchange.get("db_effects_volatile_fields", [])
    expected_effects = masked(normalise_effects(exchange["db_effects"]), volatile_effects)
    assert masked(normalise_effects(effects), volatile_effects) == expected_effects


def test_tables_end_as_the_recorded_server_left_them(replay: Replay) -> None:
    volatile = STATE_AFTER["meta"]["volatile_fields"]
    for name, table in STATE_AFTER["tables"].items():
        paths = volatile.get(name, [])
        expected = masked(sorted((normalise_row(row) for row in table["rows"]), key=_id), paths)
        actual = masked(sorted((normalise_row(row) for row in replay[1][name]), key=_id), paths)
        assert actual == expected, name


@pytest.mark.parametrize(
    ("skip", "limit"), [(0, None), (100, None), (130, 10), (0, 1000), (40, 25), (134, 5), (0, 0)]
)
def test_fresh_script_list_pages_are_slices_of_the_physical_order(
    backend: str, server: SandboxServer, skip: int, limit: int | None
) -> None:
    server.load("recorded", db_url=backend)
    params = {"skip": skip} if limit is None else {"skip": skip, "limit": limit}
    ids = [row["id"] for row in httpx.get(f"{server.url}/script/list", params=params).json()]
    assert ids == PHYSICAL_ORDER["script"][skip : skip + (100 if limit is None else limit)]


@pytest.mark.parametrize("table", ["campaign", "step", "group", "job", "queue", "script_error"])
def test_fresh_lists_come_back_in_physical_order(
    backend: str, server: SandboxServer, table: str
) -> None:
    server.load("recorded", db_url=backend)
    ids = [row["id"] for row in httpx.get(f"{server.url}/{table}/list", params={"limit": 1000}).json()]
    assert ids == PHYSICAL_ORDER[table]


def test_scale_loads_fifty_thousand_scripts_into_postgresql_in_seconds(
    postgres_url: str, scale_50000: Scenario
) -> None:
    store = Store(postgres_url)
    try:
        started = time.monotonic()
        store.load(scale_50000)
        assert time.monotonic() - started < 20
        with store.transaction() as tx:
            ids = list(tx.connection.execute(select(TABLES["script"].c.id)).scalars())
    finally:
        store.dispose()
    assert ids == list(range(1, 50001))


def test_demo_on_postgresql_answers_as_on_sqlite(server: SandboxServer, postgres_url: str) -> None:
    def answers() -> list[Any]:
        with httpx.Client(base_url=server.url, timeout=30) as client:
            target = DEMO_TARGETS["lost_log_script"]
            return [
                client.post(f"/script/action/{target}/run_check").json(),
                sorted((s["id"], s["status"]) for s in client.get("/campaign/get/1/all_scripts").json()),
                [(q["id"], q["active"]) for q in client.get("/queue/list").json()],
            ]

    try:
        server.load("demo", db_url="sqlite://")
        on_sqlite = answers()
        server.load("demo", db_url=postgres_url)
        assert answers() == on_sqlite
    finally:
        server.load("recorded", db_url="sqlite://")
