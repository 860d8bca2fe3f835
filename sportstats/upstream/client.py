"""The upstream client: one session, the key, the deadline and retries (`verdicts` says what
each answer means).

Every call carries an absolute deadline (loop time). Within it a call is retried only where that
is safe (connection errors, timeouts, 429 with a Retry-After that fits, 500/502/503/504), with
full-jitter exponential backoff, and only while the retry budget and circuit breaker allow. Every
attempt first takes a slot of the upstream budget, so the upstream never sees more than its quota.
"""

from __future__ import annotations

import asyncio
import email.utils
import logging
import random
import time
from collections.abc import Callable, Sequence
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

import aiohttp
from yarl import URL

from .. import errors
from ..errors import UpstreamFailure
from ..settings import UpstreamSettings
from .breaker import CircuitBreaker
from .budget import BudgetSpent, RetryBudget, UpstreamBudget
from .coverage import Change, Coverage
from .learning import REFUSALS, PlanLearning, ambiguous_refusal
from .plan_memory import PlanMemory
from .routes import LEAGUE, Route, RouteBase
from .shares import Shares, share_of, spender
from .verdicts import Answered, Verdict, judge

log = logging.getLogger(__name__)

# The call counts open in this context: a request's and, inside it, an answer's. Tasks a caller
# starts copy the context, so calls made by a fetch it started count for it.
_COUNTS: ContextVar[tuple[CallCount, ...]] = ContextVar("upstream_call_counts", default=())


class CallCount:
    """Upstream requests sent while it counts, by this task and the tasks it starts."""

    __slots__ = ("sent", "_token")

    def __init__(self) -> None:
        self.sent = 0
        self._token = _COUNTS.set((*_COUNTS.get(), self))

    def stop(self) -> int:
        """Stop counting (in the context that started it); the calls counted."""
        _COUNTS.reset(self._token)
        return self.sent


