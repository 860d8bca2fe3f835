"""What differs between endpoints besides their parameters and table: freshness, item filters,
per-player fan-out. Each endpoint's declaration holds these objects; no code asks its name.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..settings import CacheSettings
from .tables import is_settled

Item = Any
Game = dict[str, Any]

RECENT_DAYS = 2  # a final score is final, but box scores get corrected for a day or so


def the_item(item: Item) -> Game | None:
    """A games answer: each item is a game."""
    return item if isinstance(item, dict) else None


def the_items_game(item: Item) -> Game | None:
    """A stats answer: each item is a player's line in one game."""
    game = item.get("game") if isinstance(item, dict) else None
    return game if isinstance(game, dict) else None


@dataclass(frozen=True)
class Freshness:
    """How long an endpoint's answers stay fresh, by how fast their data changes.

    The base TTL is the option `cache.ttl_s.<ttl_option>`, for settled data. Answers about games
    (`game_of` finds each item's game) are capped for live or scheduled games and games of today
    (`live_ttl_s`), finished games of the last two days (`recent_ttl_s`), and no games at all
    (`empty_ttl_s`); answers of one season (`by_season`) are capped while the season runs
    (`current_season_ttl_s`).
    """

    ttl_option: str
    game_of: Callable[[Item], Game | None] | None = None
    by_season: bool = False

    def ttl_s(
        self,
        settings: CacheSettings,
        items: Sequence[Item],
        season: int | None = None,
        current_season: int | None = None,
        today: dt.date | None = None,
    ) -> float:
        base = float(settings.ttl_s[self.ttl_option])
        if self.by_season:
            if season is not None and season == current_season:
                return min(base, settings.current_season_ttl_s)
            return base
        if self.game_of is None:
            return base
        games = [game for game in map(self.game_of, items) if game]
        if not games:
            return min(base, settings.empty_ttl_s)
        today = today or dt.date.today()
        days = [str(game.get("date", ""))[:10] for game in games]
        if not all(is_settled(game) for game in games) or max(days) >= today.isoformat():
            return min(base, settings.live_ttl_s)
        if max(days) >= (today - dt.timedelta(days=RECENT_DAYS)).isoformat():
            return min(base, settings.recent_ttl_s)
        return base


@dataclass(frozen=True)
class ItemFilter:
    """Items the upstream lists that an answer leaves out, counted in `meta[<meta_key>]`."""

    keep: Callable[[Item], bool]
    meta_key: str
    note: str  # the answer's note when some were left out; `{count}` is the rows kept

    def apply(self, items: list[Item], meta: dict[str, Any]) -> list[Item]:
        kept = [item for item in items if self.keep(item)]
        if len(kept) < len(items):
            meta[self.meta_key] = len(items) - len(kept)
        return kept


def is_current_team(team: Item) -> bool:
    """Defunct franchises are listed upstream without a conference."""
    return isinstance(team, dict) and bool(str(team.get("conference", "")).strip())


CURRENT_TEAMS = ItemFilter(
    is_current_team,
    "defunct_teams_left_out",
    "The {count} current teams; defunct franchises are left out.",
)


@dataclass(frozen=True)
class PerPlayer:
    """The upstream takes one player per call: fan out one cached call per player and merge.

    `ids_param` is our array parameter, `upstream_param` the upstream's single-value name for it.
    """

    ids_param: str
    upstream_param: str

    def single(self, pairs: list[tuple[str, str]]) -> list[tuple[str, str]]:
        """One player's upstream query pairs: the array `player_ids` as `player_id`."""
        return [(self.upstream_param if k == self.ids_param else k, v) for k, v in pairs]


@dataclass(frozen=True)
class TeamNames:
    """A parameter that names teams (`team=Lakers,BOS`), resolved from the cached teams list.

    Resolved into the array parameter `into` (the upstream filters by it), or, where the
    upstream has no team filter, kept as ids that filter the rows by their `team_id` column.
    """

    param: str
    into: str | None = None


@dataclass(frozen=True)
class PlayerNames:
    """A parameter that names players (`player=LeBron James`), resolved through the players
    endpoint's name filters into the array parameter `into`."""

    param: str
    into: str


@dataclass(frozen=True)
class EmptyNote:
    """What an empty answer says when the question gave every parameter in `when`.

    `text` may name the given values as `{<parameter>}`; the first note that fits is used.
    """

    when: tuple[str, ...]
    text: str

    def fits(self, given: Callable[[str], Any]) -> bool:
        return all(given(name) is not None for name in self.when)

    def say(
        self, given: Callable[[str], Any], labels: Mapping[str, Mapping[Any, str]] | None = None
    ) -> str:
        """The note, ids named where `labels` (parameter -> id -> name) knows them."""
        values = {}
        for name in self.when:
            value = given(name)
            named = (labels or {}).get(name, {})
            parts = value if isinstance(value, tuple) else (value,)
            values[name] = ", ".join(named.get(part) or str(part) for part in parts)
        return self.text.format(**values)


@dataclass(frozen=True)
class TeamLabels:
    """Columns named from the cached teams list: `column` gets the abbreviation of the team
    whose id is in `id_column` (the stats rows' opponent, known from the game by id only)."""

    column: str
    id_column: str


@dataclass(frozen=True)
class Recent:
    """`last` N: the N most recent finished games, found by searching back through time.

    `per` is the parameter whose values each get N games (players each have their last N);
    `games_of` is the parameter whose games are found on `/games` first, where the endpoint's
    upstream cannot filter by it (a team's box-score lines).
    """

    per: str | None = None
    games_of: str | None = None


@dataclass(frozen=True)
class LedgerTable:
    """Answered by arithmetic over the standings room's ledger of finished games, or, where the
    plan serves it, from the upstream's own table (the endpoint's route), its missing columns
    still from the arithmetic. `team`, `conference` and `division` keep rows of the table."""
