"""A circuit breaker: after repeated upstream failures, stop calling for a while, then probe.

    closed    --`failure_threshold` failures in a row-->  open
    open      --`cooldown_s` passed-->                    half-open (one probe may go)
    half-open --the probe succeeds-->                     closed
    half-open --the probe fails-->                        open (the cooldown starts again)

A success anywhere resets the count; a probe that was never sent (`release`) lets another go.
"""

from __future__ import annotations

import time

CLOSED, OPEN, HALF_OPEN = "closed", "open", "half-open"


class CircuitBreaker:
    def __init__(self, failure_threshold: int = 5, cooldown_s: float = 30.0) -> None:
        self.failure_threshold = failure_threshold
        self.cooldown_s = cooldown_s
        self.failures = 0
        self.opened_at: float | None = None
        self._probing = False

    @property
    def state(self) -> str:
        if self.opened_at is None:
            return CLOSED
        if time.monotonic() - self.opened_at >= self.cooldown_s:
            return HALF_OPEN
        return OPEN

    def retry_after_s(self) -> float:
        if self.opened_at is None:
            return 0.0
        return max(0.0, self.opened_at + self.cooldown_s - time.monotonic())

    def allow(self) -> bool:
        """May a call go now? In half-open state only one probe at a time may."""
        state = self.state
        if state == CLOSED:
            return True
        if state == HALF_OPEN and not self._probing:
            self._probing = True
            return True
        return False

    def release(self) -> None:
        """The allowed call was never sent: let another probe go."""
        self._probing = False

    def record(self, service_up: bool) -> None:
        """An answer came: the service looked up (even if it refused us) or down."""
        if service_up:
            self.record_success()
        else:
            self.record_failure()

    def record_success(self) -> None:
        self.failures = 0
        self.opened_at = None
        self._probing = False

    def record_failure(self) -> None:
        self._probing = False
        self.failures += 1
        if self.failures >= self.failure_threshold or self.opened_at is not None:
            self.opened_at = time.monotonic()
