"""The upstream budget (requests per minute, local or shared in Redis) and the retry budget."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
import redis.asyncio as aioredis

import sportstats.upstream.budget
from sportstats.upstream.budget import BudgetSpent, LocalBudget, RedisBudget, RetryBudget
from tests.cache_support import calls, fast
from tests.conftest import load_fixture, upstream_route

PLAYERS = load_fixture("players_page_ASSEMBLED.json")


async def test_a_burst_of_distinct_questions_never_exceeds_the_budget(
    make_client: Any, upstream: Any
) -> None:
    upstream.get(upstream_route("/players"), payload=PLAYERS, repeat=True)
    client = await make_client(**fast(upstream={"requests_per_minute": 5, "budget_wait_s": 0}))

    answers = await asyncio.gather(*(client.get(f"/players?query=q{n}") for n in range(20)))

    assert calls(upstream) == 5
    assert sorted(r.status for r in answers) == [200] * 5 + [429] * 15
    for refused in (r for r in answers if r.status == 429):
        assert int(refused.headers["Retry-After"]) >= 1
        error = (await refused.json())["error"]
        assert error["code"] == "upstream_quota_spent"
        assert "quota (5 a minute) is spent" in error["message"]
        assert "cached" in error["hint"]


async def test_answers_already_cached_are_served_when_the_budget_is_spent(
    make_client: Any, upstream: Any
) -> None:
    upstream.get(upstream_route("/players"), payload=PLAYERS, repeat=True)
    client = await make_client(**fast(upstream={"requests_per_minute": 1, "budget_wait_s": 0}))
    await client.get("/players?query=james")

    refused = await client.get("/players?query=curry")
    cached = await client.get("/players?query=james")

    assert refused.status == 429
    assert (cached.status, cached.headers["X-Cache"]) == (200, "HIT")
    assert calls(upstream) == 1


async def test_every_retry_takes_a_slot_of_the_budget(make_client: Any, upstream: Any) -> None:
    upstream.get(upstream_route("/players"), status=503, body="down", repeat=True)
    client = await make_client(
        **fast(upstream={"requests_per_minute": 2, "budget_wait_s": 0, "max_attempts": 3})
    )

    answer = await client.get("/players?query=james")

    assert calls(upstream) == 2
    assert answer.status == 429
    assert (await answer.json())["error"]["code"] == "upstream_quota_spent"


@pytest.fixture
def short_window(monkeypatch: pytest.MonkeyPatch) -> float:
    """A 0.3 s budget window instead of a minute, so that waiting for a slot is quick."""
    monkeypatch.setattr(sportstats.upstream.budget, "WINDOW_S", 0.3)
    return 0.3


async def test_a_request_waits_for_a_slot_within_its_bounded_wait(short_window: float) -> None:
    budget = LocalBudget(requests_per_minute=2)
    await budget.acquire(0)
    await budget.acquire(0)

    with pytest.raises(BudgetSpent) as spent:
        await budget.acquire(0)
    await budget.acquire(max_wait_s=5)  # a slot frees up within the window

    assert 0 < spent.value.retry_after_s <= short_window


async def test_waiters_never_wait_past_their_own_bound(short_window: float) -> None:
    budget = LocalBudget(requests_per_minute=1)
    await budget.acquire(0)

    results = await asyncio.gather(
        budget.acquire(5), budget.acquire(0.01), budget.acquire(0.01), return_exceptions=True
    )

    assert results[0] is None
    assert all(isinstance(r, BudgetSpent) for r in results[1:])


async def test_the_budget_counts_requests_in_a_sliding_window(short_window: float) -> None:
    budget = LocalBudget(requests_per_minute=3)
    taken = 0
    for _ in range(10):
        try:
            await budget.acquire(0)
            taken += 1
        except BudgetSpent:
            pass

    assert taken == 3
    await asyncio.sleep(short_window + 0.05)
    assert await budget.remaining() == 3


async def test_the_redis_budget_is_one_budget_for_all_processes(
    redis_prefix: str, redis_url: str
) -> None:
    connections = [aioredis.from_url(redis_url) for _ in range(2)]
    budgets = [RedisBudget(conn, 5, f"{redis_prefix}budget") for conn in connections]

    results = await asyncio.gather(
        *(budgets[n % 2].acquire(0) for n in range(20)), return_exceptions=True
    )

    granted = [r for r in results if r is None]
    refused = [r for r in results if isinstance(r, BudgetSpent)]
    assert (len(granted), len(refused)) == (5, 15)
    assert all(0 < r.retry_after_s <= 60 for r in refused)
    assert await budgets[1].remaining() == 0
    for conn in connections:
        await conn.aclose()


async def test_the_redis_budget_falls_back_to_a_local_one_when_redis_is_down() -> None:
    conn = aioredis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=0.5)
    budget = RedisBudget(conn, 2, "sportstats-test:budget")

    await budget.acquire(0)
    await budget.acquire(0)
    with pytest.raises(BudgetSpent):
        await budget.acquire(0)
    await conn.aclose()


def test_the_retry_budget_stops_retries_while_failures_outnumber_successes() -> None:
    budget = RetryBudget(max_tokens=10, token_ratio=0.5)
    for _ in range(4):
        budget.record_failure()
    assert budget.allows_retry()

    budget.record_failure()
    assert not budget.allows_retry()

    budget.record_success()
    budget.record_success()
    assert budget.allows_retry()


async def test_an_outage_does_not_turn_into_a_retry_storm(make_client: Any, upstream: Any) -> None:
    upstream.get(upstream_route("/players"), status=503, body="down", repeat=True)
    client = await make_client(**fast(upstream={"breaker_failures": 1000, "max_attempts": 3}))

    for n in range(10):
        assert (await client.get(f"/players?query=q{n}")).status == 502

    # Ten questions with three attempts each would be 30 calls; the retry budget (10 tokens,
    # retries only above half) lets the first two retry, then only first attempts go.
    assert calls(upstream) == 3 + 2 + 8
