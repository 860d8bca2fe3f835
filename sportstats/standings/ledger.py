"""The ledger of one season's finished regular-season games, and what to ask next to fill it.

A finished date never changes, so the ledger keeps `through`: the last date up to which every
game is known and final (or postponed: a postponed game counts for no one). It is filled oldest
first in date windows, each asked in pages of 100 games (`cursor` resumes a window after a
failure), and then kept current by asking only for the dates after `through`. Windows are sized
from the games a day seen so far to hold about `WINDOW_GAMES`, so that a season to date costs
about (finished games / 100) + a few calls. Plain data, stored as JSON (`to_json`), no I/O.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from dataclasses import asdict, dataclass, field
from typing import Any

from ..upstream.league_clock import tip_off
from .arithmetic import Game

ONE_DAY = dt.timedelta(days=1)
PAGE = 100  # games a page: the upstream's most
WINDOW_GAMES = 390  # a window's games, just under 4 pages, so a partial page wastes little
FIRST_WINDOW_DAYS = 45  # the season's first window: October's opening weeks
MIN_WINDOW_DAYS, MAX_WINDOW_DAYS = 7, 90
SEASON_START = (10, 1)  # no regular-season game before October 1st of its year
SEASON_END = (4, 30)  # nor after April 30th of the next, as a rule; the exceptions:
LATE_ENDS = {  # seasons whose regular season ran past April (a lockout, the pandemic)
    1998: dt.date(1999, 5, 5),
    2019: dt.date(2020, 8, 14),  # the seeding games in the Orlando bubble
    2020: dt.date(2021, 5, 16),
}
CUP_FINAL = "championship"  # the NBA Cup's final (`ist_stage`) counts in no team's record
GAME_S = 2.5 * 3600  # from tip-off to a final score, overtime included, as a rule
POSTPONED = frozenset({"postponed", "ppd", "canceled", "cancelled"})


def day(text: str) -> dt.date:
    return dt.date.fromisoformat(text[:10])


def first_day(season: int) -> dt.date:
    return dt.date(season, *SEASON_START)


def last_day(season: int) -> dt.date:
    return LATE_ENDS.get(season) or dt.date(season + 1, *SEASON_END)


@dataclass
class Window:
    """The dates being asked now, the page to ask next, and the first date still open."""

    start: str
    end: str
    cursor: int | None = None
    first_open: str | None = None  # earliest date with a game not yet final
    games: int = 0  # games seen in this window so far (final or not)
    # By date, when its last game not yet final should be over (tip-off + `GAME_S`; now if live)
    finishes: dict[str, float] = field(default_factory=dict)
    recheck: bool = False  # the dates after `through` asked again, not new ones


@dataclass
class Ledger:
    """One season's finished games and how far they are known."""

    season: int
    games: dict[str, list[Any]] = field(default_factory=dict)  # id -> Game fields
    through: str | None = None  # every game on or before this date is known and final
    window: Window | None = None  # the window being filled, for resuming
    asked_through: str | None = None  # the last date a finished window asked about
    games_a_day: float = 7.0  # seen so far, for sizing windows
    first_game: str | None = None
    checked_at: float = 0.0  # wall-clock time the ledger last reached today
    open_from: str | None = None  # the earliest date with a game not yet final
    open_until: float = 0.0  # when the open date's games should all be final (wall clock)
    calls: int = 0  # upstream calls spent on it, all processes together
    failure: dict[str, Any] | None = None  # the last failed ask, until one succeeds

    def finished(self) -> list[Game]:
        """The games up to `through`: the standings as of the last complete date."""
        if self.through is None:
            return []
        return [Game(*fields) for fields in self.games.values() if fields[1] <= self.through]

    def done(self, today: dt.date) -> bool:
        """Asked through today (or through the season's last day) with no window open."""
        return (
            self.window is None
            and self.asked_through is not None
            and (day(self.asked_through) >= min(today, last_day(self.season)))
        )

    def next_window(self, today: dt.date) -> Window | None:
        """The dates to ask next (the window under way, or a new one), None when up to date.

        Filling goes forward from the last date asked, in windows sized to hold about
        `WINDOW_GAMES`; once every date up to today is asked, the dates after the last complete
        one (`through`) are asked again, all at once, to see their games final."""
        if self.window is not None:
            return self.window
        last = min(today, last_day(self.season))
        if self.asked_through is None or day(self.asked_through) < last:
            start = day(self.asked_through) + ONE_DAY if self.asked_through else None
            start = start or first_day(self.season)
            if self.asked_through is None:
                days = FIRST_WINDOW_DAYS
            else:
                days = round(WINDOW_GAMES / max(self.games_a_day, 0.5))
                days = max(MIN_WINDOW_DAYS, min(MAX_WINDOW_DAYS, days))
            end = min(last, start + dt.timedelta(days=days - 1))
            self.window = Window(start.isoformat(), end.isoformat())
            return self.window
        start = day(self.through) + ONE_DAY if self.through else first_day(self.season)
        if start > last:
            return None
        self.window = Window(start.isoformat(), last.isoformat(), recheck=True)
        return self.window

    def take(self, page: list[dict[str, Any]], next_cursor: Any, now: float) -> None:
        """Merge one page of the window's games; close the window after its last page."""
        window = self.window
        assert window is not None
        for item in page:
            self._take_game(item, window, now)
        if isinstance(next_cursor, int) and not isinstance(next_cursor, bool) and page:
            window.cursor = next_cursor
            return
        self._close(window, now)

    def _take_game(self, item: Any, window: Window, now: float) -> None:
        if not isinstance(item, dict) or item.get("postseason") is True:
            return
        if str(item.get("ist_stage") or "").strip().lower() == CUP_FINAL:
            return
        if item.get("season") not in (None, self.season):
            return
        date = str(item.get("date") or "")[:10]
        if not (window.start <= date <= window.end):
            return
        window.games += 1
        status = str(item.get("status") or "").strip().lower()
        if item.get("postponed") is True or status in POSTPONED:
            self.games.pop(str(item.get("id")), None)
            return  # counts for no one, and does not hold the date open
        home, visitor = item.get("home_team") or {}, item.get("visitor_team") or {}
        scores = (item.get("home_team_score"), item.get("visitor_team_score"))
        ids = (item.get("id"), home.get("id"), visitor.get("id"))
        if status == "final" and all(isinstance(v, int) for v in (*scores, *ids)):
            if scores[0] == scores[1]:
                return  # no winner recorded: it counts for no one, and the date is not held open
            self.games[str(ids[0])] = [ids[0], date, ids[1], ids[2], *scores]
            if self.first_game is None or date < self.first_game:
                self.first_game = date
        else:
            if window.first_open is None or date < window.first_open:
                window.first_open = date
            finish = _finish(str(item.get("status") or ""), now)
            window.finishes[date] = max(window.finishes.get(date, 0.0), finish)

    def _close(self, window: Window, now: float) -> None:
        self.checked_at = now
        if window.recheck:  # every date after `through` asked again: the open date is anew
            self.open_from, self.open_until = None, 0.0
        if window.first_open is not None and (
            self.open_from is None or window.first_open < self.open_from
        ):
            self.open_from = window.first_open
            self.open_until = window.finishes.get(window.first_open, now)
        if self.open_from is not None:
            self.through = (day(self.open_from) - ONE_DAY).isoformat()
            if self.through < first_day(self.season).isoformat():
                self.through = None
        else:
            self.through = window.end
        self.asked_through = max(self.asked_through or window.end, window.end)
        if not window.recheck:
            first = max(day(window.start), day(self.first_game or window.start))
            span = (day(window.end) - first).days
            if window.games and span > 0:
                self.games_a_day = window.games / (span + 1)
        self.window = None

    def calls_left(self, today: dt.date) -> int:
        """About how many upstream calls it takes to reach today."""
        if self.done(today):
            return 0
        start = day(self.asked_through) if self.asked_through else first_day(self.season)
        days = max(0, (min(today, last_day(self.season)) - start).days)
        return max(1, math.ceil(days * self.games_a_day / PAGE) + 1)

    def due(self, today: dt.date, now: float, refresh_s: float) -> bool:
        """Worth asking the upstream now: filling, or an open date whose games should be over."""
        if not self.done(today):
            return True
        if self.through is not None and day(self.through) >= min(today, last_day(self.season)):
            return False
        return now >= max(self.checked_at + refresh_s, self.open_until)

    def next_check_at(self, today: dt.date, refresh_s: float) -> float | None:
        """When asking again is next worth it (None: never, or at the next day)."""
        if not self.done(today):
            return None
        if self.through is not None and day(self.through) >= min(today, last_day(self.season)):
            return None
        return max(self.checked_at + refresh_s, self.open_until)

    def to_json(self) -> str:
        return json.dumps(asdict(self), separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str | bytes) -> Ledger | None:
        """The stored ledger, or None when it is not one this code can read (written by another
        version, or damaged): it is then filled again, not a failure of every question."""
        try:
            data = json.loads(text)
            window = data.pop("window", None)
            return cls(**data, window=Window(**window) if window else None)
        except (ValueError, TypeError, AttributeError):
            return None


def _finish(status: str, now: float) -> float:
    """When a game not yet final should be: its tip-off (a scheduled game's status) plus
    `GAME_S`, or now for a live one."""
    moment = tip_off(status)
    return now if moment is None else moment.timestamp() + GAME_S
