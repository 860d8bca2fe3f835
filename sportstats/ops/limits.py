"""What one client may ask: a token bucket per client (tester name, else client address).

`burst` requests at once, refilled at `requests_per_minute`; past it, 429 with `Retry-After`. Its
memory is bounded: the least recently seen clients are forgotten first (a forgotten client comes
back with a full bucket, as it would after a pause). With Redis the buckets live there, shared by
every worker (`SharedRateLimiter`), so several workers do not multiply a client's rate.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from aiohttp import web

from .. import errors
from ..errors import ApiError
from ..outage import REDIS
from ..settings import LimitsSettings
from .auth import CLIENT_ADDRESS, MCP_PATH, PROBE_PATHS, TESTER

log = logging.getLogger(__name__)


class RateLimiter:
    """One token bucket per client, in a bounded LRU map."""

    def __init__(
        self,
        requests_per_minute: int,
        burst: int,
        max_clients: int,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.rate_per_s = requests_per_minute / 60
        self.burst = burst
        self.max_clients = max_clients
        self.clock = clock
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()  # tokens, when

    def __len__(self) -> int:
        return len(self._buckets)

    def take(self, client: str) -> float:
        """Spend one of `client`'s requests: 0 when allowed, else the seconds until one is."""
        now = self.clock()
        tokens, then = self._buckets.pop(client, (float(self.burst), now))
        tokens = min(float(self.burst), tokens + (now - then) * self.rate_per_s)
        wait_s = 0.0
        if tokens >= 1:
            tokens -= 1
        else:
            wait_s = (1 - tokens) / self.rate_per_s
        self._buckets[client] = (tokens, now)
        while len(self._buckets) > self.max_clients:
            self._buckets.popitem(last=False)
        return wait_s


# KEYS[1]: the client's bucket; ARGV: tokens per ms, burst, most tokens to lease. Returns
# {tokens leased, ms until one is there (when none)}, as text.
_LEASE_TOKENS = """
local now = redis.call('TIME')
now = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
local rate, burst, most = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local bucket = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(bucket[1]) or burst
local at = tonumber(bucket[2]) or now
tokens = math.min(burst, tokens + math.max(0, now - at) * rate)
local leased, wait = math.min(most, math.floor(tokens)), 0
if leased >= 1 then tokens = tokens - leased else wait = (1 - tokens) / rate end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', now)
redis.call('PEXPIRE', KEYS[1], math.ceil(burst / rate) + 1000)
return {tostring(leased), tostring(wait)}
"""
LEASE_S = 1.0  # leased tokens not spent by then are let go (the bucket does not get them back)
REFUSED = -1  # a lease entry that remembers a refusal until the next token is due


