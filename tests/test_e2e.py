"""End to end: `python -m sportstats` as its own process, against a fake upstream on 127.0.0.1."""

from __future__ import annotations

import asyncio
import os
import socket
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests import fake_upstream

pytestmark = pytest.mark.process

ROOT = Path(__file__).resolve().parent.parent
PUBLIC_URL = "https://nba.example.org"
START_TIMEOUT_S = 20


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


async def wait_until_up(http: aiohttp.ClientSession, base: str, server: Any) -> None:
    loop = asyncio.get_running_loop()
    give_up = loop.time() + START_TIMEOUT_S
    while True:
        if server.returncode is not None:
            stderr = (await server.stderr.read()).decode()
            pytest.fail(f"server exited with {server.returncode}: {stderr}")
        try:
            async with http.get(f"{base}/healthz") as response:
                if response.status == 200:
                    return
        except aiohttp.ClientConnectionError:
            pass
        if loop.time() > give_up:
            pytest.fail("server did not start")
        await asyncio.sleep(0.05)


@pytest.fixture
async def fake(aiohttp_server: Any) -> Any:
    return await aiohttp_server(fake_upstream.make_app(), host="127.0.0.1")


@pytest.fixture
async def server(fake: Any) -> AsyncIterator[tuple[str, Any]]:
    """The real server process, on a free port, talking to the fake upstream; stopped after."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("SPORTSTATS_")}
    env["BALLDONTLIE_API_KEY"] = fake_upstream.API_KEY
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "sportstats",
        "--port", str(port),
        "--upstream-url", str(fake.make_url("/v1")),
        "--public-url", PUBLIC_URL,
        cwd=ROOT, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        yield f"http://127.0.0.1:{port}", process
    finally:
        if process.returncode is None:
            process.terminate()
            await asyncio.wait_for(process.wait(), 10)


async def test_the_server_process_answers_over_http_and_stops_cleanly(
    server: tuple[str, Any], fake: Any
) -> None:
    base, process = server
    async with aiohttp.ClientSession() as http:
        await wait_until_up(http, base, process)

        async with http.get(f"{base}/players", params={"query": "james"}) as response:
            assert response.status == 200
            players = await response.json()
        assert players["columns"][0] == "name"
        assert "LeBron James" in [row["name"] for row in players["data"]]
        assert players["meta"]["next_cursor"] == 489

        async with http.get(
            f"{base}/season_averages", params=[("player_ids", "237"), ("season", "2019")]
        ) as response:
            assert response.status == 200
            averages = await response.json()
        [row] = averages["data"]
        assert (row["player"], row["season"], row["pts"]) == ("LeBron James", 2019, 25.3)

        async with http.get(f"{base}/games", params={"seasons": "1800"}) as response:
            assert response.status == 400
            error = (await response.json())["error"]
        assert "seasons" in error["message"] and "1800" in error["message"]

        async with http.get(f"{base}/.well-known/ai-plugin.json") as response:
            assert response.status == 200
            manifest = await response.json()
        assert manifest["api"]["url"] == f"{PUBLIC_URL}/openapi.yaml"

    calls = fake.app[fake_upstream.CALLS]
    assert "/v1/players?search=james&per_page=25" in calls
    assert "/v1/season_averages?season=2019&player_id=237" in calls
    assert not any("1800" in call for call in calls)

    process.terminate()
    assert await asyncio.wait_for(process.wait(), 10) == 0
    stderr = (await process.stderr.read()).decode()
    assert "Traceback" not in stderr
    assert fake_upstream.API_KEY not in stderr
