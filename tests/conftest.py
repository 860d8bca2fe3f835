"""Shared fixtures: the real app under a test client, the upstream mocked by aioresponses."""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import socket
import subprocess
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from aioresponses import aioresponses
from aioresponses.core import normalize_url
from yarl import URL

from sportstats.app import create_app
from sportstats.outage import REDIS
from sportstats.settings import Settings, load_settings
from tests import fake_upstream
from tests.plan_upstream import PlanGate, every_route_app
from tests.server_process import free_port

FIXTURES = Path(__file__).parent / "fixtures"
API_KEY = "test-key-not-secret"
UPSTREAM = "https://api.balldontlie.io/nba/v1"  # where the default base puts the routes
# A Redis the tests may use instead of starting their own (e.g. redis://127.0.0.1:6390/0).
REDIS_URL_ENV = "TEST_REDIS_URL"
REDIS_START_S = 10.0
CHANGE_WAIT_S = 10.0  # a signal's effect on a loaded machine: waited for, polled, never slept on


@pytest.fixture(autouse=True)
def redis_health() -> Iterator[None]:
    """Each test starts with Redis taken as up (the process-wide outage flag)."""
    REDIS.down, REDIS.failures = False, 0
    yield


@pytest.fixture(scope="session")
def redis_server() -> Iterator[str]:
    """The URL of a real Redis for this run: the one `TEST_REDIS_URL` names, else a
    `redis-server` started here on a free port, keeping nothing on disk, stopped at the end.

    Fails (never skips) without the `redis-server` program, saying what to install.
    """
    given = os.environ.get(REDIS_URL_ENV)
    if given:
        yield given
        return
    program = shutil.which("redis-server")
    if program is None:
        pytest.fail(
            f"the Redis tests need the redis-server program (e.g. Debian's redis-server"
            f" package), or {REDIS_URL_ENV} naming a Redis to use",
            pytrace=False,
        )
    port = free_port()
    server = subprocess.Popen(
        [program, "--bind", "127.0.0.1", "--port", str(port), "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
    )
    try:
        give_up = time.monotonic() + REDIS_START_S
        while not _listening(port):
            if server.poll() is not None or time.monotonic() > give_up:
                pytest.fail(f"redis-server did not start on port {port}", pytrace=False)
            time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        server.terminate()
        server.wait(timeout=10)


def _listening(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    except OSError:
        return False
    return True


@pytest.fixture
def redis_url(redis_server: str) -> str:
    return redis_server


async def eventually(seen: Callable[[], bool], what: str, wait_s: float = CHANGE_WAIT_S) -> None:
    """Poll until `seen()` (the observable change, e.g. after a signal), failing after `wait_s`."""
    give_up = time.monotonic() + wait_s
    while not seen():
        if time.monotonic() > give_up:
            pytest.fail(f"not seen within {wait_s} s: {what}", pytrace=False)
        await asyncio.sleep(0.01)


def load_fixture(name: str) -> Any:
    """A recorded upstream response from tests/fixtures (copied from the shared recordings)."""
    path = FIXTURES / name
    return json.loads(path.read_text()) if name.endswith(".json") else path.read_text()


def upstream_route(path: str) -> re.Pattern[str]:
    """Matches the upstream `path` with any query, for registering mocked answers."""
    return re.compile(re.escape(UPSTREAM + path) + r"(\?.*)?$")


def upstream_url(path: str, pairs: list[tuple[str, str]] | None = None) -> URL:
    """An upstream URL as aioresponses records it (query pairs sorted)."""
    return normalize_url(URL(UPSTREAM + path).with_query(pairs or []))


def averages_url(season: int, player_id: int) -> URL:
    """The upstream season-averages call for one player (it takes one `player_id` per call)."""
    pairs = [("season", str(season)), ("player_id", str(player_id))]
    return upstream_url("/season_averages", pairs)


def answer_season_averages(
    mocked: aioresponses, season: int, payloads: dict[int, Any], names: Any
) -> None:
    """Mock each player's season averages (by player id) and the /players call for names."""
    for player_id, payload in payloads.items():
        mocked.get(averages_url(season, player_id), payload=payload)
    mocked.get(upstream_route("/players"), payload=names)


def sent(mocked: aioresponses) -> list[URL]:
    """Every upstream request the server sent, one entry per attempt, grouped by URL."""
    return [url for (_, url), calls in mocked.requests.items() for _ in calls]


async def ask(client: Any, path: str, status: int = 200) -> dict[str, Any]:
    """GET `path` from the app under test, check the status, return the JSON body."""
    response = await client.get(path)
    body = await response.json()
    assert response.status == status, body
    return body


def error_fields(body: dict[str, Any]) -> tuple[str, str]:
    """(our code, every word of it) of an error body: the HTTP one (`{error: {code, message,
    hint}}`) or, on /mcp, the JSON-RPC one (`error.data.code`, the hint in `error.message`)."""
    error = body["error"]
    if body.get("jsonrpc") == "2.0":
        assert body["id"] is None and isinstance(error["code"], int)
        return error["data"]["code"], error["message"]
    assert set(error) == {"code", "message", "hint"} and error["message"] and error["hint"]
    return error["code"], f"{error['message']} {error['hint']}"


def make_settings(**overrides: Any) -> Settings:
    """Settings as the server would load them, with the test key and any overrides.

    The mocked upstream serves what the ALL-STAR plan does (every route the endpoints ask, not
    the GOAT plan's standings, leaders, box scores): the plan is set to it unless a test names
    another (`auto` would first probe the plan, which `tests/test_plans*.py` test).
    """
    overrides["upstream"] = {"plan": "all-star", **overrides.get("upstream", {})}
    return load_settings(cli=overrides, environ={"BALLDONTLIE_API_KEY": API_KEY})


@pytest.fixture
def upstream() -> AsyncIterator[aioresponses]:
    """The mocked upstream; requests to the app under test (127.0.0.1) pass through."""
    with aioresponses(passthrough=["http://127.0.0.1"]) as mocked:
        yield mocked


@pytest.fixture
def make_client(aiohttp_client: Any, upstream: aioresponses) -> Callable[..., Any]:
    """Build the real app with settings overrides and drive it through a test client."""

    async def factory(**overrides: Any) -> Any:
        return await aiohttp_client(create_app(make_settings(**overrides)))

    return factory


@pytest.fixture
async def client(make_client: Callable[..., Any]) -> Any:
    return await make_client()


@pytest.fixture
async def redis_prefix(redis_url: str) -> AsyncIterator[str]:
    """A fresh key prefix in the tests' Redis; every key under it is deleted afterwards."""
    import redis.asyncio as aioredis

    prefix = f"sportstats-test-{uuid.uuid4().hex[:8]}:"
    yield prefix
    conn = aioredis.from_url(redis_url)
    keys = [key async for key in conn.scan_iter(f"{prefix}*")]
    if keys:
        await conn.delete(*keys)
    await conn.aclose()


@pytest.fixture
def serve(aiohttp_server: Any, upstream: aioresponses) -> Callable[..., Any]:
    """Serve the real app on 127.0.0.1 (an ephemeral port); returns the /mcp URL."""

    async def factory(**overrides: Any) -> str:
        server = await aiohttp_server(create_app(make_settings(**overrides)))
        return str(server.make_url("/mcp"))

    return factory


@pytest.fixture
async def url(serve: Callable[..., Any]) -> str:
    return await serve()


@pytest.fixture(params=["auto", "legacy"])
def mode(request: pytest.FixtureRequest) -> str:
    """The official MCP client's modes (`tests.mcp_support.NEGOTIATED`): both eras."""
    return request.param


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tiers: a test that uses the Redis fixtures is `redis`; one marked `process`, `faults`,
    `fuzz` or `browser` keeps that mark; every other test is `unit` (the fast tier:
    `pytest -m unit`)."""
    for item in items:
        if "redis_server" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.redis)
        if not any(
            item.get_closest_marker(tier)
            for tier in ("redis", "process", "faults", "fuzz", "browser")
        ):
            item.add_marker(pytest.mark.unit)


@pytest.fixture
def gated_upstream(aiohttp_server: Any) -> Callable[..., Any]:
    """A fake upstream on 127.0.0.1 behind a `PlanGate` (its plan, its quota): (server, gate)."""

    async def start(plan: str | None, **gate: Any) -> tuple[Any, PlanGate]:
        guard = PlanGate(plan, fake_upstream.API_KEY, **gate)
        app = guard.guard(every_route_app(fake_upstream.make_app()))
        return await aiohttp_server(app), guard

    return start


@pytest.fixture
def app_against(aiohttp_client: Any) -> Callable[..., Any]:
    """The real app under a test client against `server` (a fake upstream on 127.0.0.1), with
    settings overrides; the plan is `auto` unless they name one."""

    async def start(server: Any, key: str = fake_upstream.API_KEY, **overrides: Any) -> Any:
        settings = load_settings(
            cli={"upstream_url": str(server.make_url("/v1")), **overrides},
            environ={"BALLDONTLIE_API_KEY": key},
        )
        return await aiohttp_client(create_app(settings))

    return start
