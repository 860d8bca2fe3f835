"""A fair share of the upstream: no one caller (a tester, or an anonymous address) may spend more
than `upstream.tester_share` of the budget in any minute, so that one greedy question cannot leave
every other tester with `upstream_quota_spent`.

Who a question is for travels with it (`spending_for`, a context variable set by the surface that
admitted the request); every upstream request it makes, the per-player ones of season averages
included, is counted against that caller before it takes a slot of the budget. A question whose
calls run past the share gets what was fetched (season averages list the players not fetched in
`meta.errors`) or a 429 that says the share is spent and when it frees up. Counted per process.
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from contextvars import ContextVar

WINDOW_S = 60.0
MAX_SPENDERS = 10_000

_SPENDER: ContextVar[str | None] = ContextVar("upstream_spender", default=None)


def spending_for(spender: str | None) -> None:
    """Bill this task's upstream requests (and its children's) to `spender` (None: nobody)."""
    _SPENDER.set(spender)


def spender() -> str | None:
    return _SPENDER.get()


class Shares:
    """Upstream requests per caller in the last minute, each held to `per_minute`."""

    def __init__(self, per_minute: int, window_s: float = WINDOW_S) -> None:
        self.per_minute = per_minute
        self.window_s = window_s
        self._sent: OrderedDict[str, list[float]] = OrderedDict()

    def take(self, who: str | None) -> float:
        """Count one request for `who`: 0 if within their share, else seconds until it is."""
        if who is None or self.per_minute <= 0:
            return 0.0
        now = time.monotonic()
        sent = [at for at in self._sent.pop(who, []) if at > now - self.window_s]
        if len(sent) >= self.per_minute:
            self._sent[who] = sent
            return max(0.001, sent[0] + self.window_s - now)
        sent.append(now)
        self._sent[who] = sent
        while len(self._sent) > MAX_SPENDERS:
            self._sent.popitem(last=False)
        return 0.0


def share_of(requests_per_minute: int, share: float) -> int:
    """The requests a minute one caller may spend: at least one, none past the budget."""
    return max(1, min(requests_per_minute, math.floor(requests_per_minute * share)))
