"""The sample league's calendar: two seasons of games, their dates, tip-offs and scores.

The previous season is complete (regular season and a playoff bracket); the current one is
played up to yesterday in the league's day (US Eastern), has games on today (some final, some
live, the rest to come) and a schedule ahead. Each team plays every other twice, its conference
once more and its division once more again: 76 games, not the NBA's 82, from a schedule that is
simple to make fair. Scores come from each team's strength and a seeded draw per game.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field
from itertools import combinations
from typing import Any

from .teams import CURRENT, Team

SEASON_START_MONTH = 10  # a season is named by the year it begins, in October
FIRST_GAME_ID = 30_000_001
EASTERN_OFFSET_H = 5  # tip-offs are written in UTC from Eastern times (standard time)
TIP_OFFS_ET = ((19, 0), (19, 30), (20, 0), (20, 30), (21, 0), (22, 0), (22, 30))
REGULAR_DAYS = 174  # late October to mid April
PLAYOFF_TEAMS_PER_CONFERENCE = 8
LIVE_STATES = (  # (period, status, time) for a game in progress today
    (1, "1st Qtr", "4:12"),
    (2, "2nd Qtr", "7:45"),
    (2, "Halftime", ""),
    (3, "3rd Qtr", "5:31"),
    (4, "4th Qtr", "2:08"),
)


def season_of(day: dt.date) -> int:
    return day.year if day.month >= SEASON_START_MONTH else day.year - 1


def opening_day(season: int) -> dt.date:
    """The first Tuesday on or after October 21."""
    day = dt.date(season, 10, 21)
    return day + dt.timedelta(days=(1 - day.weekday()) % 7)


@dataclass
class Game:
    """One game; `state` is "final", "live" or "scheduled" as of the league's today."""

    id: int
    season: int
    date: dt.date
    tip_off: dt.datetime
    home: Team
    visitor: Team
    postseason: bool
    state: str = "scheduled"
    period: int = 0
    status_words: str = ""
    clock: str | None = None
    quarters: dict[str, list[int]] = field(default_factory=dict)  # "home"/"visitor" -> points

    @property
    def progress(self) -> float:
        """How much of the game has been played: 1 final, 0 not begun."""
        if self.state == "final":
            return 1.0
        if self.state == "live":
            return (self.period - 0.5) / 4
        return 0.0

    def score(self, side: str) -> int:
        return sum(self.quarters.get(side, ()))

    def vendor(self) -> dict[str, Any]:
        """The game as `/games` answers it (the newer keys included)."""
        body = self.slim()
        del body["home_team_id"], body["visitor_team_id"]
        body.update(home_team=dict(self.home), visitor_team=dict(self.visitor))
        body["datetime"] = _iso(self.tip_off)
        body["period_detail"] = body["status"] if self.state != "scheduled" else None
        body["display_status"] = {"final": "final", "live": "live"}.get(self.state, "scheduled")
        body["is_clutch"] = self.state == "live" and self.period == 4
        for side in ("home", "visitor"):
            points = self.quarters.get(side, [])
            for n in range(1, 5):
                body[f"{side}_q{n}"] = points[n - 1] if len(points) >= n else None
            for n in range(1, 4):
                body[f"{side}_ot{n}"] = points[3 + n] if len(points) > 3 + n else None
            body[f"{side}_timeouts_remaining"] = 2 if self.state != "scheduled" else 7
            body[f"{side}_in_bonus"] = False
        return body

    def slim(self) -> dict[str, Any]:
        """The game as inside `/stats` rows: the teams as ids."""
        if self.state == "scheduled":
            status, time = _iso(self.tip_off), None
        else:
            status, time = self.status_words, self.clock
        return {
            "id": self.id,
            "date": self.date.isoformat(),
            "season": self.season,
            "status": status,
            "period": self.period,
            "time": time,
            "postseason": self.postseason,
            "postponed": False,
            "home_team_score": self.score("home"),
            "visitor_team_score": self.score("visitor"),
            "home_team_id": self.home["id"],
            "visitor_team_id": self.visitor["id"],
            "ist_stage": None,
        }


