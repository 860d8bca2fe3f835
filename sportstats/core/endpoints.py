"""The data endpoints, declared as data: parameters, upstream route, table, wording.

Routes, validation, the OpenAPI spec and the MCP tools are all generated from these declarations;
the endpoints differ in data, not in code.
"""

from __future__ import annotations

from ..upstream.routes import ROUTES
from . import tables
from .endpoint import Endpoint
from .params import Param, Query, current_season
from .players import full_name_as_parts
from .policy import (
    CURRENT_TEAMS,
    Caveat,
    EmptyNote,
    Freshness,
    LedgerTable,
    PerPlayer,
    PlayerNames,
    Recent,
    StandIn,
    TeamLabels,
    TeamNames,
    the_item,
    the_items_game,
)
from .tables import Table

PLAYER_IDS = Param("player_ids", "ids", "Player ids (from /players).")
TEAM_IDS = Param("team_ids", "ids", "Team ids 1-30 (from /teams).")
GAME_IDS = Param("game_ids", "ids", "Game ids (from /games).")
SEASONS = Param(
    "seasons",
    "seasons",
    "Seasons by the year they began (2024 is 2024-25).",
)
DATES = Param("dates", "dates", "Game days as YYYY-MM-DD or a day word (US Eastern days).")
START_DATE = Param("start_date", "date", "First game day (inclusive).")
END_DATE = Param("end_date", "date", "Last game day (inclusive).")
POSTSEASON = Param("postseason", "bool", "true: playoff games only; false: regular season only.")
LIMIT = Param("limit", "limit", "Rows per page.", upstream="per_page")
PLAYER = Param(
    "player",
    "names",
    "Players by full name or id.",
    local=True,
    example="LeBron James",
)
CURSOR = Param("cursor", "cursor", "Paging: pass meta.next_cursor of the previous answer.")
# A limit where the route has no pages: the rows are cut here, from the top.
TOP = Param("limit", "limit", "How many rows, from the top (default 25).", local=True)
TEAM = Param(
    "team",
    "names",
    "Teams by abbreviation (LAL), nickname (Lakers), full name, city or id.",
    local=True,
    example="LAL",
)

CONFERENCE = Param(
    "conference",
    "enum",
    "East or West (Eastern and Western are understood too).",
    choices=("East", "West"),
    aliases=(("Eastern", "East"), ("Western", "West")),
)
DIVISION = Param(
    "division",
    "enum",
    "One of the six NBA divisions.",
    choices=("Atlantic", "Central", "Southeast", "Northwest", "Pacific", "Southwest"),
)


def sort_by(table: Table, example: str) -> Param:
    """`sort` over a table's columns: the whole answer when it is complete, else the page."""
    return Param(
        "sort",
        "sort",
        "Sort rows by a column, - first for descending.",
        choices=table.columns,
        local=True,
        example=example,
    )


def fields_of(table: Table) -> Param:
    """`fields` over a table's columns: the answer keeps those (and its id columns)."""
    return Param(
        "fields",
        "fields",
        "Only these columns; ids are always kept.",
        choices=table.columns,
        local=True,
        example=table.columns[0],
    )


def last_games(needs: tuple[str, ...] = (), excludes: tuple[str, ...] = ()) -> Param:
    """`last` N: the N most recent finished games matching the other filters, newest first."""
    needed = f" Needs {' or '.join(needs)}." if needs else ""
    return Param(
        "last",
        "last",
        f"The N latest finished games, newest first.{needed}"
        f" Not with {', '.join(('cursor', *excludes))}.",
        local=True,
        needs_one_of=needs,
        excludes=("cursor", *excludes),
    )


def opponent_of(needs: tuple[str, ...]) -> Param:
    """`opponent`: only the games against these teams (the upstream has no such filter)."""
    return Param(
        "opponent",
        "names",
        f"Only games against this team. Needs {' or '.join(needs)}.",
        local=True,
        example="BOS",
        needs_one_of=needs,
        excludes=("cursor", "game_ids"),
    )


NEXT = Param(
    "next",
    "next",
    "The next N games not yet started, soonest first. Not with last, dates, cursor.",
    local=True,
    excludes=("cursor", "last", "dates"),
)


