"""The paid routes' objects -> flat rows: league leaders, injuries, box scores by day or live,
advanced stats and per-category season averages.

Like `tables`, each shaper reads only the keys it knows and survives the nulls and extra keys the
vendor adds: a player with no team, an injury with no return date, a box score that nests a team
as `{team, players}` (the vendor's spec) or puts the team's fields beside `players` (a recorded
answer). Box scores become the stats table's rows, so they print and draw as any box score.
"""

from __future__ import annotations

from . import tables
from .tables import (
    ADVANCED,
    BOX_SCORE,
    SHOOTING,
    Item,
    Row,
    Table,
    _day,
    _dict,
    _name,
    _number,
    _text,
    columns_of,
    stat_row,
)

# The vendor's `leaders` stat types (its `stat_type` enum).
LEADER_STATS = (
    "pts",
    "reb",
    "ast",
    "stl",
    "blk",
    "fg_pct",
    "fg3m",
    "fg3_pct",
    "ft_pct",
    "fgm",
    "fga",
    "fg3a",
    "ftm",
    "fta",
    "oreb",
    "dreb",
    "tov",
    "min",
    "eff",
)

# The per-category season averages' `stats` keys that differ from the plain route's names.
CATEGORY_KEYS = {"games_played": "gp", "turnover": "tov"}


def _team_of(player: Item) -> Item:
    return _dict(player.get("team"))


def _leader_row(item: Item) -> Row:
    player = _dict(item.get("player"))
    team = _team_of(player)
    return {
        "rank": item.get("rank"),
        "player": _name(player),
        "team": _text(team.get("abbreviation")),
        "stat": _text(item.get("stat_type")),
        "value": _number(item.get("value")),
        "games_played": item.get("games_played"),
        "season": item.get("season"),
        "player_id": player.get("id"),
        "team_id": team.get("id", player.get("team_id")),
    }


def _injury_row(item: Item) -> Row:
    player = _dict(item.get("player"))
    team = _team_of(player)
    return {
        "player": _name(player),
        "team": _text(team.get("abbreviation")),
        "status": _text(item.get("status")),
        "return_date": _text(item.get("return_date")),
        "description": _text(item.get("description")),
        "player_id": player.get("id"),
        "team_id": team.get("id", player.get("team_id")),
    }


def _advanced_row(item: Item) -> Row:
    player, game = _dict(item.get("player")), _dict(item.get("game"))
    team = _dict(item.get("team")) or _team_of(player)
    row: Row = {
        "date": _day(game.get("date")),
        "player": _name(player),
        "team": _text(team.get("abbreviation")),
    }
    row.update({key: _number(item.get(key)) for key in ADVANCED})
    row.update(
        {
            "player_id": player.get("id"),
            "team_id": team.get("id", player.get("team_id")),
            "game_id": game.get("id"),
        }
    )
    return row


def category_averages(item: Item) -> Item:
    """A `season_averages/{category}` row as the plain route's averages (`gp` -> games_played,
    `tov` -> turnover, the numbers out of `stats`), so both fill one table."""
    stats = _dict(item.get("stats"))
    player = _dict(item.get("player"))
    flat: Item = {key: stats.get(CATEGORY_KEYS.get(key, key)) for key in (*BOX_SCORE, *SHOOTING)}
    minutes_played = stats.get("min")
    flat.update(
        player=_name(player),
        player_id=item.get("player_id", player.get("id")),
        season=item.get("season"),
        games_played=stats.get("gp"),
        min=f"{minutes_played:.1f}" if isinstance(minutes_played, int | float) else minutes_played,
    )
    return flat


def _box_side(side: Item) -> tuple[Item, list[Item]]:
    """(the team, its players' lines) of one side of a box score, in either nesting."""
    team = _dict(side.get("team")) or side
    lines = side.get("players") if isinstance(side.get("players"), list) else []
    return team, [line for line in lines if isinstance(line, dict)]


def box_score_lines(box_scores: list[Item]) -> list[Item]:
    """Box scores (one object a game, both teams' lines inside) as stats items, one a line.

    The vendor's box scores carry no game id, so `game.id` stays absent; each line's game is
    the box score itself, seen from its team's side.
    """
    lines: list[Item] = []
    for box in box_scores:
        if not isinstance(box, dict):
            continue
        home, home_lines = _box_side(_dict(box.get("home_team")))
        visitor, visitor_lines = _box_side(_dict(box.get("visitor_team")))
        game = {
            key: box.get(key)
            for key in ("id", "date", "season", "status", "period", "time", "postseason")
        }
        game.update(
            home_team_id=home.get("id"),
            visitor_team_id=visitor.get("id"),
            home_team_score=box.get("home_team_score"),
            visitor_team_score=box.get("visitor_team_score"),
        )
        for team, opponent, side_lines in (
            (home, visitor, home_lines),
            (visitor, home, visitor_lines),
        ):
            for line in side_lines:
                lines.append({**line, "team": team, "game": game, "opponent": opponent})
    return lines


def box_score_row(line: Item) -> Row:
    """One player's line of a box score: the stats table's row, its opponent named from the
    box score itself (no teams list needed)."""
    row = stat_row(line)
    row["opponent"] = _text(_dict(line.get("opponent")).get("abbreviation"))
    return row


LEADERS = Table(columns_of(_leader_row), _leader_row)
INJURIES = Table(columns_of(_injury_row), _injury_row)
ADVANCED_STATS = Table(columns_of(_advanced_row), _advanced_row)
# The per-category route's averages, in the plain route's table.
CATEGORY_AVERAGES = Table(
    tables.SEASON_AVERAGES.columns,
    lambda item: tables.SEASON_AVERAGES.row(category_averages(item)),
)
