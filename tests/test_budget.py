"""The upstream budget (requests per minute, local or shared in Redis) and the retry budget."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest
import redis.asyncio as aioredis

import sportstats.upstream.budget
import sportstats.upstream.budget as budget_module
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

    assert isinstance(results[0], str)  # its slot
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

    granted = [r for r in results if isinstance(r, str)]  # each a slot id
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


async def holds_its_slot_a_window_past_the_answer(budget: Any, window: float) -> None:
    """The upstream counts a request when it arrives, up to the answer: a slow answer must not
    free its slot a window after the send, or the upstream's window holds two."""
    slot = await budget.acquire(0)
    await asyncio.sleep(window * 0.6)  # a slow answer
    await budget.finish(slot)
    await asyncio.sleep(window * 0.6)  # a window after the send, not after the answer
    with pytest.raises(BudgetSpent):
        await budget.acquire(0)
    await asyncio.sleep(window * 0.5)  # a window after the answer
    assert isinstance(await budget.acquire(0), str)


async def test_a_slot_is_held_until_a_window_after_the_answer(short_window: float) -> None:
    await holds_its_slot_a_window_past_the_answer(LocalBudget(1), short_window)


async def test_a_shared_slot_is_held_until_a_window_after_the_answer(
    short_window: float, redis_url: str, redis_prefix: str
) -> None:
    conn = aioredis.from_url(redis_url)
    await holds_its_slot_a_window_past_the_answer(
        RedisBudget(conn, 1, f"{redis_prefix}budget"), short_window
    )
    await conn.aclose()


async def test_while_redis_is_away_a_process_keeps_to_its_share_and_hands_its_slots_back(
    redis_url: str,
    redis_prefix: str,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    shared = [aioredis.from_url(redis_url) for _ in range(2)]
    key = f"{redis_prefix}budget"
    first, second = (RedisBudget(conn, 10, key) for conn in shared)
    await first.acquire(0)
    await second.acquire(0)  # two processes share the budget now
    assert second.processes == 2

    broken = aioredis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=0.2)
    second._redis = broken  # as if its Redis went away
    second._take = broken.register_script(budget_module._TAKE_SLOT)
    second._finish = broken.register_script(budget_module._FINISH_SLOT)
    caplog.set_level(logging.INFO, logger="sportstats.redis")
    taken = [await second.acquire(0) for _ in range(5)]  # its share: 10 / 2 processes
    with pytest.raises(BudgetSpent):
        await second.acquire(0)
    warnings = [r for r in caplog.records if r.name == "sportstats.redis"]
    assert len(taken) == 5 and len(warnings) == 1  # said once, not once per request

    monkeypatch.setattr("sportstats.outage.REDIS.next_probe", 0.0)  # time for a probe
    second._redis = shared[1]  # Redis is back
    second._take = shared[1].register_script(budget_module._TAKE_SLOT)
    second._finish = shared[1].register_script(budget_module._FINISH_SLOT)
    await second.acquire(0)
    assert await first.remaining() == 10 - 1 - 5 - 1 - 1  # the outage's slots were handed over
    said = [r.getMessage() for r in caplog.records if r.name == "sportstats.redis"]
    assert len(said) == 2 and "unavailable" in said[0] and "back" in said[1]
    await broken.aclose()
    for conn in shared:
        await conn.aclose()
