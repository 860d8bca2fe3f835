"""Where entries live: a small store interface over aiocache's memory and Redis backends.

Two stores behind one interface (`get`, `put`, and `peek` for the synchronous hit path), so the
policy in `freshness` never asks which one it has. Both are aiocache backends, the project's
cache library: memory bounded by entries and bytes (least recently used evicted), or Redis,
shared by every process with the same `redis_prefix`.
"""

from __future__ import annotations

import logging
import sys
import time
from collections import OrderedDict
from typing import Any

from aiocache import RedisCache, SimpleMemoryCache
from aiocache.base import BaseCache

from ..outage import REDIS
from .entry import Entry

log = logging.getLogger(__name__)

KEY_PREFIX = "v1:"
# Memory one slot of the LRU costs besides key and value (ordered-dict node, hash-table share even
# when evictions have left the table sparse, the (value, expiry, size) tuple and its numbers),
# measured with tracemalloc on CPython 3.11 (bench/bench_cache.py) and rounded up.
SLOT_BYTES = 320


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


class AnswerStore:
    """Entries by key over one aiocache backend. A failing backend is a miss, never an error:
    a cache outage must not fail the answer."""

    kind: str  # what readiness reports: memory or redis

    def __init__(self, backend: BaseCache) -> None:
        self.backend = backend

    def peek(self, key: str) -> Entry | None:
        """The entry, if it can be had without awaiting (only memory can)."""
        return None

    async def get(self, key: str) -> Entry | None:
        if not self._usable():
            return None
        try:
            found = Entry.from_stored(await self.backend.get(KEY_PREFIX + key))
        except Exception as exc:
            self._failed("the cache", exc)
            return None
        self._ok()
        return found

    async def put(self, key: str, entry: Entry, ttl_s: int) -> None:
        if not self._usable():
            return
        try:
            await self.backend.set(KEY_PREFIX + key, self._stored(entry), ttl=ttl_s)
        except Exception as exc:
            self._failed("the cache", exc)
            return
        self._ok()

    def _failed(self, what: str, exc: Exception) -> None:
        log.warning("cache %s failed: %s", what, type(exc).__name__)

    def _ok(self) -> None:
        """A backend operation succeeded (Redis stores say so once after an outage)."""

    def _usable(self) -> bool:
        return True

    def _stored(self, entry: Entry) -> Any:
        return entry.to_dict()

    async def ping(self) -> None:
        """Raise if the backend does not answer (readiness)."""

    async def close(self) -> None:
        await self.backend.close()


class MemoryStore(AnswerStore):
    """In this process: entries kept as objects, found without a coroutine."""

    kind = "memory"
    backend: BoundedMemoryCache

    def __init__(self, max_entries: int, max_bytes: int) -> None:
        super().__init__(BoundedMemoryCache(max_entries, max_bytes))

    def peek(self, key: str) -> Entry | None:
        return self.backend.lookup(self.backend.build_key(KEY_PREFIX + key))

    async def get(self, key: str) -> Entry | None:
        return self.peek(key)

    def _stored(self, entry: Entry) -> Any:
        return entry


class RedisStore(AnswerStore):
    """In Redis, as JSON, shared by every process that uses the same Redis and prefix, with a
    near cache in front: each process keeps the entries it read from or wrote to Redis for
    `near_ttl_s` at most, never past their own freshness, so a hit on a near copy costs no Redis
    round trip (and no coroutine: `peek`). A tester may then get an answer up to `near_ttl_s`
    older than another worker's; revalidation, coalescing and stale copies work on Redis's copy,
    since a near copy is only ever a fresh one."""

    kind = "redis"

    def __init__(
        self, client: Any, prefix: str, near_ttl_s: float = 0.0, near_max_entries: int = 1000
    ) -> None:
        super().__init__(RedisAnswerBackend(client, prefix))
        self.client = client
        self.near_ttl_s = near_ttl_s
        self.near_max_entries = near_max_entries
        self._near: OrderedDict[str, tuple[float, Entry]] = OrderedDict()

    def peek(self, key: str) -> Entry | None:
        held = self._near.get(key)
        if held is None:
            return None
        if time.time() >= held[0]:
            del self._near[key]
            return None
        return held[1]

    def _keep_near(self, key: str, entry: Entry) -> None:
        if self.near_ttl_s <= 0:
            return
        until = min(time.time() + self.near_ttl_s, entry.fresh_until)
        if until <= time.time():
            return
        self._near.pop(key, None)
        self._near[key] = (until, entry)
        while len(self._near) > self.near_max_entries:
            self._near.popitem(last=False)

    async def get(self, key: str) -> Entry | None:
        near = self.peek(key)
        if near is not None:
            return near
        entry = await super().get(key)
        if entry is not None:
            self._keep_near(key, entry)
        return entry

    async def put(self, key: str, entry: Entry, ttl_s: int) -> None:
        self._keep_near(key, entry)
        await super().put(key, entry, ttl_s)

    def _failed(self, what: str, exc: Exception) -> None:
        REDIS.failed(what, exc)  # one line per outage, not one per request

    def _ok(self) -> None:
        REDIS.ok()

    def _usable(self) -> bool:
        return REDIS.usable()

    async def ping(self) -> None:
        await self.client.ping()

    async def close(self) -> None:
        """The client belongs to the app, which closes it once."""
