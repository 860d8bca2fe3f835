"""Where codes, tokens, grants and registered clients live: in memory, or in Redis when the
server shares one, so that every worker accepts a token any worker issued.

Secrets are never kept as given: a code or token is stored under its SHA-256, so a copy of the
store holds nothing a client could present. What anyone may add without signing in (a client
registered and not yet used) is a capped group of its own (`put_capped`): past its cap it is
refused, and it never pushes out a tester's grant or tokens.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Awaitable, Callable
from typing import Any, Protocol, TypeVar

from ...outage import REDIS
from .errors import StoreUnavailable

T = TypeVar("T")


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


async def guarded(call: Callable[[], Awaitable[T]]) -> T:
    """One Redis call of the sign-in; Redis away, `StoreUnavailable` (asked again once a
    `outage.PROBE_S`, as every part that uses Redis does)."""
    if not REDIS.usable():
        raise StoreUnavailable()
    try:
        result = await call()
    except Exception as exc:
        REDIS.failed("the OAuth sign-in", exc)
        raise StoreUnavailable() from None
    REDIS.ok()
    return result


class GrantStore(Protocol):
    async def put(self, key: str, value: dict[str, Any], ttl_s: float) -> None: ...
    async def get(self, key: str) -> dict[str, Any] | None: ...
    async def take(self, key: str) -> dict[str, Any] | None:
        """The value, removed in the same step: a code or refresh token is used once."""
        ...

    async def delete(self, key: str) -> None: ...

    async def put_capped(
        self, group: str, key: str, value: dict[str, Any], ttl_s: float, most: int
    ) -> float:
        """Put `key`, one of `group`, unless `most` of the group live already: 0 when put, else
        the seconds until one of them expires."""
        ...

    async def leave(self, group: str, key: str) -> None:
        """`key` no longer counts in `group` (the entry itself stays as last put)."""
        ...


class MemoryGrants:
    """One process's store; entries expire by time and are dropped when read late. A capped
    group's entries are kept apart: they neither count toward `max_entries` nor push anything
    out, so the oldest entries evicted when it is full are only ever what signed-in testers made."""

    def __init__(self, max_entries: int = 100_000) -> None:
        self.max_entries = max_entries
        self._items: dict[str, tuple[float, dict[str, Any]]] = {}
        self._capped: dict[str, tuple[float, dict[str, Any]]] = {}
        self._groups: dict[str, dict[str, float]] = {}  # group: {key: expires at}

    async def put(self, key: str, value: dict[str, Any], ttl_s: float) -> None:
        self._capped.pop(key, None)
        if len(self._items) >= self.max_entries:
            now = time.time()
            self._items = {k: v for k, v in self._items.items() if v[0] > now}
            while len(self._items) >= self.max_entries:
                self._items.pop(next(iter(self._items)))
        self._items[key] = (time.time() + ttl_s, value)

    async def get(self, key: str) -> dict[str, Any] | None:
        found = self._items.get(key) or self._capped.get(key)
        if found is None or found[0] <= time.time():
            await self.delete(key)
            return None
        return found[1]

    async def take(self, key: str) -> dict[str, Any] | None:
        value = await self.get(key)
        await self.delete(key)
        return value

    async def delete(self, key: str) -> None:
        self._items.pop(key, None)
        self._capped.pop(key, None)

    async def put_capped(
        self, group: str, key: str, value: dict[str, Any], ttl_s: float, most: int
    ) -> float:
        now = time.time()
        members = {k: t for k, t in self._groups.get(group, {}).items() if t > now}
        for gone in self._groups.get(group, {}).keys() - members.keys():
            self._capped.pop(gone, None)
        self._groups[group] = members
        if len(members) >= most:
            return max(0.001, min(members.values()) - now)
        members[key] = now + ttl_s
        self._capped[key] = (now + ttl_s, value)
        return 0.0

    async def leave(self, group: str, key: str) -> None:
        self._groups.get(group, {}).pop(key, None)


# KEYS: the group's sorted set (member: key, score: expiry in ms), the entry. ARGV: the value,
# ttl in ms, the cap. Returns 0 when put, else the ms until the group's first member expires.
_PUT_CAPPED = """
local now = redis.call('TIME')
now = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
local ttl, most = tonumber(ARGV[2]), tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZCARD', KEYS[1]) >= most then
  local first = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
  return math.max(1, tonumber(first[2]) - now)
end
redis.call('ZADD', KEYS[1], now + ttl, KEYS[2])
redis.call('PEXPIRE', KEYS[1], ttl)
redis.call('SET', KEYS[2], ARGV[1], 'PX', ttl)
return 0
"""


class RedisGrants:
    """The store in Redis under the server's prefix; `take` is one GETDEL."""

    def __init__(self, redis: Any, prefix: str) -> None:
        self.redis = redis
        self.prefix = f"{prefix}oauth:"
        self._put_capped = redis.register_script(_PUT_CAPPED)

    async def put(self, key: str, value: dict[str, Any], ttl_s: float) -> None:
        raw, ttl_ms = json.dumps(value), max(1, int(ttl_s * 1000))
        await guarded(lambda: self.redis.set(self.prefix + key, raw, px=ttl_ms))

    async def get(self, key: str) -> dict[str, Any] | None:
        raw = await guarded(lambda: self.redis.get(self.prefix + key))
        return json.loads(raw) if raw else None

    async def take(self, key: str) -> dict[str, Any] | None:
        raw = await guarded(lambda: self.redis.getdel(self.prefix + key))
        return json.loads(raw) if raw else None

    async def delete(self, key: str) -> None:
        await guarded(lambda: self.redis.delete(self.prefix + key))

    async def put_capped(
        self, group: str, key: str, value: dict[str, Any], ttl_s: float, most: int
    ) -> float:
        keys = [f"{self.prefix}group:{group}", self.prefix + key]
        args = [json.dumps(value), max(1, int(ttl_s * 1000)), most]
        wait_ms = await guarded(lambda: self._put_capped(keys=keys, args=args))
        return int(wait_ms) / 1000

    async def leave(self, group: str, key: str) -> None:
        await guarded(lambda: self.redis.zrem(f"{self.prefix}group:{group}", self.prefix + key))
