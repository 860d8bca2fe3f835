"""Where ledgers live: this process's memory, or Redis (shared by every process and restart that
uses the same Redis and prefix), with the lock that lets one process at a time fill a season.

A failing Redis is not an error: this process keeps its own copy and fills alone meanwhile
(the shared outage flag says so once, as for the cache).
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from ..outage import REDIS

LEDGER_TTL_S = 400 * 86_400  # a season and its summer: a past season's ledger never changes
FILL_LOCK_S = 60  # the longest one fill step may hold the lock (a call within its deadline)

_UNLOCK = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


class MemoryLedgers:
    """Ledgers as JSON text in this process, one fill at a time per season."""

    kind = "memory"

    def __init__(self) -> None:
        self._texts: dict[int, str] = {}
        self._locks: dict[int, asyncio.Lock] = {}

    async def get(self, season: int) -> str | None:
        return self._texts.get(season)

    async def put(self, season: int, text: str) -> None:
        self._texts[season] = text

    @asynccontextmanager
    async def filling(self, season: int) -> AsyncIterator[bool]:
        """Yields True when this caller may fill the season now, False when another is."""
        lock = self._locks.setdefault(season, asyncio.Lock())
        if lock.locked():
            yield False
            return
        async with lock:
            yield True


class RedisLedgers(MemoryLedgers):
    """Ledgers in Redis under `<prefix>standings:ledger:<season>`, this process's copy beside
    them for when Redis is away; the fill lock is a `SET NX PX` key."""

    kind = "redis"

    def __init__(self, redis: Any, prefix: str) -> None:
        super().__init__()
        self.redis = redis
        self.prefix = f"{prefix}standings:"

    async def get(self, season: int) -> str | None:
        if REDIS.usable():
            try:
                found = await self.redis.get(f"{self.prefix}ledger:{season}")
            except Exception as exc:
                REDIS.failed("the standings ledger", exc)
            else:
                REDIS.ok()
                if found is not None:
                    text = found.decode() if isinstance(found, bytes) else str(found)
                    await super().put(season, text)
                    return text
        return await super().get(season)

    async def put(self, season: int, text: str) -> None:
        await super().put(season, text)
        if not REDIS.usable():
            return
        try:
            await self.redis.set(f"{self.prefix}ledger:{season}", text, ex=LEDGER_TTL_S)
        except Exception as exc:
            REDIS.failed("the standings ledger", exc)
        else:
            REDIS.ok()

    @asynccontextmanager
    async def filling(self, season: int) -> AsyncIterator[bool]:
        async with super().filling(season) as mine:
            if not mine:
                yield False
                return
            key, token = f"{self.prefix}lock:{season}", uuid.uuid4().hex
            taken = await self._lock(key, token)
            try:
                yield taken
            finally:
                if taken:
                    await self._unlock(key, token)

    async def _lock(self, key: str, token: str) -> bool:
        if not REDIS.usable():
            return True  # alone meanwhile
        try:
            taken = bool(await self.redis.set(key, token, nx=True, px=FILL_LOCK_S * 1000))
        except Exception as exc:
            REDIS.failed("the standings lock", exc)
            return True
        REDIS.ok()
        return taken

    async def _unlock(self, key: str, token: str) -> None:
        if not REDIS.usable():
            return
        try:
            await self.redis.eval(_UNLOCK, 1, key, token)
        except Exception as exc:
            REDIS.failed("the standings lock", exc)
