"""What the sample league adds up: season averages, standings, leaders, advanced numbers and
the injury list, each from the same games and lines the box scores show, so the totals agree
with the games a question can read one by one.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import Any

from .league import League
from .lines import STAT_KEYS, Line
from .schedule import Game

SUMMED = [key for key in STAT_KEYS if not key.endswith("_pct")]
LEADER_MIN_GAMES_SHARE = 0.5  # a leader played at least half his team's games
_PER_GAME = "ast blk dreb fg3a fg3m fga fgm fta ftm oreb pts reb stl"
# The vendor's stat types for /leaders, each as (line key, how the value is made).
LEADER_STATS = {
    **{name: (name, "avg") for name in _PER_GAME.split()},
    "tov": ("turnover", "avg"),
    "min": ("min", "avg"),
    "eff": ("eff", "avg"),
    "fg_pct": ("fg", "pct"),
    "fg3_pct": ("fg3", "pct"),
    "ft_pct": ("ft", "pct"),
}


def finished(league: League, season: int, postseason: bool) -> list[Game]:
    return [
        game
        for game in league.games
        if game.season == season and game.postseason == postseason and game.state == "final"
    ]


def player_totals(league: League, games: list[Game]) -> dict[int, dict[str, float]]:
    """Per player who played: games, minutes and every counted number, summed."""
    totals: dict[int, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for _, _, line in league.player_lines(games):
        if line.minutes == 0:
            continue
        mine = totals[line.person.id]
        mine["games_played"] += 1
        mine["min"] += line.minutes
        for key in SUMMED:
            mine[key] += line.numbers[key]
        mine["eff"] += _efficiency(line)
    return totals


def _efficiency(line: Line) -> int:
    n = line.numbers
    return (
        n["pts"]
        + n["reb"]
        + n["ast"]
        + n["stl"]
        + n["blk"]
        - (n["fga"] - n["fgm"])
        - (n["fta"] - n["ftm"])
        - n["turnover"]
    )


def averages(total: dict[str, float]) -> dict[str, Any]:
    """Per-game numbers as the vendor's `/season_averages` writes them."""
    games = total["games_played"]
    minutes = total["min"] / games
    row: dict[str, Any] = {
        "games_played": int(games),
        "min": f"{int(minutes)}:{round(minutes % 1 * 60):02d}",
    }
    for key in SUMMED:
        row[key] = round(total[key] / games, 2)
    for kind in ("fg", "fg3", "ft"):
        tried = total[f"{kind}a"]
        row[f"{kind}_pct"] = round(total[f"{kind}m"] / tried, 3) if tried else 0
    return row


def season_averages(league: League, season: int, player_id: int, postseason: bool) -> list:
    """`/season_averages`: one row, or none when he did not play that season."""
    totals = player_totals(league, _games_of(league, player_id, season, postseason))
    if player_id not in totals:
        return []
    return [{**averages(totals[player_id]), "player_id": player_id, "season": season}]


def _games_of(league: League, player_id: int, season: int, postseason: bool) -> list[Game]:
    person = league.person.get(player_id)
    if person is None:
        return []
    team_id = person.team["id"]
    return [
        game
        for game in finished(league, season, postseason)
        if team_id in (game.home["id"], game.visitor["id"])
    ]


def standings(league: League, season: int) -> list[dict[str, Any]]:
    """`/standings`: records and ranks in conference and division, from finished games."""
    record: dict[int, dict[str, list[int]]] = defaultdict(
        lambda: {kind: [0, 0] for kind in ("all", "conference", "division", "home", "road")}
    )
    teams = {}
    for game in finished(league, season, postseason=False):
        won_home = game.score("home") > game.score("visitor")
        for team, other, home in (
            (game.home, game.visitor, True),
            (game.visitor, game.home, False),
        ):
            teams[team["id"]] = team
            won = 0 if won_home == home else 1  # index: 0 a win, 1 a loss
            kinds = ["all", "home" if home else "road"]
            if team["conference"] == other["conference"]:
                kinds.append("conference")
            if team["division"] == other["division"]:
                kinds.append("division")
            for kind in kinds:
                record[team["id"]][kind][won] += 1
    rows = []
    for team_id, team in teams.items():
        mine = record[team_id]
        rows.append(
            {
                "team": dict(team),
                "conference_record": "-".join(map(str, mine["conference"])),
                "conference_rank": _rank(team, teams, record, "conference"),
                "division_record": "-".join(map(str, mine["division"])),
                "division_rank": _rank(team, teams, record, "division"),
                "wins": mine["all"][0],
                "losses": mine["all"][1],
                "home_record": "-".join(map(str, mine["home"])),
                "road_record": "-".join(map(str, mine["road"])),
                "season": season,
            }
        )
    return sorted(rows, key=lambda row: (row["team"]["conference"], row["conference_rank"]))


