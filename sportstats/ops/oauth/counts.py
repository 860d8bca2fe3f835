"""Events counted in a sliding minute, per address, per network and in all: wrong keys on the
sign-in page and client registrations. In memory for one process; in Redis when the server
shares one, so that two workers do not double an allowance.

A network is what one holder usually has: an IPv6 /64 (a single host gets a whole /64, and can
take a new address in it for every request) or an IPv4 /24.
"""

from __future__ import annotations

import ipaddress
import time
import uuid
from collections import OrderedDict
from typing import Any, Protocol

WINDOW_S = 60.0
MAX_KEYS = 10_000  # in memory: past it, the least recently counted keys are forgotten
IPV6_NETWORK_BITS = 64
IPV4_NETWORK_BITS = 24


def network_of(address: str) -> str:
    """The network `address` belongs to, as counted: its /64 (IPv6) or /24 (IPv4)."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address  # not an IP (a Unix socket): its own network
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    bits = IPV6_NETWORK_BITS if ip.version == 6 else IPV4_NETWORK_BITS
    return str(ipaddress.ip_network(f"{ip}/{bits}", strict=False))


Limits = list[tuple[str, int]]  # (key, most events in the window)


class Counts(Protocol):
    async def wait_s(self, limits: Limits) -> float:
        """Seconds until every key is under its limit again (0: now)."""
        ...

    async def add(self, keys: list[str]) -> None:
        """Count one event under each key."""
        ...


class MemoryCounts:
    """One process's counts: each key's event times within the window, oldest first."""

    def __init__(self, window_s: float = WINDOW_S, max_keys: int = MAX_KEYS) -> None:
        self.window_s = window_s
        self.max_keys = max_keys
        self._events: OrderedDict[str, list[float]] = OrderedDict()

    def _recent(self, key: str, now: float) -> list[float]:
        return [t for t in self._events.get(key, ()) if t > now - self.window_s]

    async def wait_s(self, limits: Limits) -> float:
        now = time.monotonic()
        waits = [0.0]
        for key, most in limits:
            recent = self._recent(key, now)
            if len(recent) >= most:
                # under the limit again when all but `most - 1` of these have left the window
                waits.append(recent[len(recent) - max(most, 1)] + self.window_s - now)
        return max(waits)

    async def add(self, keys: list[str]) -> None:
        now = time.monotonic()
        for key in keys:
            recent = self._recent(key, now)
            self._events.pop(key, None)
            self._events[key] = [*recent, now]
        while len(self._events) > self.max_keys:
            self._events.popitem(last=False)


class RedisCounts:
    """The counts in Redis, one sorted set of event times per key, shared by every worker."""

    def __init__(self, redis: Any, prefix: str, window_s: float = WINDOW_S) -> None:
        self.redis = redis
        self.prefix = f"{prefix}oauth:count:"
        self.window_s = window_s

    async def wait_s(self, limits: Limits) -> float:
        now = time.time()
        pipe = self.redis.pipeline(transaction=False)
        for key, most in limits:
            pipe.zremrangebyscore(self.prefix + key, "-inf", now - self.window_s)
            pipe.zrange(self.prefix + key, -max(most, 1), -max(most, 1), withscores=True)
            pipe.zcard(self.prefix + key)
        found = await pipe.execute()
        waits = [0.0]
        for number, (_, most) in enumerate(limits):
            nth, count = found[3 * number + 1], found[3 * number + 2]
            if count >= most and nth:
                waits.append(nth[0][1] + self.window_s - now)
        return max(waits)

    async def add(self, keys: list[str]) -> None:
        now = time.time()
        pipe = self.redis.pipeline(transaction=False)
        for key in keys:
            pipe.zadd(self.prefix + key, {uuid.uuid4().hex[:12]: now})
            pipe.expire(self.prefix + key, int(self.window_s) + 1)
        await pipe.execute()
