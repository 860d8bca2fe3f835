"""Redis going and coming back, told once each: every part that uses Redis (the cache, the lock,
the budget, the rate limits) reports here, and only a change is logged. While Redis is away, the
parts do not even ask it (`usable`) but once a `PROBE_S`, so that a frozen or dead Redis costs
one short timeout now and then rather than one per operation of every request; each part falls
back on this process meanwhile (its share of the budget, local limits, no shared cache)."""

from __future__ import annotations

import logging
import time

log = logging.getLogger("sportstats.redis")

PROBE_S = 1.0  # while Redis is away, how often one operation tries it again


class RedisHealth:
    def __init__(self) -> None:
        self.down = False
        self.failures = 0  # operations that failed during the current outage
        self.next_probe = 0.0

    def usable(self) -> bool:
        """Worth asking Redis now? Always when it is up; once a `PROBE_S` while it is away."""
        if not self.down:
            return True
        now = time.monotonic()
        if now < self.next_probe:
            return False
        self.next_probe = now + PROBE_S
        return True

    def failed(self, what: str, exc: BaseException) -> None:
        self.failures += 1
        self.next_probe = time.monotonic() + PROBE_S
        if not self.down:
            self.down = True
            log.warning(
                "Redis is unavailable (%s: %s): %s and the rest fall back on this process",
                what,
                type(exc).__name__,
                what,
            )

    def ok(self) -> None:
        if self.down:
            log.info("Redis is back after %d failed operations", self.failures)
            self.down = False
            self.failures = 0


REDIS = RedisHealth()  # one per process: every Redis user shares it
