"""Helpers for the cache, coalescing, retry, budget, breaker and Redis tests.

`FAST` settings keep every timing small (backoff in milliseconds, a 2 s deadline) and switch the
per-client rate limit off, since one test client asks everything. `Clock` moves the cache's,
answers' and breaker's notion of time forward without sleeping.
"""

from __future__ import annotations

import asyncio
import time as real_time
from typing import Any

import pytest
from aioresponses import aioresponses
from conftest import sent

import sportstats.answers
import sportstats.breaker
import sportstats.cache
from sportstats.keys import CACHE

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
    for module in (sportstats.cache, sportstats.answers, sportstats.breaker):
        monkeypatch.setattr(module, "time", clock)
    return clock


def slow(seconds: float) -> Any:
    """An aioresponses callback that makes the mocked upstream answer after `seconds`."""

    async def wait(url: Any, **kwargs: Any) -> None:
        await asyncio.sleep(seconds)

    return wait


def calls(mocked: aioresponses, path: str = "") -> int:
    """How many requests the server sent upstream (to `path` if given)."""
    return sum(1 for url in sent(mocked) if url.path.endswith(path))


async def settle(app: Any) -> None:
    """Wait for the cache's background refreshes of `app` to finish."""
    await app[CACHE].wait_background()
