"""What `auto` learns is shared through Redis: a second process asks nothing the first learned,
a refusal learned by one is refused by all at no cost, and SIGHUP forgets it everywhere."""

from __future__ import annotations

import asyncio
import os
import signal
from typing import Any

import pytest

from sportstats.upstream import coverage as coverage_module
from sportstats.web.keys import UPSTREAM
from tests import fake_upstream
from tests.plan_upstream import PlanGate
from tests.server_process import ServerProcess, clean_environment


@pytest.fixture
async def gated(gated_upstream: Any) -> tuple[Any, PlanGate]:
    return await gated_upstream("all-star")


def shared(redis_url: str, redis_prefix: str) -> dict[str, Any]:
    return {"redis_url": redis_url, "redis_prefix": redis_prefix}


async def test_a_second_app_sharing_redis_asks_nothing_to_know_the_plan(
    gated: Any, app_against: Any, redis_url: str, redis_prefix: str
) -> None:
    server, gate = gated
    one = await app_against(server, **shared(redis_url, redis_prefix))
    assert len(gate.arrivals) == 3
    two = await app_against(server, **shared(redis_url, redis_prefix))
    assert len(gate.arrivals) == 3  # learned from Redis
    learned = two.app[UPSTREAM].coverage
    assert learned.plan.name == "all-star" and learned.source == "learned"
    assert two.app[UPSTREAM].budget.requests_per_minute == 60
    assert one.app[UPSTREAM].learning.probes_sent == 3
    assert two.app[UPSTREAM].learning.probes_sent == 0


async def test_a_refusal_learned_by_one_app_costs_the_others_no_call(
    gated: Any,
    app_against: Any,
    redis_url: str,
    redis_prefix: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(coverage_module, "SYNC_S", 0.0)  # read the shared facts before each call
    server, gate = gated
    one = await app_against(server, **shared(redis_url, redis_prefix))
    two = await app_against(server, **shared(redis_url, redis_prefix))
    gate.plan = "free"
    assert (await one.get("/stats?player_ids=237")).status == 403
    assert (await two.get("/stats?player_ids=115")).status == 403
    assert gate.answered["stats 401"] == 1  # learned once, by one of them
    ready = await (await two.get("/readyz")).json()
    assert ready["plan"]["refused_routes"] == ["stats"]


async def test_sighup_forgets_the_shared_plan_for_every_process(
    gated: Any, app_against: Any, redis_url: str, redis_prefix: str
) -> None:
    import redis.asyncio as aioredis

    server, _ = gated
    one = await app_against(server, **shared(redis_url, redis_prefix))
    conn = aioredis.from_url(redis_url)
    try:
        assert [key async for key in conn.scan_iter(f"{redis_prefix}plan:*:learned")]
        os.kill(os.getpid(), signal.SIGHUP)
        for _ in range(100):
            await asyncio.sleep(0.01)
            if one.app[UPSTREAM].coverage.plan is None:
                break
        assert one.app[UPSTREAM].coverage.plan is None
        assert not [key async for key in conn.scan_iter(f"{redis_prefix}plan:*")]
    finally:
        await conn.aclose()


@pytest.mark.process
async def test_two_server_processes_share_the_learned_plan_through_redis(
    gated: Any, redis_url: str, redis_prefix: str
) -> None:
    server, gate = gated
    env = clean_environment(
        BALLDONTLIE_API_KEY=fake_upstream.API_KEY,
        SPORTSTATS_UPSTREAM__PLAN="auto",
        SPORTSTATS_REDIS_URL=redis_url,
        SPORTSTATS_REDIS_PREFIX=redis_prefix,
    )
    url = str(server.make_url("/v1"))
    first = ServerProcess.sportstats("--upstream-url", url, env=env)
    second = ServerProcess.sportstats("--upstream-url", url, env=env)
    await first.start()
    try:
        assert len(gate.arrivals) == 3
        await second.start()
        assert len(gate.arrivals) == 3  # the second process asked nothing
    finally:
        await second.stop()
        await first.stop()
    for process in (first, second):
        [line] = [line for line in process.lines if "listening on" in line]
        assert "plan ALL-STAR (learned), 60 requests a minute" in line
        assert "tools get_players, get_teams, get_games, get_stats, get_season_averages" in line
        assert "get_standings" in line
