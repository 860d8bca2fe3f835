"""A small made-up league served as the upstream serves it, for questions that search by date.

Games and box-score lines are built from recorded objects (the teams list, a recorded stat line)
on days counted back from today, so `last` questions can be asked of any calendar. The upstream's
filters that matter here are honoured: `team_ids[]`, `player_ids[]`, `game_ids[]`, `start_date`,
`end_date`, `seasons[]`, `per_page` and `cursor` (ids ascending, as a cursor pages).
"""

from __future__ import annotations

import copy
import datetime as dt
import itertools
from dataclasses import dataclass, field
from typing import Any

from aioresponses import CallbackResult

from sportstats.core.params import current_season
from tests.conftest import load_fixture, upstream_route

TEAMS = {team["id"]: team for team in load_fixture("teams_all.json")["data"]}
STAT_LINE = load_fixture("stats_2024-10-22_jaylen_brown.json")["data"][0]
ROSTER = 3  # players per team in a box score


def player_id(team_id: int, number: int) -> int:
    """The made-up roster: team 14's players are 1401, 1402, 1403."""
    return team_id * 100 + number


@dataclass
class League:
    today: dt.date = field(default_factory=dt.date.today)
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
            for number in range(1, ROSTER + 1):
                pid = player_id(team_id, number)
                line = copy.deepcopy(STAT_LINE)
                line.update(id=next(self._ids), game=slim, team=TEAMS[team_id])
                line["player"].update(
                    id=pid, first_name=f"P{pid}", last_name="Made-Up", team_id=team_id
                )
                line["pts"] = 10 * number + days_ago % 7
                if pid in sitting_out:
                    line.update(min=None, pts=None)
                self.stats.append(line)
        return game

    def serve(self, mocked: Any) -> None:
        """Answer `/games` and `/stats` from this league, whatever they are asked."""
        mocked.get(upstream_route("/games"), callback=self._games, repeat=True)
        mocked.get(upstream_route("/stats"), callback=self._stats, repeat=True)

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
        return [
            item
            for item in items
            if start <= day(item) <= end
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
