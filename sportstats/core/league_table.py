"""A standings question answered: the ranked table from the standings room's ledger (`source:
computed`), or the upstream's own table where the plan serves it (`source: upstream`), its
missing columns (win_pct, games_behind, last_10, streak) from the same arithmetic.

The table is true through one date (`meta.as_of`): while the ledger fills, that is the last
complete date, said in the note with how long the rest will take; when the upstream fails, the
failure is in `meta` and the answer is the last complete date's, not an error.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from ..cache import AnswerCache, Produced, parse_body
from ..errors import UpstreamFailure
from ..standings import TIE_BREAK, LedgerKeeper, LedgerView, TeamInfo, table
from ..standings.arithmetic import from_record
from ..upstream.client import UpstreamClient
from ..upstream.routes import ROUTES
from .dates import league_today
from .endpoints import Endpoint
from .params import Query, current_season
from .shape import build_answer, season_label, source

log = logging.getLogger(__name__)

Row = dict[str, Any]
CONFERENCES = ("East", "West")
# meta.source: `computed` (our arithmetic over the finished games) or `upstream` (its table);
# meta.from: the routes it was made from, under the upstream's name (the vendor's, or the
# sample league's, which says it is not real).
GAMES_ROUTE = f"/{ROUTES['games'].name}"


def team_infos(team_rows: list[Row]) -> list[TeamInfo]:
    """The current teams (a conference of their own) from the teams table's rows."""
    return [
        TeamInfo(r["team_id"], r["team"], r["abbreviation"], r["conference"], r["division"])
        for r in team_rows
        if r.get("conference") in CONFERENCES
    ]


class LeagueTables:
    """Standings answers for the core: it asks the ledger as it asks the cache."""

    def __init__(
        self,
        upstream: UpstreamClient,
        cache: AnswerCache,
        keeper: LedgerKeeper,
        serves_upstream: Callable[[], bool] = lambda: False,
    ) -> None:
        self.upstream = upstream
        self.cache = cache
        self.keeper = keeper
        self.serves_upstream = serves_upstream  # does the plan serve the upstream's table?
        self.computed = {"source": "computed", "from": f"{upstream.source} {GAMES_ROUTE}"}
        self._starting: asyncio.Task[None] | None = None

    def start(self, delay_s: float, team_rows: Callable[[], Awaitable[Any]]) -> None:
        """From start-up: after `delay_s`, the teams list (every standings answer and team name
        needs it) and then the current season's ledger, in the background."""

        async def begin() -> None:
            await asyncio.sleep(delay_s)
            try:
                await team_rows()
            except UpstreamFailure as exc:
                log.info("standings: the teams list failed at start-up (%s)", exc.code)
            self.keeper.start(current_season())

        self._starting = asyncio.create_task(begin())

    async def close(self) -> None:
        if self._starting is not None:
            self._starting.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._starting
        await self.keeper.close()

    async def produce(
        self,
        endpoint: Endpoint,
        query: Query,
        deadline: float,
        team_rows: Callable[[float], Awaitable[list[Row]]],
    ) -> Produced:
        """The answer to a validated question (its team names already ids)."""
        season = query.get("season")
        if season > current_season():  # nothing to ask anyone
            meta = {**self.computed, "as_of": None, "note": not_started(season)}
            answer = build_answer(endpoint, [], None, meta, query, caveat=self.upstream.caveat)
            return Produced(answer, self.cache.settings.current_season_ttl_s)
        teams = team_infos(await team_rows(deadline))
        view = await self.keeper.view(season)
        rows, meta, ttl = self._computed(season, teams, view)
        if self.serves_upstream():
            try:
                rows, meta, ttl = await self._upstream(endpoint, season, teams, view, deadline)
            except UpstreamFailure as exc:  # the computed table answers, saying so
                if view.through is None:
                    raise
                meta["failure"] = {"code": exc.code, "message": exc.message}
                meta["note"] = (
                    f"The upstream's standings failed ({exc.code}): these are computed from the"
                    f" finished games through {view.through}."
                )
                ttl = 0
        asked = [row for row in rows if kept(query, row)]
        excluding = query.get("conference") or query.get("division")
        if rows and not asked and excluding:  # filters that exclude each other: say where
            meta["note"] = " ".join(filter(None, (no_team_matches(query, rows), meta.get("note"))))
        rows = endpoint.table.rows(asked)
        answer = build_answer(endpoint, rows, None, meta, query, caveat=self.upstream.caveat)
        return Produced(answer, ttl, fetched_at=view.fetched_at or None)

    def _computed(
        self, season: int, teams: list[TeamInfo], view: LedgerView
    ) -> tuple[list[Row], dict[str, Any], float]:
        meta: dict[str, Any] = {
            **self.computed,
            "as_of": view.through,
            "tie_break": TIE_BREAK,
            "ledger": ledger_meta(view),
        }
        rows = table(view.games, teams) if view.through else []
        if view.complete and not view.games:
            rows = []
            meta["note"] = not_started(season)
        notes = [note for note in (loading_note(view), failure_note(view)) if note]
        if notes:
            meta["note"] = " ".join(notes)
        if view.failure:
            meta["failure"] = {k: view.failure[k] for k in ("code", "message")}
        return rows, meta, self._ttl(season, view)

    def _ttl(self, season: int, view: LedgerView) -> float:
        """Kept until the ledger may change: never while it fills or failed, until its next
        check while the season runs, for the base TTL once the season is over."""
        if not view.complete or view.failure:
            return 0
        settings = self.cache.settings
        if view.next_check_at is None:  # settled (a past season), or until the league's next day
            if season < current_season():
                return settings.ttl_s["standings"]
            return settings.current_season_ttl_s
        ttl = min(settings.current_season_ttl_s, view.next_check_at - time.time())
        return ttl if ttl >= 1 else 0  # under a second: not worth keeping

    async def _upstream(
        self,
        endpoint: Endpoint,
        season: int,
        teams: list[TeamInfo],
        view: LedgerView,
        deadline: float,
    ) -> tuple[list[Row], dict[str, Any], float]:
        """The upstream's table (one cached call), with the arithmetic's columns added."""
        items = await self._upstream_items(endpoint, season, deadline)
        ours = {row["team_id"]: row for row in table(view.games, teams)} if view.through else {}
        rows = upstream_rows(items, teams, ours)
        meta: dict[str, Any] = {
            "source": "upstream",
            "from": f"{source(endpoint, self.upstream.source)}, last_10 and streak from"
            f" {self.computed['from']}",
            "as_of": league_today().isoformat(),  # the league's day, not the server's
            "tie_break": "the upstream's own ranking (conference_rank)",
            "streaks_as_of": view.through,
        }
        if not view.complete:
            meta["note"] = (
                f"last_10 and streak are through {view.through or 'no date yet'}; the games"
                " after it are still loading."
            )
        return rows, meta, self.cache.settings.current_season_ttl_s if view.complete else 0

    async def _upstream_items(self, endpoint: Endpoint, season: int, deadline: float) -> list[Any]:
        async def produce() -> Produced:
            payload = await self.upstream.get(endpoint.route, [("season", str(season))], deadline)
            items = payload.get("data") if isinstance(payload, dict) else None
            items = items if isinstance(items, list) else []
            ttl = endpoint.freshness.ttl_s(self.cache.settings, items, season, current_season())
            return Produced({"columns": [], "data": items, "meta": {}}, ttl)

        entry, _ = await self.cache.fetch(f"{endpoint.name}/upstream?season={season}", produce)
        return parse_body(entry.body)["data"]


