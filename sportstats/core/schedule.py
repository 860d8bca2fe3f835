"""The schedule: games ahead (`next`) and the meetings of two teams (`opponent`).

The upstream has neither: it lists games by date and team, not "from now on", and has no
opponent filter. So `next` N looks forward from the league's today through date windows (each
an ordinary cached question), soonest first, until it has N games not yet started, reaches the
end of the season or the question's bound of lookups; `opponent` fetches one side's games (or a
player's lines) and keeps the meetings, through the same bound. A head-to-head answer carries
the series record.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

from .. import errors
from ..errors import ApiError
from .endpoints import GAMES, Endpoint
from .params import LIMIT_MAX, Query, current_season
from .recent import (
    PAGE_ROOM,
    SEASON_LAST_DAY,
    TEAM_GAMES_PER_DAY,
    Keep,
    Row,
    Search,
    games_question,
    newest_first,
    played,
)
from .shape import kept

LEAGUE_GAMES_PER_DAY = 15.0


def check_opponent(query: Query) -> None:
    """An opponent that is the team itself is no question: 400 before any data is asked."""
    opponents = set(query.get("opponent") or ())
    own = set(query.get("team_ids") or ()) | set(query.get("team") or ())
    same = sorted(opponents & own)
    if same:
        raise ApiError(
            400,
            errors.INVALID_PARAMETER,
            f"Parameter 'opponent' names the same team as team (team_id {same[0]}).",
            "Give as opponent another team than team: abbreviation (BOS), nickname (Celtics),"
            " full name or team_id.",
        )


def meeting(query: Query) -> Keep | None:
    """A games row's test: one side is one of the question's teams, the other its opponent."""
    opponents = set(query.get("opponent") or ())
    if not opponents:
        return None
    teams = set(query.get("team_ids") or query.get("team") or ())

    def meets(row: Row) -> bool:
        sides = {row.get("home_team_id"), row.get("visitor_team_id")}
        return bool(sides & opponents) and (not teams or bool(sides & teams - opponents))

    return meets


def not_started(row: Row) -> bool:
    return str(row.get("status") or "").startswith("Scheduled")


def soonest_first(rows: list[Row]) -> list[Row]:
    return sorted(rows, key=lambda row: (row.get("tip_off_utc") or "~", row.get("date") or ""))


async def upcoming(
    endpoint: Endpoint, query: Query, search: Search
) -> tuple[list[Row], dict[str, Any]]:
    """`next` N: the N soonest games not yet started matching the question, and what meta says
    of how far it looked."""
    n, keep = query.get("next"), meeting(query)
    base = query.replace(next=None, limit=None, sort=None, opponent=None)
    if _all_past(base.get("seasons"), search.today):  # no window could match: ask nothing
        return [], _past_seasons_meta(search, n, base.get("seasons"))
    teams = base.get("team_ids")
    per_day = TEAM_GAMES_PER_DAY * len(teams) if teams else LEAGUE_GAMES_PER_DAY
    widest = max(1, math.floor(PAGE_ROOM / per_day))
    days = widest if keep else min(widest, math.ceil(n / per_day * 1.25) + 2)
    start, horizon = _ahead(base, search.today)
    found: dict[Any, Row] = {}
    looked_to = None
    while start <= horizon and len(found) < n and search.calls < search.bound:
        end = min(horizon, start + dt.timedelta(days=days - 1))
        window = base.replace(start_date=start.isoformat(), end_date=end.isoformat())
        answer = await search.fetch(endpoint, window.replace(limit=LIMIT_MAX))
        if answer["meta"].get("next_cursor") is not None and start < end:
            days = max(1, (end - start).days // 2)  # more than a page: look at less at once
            continue
        for row in answer["data"]:
            if not_started(row) and (keep is None or keep(row)):
                found[row.get("game_id")] = row
        # Doubling while it finds too few; an empty window (a break) says rows are sparse there.
        days = min(widest, days * 2) if answer["data"] else days * 4
        looked_to, start = end, end + dt.timedelta(days=1)
    rows = soonest_first(list(found.values()))[:n]
    return rows, _upcoming_meta(search, n, len(rows), looked_to, horizon)


def _ahead(base: Query, today: dt.date) -> tuple[dt.date, dt.date]:
    """From the league's today (or a later start_date) to the end of the current season (or an
    earlier end_date)."""
    start, horizon = today, dt.date(today.year, *SEASON_LAST_DAY)
    if horizon < today:  # August on: the coming season
        horizon = dt.date(today.year + 1, *SEASON_LAST_DAY)
    if base.get("start_date"):
        start = max(start, dt.date.fromisoformat(base.get("start_date")))
    if base.get("end_date"):
        horizon = min(horizon, dt.date.fromisoformat(base.get("end_date")))
    return start, horizon


def _all_past(seasons: tuple[int, ...] | None, today: dt.date) -> bool:
    """Every season asked ended before the league's today (`next` looks forward from it)."""
    return bool(seasons) and all(dt.date(s + 1, *SEASON_LAST_DAY) < today for s in seasons)


def _past_seasons_meta(search: Search, n: int, seasons: tuple[int, ...]) -> dict[str, Any]:
    named = ", ".join(str(season) for season in seasons)
    return {
        "next": {
            "asked": n,
            "found": 0,
            "searched_from": search.today.isoformat(),
            "searched_to": None,
            "searches": 0,
        },
        "note": (
            f"No games ahead in a past season ({named}): next looks forward from the league's"
            f" today, {search.today}. Drop seasons for the games ahead, or use last=N for that"
            " season's latest games."
        ),
    }


