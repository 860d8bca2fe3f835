"""The standings arithmetic: finished games in, one ranked row per team out.

Pure functions over plain values, so a table can be checked by hand: a team's wins and losses,
home and road records, conference record, last 10 and streak, ranked within its conference by
win percentage, then head-to-head among the tied teams, then conference record, then fewer
losses, then name (a simplification of the league's rules, said in every answer's meta).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, NamedTuple

TIE_BREAK = (
    "Ranked by win percentage; ties broken by head-to-head win percentage among the tied teams,"
    " then conference record, then fewer losses, then name. The league's full tie-break rules"
    " (division leaders, point differential) may rank ties differently."
)
LAST_N = 10


class Game(NamedTuple):
    """One finished regular-season game, as the ledger keeps it."""

    id: int
    date: str  # the US game day, YYYY-MM-DD
    home: int
    visitor: int
    home_score: int
    visitor_score: int

    @property
    def winner(self) -> int:
        return self.home if self.home_score > self.visitor_score else self.visitor


@dataclass(frozen=True)
class TeamInfo:
    """What a row says of a team besides its record (from the teams list)."""

    team_id: int
    team: str
    abbreviation: str
    conference: str
    division: str


@dataclass
class Record:
    """One team's results so far, oldest first."""

    results: list[tuple[str, int, bool, bool, int]]  # (date, game id, won, at home, opponent)

    def count(self, keep: Any = None) -> tuple[int, int]:
        won = [r[2] for r in self.results if keep is None or keep(r)]
        return sum(won), len(won) - sum(won)


def _pct(wins: int, losses: int) -> float:
    return round(wins / (wins + losses), 3) if wins + losses else 0.0


def _wl(wins: int, losses: int) -> str:
    return f"{wins}-{losses}"


def records(games: Iterable[Game]) -> dict[int, Record]:
    """Each team's results, by date then game id (a tie game counts for no one)."""
    out: dict[int, Record] = defaultdict(lambda: Record([]))
    for game in sorted(games, key=lambda g: (g.date, g.id)):
        if game.home_score == game.visitor_score:
            continue
        won = game.winner
        out[game.home].results.append((game.date, game.id, won == game.home, True, game.visitor))
        out[game.visitor].results.append(
            (game.date, game.id, won == game.visitor, False, game.home)
        )
    return out


def streak(record: Record) -> str | None:
    """`W3`, `L1`: the latest run of one result; None before the first game."""
    if not record.results:
        return None
    last = record.results[-1][2]
    run = 0
    for result in reversed(record.results):
        if result[2] != last:
            break
        run += 1
    return f"{'W' if last else 'L'}{run}"


def _row(info: TeamInfo, record: Record, conference_of: dict[int, str]) -> dict[str, Any]:
    wins, losses = record.count()
    same = info.conference
    latest = Record(record.results[-LAST_N:])
    return {
        "team": info.team,
        "abbreviation": info.abbreviation,
        "conference": info.conference,
        "division": info.division,
        "wins": wins,
        "losses": losses,
        "win_pct": _pct(wins, losses),
        "home": _wl(*record.count(lambda r: r[3])),
        "road": _wl(*record.count(lambda r: not r[3])),
        "conference_record": _wl(*record.count(lambda r: conference_of.get(r[4]) == same)),
        "last_10": _wl(*latest.count()),
        "streak": streak(record),
        "team_id": info.team_id,
    }


def _head_to_head(team: int, tied: set[int], by_team: dict[int, Record]) -> float:
    """Win percentage in the games between the tied teams (0.5 when they have not met)."""
    wins, losses = by_team[team].count(lambda r: r[4] in tied)
    return wins / (wins + losses) if wins + losses else 0.5


def _exact_pct(row: dict[str, Any]) -> Fraction:
    """The win percentage unrounded (the row's `win_pct` is rounded for reading)."""
    games = row["wins"] + row["losses"]
    return Fraction(row["wins"], games) if games else Fraction(1, 2)


def _conference_pct(row: dict[str, Any]) -> float:
    wins, losses = map(int, row["conference_record"].split("-"))
    return wins / (wins + losses) if wins + losses else 0.5


def rank(rows: list[dict[str, Any]], by_team: dict[int, Record]) -> list[dict[str, Any]]:
    """One conference's rows in order, with `conference_rank` and `games_behind` filled in."""
    # Ties are of the exact percentage (41-21 and 39-20 both show .661, but are not tied).
    by_pct: dict[Fraction, set[int]] = defaultdict(set)
    for row in rows:
        by_pct[_exact_pct(row)].add(row["team_id"])

    def key(row: dict[str, Any]) -> tuple[Any, ...]:
        pct = _exact_pct(row)
        tied = by_pct[pct]
        h2h = _head_to_head(row["team_id"], tied, by_team) if len(tied) > 1 else 0.5
        return (-pct, -h2h, -_conference_pct(row), row["losses"], row["team"])

    ordered = sorted(rows, key=key)
    if ordered:
        top = ordered[0]
        for place, row in enumerate(ordered, 1):
            row["conference_rank"] = place
            # Negative for a team with more games won and lost than a leader ahead in win pct.
            row["games_behind"] = (top["wins"] - row["wins"] + row["losses"] - top["losses"]) / 2
    return ordered


def table(games: Iterable[Game], teams: Iterable[TeamInfo]) -> list[dict[str, Any]]:
    """The standings: every team's row, each conference ranked, East first."""
    teams = list(teams)
    by_team = records(games)
    conference_of = {info.team_id: info.conference for info in teams}
    out: list[dict[str, Any]] = []
    for conference in sorted({info.conference for info in teams}):
        rows = [
            _row(info, by_team[info.team_id], conference_of)
            for info in teams
            if info.conference == conference
        ]
        out.extend(rank(rows, by_team))
    return out


def from_record(wins: int, losses: int, leader: tuple[int, int]) -> dict[str, Any]:
    """`win_pct` and `games_behind` of an upstream row (the vendor's standings lack them)."""
    behind = (leader[0] - wins + losses - leader[1]) / 2
    return {"win_pct": _pct(wins, losses), "games_behind": behind}
