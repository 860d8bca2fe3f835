"""Where codes, tokens, grants and registered clients live: in memory, or in Redis when the
server shares one, so that every worker accepts a token any worker issued.

Secrets are never kept as given: a code or token is stored under its SHA-256, so a copy of the
store holds nothing a client could present.
"""

from __future__ import annotations

import hashlib
import json
import time
from typing import Any, Protocol


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


class GrantStore(Protocol):
    async def put(self, key: str, value: dict[str, Any], ttl_s: float) -> None: ...
    async def get(self, key: str) -> dict[str, Any] | None: ...
    async def take(self, key: str) -> dict[str, Any] | None:
        """The value, removed in the same step: a code or refresh token is used once."""
        ...

    async def delete(self, key: str) -> None: ...


class MemoryGrants:
    """One process's store; entries expire by time and are dropped when read late."""

    def __init__(self, max_entries: int = 100_000) -> None:
        self.max_entries = max_entries
        self._items: dict[str, tuple[float, dict[str, Any]]] = {}

    async def put(self, key: str, value: dict[str, Any], ttl_s: float) -> None:
        if len(self._items) >= self.max_entries:
            now = time.time()
            self._items = {k: v for k, v in self._items.items() if v[0] > now}
            while len(self._items) >= self.max_entries:
                self._items.pop(next(iter(self._items)))
        self._items[key] = (time.time() + ttl_s, value)

    async def get(self, key: str) -> dict[str, Any] | None:
        found = self._items.get(key)
        if found is None or found[0] <= time.time():
            self._items.pop(key, None)
            return None
        return found[1]

    async def take(self, key: str) -> dict[str, Any] | None:
        value = await self.get(key)
        self._items.pop(key, None)
        return value

    async def delete(self, key: str) -> None:
        self._items.pop(key, None)


class RedisGrants:
    """The store in Redis under the server's prefix; `take` is one GETDEL."""

    def __init__(self, redis: Any, prefix: str) -> None:
        self.redis = redis
        self.prefix = f"{prefix}oauth:"

    async def put(self, key: str, value: dict[str, Any], ttl_s: float) -> None:
        await self.redis.set(self.prefix + key, json.dumps(value), px=max(1, int(ttl_s * 1000)))

    async def get(self, key: str) -> dict[str, Any] | None:
        raw = await self.redis.get(self.prefix + key)
        return json.loads(raw) if raw else None

    async def take(self, key: str) -> dict[str, Any] | None:
        raw = await self.redis.getdel(self.prefix + key)
        return json.loads(raw) if raw else None

    async def delete(self, key: str) -> None:
        await self.redis.delete(self.prefix + key)
