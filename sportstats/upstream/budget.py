"""Budgets that keep the upstream safe: its per-minute request quota, and a retry budget.

The request budget is a sliding-window log of slots: a request may go when fewer than
`requests_per_minute` slots are held, and a slot is held from when its request is sent until 60 s
after its answer came (`finish`). The upstream counts a request when it arrives, which is somewhere
between the two; holding the slot to 60 s past the later one means that no 60 s window as the
upstream sees it ever holds more than the budget, whatever the latency. With Redis the log is one
sorted set shared by every process, updated atomically by Lua scripts on Redis's clock.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from typing import Protocol

from redis.exceptions import RedisError

from ..outage import REDIS

log = logging.getLogger(__name__)

WINDOW_S = 60.0


class BudgetSpent(Exception):
    """No upstream slot within the allowed wait; `retry_after_s` says when one frees up."""

    def __init__(self, retry_after_s: float) -> None:
        super().__init__(f"upstream budget spent; next slot in {retry_after_s:.1f}s")
        self.retry_after_s = retry_after_s


class UpstreamBudget(Protocol):
    requests_per_minute: int

    async def acquire(self, max_wait_s: float) -> str:
        """Take a slot (its id), waiting at most `max_wait_s`, else raise `BudgetSpent`."""
        ...

    async def finish(self, slot: str) -> None:
        """The slot's request was answered (or failed): hold the slot 60 s from now."""
        ...

    async def remaining(self) -> int: ...


class SlidingWindowBudget:
    """Waiting for a slot, the same for every store of the log."""

    requests_per_minute: int

    async def _try(self, slot: str) -> float:
        """Take a slot and return 0, or return the seconds until one frees up."""
        raise NotImplementedError

    async def acquire(self, max_wait_s: float) -> str:
        """Take a slot, waiting at most `max_wait_s`; raise `BudgetSpent` when none frees up.

        No lock and no queue: taking a slot is atomic, and a waiter wakes when the oldest slot
        frees up and tries again, so no caller ever waits longer than its own `max_wait_s`.
        """
        give_up = time.monotonic() + max_wait_s
        slot = uuid.uuid4().hex
        while True:
            wait = await self._try(slot)
            if wait <= 0:
                return slot
            if time.monotonic() + wait > give_up:
                raise BudgetSpent(wait)
            await asyncio.sleep(wait)


class LocalBudget(SlidingWindowBudget):
    """The request budget of one process."""

    def __init__(self, requests_per_minute: int, window_s: float | None = None) -> None:
        self.requests_per_minute = requests_per_minute
        self.window_s = window_s or WINDOW_S
        self._held: dict[str, float] = {}  # slot -> when it was sent, or answered once finished

    def _trim(self, now: float) -> None:
        for slot in [slot for slot, at in self._held.items() if at <= now - self.window_s]:
            del self._held[slot]

    async def _try(self, slot: str) -> float:
        return self.take(slot, time.monotonic())

    def take(self, slot: str, now: float) -> float:
        self._trim(now)
        if len(self._held) < self.requests_per_minute:
            self._held[slot] = now
            return 0.0
        return min(self._held.values()) + self.window_s - now

    async def finish(self, slot: str) -> None:
        if slot in self._held:
            self._held[slot] = time.monotonic()

    def held(self) -> list[float]:
        """When each held slot was last touched (wall clock), for handing over to Redis."""
        offset = time.time() - time.monotonic()
        return [at + offset for at in self._held.values()]

    async def remaining(self) -> int:
        self._trim(time.monotonic())
        return max(0, self.requests_per_minute - len(self._held))


# KEYS[1]: the log, KEYS[2]: the processes sharing it; ARGV: window (ms), limit, slot, process.
# Returns {0 or ms until a slot frees, processes seen in the last two windows}. The time is read
# inside the script, so concurrent callers never see a slot taken "in the future".
_TAKE_SLOT = """
local now = redis.call('TIME')
now = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
local window = tonumber(ARGV[1])
redis.call('ZADD', KEYS[2], now, ARGV[4])
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now - 2 * window)
redis.call('PEXPIRE', KEYS[2], 2 * window)
local processes = redis.call('ZCARD', KEYS[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
if redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[2]) then
  redis.call('ZADD', KEYS[1], now, ARGV[3])
  redis.call('PEXPIRE', KEYS[1], window)
  return {0, processes}
end
local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
return {math.max(1, tonumber(oldest[2]) + window - now), processes}
"""
# KEYS[1]: the log; ARGV: window (ms), slot. The answer came: the slot is held from now.
_FINISH_SLOT = """
local now = redis.call('TIME')
now = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
if redis.call('ZADD', KEYS[1], 'XX', 'CH', now, ARGV[2]) == 1 then
  redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[1]))
end
return 0
"""


