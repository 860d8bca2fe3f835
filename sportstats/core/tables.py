"""Upstream objects -> flat rows an assistant can print as a markdown table.

Each shaper reads only the keys it knows (the upstream keeps adding keys) and tolerates the nulls
and odd values recorded from the live API: blank defunct-team fields, a tip-off timestamp as a
scheduled game's status, `min` as "05", "34:12" or null.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..upstream.league_clock import tip_off
from .dates import eastern_text, utc_text

Row = dict[str, Any]
Item = dict[str, Any]


@dataclass(frozen=True)
class Table:
    """The columns of one endpoint's rows, in reading order, and how to make a row."""

    columns: tuple[str, ...]
    row: Callable[[Item], Row]

    def rows(self, items: list[Item]) -> list[Row]:
        out = []
        for item in items:
            if not isinstance(item, dict):
                continue
            row = self.row(item)
            out.append({column: conform(column, row.get(column)) for column in self.columns})
        return out


def _dict(value: Any) -> Item:
    return value if isinstance(value, dict) else {}


def _text(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def _number(value: Any, digits: int = 3) -> Any:
    """Round float noise (0.6666667) away; keep ints and nulls as they are."""
    return round(value, digits) if isinstance(value, float) else value


def _name(person: Item) -> str | None:
    return _text(
        " ".join(filter(None, (_text(person.get("first_name")), _text(person.get("last_name")))))
    )


def _day(value: Any) -> str | None:
    """Game days come as "2024-01-05" or, in older data, "2024-01-05T00:00:00.000Z"."""
    text = _text(value)
    return text[:10] if text else None


def minutes(value: Any) -> str | None:
    """ "05" -> "5", "34:12" stays, "00" -> "0", null stays null (did not play)."""
    text = _text(value)
    if text is None:
        return None
    if ":" in text:
        mins, _, secs = text.partition(":")
        return f"{int(mins)}:{secs}" if mins.isascii() and mins.isdigit() else text
    return str(int(text)) if text.isascii() and text.isdigit() else text


def game_status(game: Item) -> str | None:
    """ "Final", a live "3rd Qtr 5:31", or "Scheduled <UTC tip-off>" for a timestamp status."""
    status = _text(game.get("status"))
    if status is None:
        return None
    if len(status) >= 16 and status[4] == "-" and "T" in status:
        return f"Scheduled {status[:10]} {status[11:16]} UTC"
    clock = _text(game.get("time"))
    if clock and clock != status and clock.lower() != "final" and status.lower() != "final":
        return f"{status} {clock}"
    return status


def is_settled(game: Item) -> bool:
    """A finished game: its numbers will not change."""
    return (_text(game.get("status")) or "").lower() == "final"


def _team_row(team: Item) -> Row:
    return {
        "team": _text(team.get("full_name")),
        "abbreviation": _text(team.get("abbreviation")),
        "conference": _text(team.get("conference")),
        "division": _text(team.get("division")),
        "city": _text(team.get("city")),
        "team_id": team.get("id"),
    }


def _player_row(player: Item) -> Row:
    team = _dict(player.get("team"))
    return {
        "name": _name(player),
        "position": _text(player.get("position")),
        "team": _text(team.get("full_name")),
        "height": _text(player.get("height")),
        "weight": _text(player.get("weight")),
        "jersey_number": _text(player.get("jersey_number")),
        "college": _text(player.get("college")),
        "country": _text(player.get("country")),
        "draft_year": player.get("draft_year"),
        "draft_round": player.get("draft_round"),
        "draft_number": player.get("draft_number"),
        "player_id": player.get("id"),
        "team_id": team.get("id", player.get("team_id")),
    }


def _game_row(game: Item) -> Row:
    home, visitor = _dict(game.get("home_team")), _dict(game.get("visitor_team"))
    scheduled = (game_status(game) or "").startswith("Scheduled")
    # Tip-off: the newer `datetime` key, else a scheduled game's timestamp status.
    moment = tip_off(game.get("datetime")) or tip_off(game.get("status"))
    return {
        "date": _day(game.get("date")),
        "home_team": _text(home.get("full_name")),
        "home_score": None if scheduled else game.get("home_team_score"),
        "visitor_team": _text(visitor.get("full_name")),
        "visitor_score": None if scheduled else game.get("visitor_team_score"),
        "status": game_status(game),
        "tip_off_utc": utc_text(moment) if moment else None,
        "tip_off_et": eastern_text(moment) if moment else None,
        "period": game.get("period"),
        "postseason": game.get("postseason"),
        "season": game.get("season"),
        "game_id": game.get("id"),
        "home_team_id": home.get("id"),
        "visitor_team_id": visitor.get("id"),
    }


BOX_SCORE = ("pts", "reb", "ast", "stl", "blk", "fg_pct", "fg3_pct", "ft_pct")
SHOOTING = ("fgm", "fga", "fg3m", "fg3a", "ftm", "fta", "oreb", "dreb", "turnover", "pf")
# Advanced stats worth a column (the vendor sends dozens; `fields` cannot ask for the rest).
ADVANCED = (
    "pie",
    "offensive_rating",
    "defensive_rating",
    "net_rating",
    "usage_percentage",
    "true_shooting_percentage",
    "effective_field_goal_percentage",
    "assist_percentage",
    "rebound_percentage",
    "turnover_ratio",
    "pace",
    "possessions",
)


def _side(game: Item, team_id: Any) -> tuple[str | None, Any, Any, Any]:
    """(home or away, the opponent's id, our score, theirs) of `team_id` in `game`."""
    home, visitor = game.get("home_team_id"), game.get("visitor_team_id")
    home_score, visitor_score = game.get("home_team_score"), game.get("visitor_team_score")
    if team_id is None or team_id not in (home, visitor):
        return None, None, None, None
    if team_id == home:
        return "home", visitor, home_score, visitor_score
    return "away", home, visitor_score, home_score


def game_result(game: Item, ours: Any, theirs: Any) -> str | None:
    """ "W 112-104" / "L 104-112" once final, else the game's status (live or scheduled)."""
    status = game_status(game)
    if not is_settled(game):
        return status
    if not all(isinstance(score, int) for score in (ours, theirs)) or ours == theirs:
        return status
    return f"{'W' if ours > theirs else 'L'} {ours}-{theirs}"


def is_final_result(result: Any) -> bool:
    """A stats row's `result` of a finished game (`W 112-104`)."""
    return isinstance(result, str) and result[:2] in ("W ", "L ")


def stat_row(stat: Item) -> Row:
    player, team, game = _dict(stat.get("player")), _dict(stat.get("team")), _dict(stat.get("game"))
    team_id = team.get("id", player.get("team_id"))
    home_away, opponent_id, ours, theirs = _side(game, team_id)
    row: Row = {
        "date": _day(game.get("date")),
        "player": _name(player),
        "team": _text(team.get("abbreviation")),
        "opponent": None,  # the opponent's abbreviation, from the teams list (`opponent_id`)
        "home_away": home_away,
        "result": game_result(game, ours, theirs),
        "min": minutes(stat.get("min")),
    }
    row.update({key: _number(stat.get(key)) for key in BOX_SCORE + SHOOTING})
    row.update(
        {
            "plus_minus": _number(stat.get("plus_minus")),
            "player_id": player.get("id"),
            "team_id": team_id,
            "game_id": game.get("id"),
            "opponent_id": opponent_id,
        }
    )
    return row


def _season_average_row(averages: Item) -> Row:
    row: Row = {
        "player": _text(averages.get("player")),
        "season": averages.get("season"),
        "games_played": averages.get("games_played"),
        "min": minutes(averages.get("min")),
    }
    row.update(
        {
            key: _number(averages.get(key), 3 if key.endswith("pct") else 1)
            for key in BOX_SCORE + SHOOTING
        }
    )
    row["player_id"] = averages.get("player_id")
    return row


def _standing_row(row: Item) -> Row:
    """A standings row is made by the arithmetic (`standings`), already flat."""
    return {column: row.get(column) for column in STANDING_COLUMNS}


STANDING_COLUMNS = (
    "conference_rank",
    "team",
    "wins",
    "losses",
    "win_pct",
    "games_behind",
    "conference",
    "division",
    "home",
    "road",
    "conference_record",
    "last_10",
    "streak",
    "team_id",
)


def columns_of(sample: Callable[[Item], Row]) -> tuple[str, ...]:
    return tuple(sample({}))


TEAMS = Table(columns_of(_team_row), _team_row)
PLAYERS = Table(columns_of(_player_row), _player_row)
GAMES = Table(columns_of(_game_row), _game_row)
STATS = Table(columns_of(stat_row), stat_row)
SEASON_AVERAGES = Table(columns_of(_season_average_row), _season_average_row)
STANDINGS = Table(STANDING_COLUMNS, _standing_row)

INTEGER_COLUMNS = frozenset(
    {
        "player_id",
        "team_id",
        "game_id",
        "home_team_id",
        "visitor_team_id",
        "opponent_id",
        "draft_year",
        "draft_round",
        "draft_number",
        "season",
        "period",
        "games_played",
        "home_score",
        "visitor_score",
        "rank",
        "conference_rank",
        "wins",
        "losses",
    }
)
BOOLEAN_COLUMNS = frozenset({"postseason"})
# `value` is a leader's number (`reports`).
NUMBER_COLUMNS = frozenset(
    BOX_SCORE + SHOOTING + ADVANCED + ("plus_minus", "value", "win_pct", "games_behind")
)


def column_type(column: str) -> str:
    """The JSON type of one column's values (each may also be null)."""
    if column in INTEGER_COLUMNS:
        kind = "integer"
    elif column in BOOLEAN_COLUMNS:
        kind = "boolean"
    elif column in NUMBER_COLUMNS:
        kind = "number"
    else:
        kind = "string"
    return kind


def nullable(kind: str) -> dict[str, Any]:
    """A type or null, as strict validators want it: `anyOf`, not a list of types."""
    return {"anyOf": [{"type": kind}, {"type": "null"}]}


def conform(column: str, value: Any) -> Any:
    """The value if it has the column's declared type, else null.

    An upstream that sends a string id or a NaN must not make an answer break its own schema
    (nor emit `NaN`, which is not JSON).
    """
    if column in INTEGER_COLUMNS:
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif column in BOOLEAN_COLUMNS:
        ok = isinstance(value, bool)
    elif column in NUMBER_COLUMNS:
        ok = isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
    else:
        ok = isinstance(value, str)
    return value if ok else None


_LINE_BREAK = re.compile(r"\r\n|\r|\n")


def markdown_cell(value: Any) -> str:
    """One table cell: null empty, booleans as true/false, `\\` and `|` escaped, lines joined.

    Backslashes are escaped too, so a cell ending in `\\` cannot escape the next delimiter.
    """
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    text = str(value).replace("\\", "\\\\").replace("|", "\\|")
    return _LINE_BREAK.sub("<br>", text)


def markdown_table(answer: dict[str, Any]) -> str:
    """A data answer as a ready markdown table, then one line of meta.

    The meta line says how many rows, how to get the next page and how fresh the data is, and
    repeats `meta.note` (why an answer is empty, partial or trimmed) when there is one.
    """
    columns = answer["columns"]
    meta = answer.get("meta") or {}
    lines = [
        "| " + " | ".join(markdown_cell(column) for column in columns) + " |",
        "|" + "|".join("---" for _ in columns) + "|",
    ]
    lines += [
        "| " + " | ".join(markdown_cell(row.get(column)) for column in columns) + " |"
        for row in answer["data"]
    ]
    next_cursor = meta.get("next_cursor")
    facts = [
        f"count: {meta.get('count', len(answer['data']))}",
        f"next_cursor: {next_cursor}" if next_cursor is not None else "next_cursor: none",
        f"cache: {meta.get('cache', 'unknown')}",
    ]
    if meta.get("note"):
        facts.append(f"note: {' '.join(str(meta['note']).split())}")
    lines += ["", " · ".join(facts)]
    return "\n".join(lines)