def _iso(moment: dt.datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.000Z")


def strengths(season: int) -> dict[int, float]:
    """Each team's strength that season: points it adds over an average team."""
    rng = random.Random(f"strength-{season}")
    return {team["id"]: rng.gauss(0, 4.5) for team in CURRENT}


def matchups(season: int) -> list[tuple[Team, Team]]:
    """(home, visitor) for every regular-season game, in a seeded order."""
    games = []
    for a, b in combinations(CURRENT, 2):
        games += [(a, b), (b, a)]
        if a["conference"] == b["conference"]:
            games.append((a, b) if (a["id"] + b["id"] + season) % 2 else (b, a))
        if a["division"] == b["division"]:
            games.append((b, a) if (a["id"] + b["id"] + season) % 2 else (a, b))
    random.Random(f"matchups-{season}").shuffle(games)
    return games


def regular_season(season: int, next_id: int) -> list[Game]:
    """The regular season, spread day by day so no team plays twice on one day and every
    team has played about as many games as any other on any day (the teams behind first)."""
    left = matchups(season)
    first = opening_day(season)
    games: list[Game] = []
    played = dict.fromkeys((team["id"] for team in CURRENT), 0)
    day_no = 0
    while left:  # a game that finds no day in the season's span goes on the days after
        day = first + dt.timedelta(days=day_no)
        quota = -(-len(left) // max(1, REGULAR_DAYS - day_no))  # spread what is left evenly
        day_no += 1
        busy: set[int] = set()
        left.sort(key=lambda pair: max(played[pair[0]["id"]], played[pair[1]["id"]]))
        for pair in list(left):
            if len(busy) >= 2 * quota:
                break
            home, visitor = pair
            if home["id"] in busy or visitor["id"] in busy:
                continue
            busy |= {home["id"], visitor["id"]}
            played[home["id"]] += 1
            played[visitor["id"]] += 1
            left.remove(pair)
            slot = TIP_OFFS_ET[(len(busy) // 2 + day_no) % len(TIP_OFFS_ET)]
            games.append(_game(next_id + len(games), season, day, slot, home, visitor, False))
    games.sort(key=lambda game: (game.date, game.tip_off, game.home["id"]))
    for n, game in enumerate(games):
        game.id = next_id + n
    return games


def _game(
    game_id: int,
    season: int,
    day: dt.date,
    slot: tuple[int, int],
    home: Team,
    visitor: Team,
    postseason: bool,
) -> Game:
    hour, minute = slot
    tip = dt.datetime(day.year, day.month, day.day, hour, minute) + dt.timedelta(
        hours=EASTERN_OFFSET_H
    )
    return Game(game_id, season, day, tip, home, visitor, postseason)


def play(game: Game, power: dict[int, float], state: str, live_no: int = 0) -> None:
    """Settle `game` as final, live (the `live_no`th of today) or leave it scheduled."""
    game.state = state
    if state == "scheduled":
        return
    rng = random.Random(f"{game.season}-{game.date}-{game.home['id']}")
    sides = {
        "home": 112 + power[game.home["id"]] + 2.5,
        "visitor": 112 + power[game.visitor["id"]],
    }
    quarters = {
        side: [max(14, round(rng.gauss(mean / 4, 4.5))) for _ in range(4)]
        for side, mean in sides.items()
    }
    while sum(quarters["home"]) == sum(quarters["visitor"]):  # overtime until someone wins
        for side, mean in sides.items():
            quarters[side].append(max(4, round(rng.gauss(mean / 9.6, 3))))
    if state == "final":
        game.period, game.status_words, game.clock = len(quarters["home"]), "Final", "Final"
        game.quarters = quarters
        return
    game.period, game.status_words, game.clock = LIVE_STATES[live_no % len(LIVE_STATES)]
    played = game.period if game.status_words == "Halftime" else game.period - 1
    game.quarters = {
        side: points[:played] + ([round(points[played] * 0.5)] if played < game.period else [])
        for side, points in quarters.items()
    }
