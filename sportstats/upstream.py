"""The upstream client: one session, the key, the deadline, retries, and clear error mapping.

Every call carries an absolute deadline (loop time). Within it a call is retried only where that
is safe (connection errors, timeouts, 429 with a Retry-After that fits, 500/502/503/504), with
full-jitter exponential backoff, and only while the retry budget and circuit breaker allow. Every
attempt first takes a slot of the upstream budget, so the upstream never sees more than its quota.
"""

from __future__ import annotations

import asyncio
import email.utils
import json
import logging
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import aiohttp
from yarl import URL

from .breaker import CircuitBreaker
from .budget import BudgetSpent, RetryBudget, UpstreamBudget
from .errors import ApiError
from .settings import UpstreamSettings

log = logging.getLogger(__name__)

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
RETRY_AFTER_DEFAULT_S = 60
PLAN_NOTE = (
    "the free plan covers teams, players and games only; stats and season averages need"
    " the ALL-STAR plan or better"
)


class UpstreamError(ApiError):
    """An upstream failure, mapped to what our client may do about it.

    `transient` failures (5xx, 429, timeouts, connection errors, open breaker, spent budget) may be
    answered from a stale cached copy; the others (401, 404, ...) may not.
    """

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        hint: str,
        *,
        transient: bool,
        retry_after_s: float | None = None,
    ) -> None:
        headers = {}
        if retry_after_s is not None:
            headers["Retry-After"] = str(max(1, int(retry_after_s + 0.999)))
        super().__init__(status, code, message, hint, headers)
        self.transient = transient
        self.retry_after_s = retry_after_s


@dataclass
class Attempt:
    """What one upstream attempt produced, before the retry decision."""

    error: UpstreamError | None = None
    payload: Any = None
    retryable: bool = False
    retry_after_s: float | None = None
    outcome: str = "200"  # as in UpstreamEvent


@dataclass(frozen=True)
class UpstreamEvent:
    """One upstream attempt as metrics and the access log see it.

    `outcome` is the HTTP status ("200", "429", ...), "timeout" or "unreachable" for an attempt
    that was sent; "breaker_open", "budget_spent" or "deadline" for one held back unsent.
    """

    path: str
    outcome: str
    sent: bool
    retry: bool
    duration_s: float


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Retry-After as seconds, from either delta-seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    if value.isascii() and value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when is None:
        return None
    return max(0.0, when.timestamp() - (now if now is not None else time.time()))


