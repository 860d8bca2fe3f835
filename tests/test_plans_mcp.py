"""The plan on MCP: the tools listed are those the plan serves, a refusal is a tool error in
the HTTP edge's words, and clients that listen are told when `auto` learns what it lacks."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest

from sportstats.app import create_app
from sportstats.settings import load_settings
from sportstats.web.keys import UPSTREAM
from sportstats.web.runner import JsonErrorAppRunner
from tests import fake_upstream
from tests.fault_upstream import listen
from tests.mcp_support import connect
from tests.plan_upstream import PlanGate, every_route_app
from tests.test_plans import OFFERED


@pytest.fixture
def plan_server(aiohttp_server: Any) -> Callable[..., Any]:
    """The real app on 127.0.0.1 against a gated fake upstream; returns (the /mcp URL, the
    server, the gate)."""

    async def start(upstream_plan: str, **upstream: Any) -> tuple[str, Any, PlanGate]:
        gate = PlanGate(upstream_plan, fake_upstream.API_KEY)
        fake = await aiohttp_server(gate.guard(every_route_app(fake_upstream.make_app())))
        settings = load_settings(
            cli={"upstream_url": str(fake.make_url("/v1")), "upstream": upstream},
            environ={"BALLDONTLIE_API_KEY": fake_upstream.API_KEY},
        )
        server = await aiohttp_server(create_app(settings))
        return str(server.make_url("/mcp")), server, gate

    return start


@pytest.mark.parametrize("plan", ["free", "all-star", "goat"])
async def test_tools_list_offers_only_the_tools_the_plan_serves(
    plan_server: Any, mode: str, plan: str
) -> None:
    url, _, _ = await plan_server(plan, plan=plan)
    async with connect(url, mode) as client:
        tools = await client.list_tools()
    assert [tool.name for tool in tools.tools] == OFFERED[plan]


async def test_a_tool_the_plan_lacks_is_an_error_result_in_the_http_edges_words(
    plan_server: Any, mode: str
) -> None:
    url, _, gate = await plan_server("free", plan="free")
    async with connect(url, mode) as client:
        result = await client.call_tool("get_stats", {"player_ids": [237]})
    assert result.is_error is True
    text = result.content[0].text
    assert text.startswith("Error (plan_not_covered): This needs the upstream's stats data")
    assert "the ALL-STAR plan (or a higher one) serves it" in text
    assert "Hint: On this plan this server answers /players, /teams, /games" in text
    assert gate.refused() == 0  # refused here, at no upstream cost


async def test_clients_that_listen_are_told_when_auto_learns_a_refusal(plan_server: Any) -> None:
    url, server, gate = await plan_server("all-star")
    assert server.app[UPSTREAM].coverage.plan.name == "all-star"
    async with connect(url, "auto") as client:
        assert [t.name for t in (await client.list_tools()).tools] == OFFERED["all-star"]
        async with client.listen(tools_list_changed=True) as changes:
            assert changes.honored.tools_list_changed is True
            gate.plan = "free"  # stats now refused: auto learns it from the next 401
            refused = await client.call_tool("get_stats", {"player_ids": [237]})
            assert refused.is_error and "plan_not_covered" in refused.content[0].text
            event = await asyncio.wait_for(anext(aiter(changes)), 5)
            assert type(event).__name__ == "ToolsListChanged"
        tools = [t.name for t in (await client.list_tools()).tools]
    assert tools == [
        "get_players",
        "get_teams",
        "get_games",
        "get_season_averages",
        "get_standings",
        "get_injuries",
    ]


async def test_the_modern_discovery_says_the_tool_list_can_change(plan_server: Any) -> None:
    url, _, _ = await plan_server("goat", plan="goat")
    async with connect(url, "auto") as client:
        capabilities = client.session.server_capabilities
    assert capabilities.tools is not None and capabilities.tools.list_changed is True


async def test_a_listen_stream_ends_gracefully_when_the_server_stops(plan_server: Any) -> None:
    url, server, _ = await plan_server("goat", plan="goat")
    async with (
        connect(url, "auto") as client,
        client.listen(tools_list_changed=True) as changes,
    ):
        stopping = asyncio.create_task(server.close())
        events = [event async for event in changes]  # ends, not lost, not hanging
        await asyncio.wait_for(stopping, 10)
    assert events == []


async def test_the_servers_own_stop_ends_a_listen_stream_first_and_keeps_within_its_grace(
    aiohttp_server: Any,
) -> None:
    """Under the server's own runner (as `python -m sportstats` and gunicorn stop), an open
    listen stream is ended before the stop waits for requests in flight: the stop is not held
    for the whole grace."""
    fake = await aiohttp_server(every_route_app(fake_upstream.make_app()))
    settings = load_settings(
        cli={"upstream_url": str(fake.make_url("/v1")), "upstream": {"plan": "goat"}},
        environ={"BALLDONTLIE_API_KEY": fake_upstream.API_KEY},
    )
    grace_s = 20.0
    runner = JsonErrorAppRunner(create_app(settings), shutdown_timeout=grace_s)
    url = await listen(runner) + "/mcp"
    async with connect(url, "auto") as client, client.listen(tools_list_changed=True):
        loop = asyncio.get_running_loop()
        started = loop.time()
        await asyncio.wait_for(runner.cleanup(), grace_s)
        took = loop.time() - started
    assert took < grace_s / 2, took  # it was the whole grace while the stream stayed open
