"""`auto`: learning the key's plan from the upstream, in at most three cheap calls.

At start-up (and when what was learned is forgotten or proves wrong) one process asks the
cheapest plan's question (is the key good at all?), then each paid plan's, cheapest first, and
stops at the first refusal: a free key costs two calls, a paid one three at most. The calls take
budget slots like any other. With Redis one process probes and the others wait for its answer,
so a second process asks nothing. A probe that gets no answer (timeout, 5xx, 429, budget spent)
leaves the plan unknown, budgeted as the cheapest, and is tried again after `RETRY_S`.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
import time
from collections.abc import Awaitable, Callable, Sequence

from .. import errors
from ..errors import UpstreamFailure
from .coverage import Coverage
from .plans import AUTO, CHEAPEST, PLANS, Plan, probe_route
from .routes import Route

log = logging.getLogger(__name__)

REFUSALS = frozenset({401, 403})
PROBE_DEADLINE_S = 10.0
WAIT_FOR_OTHER_S = 10.0  # how long a process waits for another's probes before its own start-up
RETRY_S = 60.0  # after probes that got no answer
POLL_S = 0.2

# Sends one attempt (no retry, no refusal handling) and returns its HTTP status, or None when
# no answer came (timeout, unreachable, held back by the budget or the breaker).
Probe = Callable[[Route, Sequence[tuple[str, str]], float], Awaitable[int | None]]


class PlanLearning:
    """Learns the plan for `coverage` by asking `probe` the plans' cheap questions."""

    def __init__(self, coverage: Coverage, probe: Probe) -> None:
        self.coverage = coverage
        self._probe = probe
        self._task: asyncio.Task[None] | None = None
        self._failed_at = float("-inf")
        self.probes_sent = 0  # by this process, for tests and benchmarks

    @property
    def needed(self) -> bool:
        c = self.coverage
        return c.setting == AUTO and c.plan is None and not c.key_rejected

    def ensure(self) -> asyncio.Task[None] | None:
        """Start learning in the background when it is needed and not running or just failed."""
        if not self.needed or (self._task is not None and not self._task.done()):
            return self._task
        if time.monotonic() - self._failed_at < RETRY_S:
            return None
        # A context of its own: the probes are no question's calls, whichever started them.
        self._task = asyncio.create_task(self._learn_or_wait(), context=contextvars.Context())
        return self._task

    async def _learn_or_wait(self) -> None:
        """`learn`, and after an error in it too, wait `RETRY_S` before the next try (not a new
        task on every upstream call); the error is logged once, not left unretrieved."""
        try:
            await self.learn()
        except Exception:
            self._failed_at = time.monotonic()
            log.exception("learning the upstream plan failed; trying again in %g s", RETRY_S)

    async def learn(self) -> None:
        """Learn the plan (or that the key is rejected), or leave it unknown for `RETRY_S`."""
        await self.coverage.sync(force=True)
        if not self.needed:
            return
        memory = self.coverage.memory
        if not await memory.claim_probes():
            if await self._wait_for_other():
                return
            log.warning("no other process learned the upstream plan in time: probing here")
        try:
            learned = await self._ask()
        finally:
            await memory.release_probes()
        if not learned:
            self._failed_at = time.monotonic()
            log.warning(
                "could not learn the upstream plan (no answer); budgeting as the %s plan does"
                " (%d a minute) and trying again in %g s",
                CHEAPEST.label,
                self.coverage.requests_per_minute,
                RETRY_S,
            )

    async def _wait_for_other(self) -> bool:
        give_up = time.monotonic() + WAIT_FOR_OTHER_S
        while time.monotonic() < give_up:
            await asyncio.sleep(POLL_S)
            await self.coverage.sync(force=True)
            if not self.needed:
                return True
        return False

    async def _ask(self) -> bool:
        """The probes, cheapest plan first; True once the answer is known."""
        deadline = asyncio.get_running_loop().time() + PROBE_DEADLINE_S
        known: Plan | None = None
        for plan in PLANS:
            status = await self._ask_plan(plan, deadline)
            if status is None:
                return False
            if status in REFUSALS:
                if known is None:  # refused on what every plan serves: the key itself
                    await self.coverage.reject_key()
                    return True
                break
            known = plan
        assert known is not None
        await self.coverage.learn_plan(known)
        return True

    async def _ask_plan(self, plan: Plan, deadline: float) -> int | None:
        self.probes_sent += 1
        return await self._probe(probe_route(plan), plan.probe[1], deadline)

    async def tell_apart(self, route: Route, deadline: float) -> UpstreamFailure | None:
        """A 401 on `route`: a route outside the plan, or a bad key? Known once the key was
        accepted anywhere; else the cheapest plan's question (one call) says. None: no answer
        came to tell them apart."""
        if not self.coverage.key_accepted and route.cheapest_plan != CHEAPEST.name:
            status = await self._ask_plan(CHEAPEST, deadline)
            if status is None:
                return None
            if status in REFUSALS:
                return await self.coverage.reject_key()
            self.coverage.key_accepted = True
        return await self.coverage.refused(route)

    async def close(self) -> None:
        if self._task is not None and not self._task.done():
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task


def ambiguous_refusal(route: Route) -> errors.UpstreamRefused:
    """A 401 that could not be told apart (no answer to the check)."""
    return errors.UpstreamRefused(
        f"The upstream data service refused this server's API key for {route.name}: the key is"
        " invalid, or its plan does not cover it."
    )
