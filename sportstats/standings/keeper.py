"""Keeping ledgers: filled from the upstream's games page by page, stored after every page (so
nothing is lost when a call fails: the next step resumes at the same page), one process at a
time per season, inside the ledger's share of the budget (`pace`), in the background and on
demand. A question gets a `LedgerView`: the games through the last complete date, and how far
the rest is."""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import datetime as dt
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..errors import QuotaSpent, UpstreamFailure
from ..settings import StandingsSettings
from ..upstream.client import CallCount, UpstreamClient
from ..upstream.league_clock import league_today
from ..upstream.routes import ROUTES
from ..upstream.shares import spending_for
from .arithmetic import Game
from .ledger import PAGE, Ledger, last_day
from .pace import Pace
from .store import MemoryLedgers

log = logging.getLogger(__name__)

GAMES = ROUTES["games"]
IDLE_CHECK_S = 3600.0  # with nothing due, the background looks again at least this often
FAILURE_PAUSE_S = (5.0, 300.0)  # the background's pause after a failed call: first, longest


@dataclass(frozen=True)
class LedgerView:
    """What a question is answered from: the games through `through`, and the state of the rest."""

    season: int
    games: list[Game]
    through: str | None
    complete: bool  # asked through today (or the season's end): nothing left to fill
    calls_left: int
    minutes_left: float
    failure: dict[str, Any] | None
    fetched_at: float  # when the ledger last heard from the upstream
    next_check_at: float | None


