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

from .store import guarded

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

# KEYS: the counted keys. ARGV: the window in ms, the event's receipt, then each key's limit.
# Counts the event under every key, or under none when one would pass its limit; returns the
# ms until it would be counted (0: it was). One step, so a burst of requests at once is
# counted as it comes and cannot slip past the limit together.
_TAKE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local window = tonumber(ARGV[1])
local wait = 0
for i, key in ipairs(KEYS) do
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
  redis.call('ZADD', key, now, ARGV[2])
  redis.call('PEXPIRE', key, window)
  local most = tonumber(ARGV[i + 2])
  local count = redis.call('ZCARD', key)
  if count > most then
    local nth = redis.call('ZRANGE', key, count - most - 1, count - most - 1, 'WITHSCORES')
    wait = math.max(wait, tonumber(nth[2]) + window - now, 1)
  end
end
if wait > 0 then
  for _, key in ipairs(KEYS) do redis.call('ZREM', key, ARGV[2]) end
end
return wait
"""


class Counts(Protocol):
    async def take(self, limits: Limits) -> tuple[float, str]:
        """Count one event under every key, unless one is at its limit: (0, a receipt) when
        counted, else (the seconds until it would be, "")."""
        ...

    async def give_back(self, keys: list[str], receipt: str) -> None:
        """Uncount the event `receipt` names (a sign-in that turned out right)."""
        ...


class MemoryCounts:
    """One process's counts: each key's events (time, receipt) within the window, oldest first."""

    def __init__(self, window_s: float = WINDOW_S, max_keys: int = MAX_KEYS) -> None:
        self.window_s = window_s
        self.max_keys = max_keys
        self._events: OrderedDict[str, list[tuple[float, str]]] = OrderedDict()

    def _recent(self, key: str, now: float) -> list[tuple[float, str]]:
        return [event for event in self._events.get(key, ()) if event[0] > now - self.window_s]

    async def take(self, limits: Limits) -> tuple[float, str]:
        now = time.monotonic()
        waits = []
        for key, most in limits:
            recent = self._recent(key, now)
            if len(recent) >= most:  # counted again once all but `most - 1` have left
                waits.append(recent[len(recent) - most][0] + self.window_s - now)
        if waits:
            return max(max(waits), 0.001), ""
        receipt = uuid.uuid4().hex[:12]
        for key, _ in limits:
            recent = self._recent(key, now)
            self._events.pop(key, None)
            self._events[key] = [*recent, (now, receipt)]
        while len(self._events) > self.max_keys:
            self._events.popitem(last=False)
        return 0.0, receipt

    async def give_back(self, keys: list[str], receipt: str) -> None:
        for key in keys:
            if key in self._events:
                self._events[key] = [e for e in self._events[key] if e[1] != receipt]


class RedisCounts:
    """The counts in Redis, one sorted set of events per key, shared by every worker."""

    def __init__(self, redis: Any, prefix: str, window_s: float = WINDOW_S) -> None:
        self.redis = redis
        self.prefix = f"{prefix}oauth:count:"
        self.window_s = window_s
        self._take = redis.register_script(_TAKE)

    async def take(self, limits: Limits) -> tuple[float, str]:
        receipt = uuid.uuid4().hex[:12]
        keys = [self.prefix + key for key, _ in limits]
        args = [int(self.window_s * 1000), receipt, *(max(1, most) for _, most in limits)]
        wait_ms = await guarded(lambda: self._take(keys=keys, args=args))
        wait_s = int(wait_ms) / 1000
        return (wait_s, "") if wait_s else (0.0, receipt)

    async def give_back(self, keys: list[str], receipt: str) -> None:
        pipe = self.redis.pipeline(transaction=False)
        for key in keys:
            pipe.zrem(self.prefix + key, receipt)
        await guarded(pipe.execute)
