"""The cache's policy: fresh, revalidating or stale, and what a miss does.

A fresh entry is a hit. One just past its TTL (within `revalidate_window_s`, at most one TTL) is
served at once while one background refresh runs: the answer that starts the refresh says
`revalidating`, the others served the same copy while it runs say `hit` (one refresh, said
once). Otherwise the question goes upstream, once per key (`flight`); if the upstream fails with
a transient failure and a copy no older than `stale_max_age_s` past its TTL exists, that copy is
served as stale.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from ..errors import UpstreamFailure
from ..settings import CacheSettings
from .entry import Entry, answer_body
from .flight import RedisLock, SingleFlight
from .store import KEY_PREFIX, AnswerStore

log = logging.getLogger(__name__)


@dataclass
class Produced:
    """What a miss produced: the answer (columns, data, meta) and how long it stays fresh.

    `stale_since` is set when the answer was put together from stale cached parts (season
    averages while the upstream fails): it is then served as stale, dated by its oldest part, and
    not stored. `fetched_at` dates an answer made from another cached one (a filtered or sorted
    list): when the upstream produced its data, not now.
    """

    answer: dict[str, Any]
    ttl_s: float
    stale_since: float | None = None
    fetched_at: float | None = None


Produce = Callable[[], Awaitable[Produced]]


class AnswerCache:
    """Cache lookups with stale-while-revalidate, stale-if-error and single-flight misses."""

    def __init__(
        self, store: AnswerStore, settings: CacheSettings, lock: RedisLock | None = None
    ) -> None:
        self.store = store
        self.settings = settings
        self.lock = lock
        self.flight = SingleFlight()

    @property
    def coalesced(self) -> int:
        """Callers that shared another caller's upstream fetch."""
        return self.flight.coalesced

    @property
    def in_flight(self) -> int:
        """Keys being fetched (or refreshed) by this process right now."""
        return len(self.flight)

    async def get(self, key: str) -> Entry | None:
        return await self.store.get(key)

    def fresh(self, key: str) -> Entry | None:
        """The entry under `key` if the store has it fresh without awaiting, else None (always
        with Redis): a hit found without a coroutine; `fetch` handles everything else."""
        entry = self.store.peek(key)
        return entry if entry is not None and time.time() < entry.fresh_until else None

    async def put(self, key: str, entry: Entry) -> None:
        await self.store.put(key, entry, max(1, int(entry.stale_until - time.time())))

    async def fetch(self, key: str, produce: Produce) -> tuple[Entry, str]:
        """The entry for `key` and how it was obtained (one of `entry.STATES`)."""
        entry = await self.get(key)
        now = time.time()
        if entry is not None:
            if now < entry.fresh_until:
                return entry, "hit"
            ttl = entry.fresh_until - entry.fetched_at
            if now < entry.fresh_until + min(self.settings.revalidate_window_s, ttl):
                if key in self.flight:  # said once per refresh: by the answer that started it
                    return entry, "hit"
                self.flight.start(key, self._filler(key, produce, None)).add_done_callback(
                    _log_failure
                )
                return entry, "revalidating"
        try:
            produced = await self.flight.join(
                key, self._filler(key, produce, entry), self.settings.coalesce_wait_s
            )
        except UpstreamFailure as exc:
            if exc.transient and entry is not None and now < entry.stale_until:
                log.info("serving stale %s after %s", key, exc.code)
                return entry, "stale"
            raise
        made_of_stale_parts = produced.fresh_until <= produced.fetched_at < now
        return produced, "stale" if made_of_stale_parts else "miss"

    def _filler(
        self, key: str, produce: Produce, old: Entry | None
    ) -> Callable[[], Awaitable[Entry]]:
        """The fetch of one key: under the Redis lock when processes share the cache."""
        if self.lock is None:
            return lambda: self._produce_and_store(key, produce)
        return lambda: self.lock.run(
            KEY_PREFIX + key,
            self.settings.coalesce_wait_s,
            lambda: self._produce_and_store(key, produce),
            lambda: self._stored_since(key, old),
        )

    async def _stored_since(self, key: str, old: Entry | None) -> Entry | None:
        """A fresh entry for `key` stored (by another process) after `old`, if there is one."""
        entry = await self.get(key)
        if entry is None or time.time() >= entry.fresh_until:
            return None
        if old is not None and entry.fetched_at <= old.fetched_at:
            return None
        return entry

    async def _produce_and_store(self, key: str, produce: Produce) -> Entry:
        produced = await produce()
        now = time.time()
        fetched_at = produced.stale_since or produced.fetched_at or now
        entry = Entry(
            body=answer_body(produced.answer, fetched_at),
            fetched_at=fetched_at,
            fresh_until=fetched_at if produced.stale_since else now + produced.ttl_s,
            stale_until=now + produced.ttl_s + self.settings.stale_max_age_s,
        )
        if produced.ttl_s > 0 and not produced.stale_since:
            await self.put(key, entry)
        return entry

    async def wait_background(self) -> None:
        """Wait until the fetches and refreshes running now have finished (for tests, shutdown)."""
        await self.flight.wait()

    async def close(self) -> None:
        """Cancel background refreshes and close the store."""
        await self.flight.cancel()
        await self.store.close()


def _log_failure(task: asyncio.Task[Any]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.info("background refresh failed: %s", type(task.exception()).__name__)
