"""A small made-up league served as the upstream serves it, for questions that search by date.

Games and box-score lines are built from recorded objects (the teams list, a recorded stat line)
on days counted back from today, so `last` questions can be asked of any calendar. The upstream's
filters that matter here are honoured: `team_ids[]`, `player_ids[]`, `game_ids[]`, `start_date`,
`end_date`, `dates[]`, `seasons[]`, `search`, `first_name`, `last_name`, `season`, `player_id`,
`per_page` and `cursor` (ids ascending, as a cursor pages). It is served through aioresponses
(`serve`, for tests) or as a real HTTP server's app on 127.0.0.1 (`app`, for benches).
"""

from __future__ import annotations

import copy
import datetime as dt
import itertools
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from aioresponses import CallbackResult

from sportstats.core.params import current_season
from tests.conftest import load_fixture, upstream_route

TEAMS = {team["id"]: team for team in load_fixture("teams_all.json")["data"]}
STAT_LINE = load_fixture("stats_2024-10-22_jaylen_brown.json")["data"][0]
ROSTER = 3  # players per team in a box score, unless told


def player_id(team_id: int, number: int) -> int:
    """The made-up roster: team 14's players are 1401, 1402, 1403."""
    return team_id * 100 + number


def person(team_id: int, number: int) -> tuple[int, str, str]:
    pid = player_id(team_id, number)
    return pid, f"P{pid}", "Made-Up"


