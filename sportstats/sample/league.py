"""The sample league as of one day: its people, its two seasons of games and their lines.

Made once per league day (`League.of`) and kept: everything in it follows from the day and the
fixed seeds, so two processes (or two runs) started on the same day serve the same league.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Iterator
from zoneinfo import ZoneInfo

from .lines import OVERTIME_MINUTES, Line, team_lines
from .people import Person, invent_players
from .schedule import (
    FIRST_GAME_ID,
    PLAYOFF_TEAMS_PER_CONFERENCE,
    REGULAR_DAYS,
    Game,
    _game,
    opening_day,
    play,
    regular_season,
    season_of,
    strengths,
)
from .teams import Team

LEAGUE_TIME = ZoneInfo("America/New_York")  # the league's day: a US evening is one day
ROUNDS = 4
SERIES_WINS = 4
HOME_GAMES = (True, True, False, False, True, False, True)  # the better seed's, game by game
ROUND_DAYS = 16


def league_today(now: dt.datetime | None = None) -> dt.date:
    return (now or dt.datetime.now(dt.UTC)).astimezone(LEAGUE_TIME).date()


class League:
    """Teams, players and games; lines made when first asked for and kept."""

    def __init__(self, today: dt.date) -> None:
        self.today = today
        self.season = season_of(today)
        self.people = invent_players(self.season, opening_day(self.season))
        self.person = {person.id: person for person in self.people}
        previous = self.season - 1
        self.games = regular_season(previous, 0)
        self._settle(self.games, strengths(previous))
        self.games += self._playoffs(previous, self.games)
        current = regular_season(self.season, 0)
        self._settle(current, strengths(self.season))
        self.games += current
        for n, game in enumerate(self.games):
            game.id = FIRST_GAME_ID + n
        self.game = {game.id: game for game in self.games}

    @staticmethod
    @functools.lru_cache(maxsize=2)
    def of(today: dt.date) -> League:
        return League(today)

    def _settle(self, games: list[Game], power: dict[int, float]) -> None:
        """Play what is before today, today's games in part, leave the rest to come."""
        todays = [game for game in games if game.date == self.today]
        for game in games:
            if game.date < self.today:
                play(game, power, "final")
        for n, game in enumerate(todays):  # a third done, a third on now, a third to come
            third = n * 3 // max(1, len(todays))
            play(game, power, ("final", "live", "scheduled")[min(third, 2)], live_no=n)

    def _playoffs(self, season: int, regular: list[Game]) -> list[Game]:
        """A bracket of the top eight of each conference, best of seven, then the finals."""
        wins = dict.fromkeys(strengths(season), 0)
        for game in regular:
            wins[_winner(game)["id"]] += 1
        teams = {game.home["id"]: game.home for game in regular}
        seed = {team_id: (-won, team_id) for team_id, won in wins.items()}
        brackets = []
        for conference in ("East", "West"):
            seeded = sorted(
                (team for team in teams.values() if team["conference"] == conference),
                key=lambda team: seed[team["id"]],
            )[:PLAYOFF_TEAMS_PER_CONFERENCE]
            brackets.append([seeded[i] for i in (0, 7, 3, 4, 2, 5, 1, 6)])
        series = Series(season, strengths(season), seed)
        day = opening_day(season) + dt.timedelta(days=REGULAR_DAYS + 4)
        for _ in range(ROUNDS - 1):
            brackets = [series.round(bracket, day) for bracket in brackets]
            day += dt.timedelta(days=ROUND_DAYS)
        series.round([brackets[0][0], brackets[1][0]], day)
        return sorted(series.games, key=lambda game: (game.date, game.home["id"]))

    def roster(self, team_id: int, season: int) -> list[Person]:
        """Who played for the team that season: the rookie joined this season, the retired
        player left after the last one."""
        return [
            p
            for p in self.people
            if p.team["id"] == team_id
            and not (p.retired and season == self.season)
            and not (p.rookie and season < self.season)
        ]

    @functools.lru_cache(maxsize=4096)  # noqa: B019 - the league lives as long as the process
    def lines(self, game_id: int) -> tuple[tuple[Team, tuple[Line, ...]], ...]:
        """(team, its lines) for the home side, then the visitors; none before tip-off."""
        game = self.game[game_id]
        if game.state == "scheduled":
            return ()
        extra = (game.period - 4) * OVERTIME_MINUTES if game.state == "final" else 0
        share = game.progress + extra / 240
        sides = []
        for side, other, team in (
            ("home", "visitor", game.home),
            ("visitor", "home", game.visitor),
        ):
            points, margin = game.score(side), game.score(side) - game.score(other)
            roster = [p for p in self.roster(team["id"], game.season) if not _hurt(p, game)]
            lines = team_lines(roster, points, margin, share, f"{game.id}-{team['id']}")
            sides.append((team, tuple(lines)))
        return tuple(sides)

    def player_lines(self, games: list[Game]) -> Iterator[tuple[Game, Team, Line]]:
        for game in games:
            for team, lines in self.lines(game.id):
                for line in lines:
                    yield game, team, line


def _winner(game: Game) -> Team:
    return game.home if game.score("home") > game.score("visitor") else game.visitor


def _hurt(person: Person, game: Game) -> bool:
    return (
        person.hurt is not None
        and game.season == season_of(person.hurt[0])
        and (game.date >= person.hurt[0])
    )


class Series:
    """Best-of-seven series of one postseason, the better seed at home in games 1, 2, 5, 7."""

    def __init__(self, season: int, power: dict[int, float], seed: dict[int, tuple]) -> None:
        self.season, self.power, self.seed = season, power, seed
        self.games: list[Game] = []

    def round(self, teams: list[Team], day: dt.date) -> list[Team]:
        """Each pair of `teams` played out; the winners, in bracket order."""
        winners = []
        for a, b in zip(teams[::2], teams[1::2], strict=True):
            better, worse = sorted((a, b), key=lambda team: self.seed[team["id"]])
            won = {better["id"]: 0, worse["id"]: 0}
            for n, at_home in enumerate(HOME_GAMES):
                home, visitor = (better, worse) if at_home else (worse, better)
                when = day + dt.timedelta(days=2 * n)
                game = _game(0, self.season, when, (20, 0), home, visitor, True)
                play(game, self.power, "final")
                self.games.append(game)
                won[_winner(game)["id"]] += 1
                if max(won.values()) == SERIES_WINS:
                    break
            winners.append(max((better, worse), key=lambda team: won[team["id"]]))
        return winners
