"""Two app instances on one real Redis share one cache and one budget."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
import redis.asyncio as aioredis

from sportstats.cache import AnswerCache, Entry, Produced, RedisLock, RedisStore
from sportstats.settings import CacheSettings
from sportstats.web.keys import CACHE
from tests.cache_support import answer_when, calls, fast, install_clock
from tests.conftest import API_KEY, load_fixture, upstream_route

PLAYERS = load_fixture("players_page_ASSEMBLED.json")
AVERAGES = load_fixture("season_averages_237_2019.json")
PLAYERS_TTL_S = 6 * 3600


async def two_instances(
    make_client: Any, redis_url: str, redis_prefix: str, **overrides: Any
) -> list[Any]:
    """Two independent apps (own sessions, caches, budgets) configured with the same Redis."""
    settings = fast(redis_url=redis_url, redis_prefix=redis_prefix, **overrides)
    return [await make_client(**settings) for _ in range(2)]


def all_waiting(callers: int, *clients: Any) -> Any:
    """Hold the upstream's answer until `callers` requests, spread over both instances, wait on
    a fetch (each instance has one under way: its own, or its wait for the other's)."""
    caches = [client.app[CACHE] for client in clients]
    return answer_when(
        lambda: (
            all(c.in_flight for c in caches)
            and sum(c.in_flight + c.coalesced for c in caches) >= callers
        )
    )


async def test_an_answer_fetched_by_one_instance_is_a_hit_on_the_other(
    make_client: Any, upstream: Any, redis_prefix: str, redis_url: str
) -> None:
    upstream.get(upstream_route("/players"), payload=PLAYERS, repeat=True)
    one, two = await two_instances(make_client, redis_url, redis_prefix)

    first = await one.get("/players?query=james&team_ids=14,2")
    second = await two.get("/players?team_ids=2&team_ids=14&query=james")

    assert first.headers["X-Cache"] == "MISS"
    assert second.headers["X-Cache"] == "HIT"
    assert (await second.json())["data"] == (await first.json())["data"]
    assert calls(upstream) == 1


async def test_the_budget_is_shared_by_both_instances(
    make_client: Any, upstream: Any, redis_prefix: str, redis_url: str
) -> None:
    upstream.get(upstream_route("/players"), payload=PLAYERS, repeat=True)
    one, two = await two_instances(
        make_client,
        redis_url,
        redis_prefix,
        upstream={"requests_per_minute": 3, "budget_wait_s": 0},
    )

    answers = await asyncio.gather(
        *((one, two)[n % 2].get(f"/players?query=q{n}") for n in range(8))
    )

    assert calls(upstream) == 3
    assert sorted(r.status for r in answers) == [200] * 3 + [429] * 5
    refused = next(r for r in answers if r.status == 429)
    assert (await refused.json())["error"]["code"] == "upstream_quota_spent"


async def test_two_cold_concurrent_requests_on_two_instances_make_one_upstream_call(
    make_client: Any, upstream: Any, redis_prefix: str, redis_url: str
) -> None:
    one, two = await two_instances(make_client, redis_url, redis_prefix)
    upstream.get(upstream_route("/players"), payload=PLAYERS, callback=all_waiting(2, one, two))

    answers = await asyncio.gather(one.get("/players?query=james"), two.get("/players?query=james"))

    assert [r.status for r in answers] == [200, 200]
    bodies = [await r.json() for r in answers]
    assert bodies[0]["data"] == bodies[1]["data"]
    assert calls(upstream) == 1


async def test_many_concurrent_requests_spread_over_two_instances_make_one_call(
    make_client: Any, upstream: Any, redis_prefix: str, redis_url: str
) -> None:
    one, two = await two_instances(make_client, redis_url, redis_prefix)
    upstream.get(upstream_route("/players"), payload=PLAYERS, callback=all_waiting(40, one, two))

    answers = await asyncio.gather(
        *((one, two)[n % 2].get("/players?team_ids=2,14") for n in range(40))
    )

    assert {r.status for r in answers} == {200}
    assert calls(upstream) == 1


async def test_a_copy_stored_by_one_instance_is_served_stale_by_the_other(
    make_client: Any,
    upstream: Any,
    redis_url: str,
    redis_prefix: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    clock = install_clock(monkeypatch)
    upstream.get(upstream_route("/players"), payload=PLAYERS)
    upstream.get(upstream_route("/players"), status=503, body="down", repeat=True)
    one, two = await two_instances(make_client, redis_url, redis_prefix)
    fresh = await (await one.get("/players?query=james")).json()
    clock.advance(PLAYERS_TTL_S + 3600)

    stale = await two.get("/players?query=james")

    assert (stale.status, stale.headers["X-Cache"]) == (200, "STALE")
    assert (await stale.json())["data"] == fresh["data"]


async def test_no_secret_in_any_redis_key_or_value(
    make_client: Any, upstream: Any, redis_prefix: str, redis_url: str
) -> None:
    upstream.get(upstream_route("/players"), payload=PLAYERS, repeat=True)
    upstream.get(upstream_route("/season_averages"), payload=AVERAGES, repeat=True)
    one, _ = await two_instances(make_client, redis_url, redis_prefix)
    assert (await one.get("/players?query=james")).status == 200
    assert (await one.get("/season_averages?season=2019&player_ids=237")).status == 200

    conn = aioredis.from_url(redis_url)
    keys = [key async for key in conn.scan_iter(f"{redis_prefix}*")]
    values = [await conn.get(key) for key in keys if await conn.type(key) == b"string"]
    await conn.aclose()

    cached = [k.decode() for k in keys if k.decode().startswith(f"{redis_prefix}v1:")]
    assert any(k.startswith(f"{redis_prefix}v1:players?") for k in cached)
    assert any(k.startswith(f"{redis_prefix}v1:season_averages") for k in cached)
    assert f"{redis_prefix}budget".encode() in keys
    secret = API_KEY.encode()
    assert not [k for k in keys if secret in k]
    assert values and not [v for v in values if v and secret in v]


async def test_a_process_that_missed_just_before_another_stored_does_not_fetch_again(
    redis_prefix: str,
    redis_url: str,
) -> None:
    conn = aioredis.from_url(redis_url)
    one, two = (
        AnswerCache(RedisStore(conn, redis_prefix), CacheSettings(), RedisLock(conn, redis_prefix))
        for _ in range(2)
    )
    produced: list[str] = []

    def producer(name: str) -> Callable[[], Awaitable[Produced]]:
        async def produce() -> Produced:
            produced.append(name)
            return Produced({"columns": [], "data": [name], "meta": {}}, 60)

        return produce

    await one.fetch("k", producer("one"))
    stored_read = two.get
    reads = 0

    async def read_before_it_was_stored(key: str) -> Entry | None:
        nonlocal reads
        reads += 1
        return None if reads == 1 else await stored_read(key)

    two.get = read_before_it_was_stored  # type: ignore[method-assign]
    entry, _ = await two.fetch("k", producer("two"))
    await conn.aclose()

    assert produced == ["one"]
    assert b'"data":["one"]' in entry.render("miss")


# --- the near cache in front of Redis --------------------------------------------------------


def counting_reads(client: Any) -> list[str]:
    """Every read the app's store sends to Redis, recorded."""
    store = client.app[CACHE].store
    reads: list[str] = []
    backend_get = store.backend.get

    async def get(key: str, *args: Any, **kwargs: Any) -> Any:
        reads.append(key)
        return await backend_get(key, *args, **kwargs)

    store.backend.get = get
    return reads


async def test_a_hit_on_a_near_copy_costs_no_redis_round_trip(
    make_client: Any, upstream: Any, redis_prefix: str, redis_url: str
) -> None:
    upstream.get(upstream_route("/players"), payload=PLAYERS, repeat=True)
    one, two = await two_instances(make_client, redis_url, redis_prefix)
    reads = counting_reads(two)

    await one.get("/players?query=james")  # fetched, stored in Redis (and near, in one)
    for _ in range(5):
        response = await two.get("/players?query=james")
        assert response.headers["X-Cache"] == "HIT"
    assert len(reads) == 1  # read from Redis once, then from its near copy
    assert calls(upstream) == 1


async def test_a_near_copy_lives_near_ttl_s_at_most_and_never_past_its_freshness() -> None:
    from sportstats.cache import RedisStore

    class Down:
        async def get(self, *args: Any, **kwargs: Any) -> Any:
            raise AssertionError("not asked")

    store = RedisStore(Down(), "t:", near_ttl_s=0.3)
    now = time.time()
    short = Entry(body="{}", fetched_at=now, fresh_until=now + 0.1, stale_until=now + 60)
    long = Entry(body="{}", fetched_at=now, fresh_until=now + 600, stale_until=now + 900)
    store._keep_near("short", short)
    store._keep_near("long", long)
    assert store.peek("short") is short and store.peek("long") is long
    await asyncio.sleep(0.15)
    assert store.peek("short") is None  # its own freshness ended first
    assert store.peek("long") is long
    await asyncio.sleep(0.2)
    assert store.peek("long") is None  # near_ttl_s ended
    off = RedisStore(Down(), "t:", near_ttl_s=0)
    off._keep_near("long", long)
    assert off.peek("long") is None
