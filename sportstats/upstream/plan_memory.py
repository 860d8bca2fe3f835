"""What was learned about the key's plan, kept where every process sharing the key finds it.

Three facts, each with the time it is forgotten: the learned plan, the routes the upstream
refused (401 while the key was accepted elsewhere), and a rejected key. In memory for one process;
in Redis (`<prefix>plan:<key hash>:...`) for every process that shares it, so that a second
process asks nothing the first already learned. Keys are named by a hash of the API key: a new
key starts with nothing learned, and the key itself is never written anywhere.
"""

from __future__ import annotations

import hashlib
import logging
import time
from dataclasses import dataclass, field

from redis.exceptions import RedisError

from ..outage import REDIS

log = logging.getLogger(__name__)

PROBE_CLAIM_S = 30.0  # how long one process may hold the right to probe before another may


@dataclass
class Learned:
    """The facts as last read: plan (None: not learned), refused routes and when each is
    forgotten (wall clock), until when the key counts as rejected (0: it does not)."""

    plan: str | None = None
    plan_until: float = 0.0
    refused: dict[str, float] = field(default_factory=dict)
    key_rejected_until: float = 0.0

    def current(self, now: float) -> Learned:
        """The facts still true at `now`."""
        return Learned(
            self.plan if self.plan_until > now else None,
            self.plan_until if self.plan_until > now else 0.0,
            {route: until for route, until in self.refused.items() if until > now},
            self.key_rejected_until if self.key_rejected_until > now else 0.0,
        )


class PlanMemory:
    """The facts of one process (no Redis configured)."""

    shared = False

    def __init__(self) -> None:
        self._learned = Learned()

    async def read(self) -> Learned:
        return self._learned.current(time.time())

    async def learn_plan(self, plan: str, until: float) -> None:
        self._learned.plan, self._learned.plan_until = plan, until

    async def refuse(self, route: str, until: float) -> None:
        self._learned.refused[route] = until

    async def accept(self, route: str) -> None:
        self._learned.refused.pop(route, None)

    async def reject_key(self, until: float) -> None:
        self._learned.key_rejected_until = until

    async def claim_probes(self) -> bool:
        return True

    async def release_probes(self) -> None:
        return None

    async def forget(self) -> None:
        self._learned = Learned()


class RedisPlanMemory(PlanMemory):
    """The facts shared by every process using the same Redis, prefix and API key.

    While Redis is away each process keeps its own copy (the base class's) and says so once
    (`outage.REDIS`); what it learns meanwhile is its own until Redis is back.
    """

    shared = True

    def __init__(self, redis, prefix: str, api_key: str) -> None:
        super().__init__()
        self._redis = redis
        digest = hashlib.sha256(api_key.encode()).hexdigest()[:16]
        self._base = f"{prefix}plan:{digest}:"

    def _key(self, name: str) -> str:
        return self._base + name

    async def read(self) -> Learned:
        if not REDIS.usable():
            return await super().read()
        try:
            plan, plan_ttl_ms, refused, key_ttl_ms = await (
                self._redis.pipeline(transaction=False)
                .get(self._key("learned"))
                .pttl(self._key("learned"))
                .hgetall(self._key("refused"))
                .pttl(self._key("key_rejected"))
                .execute()
            )
        except RedisError as exc:
            REDIS.failed("the learned plan", exc)
            return await super().read()
        REDIS.ok()
        now = time.time()
        learned = Learned(
            plan.decode() if plan else None,
            now + plan_ttl_ms / 1000 if plan and plan_ttl_ms > 0 else 0.0,
            {name.decode(): float(until) for name, until in refused.items()},
            now + key_ttl_ms / 1000 if key_ttl_ms > 0 else 0.0,
        )
        return learned.current(now)

    async def _write(self, what: str, *commands: tuple) -> None:
        """Run `commands` (name, args...) in one pipeline; a Redis failure is told once."""
        if not REDIS.usable():
            return
        try:
            pipe = self._redis.pipeline(transaction=True)
            for name, *args in commands:
                getattr(pipe, name)(*args)
            await pipe.execute()
        except RedisError as exc:
            REDIS.failed(what, exc)
        else:
            REDIS.ok()

    async def learn_plan(self, plan: str, until: float) -> None:
        await super().learn_plan(plan, until)
        ttl_ms = max(1, int((until - time.time()) * 1000))
        await self._write("the learned plan", ("set", self._key("learned"), plan, None, ttl_ms))

    async def refuse(self, route: str, until: float) -> None:
        await super().refuse(route, until)
        ttl_ms = max(1, int((until - time.time()) * 1000))
        key = self._key("refused")
        await self._write("the learned plan", ("hset", key, route, until), ("pexpire", key, ttl_ms))

    async def accept(self, route: str) -> None:
        await super().accept(route)
        await self._write("the learned plan", ("hdel", self._key("refused"), route))

    async def reject_key(self, until: float) -> None:
        await super().reject_key(until)
        ttl_ms = max(1, int((until - time.time()) * 1000))
        key = self._key("key_rejected")
        await self._write("the learned plan", ("set", key, "1", None, ttl_ms))

    async def claim_probes(self) -> bool:
        """The right to probe, for one process at a time (another waits for its answers)."""
        if not REDIS.usable():
            return True
        try:
            claimed = await self._redis.set(
                self._key("probing"), "1", nx=True, px=int(PROBE_CLAIM_S * 1000)
            )
        except RedisError as exc:
            REDIS.failed("the learned plan", exc)
            return True
        return bool(claimed)

    async def release_probes(self) -> None:
        await self._write("the learned plan", ("delete", self._key("probing")))

    async def forget(self) -> None:
        await super().forget()
        names = ("learned", "refused", "key_rejected", "probing")
        await self._write("the learned plan", ("delete", *map(self._key, names)))