class SharedRateLimiter:
    """The token buckets in Redis, one hash per client, updated atomically on Redis's clock.

    Each process leases a client's tokens a few at a time (`lease`) and spends them locally, so
    most requests cost no Redis round trip; the shared limit holds within `lease` requests per
    process (a lease lives `LEASE_S`). A bucket expires once it would be full again, so Redis
    holds only recent clients. If Redis fails, the process's own `RateLimiter` answers until it
    is back.
    """

    def __init__(self, redis: Any, prefix: str, local: RateLimiter, lease: int = 1) -> None:
        self.prefix = f"{prefix}client:"
        self.local = local
        # A lease is at most a quarter of the burst, so other processes still find tokens.
        self.lease = max(1, min(lease, local.burst // 4))
        self._script = redis.register_script(_LEASE_TOKENS)
        # client -> (tokens left, or REFUSED; until when)
        self._leases: dict[str, tuple[int, float]] = {}
        self._asking: dict[str, asyncio.Future[float | None]] = {}

    async def take(self, client: str) -> float:
        while True:
            wait_s = self._from_lease(client)
            if wait_s is not None:
                return wait_s
            asking = self._asking.get(client)
            if asking is None or asking.done():  # one lease request per client at a time
                asking = asyncio.ensure_future(self._lease(client))
                self._asking[client] = asking
            refused = await asyncio.shield(asking)
            if self._asking.get(client) is asking:
                del self._asking[client]
            if refused is not None:
                return refused

    def _from_lease(self, client: str) -> float | None:
        """0 when a leased token is spent, a wait when a refusal is remembered, else None."""
        now = time.monotonic()
        left, until = self._leases.get(client, (0, 0.0))
        if now >= until:
            return None
        if left >= 1:
            self._leases[client] = (left - 1, until)
            return 0.0
        return until - now if left == REFUSED else None

    async def _lease(self, client: str) -> float | None:
        """Lease tokens from the shared bucket (None: some were leased), else the wait."""
        now = time.monotonic()
        if not REDIS.usable():
            wait_s = self.local.take(client)
            return wait_s if wait_s else self._granted_locally(client, now)
        rate_per_ms = self.local.rate_per_s / 1000
        try:
            leased, wait_ms = await self._script(
                keys=[self.prefix + client],
                args=[repr(rate_per_ms), self.local.burst, self.lease],
            )
        except Exception as exc:  # Redis down: each process keeps to the limit on its own
            REDIS.failed("the rate limits", exc)
            wait_s = self.local.take(client)
            return wait_s if wait_s else self._granted_locally(client, now)
        REDIS.ok()
        if int(leased) >= 1:
            self._remember(client, int(leased), now + LEASE_S)
            return None
        wait_s = float(wait_ms) / 1000
        self._remember(client, REFUSED, now + min(wait_s, LEASE_S))
        return wait_s

    def _granted_locally(self, client: str, now: float) -> None:
        """The local limiter granted one: a lease of exactly that one token."""
        self._remember(client, 1, now + LEASE_S)

    def _remember(self, client: str, left: int, until: float) -> None:
        if len(self._leases) >= self.local.max_clients:  # bounded: drop the ended leases
            now = time.monotonic()
            self._leases = {k: v for k, v in self._leases.items() if v[1] > now}
        self._leases[client] = (left, until)


DEFAULT_REQUESTS_PER_MINUTE = 60


def requests_per_minute(settings: LimitsSettings, local_and_open: bool) -> int:
    """The limit in force: as configured, else none for a server only its own machine can
    reach without a credential (one local MCP session asks in bursts), else 60 a minute."""
    if settings.requests_per_minute is not None:
        return settings.requests_per_minute
    return 0 if local_and_open else DEFAULT_REQUESTS_PER_MINUTE


NOTIFYING_PATHS = frozenset({MCP_PATH})  # JSON-RPC: a message without an id is a notification


async def is_notification(request: web.Request) -> bool:
    """A JSON-RPC notification (an object without `id`)? The body is bounded by then
    (`web.bounds`), and aiohttp keeps it for the handler's own read."""
    if request.method != "POST":
        return False
    try:
        message = json.loads(await request.read())
    except (ValueError, RecursionError):
        return False
    return isinstance(message, dict) and "id" not in message and "method" in message


class ClientLimits:
    """The per-client rate limit, as a check that raises the JSON error.

    Each identified tester has a bucket of their own; anonymous callers one per address. MCP
    notifications (a POST without an id) need no answer and cost nothing, so they do not count.
    A plain method, not a middleware, so that the app runs every check of a request in one
    middleware (`web.front`): each middleware layer costs a cache hit a few microseconds.
    """

    def __init__(self, settings: LimitsSettings, local_and_open: bool = False) -> None:
        self.settings = settings
        self.local_and_open = local_and_open
        self.per_minute = requests_per_minute(settings, local_and_open)
        self.limiter = (
            RateLimiter(self.per_minute, settings.burst, settings.max_clients)
            if self.per_minute
            else None
        )
        self.shared: SharedRateLimiter | None = None

    def share(self, redis: Any, prefix: str) -> None:
        """Keep the buckets in Redis from now on (called once the app's Redis client exists)."""
        if self.limiter is not None:
            self.shared = SharedRateLimiter(redis, prefix, self.limiter, self.settings.lease)

    def caller(self, request: web.Request) -> str | None:
        """Who a request is for, for limits and the upstream share: the tester, else the
        address; nobody in particular on a server only its own machine can call openly."""
        tester = request.get(TESTER)
        if tester:
            return f"tester:{tester}"
        return None if self.local_and_open else f"address:{request.get(CLIENT_ADDRESS) or ''}"

    async def rate_limit(self, request: web.Request) -> None:
        """At most `requests_per_minute` per tester (or per address), in bursts of `burst`."""
        if self.limiter is None or request.method == "OPTIONS" or request.path in PROBE_PATHS:
            return
        if request.path in NOTIFYING_PATHS and await is_notification(request):
            return
        client = request.get(TESTER) or request.get(CLIENT_ADDRESS) or request.remote or ""
        if self.shared is not None:
            wait_s = await self.shared.take(client)
        else:
            wait_s = self.limiter.take(client)
        if wait_s:
            retry_after = max(1, math.ceil(wait_s))
            raise ApiError(
                429,
                errors.TOO_MANY_REQUESTS,
                f"Too many requests from this client: at most {self.per_minute}"
                f" per minute, {self.settings.burst} at once.",
                f"Wait {retry_after} s (Retry-After) before asking again.",
                {"Retry-After": str(retry_after)},
            )