class LedgerKeeper:
    def __init__(
        self,
        upstream: UpstreamClient,
        ledgers: MemoryLedgers,
        settings: StandingsSettings,
        today: Callable[[], dt.date] = league_today,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.upstream = upstream
        self.ledgers = ledgers
        self.settings = settings
        self.today = today  # the league's day, and the wall clock: benches set their own
        self.clock = clock
        budget = upstream.budget  # its rate follows the plan once `auto` has learned it
        window_s = upstream.settings.window_s
        self.pace = Pace(
            lambda: budget.requests_per_minute,
            settings.fill_share,
            window_s,
            lambda: upstream.calls,
        )
        self._tasks: dict[int, asyncio.Task[None]] = {}
        self._wake: dict[int, asyncio.Event] = {}
        self._failures = 0

    async def load(self, season: int) -> Ledger:
        text = await self.ledgers.get(season)
        stored = Ledger.from_json(text) if text else None
        return stored if stored is not None and stored.season == season else Ledger(season)

    async def view(self, season: int) -> LedgerView:
        """The ledger as a question sees it, after filling what the pace allows within
        `answer_wait_s` (a warm ledger: at most one call, when an open date should be over)."""
        loop = asyncio.get_running_loop()
        give_up = loop.time() + self.settings.answer_wait_s
        ledger = await self.load(season)
        failure = None
        while ledger.due(self.today(), self.clock(), self.settings.refresh_s):
            if self.pace.wait_s() > 0 or loop.time() >= give_up:
                break
            try:  # the ledger's call, not the tester's: in a task of its own, billed to no one
                stepped = await asyncio.create_task(self._step_alone(season))
            except UpstreamFailure as exc:
                failure = exc
            ledger = await self.load(season)
            if failure is not None:
                break
            if not stepped:
                break
        if not ledger.done(self.today()):  # the rest in the background (after a pause if failed)
            self.wake(season, FAILURE_PAUSE_S[0] if failure else 0.0)
        if failure is not None and ledger.through is None:
            raise failure
        return self._view(ledger)

    def _view(self, ledger: Ledger) -> LedgerView:
        today = self.today()
        left = 0 if ledger.done(today) else ledger.calls_left(today)
        return LedgerView(
            season=ledger.season,
            games=ledger.finished(),
            through=ledger.through,
            complete=ledger.done(today),
            calls_left=left,
            minutes_left=left / max(self.pace.per_minute(), 0.001),
            failure=ledger.failure,
            fetched_at=ledger.checked_at,
            next_check_at=ledger.next_check_at(today, self.settings.refresh_s),
        )

    async def _step_alone(self, season: int) -> bool:
        spending_for(None)
        return await self.step(season)

    async def step(self, season: int) -> bool:
        """One upstream call's worth of filling, under the season's lock: True when it asked
        (or found nothing left to ask), False when another caller is filling."""
        async with self.ledgers.filling(season) as mine:
            if not mine:
                return False
            ledger = await self.load(season)  # as stored: another process may have moved it on
            window = ledger.next_window(self.today())
            if window is None:
                return True
            pairs = [
                ("seasons", str(season)),
                ("postseason", "false"),
                ("start_date", window.start),
                ("end_date", window.end),
                ("per_page", str(PAGE)),
            ]
            if window.cursor is not None:
                pairs.append(("cursor", str(window.cursor)))
            count = CallCount()
            try:
                payload = await self.upstream.get(GAMES, pairs, self.upstream.deadline())
            except QuotaSpent:  # the budget is busy: held back, not a failure of the upstream
                raise
            except UpstreamFailure as exc:
                ledger.failure = {"code": exc.code, "message": exc.message, "at": self.clock()}
                raise
            else:
                data = payload.get("data") if isinstance(payload, dict) else None
                meta = payload.get("meta") if isinstance(payload, dict) else None
                cursor = meta.get("next_cursor") if isinstance(meta, dict) else None
                ledger.take(data if isinstance(data, list) else [], cursor, self.clock())
                ledger.failure = None
            finally:
                calls = count.stop()
                self.pace.spent(calls)
                ledger.calls += calls
                await self.ledgers.put(season, ledger.to_json())
            return True

    def start(self, season: int, delay_s: float = 0.0) -> None:
        """Fill `season` in the background (the current one for good, from start-up)."""
        if season not in self._tasks or self._tasks[season].done():
            self._wake[season] = asyncio.Event()
            # A context of its own: a fill a question woke is not counted (nor charged) as that
            # question's upstream calls for as long as it runs.
            task = asyncio.create_task(self._keep(season, delay_s), context=contextvars.Context())
            self._tasks[season] = task

    def wake(self, season: int, delay_s: float = 0.0) -> None:
        """A question found the ledger incomplete: fill it in the background, from now or,
        after a failure, after `delay_s`."""
        if season in self._tasks and not self._tasks[season].done():
            if delay_s <= 0:
                self._wake[season].set()
        else:
            self.start(season, delay_s)

    async def _keep(self, season: int, delay_s: float) -> None:
        spending_for(None)
        await self._sleep(season, delay_s)
        while True:
            ledger = await self.load(season)
            today, now = self.today(), self.clock()
            if not ledger.due(today, now, self.settings.refresh_s):
                if ledger.through and ledger.through >= last_day(season).isoformat():
                    return  # a finished season never changes
                due_at = ledger.next_check_at(today, self.settings.refresh_s)
                pause = IDLE_CHECK_S if due_at is None else min(IDLE_CHECK_S, due_at - now)
                await self._sleep(season, max(1.0, pause))
                continue
            wait = self.pace.wait_s()
            if wait > 0:
                await self._sleep(season, wait)
                continue
            await self._sleep(season, await self._background_step(season))

    async def _background_step(self, season: int) -> float:
        """One step; the pause before the next (none after a step that asked)."""
        try:
            stepped = await self.step(season)
        except QuotaSpent as exc:  # the budget is busy: wait for a slot, not a failure
            return exc.retry_after_s or 1.0
        except UpstreamFailure as exc:
            self._failures += 1
            first, longest = FAILURE_PAUSE_S
            log.info("standings ledger %s: %s; trying again later", season, exc.code)
            return min(longest, first * 2 ** (self._failures - 1))
        self._failures = 0
        return 0.0 if stepped else 1.0

    async def _sleep(self, season: int, seconds: float) -> None:
        if seconds <= 0:
            return
        event = self._wake[season]
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(event.wait(), seconds)
        event.clear()

    async def close(self) -> None:
        for task in self._tasks.values():
            task.cancel()
        for task in self._tasks.values():
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._tasks.clear()