class RedisBudget(SlidingWindowBudget):
    """The request budget shared by every process that uses the same Redis and key.

    While Redis is away, each process keeps to its share: the budget divided by the processes
    last seen sharing it. When Redis is back, the slots taken meanwhile are handed over, so the
    shared window does not restart empty. Each change is logged once, not once per request.
    """

    def __init__(
        self,
        redis,
        requests_per_minute: int,
        key: str = "sportstats:budget",
        window_s: float | None = None,
    ) -> None:
        self.requests_per_minute = requests_per_minute
        self.window_s = window_s or WINDOW_S
        self._redis = redis
        self._key = key
        self._processes_key = f"{key}:processes"
        self._process = uuid.uuid4().hex
        self._take = redis.register_script(_TAKE_SLOT)
        self._finish = redis.register_script(_FINISH_SLOT)
        self.processes = 1  # sharing the budget, as last seen
        self._fallback: LocalBudget | None = None  # set while Redis is away

    async def _try(self, slot: str) -> float:
        if self._fallback is not None and REDIS.usable():
            await self._hand_over()
        if self._fallback is None and not REDIS.usable():
            self._on_own()
        if self._fallback is None:
            try:
                return await self._try_shared(slot)
            except RedisError as exc:
                self._redis_gone(exc)
        return await self._fallback._try(slot)

    def _redis_gone(self, exc: Exception) -> None:
        REDIS.failed("the upstream budget", exc)
        self._on_own()

    def _on_own(self) -> None:
        """Keep to this process's share of the budget until Redis is back."""
        share = max(1, self.requests_per_minute // max(1, self.processes))
        self._fallback = LocalBudget(share, self.window_s)
        log.warning(
            "the upstream budget is this process's share until Redis is back: %d of %d a minute",
            share,
            self.requests_per_minute,
        )

    async def _hand_over(self) -> None:
        """Redis back? Then the slots taken meanwhile join the shared log, and it is used again."""
        assert self._fallback is not None
        held = self._fallback.held()
        try:
            if held:
                now_ms = int(time.time() * 1000)
                members = {
                    f"{self._process}:{n}:{now_ms}": int(at * 1000) for n, at in enumerate(held)
                }
                await self._redis.zadd(self._key, members)
                await self._redis.pexpire(self._key, int(self.window_s * 1000))
            else:
                await self._redis.ping()
        except RedisError as exc:
            REDIS.failed("the upstream budget", exc)
            return
        self._fallback = None
        REDIS.ok()
        log.info("the upstream budget is shared again: %d recent requests handed over", len(held))

    async def _try_shared(self, slot: str) -> float:
        # On Redis's clock, so that processes on machines with skewed clocks agree.
        wait_ms, processes = await self._take(
            keys=[self._key, self._processes_key],
            args=[int(self.window_s * 1000), self.requests_per_minute, slot, self._process],
        )
        self.processes = int(processes)
        return int(wait_ms) / 1000

    async def finish(self, slot: str) -> None:
        if self._fallback is not None or not REDIS.usable():
            if self._fallback is not None:
                await self._fallback.finish(slot)
            return
        try:
            await self._finish(keys=[self._key], args=[int(self.window_s * 1000), slot])
        except RedisError as exc:
            self._redis_gone(exc)

    async def remaining(self) -> int:
        if self._fallback is not None:
            return await self._fallback.remaining()
        seconds, micros = await self._redis.time()
        now_ms = seconds * 1000 + micros // 1000
        used = await self._redis.zcount(self._key, now_ms - int(self.window_s * 1000), "+inf")
        return max(0, self.requests_per_minute - int(used))


class RetryBudget:
    """Retry throttling as gRPC does it: retries stop while failures outnumber successes.

    Tokens start at `max_tokens`; a failed attempt costs 1, a success earns `token_ratio`; a retry
    is allowed only while more than half the tokens are left. An outage thus cannot multiply the
    load on the upstream by the number of attempts.
    """

    def __init__(self, max_tokens: float = 10.0, token_ratio: float = 0.1) -> None:
        self.max_tokens = max_tokens
        self.token_ratio = token_ratio
        self.tokens = max_tokens

    def record_success(self) -> None:
        self.tokens = min(self.max_tokens, self.tokens + self.token_ratio)

    def record_failure(self) -> None:
        self.tokens = max(0.0, self.tokens - 1)

    def allows_retry(self) -> bool:
        return self.tokens > self.max_tokens / 2
