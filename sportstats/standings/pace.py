"""The ledger's share of the upstream budget: while testers are asking (any upstream call not
the ledger's in the last window), at most `fill_share` of the budget a window, at least one
call, so their questions keep the rest; while none are, whatever the budget has free.
Counted in this process (one process fills a season at a time)."""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable

from ..upstream.shares import share_of


class Pace:
    def __init__(
        self,
        budget: Callable[[], int],
        share: float,
        window_s: float,
        all_calls: Callable[[], int],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._budget = budget  # read each time: `auto` learns the plan, and its budget, later
        self.share = share
        self.window_s = window_s
        self._all_calls = all_calls  # every upstream call this process sent, ours included
        self._clock = clock
        self._sent: deque[float] = deque()
        self.own = 0
        self._others = 0
        self._others_at = -math.inf

    @property
    def requests_per_minute(self) -> int:
        return self._budget()

    @property
    def per_window(self) -> int:
        """The ledger's calls a window while testers ask: its share, at least one."""
        return share_of(self.requests_per_minute, self.share)

    def spent(self, calls: int) -> None:
        """The ledger sent `calls` upstream requests just now."""
        now = self._clock()
        self.own += calls
        self._sent.extend([now] * calls)

    def testers_active(self) -> bool:
        now = self._clock()
        others = self._all_calls() - self.own
        if others != self._others:
            self._others, self._others_at = others, now
        return now - self._others_at < self.window_s

    def wait_s(self) -> float:
        """0 when the ledger may call now, else the seconds until it may."""
        now = self._clock()
        while self._sent and self._sent[0] <= now - self.window_s:
            self._sent.popleft()
        if not self.testers_active() or len(self._sent) < self.per_window:
            return 0.0
        return max(0.001, self._sent[-self.per_window] + self.window_s - now)

    def per_minute(self) -> float:
        """The calls a minute the ledger gets now, for saying how long the rest will take."""
        calls = self.per_window if self.testers_active() else self.requests_per_minute
        return calls * 60.0 / self.window_s