def current_season_by_default(query: Query) -> Query:
    """Season averages without a season are the current season's."""
    return query if query.get("season") else query.replace(season=current_season())


PLAYERS = Endpoint(
    name="players",
    route=ROUTES["players"],
    table=tables.PLAYERS,
    params=(
        Param(
            "query",
            "text",
            "Search by first or last name, one name part (e.g. 'curry').",
            upstream="search",
        ),
        Param("first_name", "text", "Filter by first name."),
        Param("last_name", "text", "Filter by last name."),
        TEAM,
        TEAM_IDS,
        PLAYER_IDS,
        Param(
            "active",
            "bool",
            "true: today's players only (a team's current roster); needs the ALL-STAR plan.",
            local=True,
        ),
        sort_by(tables.PLAYERS, "name"),
        fields_of(tables.PLAYERS),
        LIMIT,
        CURSOR,
    ),
    summary="Find NBA players by name, team or id",
    description="NBA players, current and retired, with position, team, height, weight, draft."
    " Search by a name part or a full name, or filter by team or id.",
    freshness=Freshness("players"),
    team_names=TeamNames("team", into="team_ids"),
    upstream_query=full_name_as_parts,
    switch=("active", ROUTES["players/active"]),
    caveats=(
        Caveat(
            ("team_ids",),
            "Everyone who has played for team {team_ids}, former players included; active=true"
            " gives today's roster.",
            unless=("active",),
            meta_key="includes_former_players",
        ),
    ),
    instead="every player who has played for the team (/players?team=..., former players included)",
    empty_notes=(
        EmptyNote(
            ("query",),
            "No player's name matches '{query}': check the spelling, or give one name part"
            " (the last name).",
        ),
        EmptyNote(("last_name",), "No player has the last name '{last_name}': check the spelling."),
        EmptyNote(
            ("first_name",), "No player has the first name '{first_name}': check the spelling."
        ),
    ),
)

TEAMS = Endpoint(
    name="teams",
    route=ROUTES["teams"],
    table=tables.TEAMS,
    params=(
        CONFERENCE,
        DIVISION,
        fields_of(tables.TEAMS),
    ),
    summary="List the 30 current NBA teams",
    description="The 30 current NBA teams with ids, conference and division;"
    " defunct franchises are left out.",
    freshness=Freshness("teams"),
    paged=False,
    item_filter=CURRENT_TEAMS,
    local_filters=(("conference", "conference"), ("division", "division")),
)

GAMES = Endpoint(
    name="games",
    route=ROUTES["games"],
    table=tables.GAMES,
    params=(
        SEASONS,
        TEAM,
        TEAM_IDS,
        DATES,
        START_DATE,
        END_DATE,
        POSTSEASON,
        last_games(excludes=("dates",)),
        NEXT,
        opponent_of(("team", "team_ids")),
        sort_by(tables.GAMES, "-date"),
        fields_of(tables.GAMES),
        LIMIT,
        CURSOR,
    ),
    summary="NBA games: scores, schedule and live status",
    description="NBA games: teams, score, status, tip-off (UTC, US Eastern). By season, team,"
    " dates (or today, yesterday); last=N latest, next=N upcoming; opponent=BOS: head-to-head"
    " and series.",
    freshness=Freshness("games", game_of=the_item),
    team_names=TeamNames("team", into="team_ids"),
    opponent_names=TeamNames("opponent"),
    recent=Recent(),
    empty_notes=(
        EmptyNote(
            ("dates",),
            "No games on {dates}: no NBA game was played or scheduled that day (a day off,"
            " the All-Star break or the off-season).",
        ),
        EmptyNote(
            ("team_ids", "seasons"),
            "Team {team_ids} has no games in season {seasons} with these filters (the schedule"
            " may not be published yet).",
        ),
    ),
)

# How players' game lines are asked for: by player, game, team, season or days, or the last N.
LINE_FILTERS = (
    PLAYER_IDS,
    PLAYER,
    GAME_IDS,
    TEAM,
    SEASONS,
    DATES,
    START_DATE,
    END_DATE,
    POSTSEASON,
    last_games(needs=("player", "player_ids", "team"), excludes=("dates", "game_ids")),
)

