"""The paid routes' answers, declared like the first ones: league leaders, injuries, a day's
box scores (or the live ones) and advanced stats.

Each names its upstream route; a plan without it is refused before any call (`upstream.coverage`)
with what this server answers instead (`instead`). Their rows come from `report_tables`.
"""

from __future__ import annotations

from ..upstream.routes import ROUTES
from . import report_tables, tables
from .endpoint import Endpoint
from .endpoints import (
    CURSOR,
    LIMIT,
    LINE_FILTERS,
    PLAYER,
    PLAYER_IDS,
    TEAM,
    TEAM_IDS,
    TOP,
    fields_of,
    sort_by,
)
from .params import Param, Query, current_season
from .policy import (
    Caveat,
    EmptyNote,
    Freshness,
    PerPlayer,
    PlayerNames,
    Recent,
    TeamNames,
    the_items_game,
)
from .tables import Table

SEASON_TYPE = Param(
    "season_type",
    "enum",
    "regular (default) or playoffs.",
    choices=("regular", "playoffs"),
)


def this_season_regular_by_default(query: Query) -> Query:
    """Leaders without a season are the current season's, regular season unless asked."""
    return query.replace(
        season=query.get("season") or current_season(),
        season_type=query.get("season_type") or "regular",
    )


LEADERS = Endpoint(
    name="leaders",
    route=ROUTES["leaders"],
    table=report_tables.LEADERS,
    params=(
        Param(
            "stat",
            "enum",
            "The stat ranked: pts, reb, ast, stl, blk, fg_pct, fg3m, fg3_pct, ft_pct, min, ...",
            upstream="stat_type",
            choices=report_tables.LEADER_STATS,
            required=True,
            example="ast",
        ),
        Param(
            "season",
            "season",
            "Season by the year it began (2025 is 2025-26); default: the current season.",
        ),
        SEASON_TYPE,
        TOP,
        fields_of(report_tables.LEADERS),
    ),
    summary="League leaders in a stat, ranked",
    description="The league's leaders in one stat for a season (per-game averages, or totals"
    " and percentages as the stat is): rank, player, team, value, games played.",
    freshness=Freshness("leaders"),
    paged=False,
    complete=this_season_regular_by_default,
    outline_in_tools=True,
    instead="a team's season leaders (/season_averages?team=...&sort=-pts) or a night's best"
    " lines (/stats?dates=yesterday&sort=-pts), on the plans that serve those",
)

INJURIES = Endpoint(
    name="injuries",
    route=ROUTES["player_injuries"],
    table=report_tables.INJURIES,
    params=(
        TEAM,
        TEAM_IDS,
        PLAYER,
        PLAYER_IDS,
        sort_by(report_tables.INJURIES, "team"),
        fields_of(report_tables.INJURIES),
        LIMIT,
        CURSOR,
    ),
    summary="Injured NBA players: status and expected return",
    description="The league's injury report: player, team, status (Out, Day-To-Day, ...),"
    " expected return and the latest update. By team or player name.",
    freshness=Freshness("injuries"),
    team_names=TeamNames("team", into="team_ids"),
    player_names=PlayerNames("player", into="player_ids"),
    caveats=(
        Caveat(
            (),
            "The injury report as the upstream had it at {fetched}; statuses change during"
            " the day, and a game-time decision is made at tip-off.",
            meta_key="injury_report",
        ),
    ),
    empty_notes=(
        EmptyNote(("player_ids",), "Player {player_ids} is not on the injury report."),
        EmptyNote(("team_ids",), "No player of team {team_ids} is on the injury report."),
    ),
    outline_in_tools=True,
    instead="the player's recent games (/stats?player=...&last=3) on a plan that serves stats",
)

BOX_SCORES = Endpoint(
    name="box_scores",
    route=ROUTES["box_scores"],
    table=Table(tables.STATS.columns, report_tables.box_score_row),
    params=(
        Param(
            "dates",
            "dates",
            "Game days as YYYY-MM-DD (US dates): each day's every game, one upstream call a day.",
            required=True,
            or_instead=("live",),
            excludes=("live",),
        ),
        Param(
            "live",
            "bool",
            "true: the games in progress now, with their lines so far.",
            local=True,
        ),
        TEAM,
        sort_by(tables.STATS, "-pts"),
        fields_of(tables.STATS),
        TOP,
    ),
    summary="Whole box scores of a day's games, or of the games live now",
    description="Every player's line in every game of a day (or live now), both teams:"
    " pts, reb, ast, shooting, opponent, result. sort=-pts&limit=5: the night's best.",
    freshness=Freshness("box_scores", game_of=the_items_game),
    paged=False,
    team_names=TeamNames("team"),
    local_filters=(("team", "team_id"),),
    switch=("live", ROUTES["box_scores/live"]),
    unpack=report_tables.box_score_lines,
    per_value=PerPlayer(ids_param="dates", upstream_param="date"),
    empty_notes=(
        EmptyNote(("live",), "No game is in progress right now."),
        EmptyNote(
            ("dates",),
            "No box scores on {dates}: no games were played that day, or they have not"
            " started yet.",
        ),
    ),
    outline_in_tools=True,
    instead="a game's lines (/stats?game_ids=...) on the ALL-STAR plan, or the day's scores"
    " (/games?dates=...) on any plan",
)

ADVANCED_STATS = Endpoint(
    name="advanced_stats",
    route=ROUTES["stats/advanced"],
    table=report_tables.ADVANCED_STATS,
    params=(
        *LINE_FILTERS,
        sort_by(report_tables.ADVANCED_STATS, "-pie"),
        fields_of(report_tables.ADVANCED_STATS),
        LIMIT,
        CURSOR,
    ),  # fmt: skip
    summary="Advanced stats per player and game: PIE, ratings, usage, true shooting",
    description="Advanced lines (PIE, offensive/defensive/net rating, usage, true shooting,"
    " pace) by player, team or game; last=N for the latest games.",
    freshness=Freshness("advanced_stats", game_of=the_items_game),
    team_names=TeamNames("team"),
    player_names=PlayerNames("player", into="player_ids"),
    local_filters=(("team", "team_id"),),
    recent=Recent(per="player_ids", games_of="team"),
    empty_notes=(
        EmptyNote(
            ("game_ids",),
            "No advanced lines for game {game_ids} yet: they appear once the game is played.",
        ),
    ),
    outline_in_tools=True,
    instead="the box-score lines (/stats) on the ALL-STAR plan",
)

REPORTS: tuple[Endpoint, ...] = (LEADERS, INJURIES, BOX_SCORES, ADVANCED_STATS)
