"""Budgets that keep the upstream safe: its per-minute request quota, and a retry budget.

The request budget is a sliding-window log: a request may go when fewer than
`requests_per_minute` were sent in the last 60 s, so no 60 s window ever holds more. With Redis the
log is one sorted set shared by every process, updated atomically by a Lua script.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections import deque
from typing import Protocol

from redis.exceptions import RedisError

log = logging.getLogger(__name__)

WINDOW_S = 60.0


class BudgetSpent(Exception):
    """No upstream slot within the allowed wait; `retry_after_s` says when one frees up."""

    def __init__(self, retry_after_s: float) -> None:
        super().__init__(f"upstream budget spent; next slot in {retry_after_s:.1f}s")
        self.retry_after_s = retry_after_s


class UpstreamBudget(Protocol):
    requests_per_minute: int

    async def acquire(self, max_wait_s: float) -> None: ...

    async def remaining(self) -> int: ...


class SlidingWindowBudget:
    """Waiting for a slot, the same for every store of the log."""

    requests_per_minute: int

    async def _try(self) -> float:
        """Take a slot and return 0, or return the seconds until one frees up."""
        raise NotImplementedError

    async def acquire(self, max_wait_s: float) -> None:
        """Take a slot, waiting at most `max_wait_s`; raise `BudgetSpent` when none frees up.

        No lock and no queue: taking a slot is atomic, and a waiter wakes when the oldest slot
        frees up and tries again, so no caller ever waits longer than its own `max_wait_s`.
        """
        give_up = time.monotonic() + max_wait_s
        while True:
            wait = await self._try()
            if wait <= 0:
                return
            if time.monotonic() + wait > give_up:
                raise BudgetSpent(wait)
            await asyncio.sleep(wait)


class LocalBudget(SlidingWindowBudget):
    """The request budget of one process."""

    def __init__(self, requests_per_minute: int) -> None:
        self.requests_per_minute = requests_per_minute
        self._sent: deque[float] = deque()

    def _trim(self, now: float) -> None:
        while self._sent and self._sent[0] <= now - WINDOW_S:
            self._sent.popleft()

    async def _try(self) -> float:
        now = time.monotonic()
        self._trim(now)
        if len(self._sent) < self.requests_per_minute:
            self._sent.append(now)
            return 0.0
        return self._sent[0] + WINDOW_S - now

    async def remaining(self) -> int:
        self._trim(time.monotonic())
        return max(0, self.requests_per_minute - len(self._sent))


# KEYS[1]: the log; ARGV: window (ms), limit, member. Returns 0 or ms until a slot frees. The
# time is read inside the script, so concurrent callers never see a slot taken "in the future".
_TAKE_SLOT = """
local now = redis.call('TIME')
now = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
local window = tonumber(ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
if redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[2]) then
  redis.call('ZADD', KEYS[1], now, ARGV[3])
  redis.call('PEXPIRE', KEYS[1], window)
  return 0
end
local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
return math.max(1, tonumber(oldest[2]) + window - now)
"""


class RedisBudget(SlidingWindowBudget):
    """The request budget shared by every process that uses the same Redis and key."""

    def __init__(self, redis, requests_per_minute: int, key: str = "sportstats:budget") -> None:
        self.requests_per_minute = requests_per_minute
        self._redis = redis
        self._key = key
        self._script = redis.register_script(_TAKE_SLOT)
        self._fallback = LocalBudget(requests_per_minute)

    async def _try(self) -> float:
        try:
            return await self._try_shared()
        except RedisError as exc:
            # Redis is down: keep this process within the budget on its own until it is back.
            log.warning("shared upstream budget unavailable (%s); using this process's own", exc)
            return await self._fallback._try()

    async def _try_shared(self) -> float:
        # On Redis's clock, so that processes on machines with skewed clocks agree.
        wait_ms = await self._script(
            keys=[self._key],
            args=[int(WINDOW_S * 1000), self.requests_per_minute, uuid.uuid4().hex],
        )
        return int(wait_ms) / 1000

    async def remaining(self) -> int:
        seconds, micros = await self._redis.time()
        now_ms = seconds * 1000 + micros // 1000
        used = await self._redis.zcount(self._key, now_ms - int(WINDOW_S * 1000), "+inf")
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