STATS = Endpoint(
    name="stats",
    route=ROUTES["stats"],
    table=tables.STATS,
    params=(
        *LINE_FILTERS,
        opponent_of(("player", "player_ids", "team")),
        sort_by(tables.STATS, "-pts"),
        fields_of(tables.STATS),
        LIMIT,
        CURSOR,
    ),  # fmt: skip
    summary="NBA box-score lines: one player in one game",
    description="Box-score lines (pts, reb, ast, shooting, opponent, result). By player, team"
    " or game; last=N; opponent=BOS. A box score: game_ids=ID&limit=100; a night ranked:"
    " dates=yesterday&sort=-pts.",
    freshness=Freshness("stats", game_of=the_items_game),
    team_names=TeamNames("team"),
    opponent_names=TeamNames("opponent"),
    player_names=PlayerNames("player", into="player_ids"),
    local_filters=(("team", "team_id"), ("opponent", "opponent_id")),
    sort_whole=True,
    team_labels=TeamLabels("opponent", "opponent_id"),
    recent=Recent(per="player_ids", games_of="team"),
    stand_in=StandIn(
        "box_scores", needs=("dates",), keeps=("dates", "team", "sort", "fields", "limit")
    ),
    empty_notes=(
        EmptyNote(
            ("game_ids",),
            "No box-score lines for game {game_ids} yet: a scheduled game has none, and a live"
            " game's lines appear as the upstream posts them.",
        ),
        EmptyNote(
            ("player_ids", "seasons"),
            "Player {player_ids} has no box-score lines in season {seasons} with these filters:"
            " no games played then.",
        ),
        EmptyNote(
            ("dates",),
            "No box-score lines on {dates}: no games were played that day, or they have not"
            " started yet.",
        ),
    ),
)

SEASON_AVERAGES = Endpoint(
    name="season_averages",
    route=ROUTES["season_averages"],
    table=tables.SEASON_AVERAGES,
    params=(
        Param(
            "season",
            "season",
            "Season by the year it began (2024 is 2024-25); default: the current season.",
        ),
        Param(
            "player_ids",
            "ids",
            "Player ids (from /players), one or more; or name them with player, or give team.",
            required=True,
            or_instead=("player", "team"),
        ),
        PLAYER,
        Param(
            "team",
            "names",
            "A team's current players (its leaders with sort and limit); not with players.",
            local=True,
            example="LAL",
            excludes=("player", "player_ids"),
        ),
        sort_by(tables.SEASON_AVERAGES, "-pts"),
        fields_of(tables.SEASON_AVERAGES),
        TOP,
    ),
    summary="NBA season averages per player, or a team's leaders",
    description="Per-game averages of one season for players, or a team's current players"
    " (team=LAL&sort=-pts&limit=5: its top scorers). A player without games is listed in meta.",
    freshness=Freshness("season_averages", by_season=True),
    team_names=TeamNames("team"),
    player_names=PlayerNames("player", into="player_ids"),
    paged=False,
    per_player=PerPlayer(ids_param="player_ids", upstream_param="player_id"),
    complete=current_season_by_default,
)

STANDINGS = Endpoint(
    name="standings",
    route=ROUTES["standings"],
    table=tables.STANDINGS,
    params=(
        Param("season", "season", "Year the season began; default: the current one."),
        CONFERENCE,
        DIVISION,
        Param(
            "team",
            "names",
            "Only these teams' rows.",
            local=True,
            example="Lakers",
        ),
    ),
    summary="NBA standings, or a team's record",
    description="Regular-season standings by conference: W-L, games behind, home, road,"
    " last 10, streak; team=Lakers: its record.",
    freshness=Freshness("standings", by_season=True),
    paged=False,
    team_names=TeamNames("team"),
    complete=current_season_by_default,
    ledger_table=LedgerTable(),
    outline_in_tools=True,
    answered_from=ROUTES["games"],
)

# The paid routes' answers, declared on the terms above (their module imports this one).
from .reports import REPORTS  # noqa: E402

ENDPOINTS: tuple[Endpoint, ...] = (
    PLAYERS,
    TEAMS,
    GAMES,
    STATS,
    SEASON_AVERAGES,
    STANDINGS,
    *REPORTS,
)
BY_NAME = {endpoint.name: endpoint for endpoint in ENDPOINTS}