# Outcomes of attempts held back unsent.
HELD_BACK = frozenset({"share_spent", "breaker_open", "budget_spent", "deadline"})


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
        coverage: Coverage | None = None,
        source: str = LEAGUE.source,
        caveat: str | None = None,
    ) -> None:
        self.session = session
        self.routes = RouteBase.read(base_url)
        log.info("%s", self.routes.reading)
        self.source = source  # the upstream's name, as every answer's meta.source cites it
        self.caveat = caveat  # what every answer from it must say (the sample: not real)
        self._headers = {"Authorization": api_key, "Accept": "application/json"}
        self.settings = settings
        self.budget = budget
        self.breaker = breaker or CircuitBreaker(
            settings.breaker_failures, settings.breaker_cooldown_s
        )
        self.retry_budget = retry_budget or RetryBudget()
        self.shares = Shares(
            share_of(budget.requests_per_minute, settings.tester_share), settings.window_s
        )
        self.calls = 0  # attempts sent, for tests, benchmarks and metrics
        self.last_success: float | None = None  # wall-clock time of the last good answer
        self.observer: Callable[[UpstreamEvent], None] | None = None  # told of every attempt
        self.coverage = coverage or Coverage(
            settings.plan, PlanMemory(), settings.plan_memory_s, settings.requests_per_minute
        )
        self.coverage.listeners.append(self._plan_changed)
        self._plan_changed(Change(plan_changed=True, routes_changed=False))
        self.learning = PlanLearning(self.coverage, self.probe)
        self._proven: set[str] = set()  # routes answered here: asked without a trial
        self._trials: dict[str, asyncio.Lock] = {}

    def _plan_changed(self, change: Change) -> None:
        """The plan is set, learned or forgotten: the budget (and each tester's share) follows."""
        if not change.plan_changed:
            return
        per_minute = self.coverage.requests_per_minute
        self.budget.requests_per_minute = per_minute
        self.shares.per_minute = share_of(per_minute, self.settings.tester_share)

    def url(self, route: Route, params: Sequence[tuple[str, str]], **path_params: str) -> URL:
        return self.routes.url(route, params, **path_params)

    def deadline(self) -> float:
        """An absolute deadline (loop time) for one question, from now."""
        return asyncio.get_running_loop().time() + self.settings.deadline_s

    async def get(
        self,
        route: Route,
        params: Sequence[tuple[str, str]],
        deadline: float,
        **path_params: str,
    ) -> Any:
        """GET `route` and return its JSON, or raise an `UpstreamFailure` before `deadline`.

        A route the key's plan lacks (as set or learned) is refused before any call; a 401 is
        never retried: it teaches the plan (`coverage`) and is refused in the words that fit.
        """
        await self.coverage.sync()
        self.learning.ensure()
        if route.name in self._proven:
            return await self._ask(route, params, deadline, path_params)
        # A route not yet answered here is asked by one caller at a time, on the freshest shared
        # facts: a route outside the plan then costs one call, not one per concurrent caller.
        trial = self._trials.setdefault(route.name, asyncio.Lock())
        remaining = deadline - asyncio.get_running_loop().time()
        try:
            await asyncio.wait_for(trial.acquire(), max(0.0, remaining))
        except TimeoutError:
            raise self._timeout(f"/{route.name}") from None
        if route.name in self._proven:  # answered while this caller waited: no trial left
            trial.release()
            return await self._ask(route, params, deadline, path_params)
        try:
            await self.coverage.sync(force=True)
            return await self._ask(route, params, deadline, path_params)
        finally:
            trial.release()

    async def _ask(
        self,
        route: Route,
        params: Sequence[tuple[str, str]],
        deadline: float,
        path_params: dict[str, str],
    ) -> Any:
        """The attempts at one upstream question, retried where that is safe."""
        loop = asyncio.get_running_loop()
        refusal = self.coverage.refusal(route)
        if refusal is not None:
            raise refusal
        url = self.url(route, params, **path_params)
        path = f"/{route.name}"
        last: UpstreamFailure | None = None
        for attempt_no in range(1, self.settings.max_attempts + 1):
            if attempt_no > 1 and not self.retry_budget.allows_retry():
                log.warning("retry budget spent; not retrying %s", path)
                break
            verdict, outcome = await self._attempt(url, path, deadline, retry=attempt_no > 1)
            if verdict.failure is None:
                self.retry_budget.record_success()
                self._proven.add(route.name)
                await self.coverage.answered(route)
                return verdict.payload
            if outcome.isdigit() and int(outcome) in REFUSALS:
                told = await self.learning.tell_apart(route, deadline)
                raise told or ambiguous_refusal(route)
            if outcome.isdigit():  # answered, not refused (a 5xx, a 429): its trial is over
                self._proven.add(route.name)
            last = verdict.failure
            if not verdict.retryable:
                break
            self.retry_budget.record_failure()
            if attempt_no == self.settings.max_attempts:
                break
            delay = verdict.retry_after_s
            if delay is None:
                cap = min(self.settings.backoff_max_s, self.settings.backoff_base_s * 2**attempt_no)
                delay = random.uniform(0, cap)
            if delay >= deadline - loop.time() - 0.05:  # no time left for the answer
                break
            await self._wait(delay)
        assert last is not None
        raise last

    async def _wait(self, delay_s: float) -> None:
        """The pause before a retry (its own method, so tests can see the delays)."""
        await asyncio.sleep(delay_s)

    async def probe(
        self, route: Route, params: Sequence[tuple[str, str]], deadline: float
    ) -> int | None:
        """One attempt at `route` for learning the plan: its HTTP status, None without one."""
        _, outcome = await self._attempt(self.url(route, params), f"/{route.name}", deadline)
        if not outcome.isdigit():
            return None
        status = int(outcome)
        if status == 429 or status >= 500:
            return None
        if status not in REFUSALS:
            await self.coverage.answered(route)
        return status

    async def _attempt(
        self, url: URL, path: str, deadline: float, retry: bool = False
    ) -> tuple[Verdict, str]:
        started = asyncio.get_running_loop().time()
        verdict, outcome = await self._send(url, path, deadline)
        if self.observer is not None:
            sent = outcome not in HELD_BACK
            elapsed = asyncio.get_running_loop().time() - started
            self.observer(UpstreamEvent(path, outcome, sent, retry, elapsed))
        return verdict, outcome

    async def _send(self, url: URL, path: str, deadline: float) -> tuple[Verdict, str]:
        """One attempt, if the breaker and the budget let it go: its verdict and outcome."""
        loop = asyncio.get_running_loop()
        wait = self.shares.take(spender())
        if wait:
            return Verdict(failure=self._share_spent(wait)), "share_spent"
        if not self.breaker.allow():
            wait = self.breaker.retry_after_s()
            return Verdict(failure=_paused(wait)), "breaker_open"
        try:
            remaining = deadline - loop.time()
            slot = await self.budget.acquire(
                min(self.settings.budget_wait_s, max(0.0, remaining - 1))
            )
        except asyncio.CancelledError:
            self.breaker.release()
            raise
        except BudgetSpent as spent:
            self.breaker.release()
            return Verdict(failure=self._quota_spent(spent.retry_after_s)), "budget_spent"
        remaining = deadline - loop.time()
        if remaining <= 0:
            self.breaker.release()
            await self.budget.finish(slot)
            return Verdict(failure=self._timeout(path)), "deadline"
        try:
            return await self._request(url, path, deadline)
        finally:  # held 60 s from the answer: the upstream counted it at most that long ago
            await self.budget.finish(slot)

    async def _request(self, url: URL, path: str, deadline: float) -> tuple[Verdict, str]:
        """The request itself, once it has its slot."""
        loop = asyncio.get_running_loop()
        remaining = deadline - loop.time()
        self.calls += 1
        for count in _COUNTS.get():
            count.sent += 1
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
            return Verdict(failure=self._timeout(path), retryable=True), "timeout"
        except aiohttp.ClientError as exc:
            self.breaker.record_failure()
            log.warning("upstream %s unreachable: %s", path, type(exc).__name__)
            unreachable = errors.UpstreamUnreachable(
                "The upstream data service could not be reached."
            )
            return Verdict(failure=unreachable, retryable=True), "unreachable"
        if status != 200:
            log.warning("upstream %s answered HTTP %s", path, status)
        verdict = judge(Answered(path, status, body, retry_after, deadline - loop.time()))
        self.breaker.record(verdict.service_up)
        if verdict.failure is None:
            self.last_success = time.time()
        return verdict, str(status)

    def _quota_spent(self, retry_after_s: float) -> errors.QuotaSpent:
        return errors.QuotaSpent(
            f"The upstream request quota ({self.budget.requests_per_minute} a minute)"
            " is spent for now.",
            retry_after_s=retry_after_s,
        )

    def _share_spent(self, retry_after_s: float) -> errors.ShareSpent:
        return errors.ShareSpent(
            f"Your share of the upstream ({self.shares.per_minute} of its"
            f" {self.budget.requests_per_minute} requests a minute) is spent for now, so that"
            " other testers can still ask.",
            retry_after_s=retry_after_s,
        )

    def _timeout(self, path: str) -> errors.UpstreamTimedOut:
        return errors.UpstreamTimedOut(
            f"The upstream data service did not answer {path} in time"
            f" ({self.settings.deadline_s:g} s)."
        )


def _paused(wait_s: float) -> errors.UpstreamUnavailable:
    return errors.UpstreamUnavailable(
        "The upstream data service failed repeatedly; calls are paused briefly.",
        retry_after_s=wait_s,
    )
