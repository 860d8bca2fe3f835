"""The budget as the upstream counts it: a fake upstream that keeps its own quota (counted when a
request arrives, 429 beyond, as the real one does) never refuses us under sustained load across
window edges, whatever the way there and back takes; one process, and two sharing a real Redis."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator
from typing import Any

import pytest

from sportstats.app import create_app
from tests.conftest import make_settings
from tests.fault_upstream import FaultUpstream, most_in_a_window

pytestmark = pytest.mark.faults

QUOTA, WINDOW_S = 8, 1.5  # a short window, so that a few pass in seconds
CLIENTS, RUN_S = 30, 4.5  # three windows of demand far above the quota


@pytest.fixture
async def strict() -> AsyncIterator[FaultUpstream]:
    fake = FaultUpstream(quota=QUOTA, window_s=WINDOW_S, latency_s=0.15, arrival_jitter_s=0.05)
    await fake.start()
    yield fake
    await fake.close()


def settings(fake: FaultUpstream, **overrides: Any) -> Any:
    return make_settings(
        upstream_url=fake.url,
        upstream={
            "requests_per_minute": QUOTA,
            "window_s": WINDOW_S,
            "deadline_s": 3.0,
            "budget_wait_s": 0.5,
            "max_attempts": 1,
        },
        limits={"requests_per_minute": 0},
        **overrides,
    )


async def hammer(clients: list[Any]) -> None:
    """Distinct cold questions from many clients at once, for `RUN_S`."""
    names = itertools.count()
    loop = asyncio.get_running_loop()
    until = loop.time() + RUN_S

    async def one(client: Any) -> None:
        while loop.time() < until:
            response = await client.get(f"/players?query=q{next(names)}")
            assert response.status in (200, 429), await response.text()
            await response.read()

    await asyncio.gather(*(one(clients[n % len(clients)]) for n in range(CLIENTS)))


async def test_one_process_never_spends_past_the_upstreams_own_count(
    aiohttp_client: Any, strict: FaultUpstream
) -> None:
    client = await aiohttp_client(create_app(settings(strict)))
    await hammer([client])
    assert strict.refused == 0
    assert most_in_a_window(strict.arrivals, WINDOW_S) <= QUOTA
    assert len(strict.arrivals) >= 2 * QUOTA  # and the budget was used, window after window


async def test_two_processes_sharing_redis_never_spend_past_it_either(
    aiohttp_client: Any, strict: FaultUpstream, redis_url: str, redis_prefix: str
) -> None:
    shared = {"redis_url": redis_url, "redis_prefix": redis_prefix}
    clients = [await aiohttp_client(create_app(settings(strict, **shared))) for _ in range(2)]
    await hammer(clients)
    assert strict.refused == 0
    assert most_in_a_window(strict.arrivals, WINDOW_S) <= QUOTA
    assert len(strict.arrivals) >= 2 * QUOTA