@dataclass
class League:
    today: dt.date = field(default_factory=dt.date.today)
    roster: int = ROSTER
    # Real names where a question names a player: team id -> [(player id, first, last)]
    named: dict[int, list[tuple[int, str, str]]] = field(default_factory=dict)
    games: list[dict[str, Any]] = field(default_factory=list)
    stats: list[dict[str, Any]] = field(default_factory=list)
    asked: list[dict[str, list[str]]] = field(default_factory=list)
    _ids: itertools.count = field(default_factory=lambda: itertools.count(1000))

    def game(
        self,
        days_ago: int,
        home: int,
        visitor: int,
        score: tuple[int, int] = (110, 100),
        status: str = "Final",
        sitting_out: tuple[int, ...] = (),
    ) -> dict[str, Any]:
        """A game `days_ago` days back (status Final unless told), with a box score each side;
        the players in `sitting_out` have a line with no minutes (did not play)."""
        day = self.today - dt.timedelta(days=days_ago)
        season = current_season(day)
        game = {
            "id": next(self._ids),
            "date": day.isoformat(),
            "season": season,
            "status": status,
            "period": 4 if status == "Final" else 2,
            "time": "Final" if status == "Final" else "5:31",
            "postseason": False,
            "home_team_score": score[0],
            "visitor_team_score": score[1],
            "home_team": TEAMS[home],
            "visitor_team": TEAMS[visitor],
        }
        self.games.append(game)
        slim = {k: v for k, v in game.items() if k not in ("home_team", "visitor_team")}
        slim.update(home_team_id=home, visitor_team_id=visitor)
        for team_id in (home, visitor):
            for number, (pid, first, last) in enumerate(self.players_of(team_id), 1):
                line = copy.deepcopy(STAT_LINE)
                line.update(id=next(self._ids), game=slim, team=TEAMS[team_id])
                line["player"].update(id=pid, first_name=first, last_name=last, team_id=team_id)
                line["pts"] = 10 * number + days_ago % 7
                if pid in sitting_out:
                    line.update(min=None, pts=None)
                self.stats.append(line)
        return game

    def players_of(self, team_id: int) -> list[tuple[int, str, str]]:
        named = self.named.get(team_id, [])
        return named + [person(team_id, n) for n in range(len(named) + 1, self.roster + 1)]

    def serve(self, mocked: Any) -> None:
        """Answer `/games` and `/stats` from this league, whatever they are asked."""
        mocked.get(upstream_route("/games"), callback=self._games, repeat=True)
        mocked.get(upstream_route("/stats"), callback=self._stats, repeat=True)

    def app(self, calls: list[str]) -> web.Application:
        """This league as the upstream's HTTP API under `/v1`, each request noted in `calls`."""
        answers = {
            "teams": lambda url: CallbackResult(payload={"data": list(TEAMS.values())}),
            "games": self._games,
            "stats": self._stats,
            "players": self._players,
            "season_averages": self._averages,
        }

        async def serve(request: web.Request) -> web.Response:
            calls.append(str(request.rel_url))
            answer = answers.get(request.match_info["name"])
            if answer is None:
                return web.json_response({"error": "Not Found"}, status=404)
            return web.json_response(answer(request.url).payload)

        app = web.Application()
        app.router.add_get("/v1/{name}", serve)
        return app

    def _players(self, url: Any, **_: Any) -> CallbackResult:
        query = self._query(url)
        search = query.get("search", [""])[0].lower()
        first, last = (
            query.get("first_name", [""])[0].lower(),
            query.get("last_name", [""])[0].lower(),
        )
        teams = {int(t) for t in query.get("team_ids[]", [])}
        ids = {int(p) for p in query.get("player_ids[]", [])}
        found = []
        for team_id in sorted({g["home_team"]["id"] for g in self.games} | set(self.named)):
            for pid, first_name, last_name in self.players_of(team_id):
                if (
                    (search in first_name.lower() or search in last_name.lower())
                    and (not first or first == first_name.lower())
                    and (not last or last == last_name.lower())
                    and (not teams or team_id in teams)
                    and (not ids or pid in ids)
                ):
                    player = {**STAT_LINE["player"], "id": pid, "team": TEAMS[team_id]}
                    player.update(first_name=first_name, last_name=last_name)
                    player.pop("team_id", None)
                    found.append(player)
        return self._page(found, query)

    def _averages(self, url: Any, **_: Any) -> CallbackResult:
        query = self._query(url)
        pid, season = int(query["player_id"][0]), int(query["season"][0])
        lines = [
            s
            for s in self.stats
            if s["player"]["id"] == pid and s["game"]["season"] == season and s["min"]
        ]
        if not lines:
            return CallbackResult(payload={"data": []})
        keys = ("pts", "reb", "ast", "stl", "blk", "fgm", "fga", "fg3m", "fg3a", "ftm", "fta")
        averages = {k: round(sum(s[k] or 0 for s in lines) / len(lines), 1) for k in keys}
        averages.update(games_played=len(lines), player_id=pid, season=season, min="30:00")
        return CallbackResult(payload={"data": [averages]})

    def _games(self, url: Any, **_: Any) -> CallbackResult:
        query = self._query(url)
        teams = {int(t) for t in query.get("team_ids[]", [])}
        found = [
            g
            for g in self._dated(self.games, query, lambda g: g["date"])
            if not teams or teams & {g["home_team"]["id"], g["visitor_team"]["id"]}
        ]
        return self._page(found, query)

    def _stats(self, url: Any, **_: Any) -> CallbackResult:
        query = self._query(url)
        players = {int(p) for p in query.get("player_ids[]", [])}
        games = {int(g) for g in query.get("game_ids[]", [])}
        found = [
            s
            for s in self._dated(self.stats, query, lambda s: s["game"]["date"])
            if (not players or s["player"]["id"] in players)
            and (not games or s["game"]["id"] in games)
        ]
        return self._page(found, query)

    def _query(self, url: Any) -> dict[str, list[str]]:
        query: dict[str, list[str]] = {}
        for key, value in url.query.items():
            query.setdefault(key, []).append(value)
        self.asked.append(query)
        return query

    @staticmethod
    def _dated(items: list[Any], query: dict[str, list[str]], day: Any) -> list[Any]:
        start, end = query.get("start_date", [""])[0], query.get("end_date", ["9999"])[0]
        seasons = {int(s) for s in query.get("seasons[]", [])}
        dates = set(query.get("dates[]", []))
        return [
            item
            for item in items
            if start <= day(item) <= end
            and (not dates or day(item) in dates)
            and (not seasons or (item.get("season") or item["game"]["season"]) in seasons)
        ]

    @staticmethod
    def _page(found: list[Any], query: dict[str, list[str]]) -> CallbackResult:
        found = sorted(found, key=lambda item: item["id"])
        after = int(query.get("cursor", ["0"])[0])
        per_page = int(query.get("per_page", ["25"])[0])
        rest = [item for item in found if item["id"] > after]
        page = rest[:per_page]
        more = len(rest) > per_page
        meta = {"per_page": per_page, "next_cursor": page[-1]["id"] if more else None}
        return CallbackResult(payload={"data": page, "meta": meta})
