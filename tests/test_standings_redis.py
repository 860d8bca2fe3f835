"""The standings ledger lives in Redis: filled by one server process, read by another and by a
process started afterwards, none of them asking the upstream for a game the ledger holds."""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest
import redis.asyncio as aioredis
from aiohttp.test_utils import TestServer

from tests.server_process import ServerProcess, clean_environment
from tests.test_standings import SEASON, by_team, expected_table, season_of_games

pytestmark = pytest.mark.process


async def standings(server: ServerProcess, asked: str = "") -> dict[str, Any]:
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"{server.url}/standings?season={SEASON}{asked}") as response,
    ):
        assert response.status == 200, await response.text()
        return await response.json()


async def test_a_ledger_filled_by_one_process_answers_another_and_a_restart_at_no_cost(
    redis_url: str, redis_prefix: str
) -> None:
    league = season_of_games(first_days_ago=115, last_days_ago=1)
    calls: list[str] = []
    upstream = TestServer(league.app(calls), host="127.0.0.1")
    await upstream.start_server()
    env = clean_environment(
        BALLDONTLIE_API_KEY="test-key",
        SPORTSTATS_UPSTREAM_URL=str(upstream.make_url("/v1")),
        SPORTSTATS_REDIS_URL=redis_url,
        SPORTSTATS_REDIS_PREFIX=redis_prefix,
        SPORTSTATS_UPSTREAM__REQUESTS_PER_MINUTE="600",
        SPORTSTATS_STANDINGS__START_DELAY_S="-1",
    )
    servers = [ServerProcess.sportstats(env=env) for _ in range(3)]
    try:
        first, second, later = servers
        await first.start()
        await second.start()
        filled = await standings(first)
        games_calls = [c for c in calls if c.startswith("/v1/games")]
        assert filled["meta"]["ledger"]["complete"] is True and games_calls

        # Other questions than the first (not its cached answer): made from the shared ledger.
        shared = await standings(second, "&team=Lakers")
        await first.stop()
        await later.start()
        restarted = await standings(later, "&conference=East")

        assert [c for c in calls if c.startswith("/v1/games")] == games_calls  # none since
        assert shared["data"] == [row for row in filled["data"] if row["team_id"] == 14]
        assert restarted["data"] == filled["data"][:15]
        for answer in (shared, restarted):  # made without an upstream call: a hit (caching.md)
            assert answer["meta"]["upstream_calls"] == 0 and answer["meta"]["cache"] == "hit"
            assert answer["meta"]["as_of"] == filled["meta"]["as_of"]
        assert by_team(filled["data"]) == by_team(expected_table(league))
        redis = aioredis.from_url(redis_url)
        try:
            assert await redis.exists(f"{redis_prefix}standings:ledger:{SEASON}")
        finally:
            await redis.aclose()
    finally:
        for server in servers:
            await server.stop()
        await upstream.close()