def _rank(team: dict, teams: dict, record: dict, group: str) -> int:
    """Place by win share in the team's conference or division (ties: fewer losses, id)."""

    def order(other: dict) -> tuple:
        wins, losses = record[other["id"]]["all"]
        return (-wins / max(1, wins + losses), losses, other["id"])

    peers = sorted((t for t in teams.values() if t[group] == team[group]), key=order)
    return [t["id"] for t in peers].index(team["id"]) + 1


def leaders(league: League, season: int, stat_type: str, postseason: bool) -> list[dict]:
    """`/leaders`: every qualified player ranked by the stat (per game, or a percentage)."""
    games = finished(league, season, postseason)
    totals = player_totals(league, games)
    played = defaultdict(int)
    for game in games:
        played[game.home["id"]] += 1
        played[game.visitor["id"]] += 1
    key, how = LEADER_STATS[stat_type]
    values = []
    for player_id, total in totals.items():
        person = league.person[player_id]
        if total["games_played"] < LEADER_MIN_GAMES_SHARE * played[person.team["id"]]:
            continue
        if how == "pct":
            tried = total[f"{key}a"]
            value = round(total[f"{key}m"] / tried, 3) if tried else 0
        else:
            value = round(total[key] / total["games_played"], 1)
        values.append((value, player_id, int(total["games_played"])))
    values.sort(key=lambda item: (-item[0], item[1]))
    return [
        {
            "player": league.person[pid].vendor(),
            "value": value,
            "stat_type": stat_type,
            "rank": rank,
            "season": season,
            "games_played": games_played,
        }
        for rank, (value, pid, games_played) in enumerate(values, start=1)
    ]


def injuries(league: League) -> list[dict[str, Any]]:
    """`/player_injuries`: the players hurt this season, out until a few weeks after today."""
    rows = []
    for person in league.people:
        if person.hurt is None or person.retired or person.hurt[0] > league.today:
            continue
        since, part, words = person.hurt
        back = league.today + dt.timedelta(days=7 + person.id % 21)
        rows.append(
            {
                "player": person.vendor(),
                "return_date": back.strftime("%b %-d"),
                "description": f"{since.strftime('%b %-d')}: {person.last_name} ({part}) is out"
                f" with a {words}; sample data, not real.",
                "status": "Out" if person.id % 3 else "Day-To-Day",
            }
        )
    return rows


def team_averages(league: League, season: int, postseason: bool) -> dict[int, dict[str, Any]]:
    """Per team: games, wins, losses and its lines' numbers per game."""
    games = finished(league, season, postseason)
    totals: dict[int, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for game in games:
        home_won = game.score("home") > game.score("visitor")
        for (team, lines), won in zip(league.lines(game.id), (home_won, not home_won), strict=True):
            mine = totals[team["id"]]
            mine["gp"] += 1
            mine["w" if won else "l"] += 1
            for line in lines:
                mine["min"] += line.minutes
                for key in SUMMED:
                    mine[key] += line.numbers[key]
    rows = {}
    for team_id, total in totals.items():
        games_played = total["gp"]
        row: dict[str, Any] = {"gp": int(games_played), "w": int(total["w"]), "l": int(total["l"])}
        row["min"] = round(total["min"] / games_played / 5, 1)
        for key in SUMMED:
            row["tov" if key == "turnover" else key] = round(total[key] / games_played, 1)
        for kind in ("fg", "fg3", "ft"):
            tried = total[f"{kind}a"]
            row[f"{kind}_pct"] = round(total[f"{kind}m"] / tried, 3) if tried else 0
        rows[team_id] = row
    return rows