def _upcoming_meta(
    search: Search, n: int, found: int, looked_to: dt.date | None, horizon: dt.date
) -> dict[str, Any]:
    """What meta says of a `next` search, with a note when it found fewer than asked."""
    meta: dict[str, Any] = {
        "next": {
            "asked": n,
            "found": found,
            "searched_from": search.today.isoformat(),
            "searched_to": looked_to.isoformat() if looked_to else None,
            "searches": search.calls,
        }
    }
    if found >= n:
        return meta
    if looked_to is not None and looked_to >= horizon:
        why = (
            f"no more games are scheduled through {horizon} (the end of the season, or of the"
            " dates asked): the season is over or its schedule not yet published"
        )
    else:
        why = f"the search stops after {search.bound} lookups per question"
    if found == 0:
        meta["note"] = f"No games ahead from {search.today}: {why}."
    else:
        meta["note"] = (
            f"Found {found} of the {n} games asked for between {search.today} and {looked_to}:"
            f" {why}."
        )
    return meta


async def meetings(
    endpoint: Endpoint, query: Query, search: Search
) -> tuple[list[Row], dict[str, Any]]:
    """`opponent` without `last` or `next`: every meeting in the question's time (default: the
    current season), oldest first; for games, the series record."""
    base = _in_time(query.replace(limit=None, sort=None, opponent=None), search.today)
    keep = meeting(query)
    players = base.get("player_ids")
    teams = base.get("team_ids") or base.get("team")
    if players:  # a player's lines, whichever team he played for in each game
        lines = await _every_page(search, endpoint, base.replace(team=None))
        rows = [row for row in lines if played(row) and kept(endpoint, query, row)]
        return newest_first(rows), _meta(search, base)
    asked = games_question(base, teams)
    games = oldest_first([row for row in await _every_page(search, GAMES, asked) if keep(row)])
    if "home_team_id" in endpoint.table.columns:  # the games themselves, and the record
        return games, {**_meta(search, base), **series(games, teams, query.get("opponent"))}
    finished = newest_first([game for game in games if is_settled_row(game)])
    lines = await search.lines_of_games(endpoint, finished)
    rows = [row for row in lines if row.get("team_id") in teams]
    return newest_first(rows), _meta(search, base)


def is_settled_row(row: Row) -> bool:
    return row.get("status") == "Final"


def _in_time(base: Query, today: dt.date) -> Query:
    """The question's seasons, dates or range, else the current season."""
    if any(base.get(k) for k in ("seasons", "dates", "start_date", "end_date")):
        return base
    return base.replace(seasons=(current_season(today),))


async def _every_page(search: Search, endpoint: Endpoint, question: Query) -> list[Row]:
    """Every page of `question`, while the bound lasts."""
    rows: list[Row] = []
    question = question.replace(limit=LIMIT_MAX)
    while search.calls < search.bound:
        answer = await search.fetch(endpoint, question)
        rows += answer["data"]
        cursor = answer["meta"].get("next_cursor")
        if cursor is None:
            return rows
        question = question.replace(cursor=cursor)
    search.stopped_by_bound = True
    return rows


def _meta(search: Search, base: Query) -> dict[str, Any]:
    meta: dict[str, Any] = {"searched": {"seasons": base.get("seasons"), "searches": search.calls}}
    if search.stopped_by_bound:
        meta["note"] = (
            f"Only part of the meetings: the search stops after {search.bound} lookups per"
            " question; give a season or dates to narrow it."
        )
    return meta


def series(games: list[Row], teams: Any, opponents: Any) -> dict[str, Any]:
    """The series record of one team against one opponent in `games` (finished ones count)."""
    if len(teams or ()) != 1 or len(opponents or ()) != 1:
        return {}
    team, opponent = teams[0], opponents[0]
    wins = losses = 0
    for game in games:
        if not is_settled_row(game):
            continue
        home = game.get("home_team_id") == team
        ours, theirs = game.get("home_score"), game.get("visitor_score")
        if not home:
            ours, theirs = theirs, ours
        if isinstance(ours, int) and isinstance(theirs, int) and ours != theirs:
            wins, losses = wins + (ours > theirs), losses + (ours < theirs)
    ahead = sum(1 for game in games if not is_settled_row(game))
    names = _names(games, team, opponent)
    record = {"team_id": team, "opponent_id": opponent, "wins": wins, "losses": losses}
    record.update(team=names[0], opponent=names[1], scheduled=ahead)
    more = f", {ahead} more to play" if ahead else ""
    note = f"Series: {names[0]} {wins}-{losses} against {names[1]} in these games{more}."
    return {"series": record, "note": note}


def _names(games: list[Row], team: int, opponent: int) -> tuple[str, str]:
    named = {}
    for game in games:
        named[game.get("home_team_id")] = game.get("home_team")
        named[game.get("visitor_team_id")] = game.get("visitor_team")
    return named.get(team) or f"team {team}", named.get(opponent) or f"team {opponent}"


def oldest_first(rows: list[Row]) -> list[Row]:
    return list(reversed(newest_first(rows)))
