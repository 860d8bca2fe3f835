"""Answers kept for reuse: keys, TTL policy, stale handling and single-flight, over aiocache.

Vocabulary as in Varnish: a `hit` is fresh; `revalidating` (UPDATING) is just past its TTL, served
at once while one background refresh runs; `stale` is an expired copy served because the upstream
failed; a `miss` went upstream. Entries hold the answer already serialised, so a hit costs one
lookup and one concatenation.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
import sys
import time
import uuid
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from aiocache import RedisCache, SimpleMemoryCache
from aiocache.base import BaseCache

from .settings import CacheSettings
from .tables import is_settled
from .upstream import UpstreamError

log = logging.getLogger(__name__)

STATES = ("hit", "miss", "stale", "revalidating")
X_CACHE = {"hit": "HIT", "miss": "MISS", "stale": "STALE", "revalidating": "UPDATING"}
KEY_PREFIX = "v1:"
LOCK_POLL_S = 0.05
# Memory one Entry costs besides its body (object with slots, three floats), and one slot of the
# LRU besides key and value (ordered-dict node, hash-table share even when evictions have left
# the table sparse, the (value, expiry, size) tuple and its numbers), measured with tracemalloc
# on CPython 3.11 (bench/bench_cache.py) and rounded up.
ENTRY_OBJECT_BYTES = 150
_STATE_ENDINGS = {state: f'{state}"}}}}'.encode() for state in STATES}
SLOT_BYTES = 320


@dataclass(slots=True)
class Entry:
    """One cached answer. `body` is its JSON cut just before the value of `meta.cache`."""

    body: str
    fetched_at: float
    fresh_until: float
    stale_until: float
    _encoded: bytes | None = field(default=None, repr=False, compare=False)

    @property
    def size(self) -> int:
        """Bytes this entry holds in memory: the body as text and, once sent, as UTF-8 bytes,
        the object and its floats."""
        return 2 * sys.getsizeof(self.body) + ENTRY_OBJECT_BYTES

    def render(self, state: str) -> bytes:
        """The answer as sent: the body encoded once, then one concatenation per request."""
        if self._encoded is None:
            self._encoded = self.body.encode()
        return self._encoded + _STATE_ENDINGS[state]

    def to_dict(self) -> dict[str, Any]:
        return {
            "body": self.body,
            "fetched_at": self.fetched_at,
            "fresh_until": self.fresh_until,
            "stale_until": self.stale_until,
        }

    @classmethod
    def from_stored(cls, value: Any) -> Entry | None:
        if isinstance(value, Entry):
            return value
        if isinstance(value, dict):
            try:
                return cls(**value)
            except TypeError:
                return None
        return None


@dataclass
class Produced:
    """What a miss produced: the answer (columns, data, meta) and how long it stays fresh.

    `stale_since` is set when the answer was put together from stale cached parts (season
    averages while the upstream fails): it is then served as stale, dated by its oldest part, and
    not stored.
    """

    answer: dict[str, Any]
    ttl_s: float
    stale_since: float | None = None


def answer_body(answer: dict[str, Any], fetched_at: float) -> str:
    """Serialise an answer with `meta.fetched_at`, cut just before the value of `meta.cache`."""
    meta = dict(answer["meta"])
    meta.pop("cache", None)
    meta["fetched_at"] = dt.datetime.fromtimestamp(fetched_at, dt.UTC).isoformat(timespec="seconds")
    meta["cache"] = ""
    ordered = {key: value for key, value in answer.items() if key != "meta"} | {"meta": meta}
    text = json.dumps(ordered, ensure_ascii=False, separators=(",", ":"))
    return text[: -len('"}}')]


def parse_body(body: str) -> dict[str, Any]:
    """The answer an entry holds, for merging it into a larger answer."""
    return json.loads(body + '"}}')


class BoundedMemoryCache(SimpleMemoryCache):
    """aiocache's memory backend bounded by entries and bytes, evicting the least recently used.

    aiocache 0.12's SimpleMemoryCache has neither bound nor LRU and arms one timer per key; this
    subclass keeps aiocache's API but replaces the storage: the dict is an OrderedDict (a read
    moves the key to the end, a write evicts from the front until both bounds hold), each slot
    records its size (key, value and bookkeeping, as `sys.getsizeof` and the measured overheads
    count it), and expiry is checked lazily on read instead of by timers. Its default operation
    timeout is off: a dict lookup cannot hang, and aiocache's timeout wraps every call in
    `asyncio.wait_for`, which costs a task per cache hit.
    """

    def __init__(self, max_entries: int, max_bytes: int, **kwargs: Any) -> None:
        kwargs.setdefault("timeout", None)
        super().__init__(**kwargs)
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self.bytes = 0
        self.evictions = 0
        self._cache: OrderedDict[str, tuple[Any, float | None, int]] = OrderedDict()

    @staticmethod
    def _size(key: str, value: Any) -> int:
        value_bytes = value.size if isinstance(value, Entry) else sys.getsizeof(value)
        return sys.getsizeof(key) + value_bytes + SLOT_BYTES

    def lookup(self, key: str) -> Any:
        """The live value under `key` (namespace included), or None: the hit path, synchronous.

        aiocache's `get` wraps this lookup in several coroutine layers (plugins, timeout, an
        environment check), which cost more than the lookup itself on every cache hit.
        """
        item = self._cache.get(key)
        if item is None:
            return None
        if item[1] is not None and item[1] <= time.monotonic():
            self._drop(key)
            return None
        self._cache.move_to_end(key)
        return item[0]

    async def _get(self, key, encoding="utf-8", _conn=None):
        return self.lookup(key)

    async def _multi_get(self, keys, encoding="utf-8", _conn=None):
        return [await self._get(key) for key in keys]

    async def _set(self, key, value, ttl=None, _cas_token=None, _conn=None):
        self._drop(key)
        size = self._size(key, value)
        self._cache[key] = (value, time.monotonic() + ttl if ttl else None, size)
        self.bytes += size
        while len(self._cache) > self.max_entries or (
            self.bytes > self.max_bytes and len(self._cache) > 1
        ):
            self._drop(next(iter(self._cache)))
            self.evictions += 1
        return True

    async def _add(self, key, value, ttl=None, _conn=None):
        if await self._get(key) is not None:
            raise ValueError(f"Key {key} already exists, use .set to update the value")
        return await self._set(key, value, ttl=ttl)

    async def _exists(self, key, _conn=None):
        return await self._get(key) is not None

    async def _expire(self, key, ttl, _conn=None):
        item = self._cache.get(key)
        if item is None:
            return False
        self._cache[key] = (item[0], time.monotonic() + ttl if ttl else None, item[2])
        return True

    async def _delete(self, key, _conn=None):
        return self._drop(key)

    async def _clear(self, namespace=None, _conn=None):
        for key in [k for k in self._cache if not namespace or k.startswith(namespace)]:
            self._drop(key)
        return True

    async def _increment(self, key, delta, _conn=None):
        raise NotImplementedError("counters are not kept in the answer cache")

    def _drop(self, key: str) -> int:
        item = self._cache.pop(key, None)
        if item is None:
            return 0
        self.bytes -= item[2]
        return 1

    def __len__(self) -> int:
        return len(self._cache)


class RedisAnswerBackend(RedisCache):
    """aiocache's Redis backend, on the redis-py client the app already has.

    aiocache 0.12.3 predates redis-py 5: it writes with the deprecated SETEX/PSETEX and closes
    with the deprecated `close()`, each a DeprecationWarning (an error under the test suite's
    warning filter, so every write failed there). This subclass writes with SET EX and leaves
    closing to the client's owner. Sharing the client also shares one connection pool with the
    budget and the locks, and accepts every URL redis-py does (rediss://, unix://).
    """

    def __init__(self, client: Any, namespace: str) -> None:
        # RedisCache puts ":" between namespace and key itself.
        super().__init__(namespace=namespace.rstrip(":"))
        self.client = client

    async def _set(self, key, value, ttl=None, _cas_token=None, _conn=None):
        if _cas_token is not None:
            return await self._cas(key, value, _cas_token, ttl=ttl, _conn=_conn)
        if ttl is None:
            return await self.client.set(key, value)
        return await self.client.set(key, value, px=max(1, int(ttl * 1000)))

    async def _close(self, *args, _conn=None, **kwargs):
        """The client belongs to the app, which closes it."""


def ttl_for(
    endpoint: str,
    games: list[dict[str, Any]],
    settings: CacheSettings,
    season: int | None = None,
    current_season: int | None = None,
    today: dt.date | None = None,
) -> float:
    """How long an answer stays fresh, by how fast its data changes.

    The endpoint's base TTL holds for settled data; live or scheduled games and games of today
    (more may start) get `live_ttl_s`, finished games of the last two days `recent_ttl_s`, the
    current season's averages `current_season_ttl_s`; an empty answer is kept only briefly.
    `games` are the game objects the answer is about (for stats, each row's game).
    """
    base = float(settings.ttl_s.get(endpoint, 0))
    if endpoint == "season_averages":
        if season is not None and season == current_season:
            return min(base, settings.current_season_ttl_s)
        return base
    if endpoint not in ("games", "stats"):
        return base
    if not games:
        return min(base, settings.empty_ttl_s)
    today = today or dt.date.today()
    if not all(is_settled(game) for game in games) or any(
        str(game.get("date", ""))[:10] >= today.isoformat() for game in games
    ):
        return min(base, settings.live_ttl_s)
    # A final score is final, but box scores get corrected for a day or so.
    recent = today - dt.timedelta(days=2)
    if any(str(game.get("date", ""))[:10] >= recent.isoformat() for game in games):
        return min(base, settings.recent_ttl_s)
    return base


class AnswerCache:
    """Cache lookups with stale-while-revalidate, stale-if-error and single-flight misses.

    Single-flight is per key in the process (one task per cold key; every concurrent caller
    awaits it) and, with Redis, across processes (a short lock key; the others poll for the
    answer the lock holder stores).
    """

    def __init__(
        self,
        backend: BaseCache,
        settings: CacheSettings,
        redis: Any = None,
        redis_prefix: str = "sportstats:",
    ) -> None:
        self.backend = backend
        # The in-process backend is read without aiocache's coroutine layers (see `lookup`).
        self._memory = backend if isinstance(backend, BoundedMemoryCache) else None
        self.settings = settings
        self.redis = redis
        self.lock_prefix = f"{redis_prefix}lock:"
        self._inflight: dict[str, asyncio.Task[Entry]] = {}
        self._background: set[asyncio.Task[Any]] = set()
        self.coalesced = 0  # callers that shared another caller's upstream fetch

    def _in_memory(self, key: str) -> Entry | None:
        assert self._memory is not None
        return self._memory.lookup(self._memory.build_key(KEY_PREFIX + key))

    async def get(self, key: str) -> Entry | None:
        if self._memory is not None:
            return self._in_memory(key)
        try:
            return Entry.from_stored(await self.backend.get(KEY_PREFIX + key))
        except Exception as exc:  # a cache outage must not fail the answer
            log.warning("cache read failed: %s", type(exc).__name__)
            return None

    def fresh(self, key: str) -> Entry | None:
        """The entry under `key` if the in-process cache holds it fresh, else None (also with
        Redis): a hit found without a coroutine; `fetch` handles everything else."""
        if self._memory is None:
            return None
        entry = self._in_memory(key)
        return entry if entry is not None and time.time() < entry.fresh_until else None

    async def put(self, key: str, entry: Entry) -> None:
        ttl = max(1, int(entry.stale_until - time.time()))
        value = entry if self._memory is not None else entry.to_dict()
        try:
            await self.backend.set(KEY_PREFIX + key, value, ttl=ttl)
        except Exception as exc:
            log.warning("cache write failed: %s", type(exc).__name__)

    async def fetch(
        self, key: str, produce: Callable[[], Awaitable[Produced]]
    ) -> tuple[Entry, str]:
        """The entry for `key` and how it was obtained (one of STATES)."""
        entry = await self.get(key)
        now = time.time()
        if entry is not None:
            if now < entry.fresh_until:
                return entry, "hit"
            ttl = entry.fresh_until - entry.fetched_at
            if now < entry.fresh_until + min(self.settings.revalidate_window_s, ttl):
                self._revalidate(key, produce)
                return entry, "revalidating"
        try:
            produced = await self._single_flight(key, produce, entry)
        except UpstreamError as exc:
            if exc.transient and entry is not None and now < entry.stale_until:
                log.info("serving stale %s after %s", key, exc.code)
                return entry, "stale"
            raise
        made_of_stale_parts = produced.fresh_until <= produced.fetched_at < now
        return produced, "stale" if made_of_stale_parts else "miss"

    def _revalidate(self, key: str, produce: Callable[[], Awaitable[Produced]]) -> None:
        if key in self._inflight:
            return
        task = self._start(key, produce, None)
        task.add_done_callback(_log_failure)

    async def _single_flight(
        self, key: str, produce: Callable[[], Awaitable[Produced]], old: Entry | None
    ) -> Entry:
        task = self._inflight.get(key)
        if task is None:
            task = self._start(key, produce, old)
        else:
            self.coalesced += 1
        try:
            return await asyncio.wait_for(asyncio.shield(task), self.settings.coalesce_wait_s)
        except TimeoutError:
            raise _too_slow() from None

    def _start(
        self, key: str, produce: Callable[[], Awaitable[Produced]], old: Entry | None
    ) -> asyncio.Task[Entry]:
        """Run one fetch for `key` in its own task, so a caller that goes away cannot cancel it."""
        task = asyncio.create_task(self._fill(key, produce, old))
        self._inflight[key] = task
        self._background.add(task)

        def done(finished: asyncio.Task[Entry]) -> None:
            self._background.discard(finished)
            if self._inflight.get(key) is finished:
                del self._inflight[key]

        task.add_done_callback(done)
        return task

    async def _fill(
        self, key: str, produce: Callable[[], Awaitable[Produced]], old: Entry | None
    ) -> Entry:
        if self.redis is None:
            return await self._produce_and_store(key, produce)
        lock = f"{self.lock_prefix}{KEY_PREFIX}{key}"
        token = uuid.uuid4().hex
        give_up = time.monotonic() + self.settings.coalesce_wait_s
        while True:
            if await self._try_lock(lock, token):
                try:
                    # Another process may have stored it between our miss and our lock.
                    stored = await self._stored_since(key, old)
                    return stored or await self._produce_and_store(key, produce)
                finally:
                    await self._unlock(lock, token)
            # Another process is fetching this key: wait for what it stores.
            while time.monotonic() < give_up:
                await asyncio.sleep(LOCK_POLL_S)
                stored = await self._stored_since(key, old)
                if stored is not None:
                    return stored
                if not await self._locked(lock):
                    break  # the holder failed or gave up: try to take the lock ourselves
            if time.monotonic() >= give_up:
                raise _too_slow()

    async def _stored_since(self, key: str, old: Entry | None) -> Entry | None:
        """A fresh entry for `key` stored (by another process) after `old`, if there is one."""
        entry = await self.get(key)
        if entry is None or time.time() >= entry.fresh_until:
            return None
        if old is not None and entry.fetched_at <= old.fetched_at:
            return None
        return entry

    async def _try_lock(self, lock: str, token: str) -> bool:
        ttl_ms = int(self.settings.coalesce_wait_s * 1000)
        try:
            return bool(await self.redis.set(lock, token, nx=True, px=ttl_ms))
        except Exception as exc:
            log.warning("redis lock failed (%s); fetching without it", type(exc).__name__)
            return True

    async def _locked(self, lock: str) -> bool:
        try:
            return bool(await self.redis.exists(lock))
        except Exception:
            return False

    async def _unlock(self, lock: str, token: str) -> None:
        try:
            await self.redis.eval(
                "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1])"
                " end return 0",
                1,
                lock,
                token,
            )
        except Exception as exc:
            log.warning("redis unlock failed: %s", type(exc).__name__)

    async def _produce_and_store(
        self, key: str, produce: Callable[[], Awaitable[Produced]]
    ) -> Entry:
        produced = await produce()
        now = time.time()
        fetched_at = produced.stale_since or now
        entry = Entry(
            body=answer_body(produced.answer, fetched_at),
            fetched_at=fetched_at,
            fresh_until=fetched_at if produced.stale_since else now + produced.ttl_s,
            stale_until=now + produced.ttl_s + self.settings.stale_max_age_s,
        )
        if produced.ttl_s > 0 and not produced.stale_since:
            await self.put(key, entry)
        return entry

    @property
    def in_flight(self) -> int:
        """Keys being fetched (or refreshed) by this process right now."""
        return len(self._inflight)

    async def wait_background(self) -> None:
        """Wait until the fetches and refreshes running now have finished (for tests, shutdown)."""
        if self._background:
            await asyncio.gather(*self._background, return_exceptions=True)

    async def close(self) -> None:
        """Cancel background refreshes and close the backend."""
        for task in list(self._background):
            task.cancel()
        if self._background:
            await asyncio.gather(*self._background, return_exceptions=True)
        client = getattr(self.backend, "client", None)
        if client is not None and hasattr(client, "aclose"):
            # aiocache 0.12's RedisCache.close calls redis-py's deprecated close()
            await client.aclose()
        else:
            await self.backend.close()


def _too_slow() -> UpstreamError:
    return UpstreamError(
        504,
        "upstream_timeout",
        "The upstream data service is taking too long to answer this question.",
        "Try again in a minute.",
        transient=True,
    )


def _log_failure(task: asyncio.Task[Any]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.info("background refresh failed: %s", type(task.exception()).__name__)