def kept(query: Query, row: Row) -> bool:
    """The question's conference, division and teams keep rows of the ranked table."""
    teams = query.get("team")
    return (
        query.get("conference") in (None, row["conference"])
        and query.get("division") in (None, row["division"])
        and (not teams or row["team_id"] in {int(t) for t in teams})
    )


def no_team_matches(query: Query, rows: list[Row]) -> str:
    """Why a table of every team kept none: what was asked excludes itself; where things are."""
    asked = " and ".join(
        f"the {query.get(name)} {name}" for name in ("conference", "division") if query.get(name)
    )
    teams = {int(t) for t in query.get("team") or ()}
    if teams:
        where = "; ".join(
            f"the {row['team']} play in the {row['conference']} ({row['division']})"
            for row in rows
            if row["team_id"] in teams
        )
        return (
            f"No team asked is in {asked}: {where}." if where else f"No team asked is in {asked}."
        )
    division = next((row for row in rows if row["division"] == query.get("division")), None)
    if division is None:
        return f"No team is in {asked}."
    return f"No team is in {asked}: the {division['division']} is in the {division['conference']}."


def upstream_rows(items: list[Any], teams: list[TeamInfo], ours: dict[int, Row]) -> list[Row]:
    """The vendor's rows as ours: their record and rank, our win_pct, games behind, last 10
    and streak."""
    known = {info.team_id: info for info in teams}
    rows: list[Row] = []
    for item in items:
        team = item.get("team") if isinstance(item, dict) else None
        info = known.get(team.get("id")) if isinstance(team, dict) else None
        if info is None or not isinstance(item.get("wins"), int):
            continue
        mine = ours.get(info.team_id, {})
        rows.append(
            {
                "conference_rank": item.get("conference_rank"),
                "team": info.team,
                "wins": item["wins"],
                "losses": item.get("losses") or 0,
                "conference": info.conference,
                "division": info.division,
                "home": item.get("home_record"),
                "road": item.get("road_record"),
                "conference_record": item.get("conference_record"),
                "last_10": mine.get("last_10"),
                "streak": mine.get("streak"),
                "team_id": info.team_id,
            }
        )
    rows.sort(key=lambda r: (r["conference"], r["conference_rank"] or 99, r["team"]))
    for conference in CONFERENCES:
        mine = [r for r in rows if r["conference"] == conference]
        if mine:
            leader = (mine[0]["wins"], mine[0]["losses"])
            for row in mine:
                row.update(from_record(row["wins"], row["losses"], leader))
    return rows


def ledger_meta(view: LedgerView) -> dict[str, Any]:
    return {
        "games": len(view.games),
        "complete": view.complete,
        "calls_left": view.calls_left,
    }


def not_started(season: int) -> str:
    return (
        f"The {season_label(season)} regular season has not started yet: it starts in late"
        f" October {season} (no games played, so no standings)."
    )


def loading_note(view: LedgerView) -> str | None:
    if view.complete:
        return None
    minutes = max(1, round(view.minutes_left))
    rest = f"about {minutes} minute{'s' if minutes != 1 else ''} at this plan's budget"
    if view.through is None:
        return f"The standings are still loading (no complete date yet): {rest}."
    return f"Standings through {view.through}; the rest still loading, {rest}."


def failure_note(view: LedgerView) -> str | None:
    if not view.failure:
        return None
    through = f"through {view.through}" if view.through else "as far as known"
    return (
        f"The upstream failed while bringing them current ({view.failure['code']}): these are"
        f" the standings {through}; ask again later."
    )
