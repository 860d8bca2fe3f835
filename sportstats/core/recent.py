"""`last` N: the N most recent finished games, found by searching back through time.

The upstream lists games and box-score lines by date, not newest first, so the search asks it
for date windows, newest window first, each sized to hold about N games in one page of 100, and
doubling while it finds too few (a team's last game may lie weeks back, across the All-Star
break or the off-season). It stops when it has N games, when it reaches how far back it may look
(the question's `start_date` or seasons, else the start of the previous season), or after the
configured number of window fetches (`upstream.last_max_calls`): each fetch is an ordinary cached
question, so it costs at most one upstream call. A team's box-score lines (the upstream's
`/stats` has no team filter) are found through that team's games, then their lines by game.
With an `opponent`, only the meetings count, and the windows start as wide as a page allows
(a team meets one opponent a few times a season).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from .dates import league_today
from .endpoints import GAMES, Endpoint
from .params import LIMIT_MAX, Query, current_season
from .shape import kept
from .tables import is_final_result

Row = dict[str, Any]
# One page of a question through the cache: its answer (columns, data, meta).
Page = Callable[[Endpoint, Query], Awaitable[dict[str, Any]]]
Keep = Callable[[Row], bool]

LEAGUE_GAMES_PER_DAY = 15.0  # the most NBA games in a day: league-wide windows fit a page
TEAM_GAMES_PER_DAY = 0.5  # a team (or a player) plays about every other day in season
PAGE_ROOM = 80  # rows a window is sized for, under the page of 100
GAMES_PER_LINES_PAGE = 3  # games whose box-score lines (about 26 each) share one page
SEASON_FIRST_DAY = (8, 1)  # seasons are looked through from August 1st, before the preseason
SEASON_LAST_DAY = (7, 31)


@dataclass
class Search:
    """One `last` question's search: its bound, what it fetched and how far back it looked."""

    page: Page
    bound: int
    today: dt.date = field(default_factory=league_today)
    calls: int = 0
    looked_from: str | None = None
    looked_to: str | None = None
    stopped_by_bound: bool = False

    async def games(self, base: Query, n: int, keep: Keep | None = None) -> list[Row]:
        """The newest `n` finished games of `/games` matching `base` (and `keep`), newest
        first."""
        teams = base.get("team_ids")
        per_day = TEAM_GAMES_PER_DAY * len(teams) if teams else LEAGUE_GAMES_PER_DAY
        found: dict[Any, Row] = {}

        def enough() -> bool:
            return len(found) >= n

        async for rows in self._windows(GAMES, base, n, per_day, enough, wide=keep is not None):
            for row in rows:
                final = row.get("status") == "Final" and row.get("game_id") is not None
                if final and (keep is None or keep(row)):
                    found[row["game_id"]] = row
        return newest_first(list(found.values()))[:n]

    async def lines_per_player(
        self, endpoint: Endpoint, base: Query, n: int, keep: Keep | None = None
    ) -> list[Row]:
        """Each player's lines in their `n` newest finished games that they played in (and
        that `keep` keeps)."""
        players = base.get("player_ids") or ()
        found: dict[tuple[Any, Any], Row] = {}

        def enough() -> bool:
            counts = [sum(1 for pid, _ in found if pid == player) for player in players]
            return bool(counts) and min(counts) >= n

        per_day = TEAM_GAMES_PER_DAY * max(1, len(players))
        async for rows in self._windows(endpoint, base, n, per_day, enough, wide=keep is not None):
            for row in rows:
                if is_final_result(row.get("result")) and played(row) and (not keep or keep(row)):
                    found[(row.get("player_id"), row.get("game_id"))] = row
        kept: list[Row] = []
        for player in players:
            kept += newest_first([row for (pid, _), row in found.items() if pid == player])[:n]
        return newest_first(kept)

    async def lines_of_games(self, endpoint: Endpoint, games: list[Row]) -> list[Row]:
        """The box-score lines of `games` (newest first), a few games per page, while the bound
        lasts; the games whose lines could not be fetched are left out."""
        rows: list[Row] = []
        ids = [game["game_id"] for game in games]
        for start in range(0, len(ids), GAMES_PER_LINES_PAGE):
            chunk = tuple(sorted(ids[start : start + GAMES_PER_LINES_PAGE]))
            question = Query({"game_ids": chunk, "limit": LIMIT_MAX})
            got: list[Row] = []
            while True:
                if self.calls >= self.bound:
                    self.stopped_by_bound = True
                    return newest_first(rows)
                answer = await self.fetch(endpoint, question)
                got += answer["data"]
                cursor = answer["meta"].get("next_cursor")
                if cursor is None:
                    break
                question = question.replace(cursor=cursor)
            rows += got
        return newest_first(rows)

    async def _windows(
        self,
        endpoint: Endpoint,
        base: Query,
        n: int,
        per_day: float,
        enough: Callable[[], bool],
        wide: bool = False,
    ) -> AsyncIterator[list[Row]]:
        """The rows of each date window, newest window first, until `enough()` or a limit;
        `wide`: each window as wide as a page holds (few of the rows will be kept)."""
        floor, end = self._range(base)
        widest = max(1, math.floor(PAGE_ROOM / per_day))
        days = widest if wide else min(widest, math.ceil(n / per_day * 1.25) + 2)
        while end >= floor and not enough():
            if self.calls >= self.bound:
                self.stopped_by_bound = True
                return
            start = max(floor, end - dt.timedelta(days=days - 1))
            window = base.replace(
                start_date=start.isoformat(), end_date=end.isoformat(), limit=LIMIT_MAX
            )
            answer = await self.fetch(endpoint, window)
            if answer["meta"].get("next_cursor") is not None and start < end:
                days = max(1, (end - start).days // 2)  # more than a page: look at less at once
                continue
            yield answer["data"]
            cursor = answer["meta"].get("next_cursor")
            while cursor is not None and self.calls < self.bound:  # one day of over 100 rows
                more = await self.fetch(endpoint, window.replace(cursor=cursor))
                yield more["data"]
                cursor = more["meta"].get("next_cursor")
            self.looked_from = start.isoformat()
            self.looked_to = self.looked_to or end.isoformat()
            end, days = start - dt.timedelta(days=1), min(widest, days * 2)

    async def fetch(self, endpoint: Endpoint, query: Query) -> dict[str, Any]:
        """One page through the cache, counted against the bound."""
        self.calls += 1
        return await self.page(endpoint, query)

    def _range(self, base: Query) -> tuple[dt.date, dt.date]:
        """The first and last day the search may look at."""
        seasons = base.get("seasons")
        first = min(seasons) if seasons else current_season(self.today) - 1
        floor = dt.date(first, *SEASON_FIRST_DAY)
        end = self.today
        if seasons:
            end = min(end, dt.date(max(seasons) + 1, *SEASON_LAST_DAY))
        if base.get("start_date"):
            floor = max(floor, dt.date.fromisoformat(base.get("start_date")))
        if base.get("end_date"):
            end = min(end, dt.date.fromisoformat(base.get("end_date")))
        return floor, end

    def meta(self, n: int, found: int, unit: str) -> dict[str, Any]:
        """What the answer's meta says of the search, with a note when it found fewer."""
        meta: dict[str, Any] = {
            "last": {
                "asked": n,
                "found": found,
                "searched_from": self.looked_from,
                "searched_to": self.looked_to,
                "searches": self.calls,
            }
        }
        if found < n:
            span = f" between {self.looked_from} and {self.looked_to}" if self.looked_from else ""
            why = (
                f"the search stops after {self.bound} lookups per question"
                if self.stopped_by_bound
                else "the search looks back to the previous season"
            )
            meta["note"] = (
                f"Found {found} of the {n} {unit} asked for{span}: {why}; give seasons or"
                " start_date to look further back."
            )
        return meta


def played(row: Row) -> bool:
    """A box-score line of a player who was on the floor (not 0 minutes, not DNP)."""
    minutes = row.get("min")
    return minutes is not None and minutes not in ("0", "0:00", "00:00")


def newest_first(rows: list[Row]) -> list[Row]:
    return sorted(
        rows, key=lambda row: (row.get("date") or "", row.get("game_id") or 0), reverse=True
    )


async def latest(
    endpoint: Endpoint, query: Query, search: Search, meeting: Keep | None
) -> tuple[list[Row], dict[str, Any]]:
    """`last` N: the rows of the N newest finished games (the meetings only, given `meeting`)
    and what meta says of the search."""
    n, recent = query.get("last"), endpoint.recent
    base = query.replace(last=None, limit=None, sort=None, opponent=None)
    players = recent.per and base.get(recent.per)
    teams = recent.games_of and base.get(recent.games_of)
    if players:  # their lines, searched by player; a team or opponent given too filters them
        unfiltered = base.replace(**{recent.games_of: None}) if recent.games_of else base
        only = (lambda row: kept(endpoint, query, row)) if meeting else None
        lines = await search.lines_per_player(endpoint, unfiltered, n, only)
        rows = [row for row in lines if kept(endpoint, query, row)]
        unit = "games per player"
        found = min(sum(row.get("player_id") == pid for row in rows) for pid in players)
    elif teams:  # the teams' games first, then those games' lines of the teams' players
        games = await search.games(games_question(base, teams), n, meeting)
        lines = await search.lines_of_games(endpoint, games)
        rows = [row for row in lines if row.get("team_id") in teams]
        unit, found = "games", len({row.get("game_id") for row in rows})
    else:
        rows = await search.games(base, n, meeting)
        unit, found = "games", len(rows)
    return rows, search.meta(n, found, unit)


def games_question(base: Query, team_ids: tuple[int, ...]) -> Query:
    """The `/games` question for a team's games, keeping the stats question's time filters."""
    keep = ("seasons", "postseason", "start_date", "end_date", "dates")
    return Query(
        {"team_ids": team_ids, **{k: base.get(k) for k in keep if base.get(k) is not None}}
    )
