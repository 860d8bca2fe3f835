"""Helpers for the cache, coalescing, retry, budget, breaker and Redis tests.

`FAST` settings keep every timing small (backoff in milliseconds, a 2 s deadline) and switch the
per-client rate limit off, since one test client asks everything. `Clock` moves the cache's,
answers' and breaker's notion of time forward without sleeping.
"""

from __future__ import annotations

import asyncio
import time as real_time
from collections.abc import Callable
from typing import Any

import pytest
from aioresponses import aioresponses

import sportstats.cache.flight
import sportstats.cache.freshness
import sportstats.cache.store
import sportstats.core.answers
import sportstats.upstream.breaker
from sportstats.web.keys import CACHE
from tests.conftest import sent

FAST: dict[str, Any] = {
    "upstream": {
        "backoff_base_s": 0.01,
        "backoff_max_s": 0.05,
        "deadline_s": 2,
        "budget_wait_s": 0.5,
    },
    "limits": {"requests_per_minute": 0},
}


def fast(**overrides: Any) -> dict[str, Any]:
    """`FAST` with overrides; a section (`upstream=`, `cache=`) is merged key by key."""
    merged = {name: dict(section) for name, section in FAST.items()}
    for name, value in overrides.items():
        if isinstance(value, dict) and isinstance(merged.get(name), dict):
            merged[name].update(value)
        else:
            merged[name] = value
    return merged


class Clock:
    """Wall and monotonic time, shifted by `advance()`; stands in for the `time` module."""

    def __init__(self) -> None:
        self.offset_s = 0.0

    def time(self) -> float:
        return real_time.time() + self.offset_s

    def monotonic(self) -> float:
        return real_time.monotonic() + self.offset_s

    def advance(self, seconds: float) -> None:
        self.offset_s += seconds


def install_clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    """Let the cache, the answers and the breaker read time from a `Clock`."""
    clock = Clock()
    for module in (
        sportstats.cache.freshness,
        sportstats.cache.flight,
        sportstats.cache.store,
        sportstats.core.answers,
        sportstats.upstream.breaker,
    ):
        monkeypatch.setattr(module, "time", clock)
    return clock


def answer_when(condition: Callable[[], bool], limit_s: float = 10.0) -> Any:
    """An aioresponses callback that holds the upstream's answer until `condition()` holds
    (or `limit_s` passed), so that concurrent requests overlap however loaded the machine."""

    async def wait(url: Any, **kwargs: Any) -> None:
        give_up = real_time.monotonic() + limit_s
        while not condition() and real_time.monotonic() < give_up:
            await asyncio.sleep(0.005)

    return wait


def calls(mocked: aioresponses, path: str = "") -> int:
    """How many requests the server sent upstream (to `path` if given)."""
    return sum(1 for url in sent(mocked) if url.path.endswith(path))


async def settle(app: Any) -> None:
    """Wait for the cache's background refreshes of `app` to finish."""
    await app[CACHE].wait_background()
