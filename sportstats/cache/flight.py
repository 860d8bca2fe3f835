"""Single flight: one fetch per question at a time, in this process and across processes.

In the process, one task per cold key; every concurrent caller awaits it, and a caller that gives
up does not cancel it for the others. Across processes (with Redis), a short `SET NX PX` lock: the
holder fetches and stores; the others poll for what it stores, or take the lock when it goes.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from ..errors import AnswerTooSlow
from ..outage import REDIS
from .entry import Entry

log = logging.getLogger(__name__)

LOCK_POLL_S = 0.05
Fill = Callable[[], Awaitable[Entry]]
_UNLOCK = (
    "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0"
)


def too_slow() -> AnswerTooSlow:
    return AnswerTooSlow("The upstream data service is taking too long to answer this question.")


class SingleFlight:
    """The fetches running in this process, one per key."""

    def __init__(self) -> None:
        self._inflight: dict[str, asyncio.Task[Entry]] = {}
        self._background: set[asyncio.Task[Any]] = set()
        self.coalesced = 0  # callers that shared another caller's fetch

    def __contains__(self, key: str) -> bool:
        return key in self._inflight

    def __len__(self) -> int:
        return len(self._inflight)

    async def join(self, key: str, fill: Fill, wait_s: float) -> Entry:
        """The entry of the running fetch for `key` (started now if none runs), within `wait_s`."""
        task = self._inflight.get(key)
        if task is None:
            task = self.start(key, fill)
        else:
            self.coalesced += 1
        try:
            return await asyncio.wait_for(asyncio.shield(task), wait_s)
        except TimeoutError:
            raise too_slow() from None

    def start(self, key: str, fill: Fill) -> asyncio.Task[Entry]:
        """Run one fetch for `key` in its own task, so a caller that goes away cannot cancel it."""
        task = asyncio.create_task(fill())
        self._inflight[key] = task
        self._background.add(task)

        def done(finished: asyncio.Task[Entry]) -> None:
            self._background.discard(finished)
            if self._inflight.get(key) is finished:
                del self._inflight[key]

        task.add_done_callback(done)
        return task

    async def wait(self) -> None:
        """Wait until the fetches running now have finished."""
        if self._background:
            await asyncio.gather(*self._background, return_exceptions=True)

    async def cancel(self) -> None:
        for task in list(self._background):
            task.cancel()
        await self.wait()


class RedisLock:
    """One fetch per key across the processes that share a Redis and a prefix."""

    def __init__(self, redis: Any, prefix: str) -> None:
        self.redis = redis
        self.prefix = f"{prefix}lock:"

    async def run(
        self,
        key: str,
        wait_s: float,
        fill: Fill,
        stored: Callable[[], Awaitable[Entry | None]],
    ) -> Entry:
        """`fill` under the lock, or what another process stores (`stored`) within `wait_s`."""
        lock = self.prefix + key
        token = uuid.uuid4().hex
        give_up = time.monotonic() + wait_s
        while True:
            if await self._try_lock(lock, token, wait_s):
                try:
                    # Another process may have stored it between our miss and our lock.
                    return await stored() or await fill()
                finally:
                    await self._unlock(lock, token)
            while time.monotonic() < give_up:
                await asyncio.sleep(LOCK_POLL_S)
                entry = await stored()
                if entry is not None:
                    return entry
                if not await self._locked(lock):
                    break  # the holder failed or gave up: try to take the lock ourselves
            if time.monotonic() >= give_up:
                raise too_slow()

    async def _try_lock(self, lock: str, token: str, wait_s: float) -> bool:
        if not REDIS.usable():
            return True  # fetching without it while Redis is away
        try:
            taken = bool(await self.redis.set(lock, token, nx=True, px=int(wait_s * 1000)))
        except Exception as exc:
            REDIS.failed("the coalescing lock", exc)  # fetching without it meanwhile
            return True
        REDIS.ok()
        return taken

    async def _locked(self, lock: str) -> bool:
        if not REDIS.usable():
            return False
        try:
            return bool(await self.redis.exists(lock))
        except Exception:
            return False

    async def _unlock(self, lock: str, token: str) -> None:
        if not REDIS.usable():
            return
        try:
            await self.redis.eval(_UNLOCK, 1, lock, token)
        except Exception as exc:
            REDIS.failed("the coalescing lock", exc)
