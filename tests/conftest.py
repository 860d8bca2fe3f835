"""Shared fixtures: the real app under a test client, the upstream mocked by aioresponses."""

from __future__ import annotations

import json
import re
import shutil
import socket
import subprocess
import time
import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from aioresponses import aioresponses
from aioresponses.core import normalize_url
from yarl import URL

from sportstats.app import create_app
from sportstats.settings import Settings, load_settings

FIXTURES = Path(__file__).parent / "fixtures"
API_KEY = "test-key-not-secret"
UPSTREAM = "https://api.balldontlie.io/v1"
REDIS_URL = "redis://127.0.0.1:6379/0"


def _redis_listening() -> bool:
    try:
        socket.create_connection(("127.0.0.1", 6379), timeout=1).close()
    except OSError:
        return False
    return True


def pytest_sessionstart(session: pytest.Session) -> None:
    """The Redis tests need a real Redis on 127.0.0.1:6379: start one if none listens.

    It keeps nothing on disk and is left running for the next run. Without the `redis-server`
    program the Redis tests fail (never skip), saying what to install.
    """
    if _redis_listening() or shutil.which("redis-server") is None:
        return
    subprocess.run(
        [
            "redis-server",
            "--daemonize",
            "yes",
            "--bind",
            "127.0.0.1",
            "--port",
            "6379",
            "--save",
            "",
            "--appendonly",
            "no",
        ],
        check=False,
        stdout=subprocess.DEVNULL,
    )
    for _ in range(50):
        if _redis_listening():
            return
        time.sleep(0.1)


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


def make_settings(**overrides: Any) -> Settings:
    """Settings as the server would load them, with the test key and any overrides."""
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
async def redis_prefix() -> AsyncIterator[str]:
    """A fresh key prefix in the real Redis on 127.0.0.1:6379, deleted afterwards.

    Fails (never skips) when Redis is not there: CI starts one.
    """
    import redis.asyncio as aioredis

    prefix = f"sportstats-test-{uuid.uuid4().hex[:8]}:"
    conn = aioredis.from_url(REDIS_URL)
    try:
        await conn.ping()
    except Exception as exc:
        pytest.fail(
            f"no Redis on 127.0.0.1:6379 ({exc}); install redis-server, e.g. the Debian"
            " package, and the tests start it",
            pytrace=False,
        )
    yield prefix
    keys = [key async for key in conn.scan_iter(f"{prefix}*")]
    if keys:
        await conn.delete(*keys)
    await conn.aclose()