class UpstreamClient:
    """Calls the BALLDONTLIE API. The API key goes in one header and nowhere else."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        base_url: str,
        api_key: str,
        settings: UpstreamSettings,
        budget: UpstreamBudget,
        breaker: CircuitBreaker | None = None,
        retry_budget: RetryBudget | None = None,
    ) -> None:
        self.session = session
        self.base_url = URL(base_url.rstrip("/"))
        self._headers = {"Authorization": api_key, "Accept": "application/json"}
        self.settings = settings
        self.budget = budget
        self.breaker = breaker or CircuitBreaker(
            settings.breaker_failures, settings.breaker_cooldown_s
        )
        self.retry_budget = retry_budget or RetryBudget()
        self.calls = 0  # attempts sent, for tests, benchmarks and metrics
        self.last_success: float | None = None  # wall-clock time of the last good answer
        self.observer: Callable[[UpstreamEvent], None] | None = None  # told of every attempt

    def url(self, path: str, params: Sequence[tuple[str, str]]) -> URL:
        return URL(str(self.base_url) + path).with_query(list(params))

    def deadline(self) -> float:
        """An absolute deadline (loop time) for one question, from now."""
        return asyncio.get_running_loop().time() + self.settings.deadline_s

    async def get(self, path: str, params: Sequence[tuple[str, str]], deadline: float) -> Any:
        """GET `path` and return its JSON, or raise `UpstreamError` before `deadline`."""
        loop = asyncio.get_running_loop()
        url = self.url(path, params)
        last: UpstreamError | None = None
        for attempt_no in range(1, self.settings.max_attempts + 1):
            if attempt_no > 1 and not self.retry_budget.allows_retry():
                log.warning("retry budget spent; not retrying %s", path)
                break
            attempt = await self._attempt(url, path, deadline, retry=attempt_no > 1)
            if attempt.error is None:
                self.retry_budget.record_success()
                return attempt.payload
            last = attempt.error
            if not attempt.retryable:
                break
            self.retry_budget.record_failure()
            if attempt_no == self.settings.max_attempts:
                break
            remaining = deadline - loop.time()
            if attempt.retry_after_s is not None:
                delay = attempt.retry_after_s
            else:
                cap = min(self.settings.backoff_max_s, self.settings.backoff_base_s * 2**attempt_no)
                delay = random.uniform(0, cap)
            if delay >= remaining - 0.05:  # no time left for the answer
                break
            await self._wait(delay)
        assert last is not None
        raise last

    async def _wait(self, delay_s: float) -> None:
        """The pause before a retry (its own method, so tests can see the delays)."""
        await asyncio.sleep(delay_s)

    async def _attempt(self, url: URL, path: str, deadline: float, retry: bool) -> Attempt:
        started = asyncio.get_running_loop().time()
        attempt = await self._send(url, path, deadline)
        if self.observer is not None:
            sent = attempt.outcome not in ("breaker_open", "budget_spent", "deadline")
            elapsed = asyncio.get_running_loop().time() - started
            self.observer(UpstreamEvent(path, attempt.outcome, sent, retry, elapsed))
        return attempt

    async def _send(self, url: URL, path: str, deadline: float) -> Attempt:
        loop = asyncio.get_running_loop()
        if not self.breaker.allow():
            wait = self.breaker.retry_after_s()
            return Attempt(
                UpstreamError(
                    503,
                    "upstream_unavailable",
                    "The upstream data service failed repeatedly; calls are paused briefly.",
                    f"Try again in {max(1, int(wait))} seconds.",
                    transient=True,
                    retry_after_s=wait,
                ),
                outcome="breaker_open",
            )
        remaining = deadline - loop.time()
        try:
            await self.budget.acquire(min(self.settings.budget_wait_s, max(0.0, remaining - 1)))
        except asyncio.CancelledError:
            self.breaker.release()
            raise
        except BudgetSpent as spent:
            self.breaker.release()
            return Attempt(
                UpstreamError(
                    429,
                    "upstream_quota_spent",
                    f"The upstream request quota ({self.budget.requests_per_minute} a minute)"
                    " is spent for now.",
                    f"Try again in {max(1, int(spent.retry_after_s + 0.999))} seconds;"
                    " answers already cached are still served.",
                    transient=True,
                    retry_after_s=spent.retry_after_s,
                ),
                outcome="budget_spent",
            )
        remaining = deadline - loop.time()
        if remaining <= 0:
            self.breaker.release()
            return Attempt(self._timeout(path), outcome="deadline")
        self.calls += 1
        try:
            async with self.session.get(
                url, headers=self._headers, timeout=aiohttp.ClientTimeout(total=remaining)
            ) as response:
                body = await response.read()
                status = response.status
                retry_after = parse_retry_after(response.headers.get("Retry-After"))
        except asyncio.CancelledError:
            self.breaker.release()  # a cancelled probe must not keep the breaker shut
            raise
        except TimeoutError:
            self.breaker.record_failure()
            return Attempt(self._timeout(path), retryable=True, outcome="timeout")
        except aiohttp.ClientError as exc:
            self.breaker.record_failure()
            log.warning("upstream %s unreachable: %s", path, type(exc).__name__)
            return Attempt(
                UpstreamError(
                    502,
                    "upstream_unreachable",
                    "The upstream data service could not be reached.",
                    "Try again in a minute.",
                    transient=True,
                ),
                retryable=True,
                outcome="unreachable",
            )
        attempt = self._judge(path, status, body, retry_after, deadline - loop.time())
        attempt.outcome = str(status)
        return attempt

    def _judge(
        self, path: str, status: int, body: bytes, retry_after: float | None, remaining: float
    ) -> Attempt:
        if status == 200:
            try:
                payload = json.loads(body)
                if not isinstance(payload, dict):
                    raise ValueError("not an object")
            except ValueError:
                self.breaker.record_failure()
                return Attempt(
                    UpstreamError(
                        502,
                        "upstream_bad_response",
                        "The upstream data service sent an answer that is not valid JSON.",
                        "Try again in a minute.",
                        transient=True,
                    )
                )
            self.breaker.record_success()
            self.last_success = time.time()
            return Attempt(payload=payload)
        log.warning("upstream %s answered HTTP %s", path, status)
        if status in (401, 403):
            self.breaker.record_success()  # the service is up; it refuses us
            return Attempt(
                UpstreamError(
                    502,
                    "upstream_refused",
                    f"The upstream data service refused this server's API key for {path}:"
                    f" the key is invalid, or its plan does not cover {path} ({PLAN_NOTE}).",
                    "Ask the server's operator to check BALLDONTLIE_API_KEY and its plan.",
                    transient=False,
                )
            )
        if status == 404:
            self.breaker.record_success()
            return Attempt(
                UpstreamError(
                    404,
                    "not_found",
                    "The upstream has no record for that id.",
                    "Look the id up with /players, /teams or /games first.",
                    transient=False,
                )
            )
        if status == 429:
            self.breaker.record_success()
            wait = retry_after if retry_after is not None else RETRY_AFTER_DEFAULT_S
            return Attempt(
                UpstreamError(
                    429,
                    "upstream_rate_limited",
                    "The upstream data service's rate limit is reached.",
                    f"Try again in {max(1, int(wait + 0.999))} seconds.",
                    transient=True,
                    retry_after_s=wait,
                ),
                # Without Retry-After a 429 means "this minute is spent": retrying now only
                # wastes quota, so only a Retry-After that fits the deadline is waited for.
                retryable=retry_after is not None and retry_after < remaining,
                retry_after_s=retry_after,
            )
        if status >= 500:
            self.breaker.record_failure()
            if retry_after is not None and retry_after >= remaining:
                # The upstream says when it is back, and that is past our deadline: pass it on.
                return Attempt(
                    UpstreamError(
                        503,
                        "upstream_unavailable",
                        f"The upstream data service is unavailable (HTTP {status}).",
                        f"Try again in {max(1, int(retry_after + 0.999))} seconds.",
                        transient=True,
                        retry_after_s=retry_after,
                    )
                )
            return Attempt(
                UpstreamError(
                    502,
                    "upstream_error",
                    f"The upstream data service failed (HTTP {status}).",
                    "Try again in a minute.",
                    transient=True,
                ),
                retryable=status in RETRY_STATUSES,
                retry_after_s=retry_after,
            )
        self.breaker.record_success()
        return Attempt(
            UpstreamError(
                502,
                "upstream_rejected",
                f"The upstream data service rejected the request (HTTP {status}).",
                "Check the parameters against /openapi.yaml; if they are right, report it.",
                transient=False,
            )
        )

    def _timeout(self, path: str) -> UpstreamError:
        return UpstreamError(
            504,
            "upstream_timeout",
            f"The upstream data service did not answer {path} in time"
            f" ({self.settings.deadline_s:g} s).",
            "Try again in a minute, or narrow the question (fewer players, a shorter date range).",
            transient=True,
        )
