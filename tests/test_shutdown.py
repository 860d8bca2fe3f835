"""Graceful shutdown: on SIGTERM the request in flight finishes, then everything closes."""

from __future__ import annotations

import asyncio

import aiohttp
import pytest

from tests.fake_upstream import API_KEY, CALLS, make_app
from tests.server_process import ServerProcess, clean_environment

UPSTREAM_LATENCY_S = 1.5


@pytest.mark.process
async def test_sigterm_lets_the_request_in_flight_finish_then_closes_all(
    aiohttp_server, redis_url, redis_prefix
):
    fake = await aiohttp_server(make_app(latency_s=UPSTREAM_LATENCY_S))
    server = ServerProcess.sportstats(
        "--upstream-url",
        str(fake.make_url("/v1")),
        "--redis-url",
        redis_url,
        env=clean_environment(
            BALLDONTLIE_API_KEY=API_KEY,
            SPORTSTATS_REDIS_PREFIX=redis_prefix,
            SPORTSTATS_SHUTDOWN_TIMEOUT_S="10",
        ),
    )
    await server.start()
    try:
        async with aiohttp.ClientSession() as session:
            in_flight = asyncio.create_task(session.get(server.url + "/teams"))
            while not fake.app[CALLS]:  # the server is waiting for the slow upstream
                await asyncio.sleep(0.01)
            server.signal()
            response = await in_flight
            assert response.status == 200
            body = await response.json()
            assert len(body["data"]) == 30
            assert response.headers["X-Cache"] == "MISS"
        assert await server.wait() == 0
    finally:
        await server.stop()

    log = server.log
    assert "status=200" in log  # the access-log line of the request that was in flight
    assert "closed: background refreshes, upstream session, Redis" in log
    for trouble in ("Traceback", "Unclosed", "Task was destroyed", "ERROR"):
        assert trouble not in log, log


@pytest.mark.process
async def test_new_connections_are_refused_once_shutdown_began(aiohttp_server):
    fake = await aiohttp_server(make_app(latency_s=UPSTREAM_LATENCY_S))
    server = ServerProcess.sportstats(
        "--upstream-url",
        str(fake.make_url("/v1")),
        env=clean_environment(BALLDONTLIE_API_KEY=API_KEY),
    )
    await server.start()
    try:
        async with aiohttp.ClientSession() as session:
            in_flight = asyncio.create_task(session.get(server.url + "/teams"))
            while not fake.app[CALLS]:
                await asyncio.sleep(0.01)
            server.signal()
            refused = False
            for _ in range(100):  # the listening socket closes at once; the request goes on
                try:
                    async with (
                        aiohttp.ClientSession() as other,
                        other.get(server.url + "/healthz"),
                    ):
                        pass
                except aiohttp.ClientConnectionError:
                    refused = True
                    break
                await asyncio.sleep(0.01)
            assert refused
            assert (await in_flight).status == 200
        assert await server.wait() == 0
    finally:
        await server.stop()


async def test_closing_the_app_cancels_its_background_refreshes(make_client, upstream, monkeypatch):
    """What SIGTERM's cleanup does to a refresh still waiting on the upstream: it is cancelled,
    not left running past the app (the process test above shows the cleanup runs on SIGTERM)."""
    from sportstats.web.keys import CACHE
    from tests.cache_support import fast, install_clock
    from tests.conftest import load_fixture, upstream_route

    clock = install_clock(monkeypatch)
    never = asyncio.Event()

    async def hang(url, **kwargs):
        await never.wait()

    upstream.get(upstream_route("/teams"), payload=load_fixture("teams_all.json"))
    upstream.get(upstream_route("/teams"), callback=hang, repeat=True)
    client = await make_client(**fast(cache={"ttl_s": {"teams": 600}}))
    assert (await client.get("/teams")).headers["X-Cache"] == "MISS"
    clock.advance(601)
    assert (await client.get("/teams")).headers["X-Cache"] == "UPDATING"
    refreshes = list(client.app[CACHE].flight._background)
    assert refreshes and not any(task.done() for task in refreshes)

    await client.close()

    assert all(task.cancelled() for task in refreshes)


@pytest.mark.process
async def test_a_started_server_says_where_it_listens_and_how_it_is_set_up():
    server = ServerProcess.sportstats(
        "--upstream-url",
        "http://127.0.0.1:9/v1",  # never called: nothing is asked
        env=clean_environment(
            BALLDONTLIE_API_KEY=API_KEY, SPORTSTATS_UPSTREAM__REQUESTS_PER_MINUTE="5"
        ),
    )
    await server.start()
    try:
        port = server.url.rsplit(":", 1)[1]
        [line] = [line for line in server.lines if "listening on" in line]
        assert f"listening on http://127.0.0.1:{port} (MCP at http://127.0.0.1:{port}/mcp)" in line
        assert "auth none" in line and "cache memory" in line
        assert "upstream http://127.0.0.1:9/v1 · plan ALL-STAR (set), 5 requests a minute" in line
        assert "tools get_players, get_teams, get_games, get_stats, get_season_averages" in line
    finally:
        await server.stop()


@pytest.mark.process
async def test_a_stop_with_a_request_stuck_upstream_ends_within_the_shutdown_timeout(
    aiohttp_server,
):
    """aiohttp alone took three times the setting (its two waits, then cleanup)."""
    fake = await aiohttp_server(make_app(latency_s=30))
    server = ServerProcess.sportstats(
        "--upstream-url",
        str(fake.make_url("/v1")),
        env=clean_environment(BALLDONTLIE_API_KEY=API_KEY, SPORTSTATS_SHUTDOWN_TIMEOUT_S="2"),
    )
    await server.start()
    try:
        async with aiohttp.ClientSession() as session:
            stuck = asyncio.create_task(session.get(server.url + "/teams"))
            while not fake.app[CALLS]:
                await asyncio.sleep(0.01)
            loop = asyncio.get_running_loop()
            began = loop.time()
            server.signal()
            code = await server.wait(timeout_s=10)
            took = loop.time() - began
            stuck.cancel()
        assert code == 0
        assert took <= 2.0 + 0.3, took  # the setting, and the interpreter's own exit
    finally:
        await server.stop()
