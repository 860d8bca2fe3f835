"""What each vendor route answers from the sample league, keyed by the vendor's own path.

Each answer is a `Listing` (items, paged by the vendor's cursor or not) or a single object, as the
vendor's OpenAPI description (`openapi/nba.yml`, balldontlie-api/mcp) and its recorded answers
shape them; `server` adds the key, plan and quota checks, the cursor paging and the envelope.
A bad parameter raises `BadParams` with the words the vendor would send back as a 400.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from .league import League
from .lines import Line
from .query import BadParams, Listing, NotFound, Query, dates, flag, ints, one_int
from .schedule import Game
from .teams import TEAMS
from .totals import (
    LEADER_STATS,
    averages,
    injuries,
    leaders,
    player_totals,
    standings,
    team_averages,
)
from .totals import season_averages as plain_averages

_ADVANCED = (
    "pie assist_percentage assist_ratio assist_to_turnover defensive_rating"
    " defensive_rebound_percentage effective_field_goal_percentage estimated_defensive_rating"
    " estimated_net_rating estimated_offensive_rating estimated_pace estimated_usage_percentage"
    " net_rating offensive_rating offensive_rebound_percentage pace pace_per_40 possessions"
    " rebound_percentage true_shooting_percentage turnover_ratio usage_percentage blocks_against"
    " fouls_drawn points_fast_break points_off_turnovers points_paint points_second_chance"
    " opp_points_fast_break opp_points_off_turnovers opp_points_paint opp_points_second_chance"
    " pct_assisted_2pt pct_assisted_3pt pct_assisted_fgm pct_fga_2pt pct_fga_3pt pct_pts_2pt"
    " pct_pts_3pt pct_pts_fast_break pct_pts_free_throw pct_pts_midrange_2pt"
    " pct_pts_off_turnovers pct_pts_paint pct_unassisted_2pt pct_unassisted_3pt"
    " pct_unassisted_fgm four_factors_efg_pct free_throw_attempt_rate four_factors_oreb_pct"
    " opp_efg_pct opp_free_throw_attempt_rate opp_oreb_pct opp_turnover_pct team_turnover_pct"
    " box_outs box_out_player_rebounds box_out_player_team_rebounds defensive_box_outs"
    " offensive_box_outs charges_drawn contested_shots contested_shots_2pt contested_shots_3pt"
    " deflections loose_balls_recovered_def loose_balls_recovered_off"
    " loose_balls_recovered_total screen_assists screen_assist_points matchup_minutes"
    " matchup_fg_pct matchup_fga matchup_fgm matchup_3pt_pct matchup_3pa matchup_3pm"
    " matchup_assists matchup_turnovers partial_possessions matchup_player_points switches_on"
    " speed distance touches passes secondary_assists free_throw_assists contested_fga"
    " contested_fgm contested_fg_pct uncontested_fga uncontested_fgm uncontested_fg_pct"
    " defended_at_rim_fga defended_at_rim_fgm defended_at_rim_fg_pct rebound_chances_def"
    " rebound_chances_off rebound_chances_total pct_blocks pct_blocks_allowed pct_fga pct_fgm"
    " pct_fta pct_ftm pct_personal_fouls pct_personal_fouls_drawn pct_points pct_rebounds_def"
    " pct_rebounds_off pct_rebounds_total pct_steals pct_3pa pct_3pm pct_turnovers"
)
ADVANCED_KEYS = tuple(_ADVANCED.split())  # every field of the vendor's NBAAdvancedStatsV2
CATEGORIES = ("general", "clutch", "defense", "shooting")
TEAM_CATEGORIES = (
    "general",
    "clutch",
    "shooting",
    "playtype",
    "tracking",
    "hustle",
    "shotdashboard",
)
SEASON_TYPES = ("regular", "playoffs", "ist", "playin")


def teams(league: League, query: Query, _: dict[str, str]) -> Listing:
    rows = [
        dict(team)
        for team in TEAMS
        if query.get("conference") in (None, team["conference"])
        and query.get("division") in (None, team["division"])
    ]
    return Listing(rows, paged=False)


def team(league: League, _: Query, match: dict[str, str]) -> dict[str, Any]:
    found = [dict(t) for t in TEAMS if str(t["id"]) == match["id"]]
    if not found:
        raise NotFound
    return found[0]


def players(league: League, query: Query, _: dict[str, str], active: bool = False) -> Listing:
    team_ids, player_ids = set(ints(query, "team_ids")), set(ints(query, "player_ids"))
    words = {
        "search": (query.get("search") or "").lower(),
        "first_name": (query.get("first_name") or "").lower(),
        "last_name": (query.get("last_name") or "").lower(),
    }
    rows = []
    for person in league.people:
        if active and person.retired:
            continue
        if team_ids and person.team["id"] not in team_ids:
            continue
        if player_ids and person.id not in player_ids:
            continue
        first, last = person.first_name.lower(), person.last_name.lower()
        if words["search"] and words["search"] not in first and words["search"] not in last:
            continue
        if not (words["first_name"] in first and words["last_name"] in last):
            continue
        rows.append(person.vendor())
    return Listing(rows)


def active_players(league: League, query: Query, match: dict[str, str]) -> Listing:
    return players(league, query, match, active=True)


def player(league: League, _: Query, match: dict[str, str]) -> dict[str, Any]:
    person = league.person.get(int(match["id"])) if match["id"].isdigit() else None
    if person is None:
        raise NotFound
    return person.vendor()


def chosen_games(league: League, query: Query) -> list[Game]:
    """The games the `/games`, `/stats` and advanced-stats filters choose."""
    seasons, team_ids = set(ints(query, "seasons")), set(ints(query, "team_ids"))
    game_ids, days = set(ints(query, "game_ids")), set(dates(query, "dates"))
    start, end = (dates(query, name) for name in ("start_date", "end_date"))
    postseason = flag(query, "postseason")
    return [
        game
        for game in league.games
        if (not seasons or game.season in seasons)
        and (not team_ids or {game.home["id"], game.visitor["id"]} & team_ids)
        and (not game_ids or game.id in game_ids)
        and (not days or game.date in days)
        and (not start or game.date >= start[0])
        and (not end or game.date <= end[0])
        and (postseason is None or game.postseason == postseason)
    ]


def games(league: League, query: Query, _: dict[str, str]) -> Listing:
    return Listing([game.vendor() for game in chosen_games(league, query)])


def game(league: League, _: Query, match: dict[str, str]) -> dict[str, Any]:
    found = league.game.get(int(match["id"])) if match["id"].isdigit() else None
    if found is None:
        raise NotFound
    return found.vendor()


def _lines(league: League, query: Query) -> Iterable[tuple[int, Game, dict, Line]]:
    """(stat id, game, team, line) for the chosen games' lines, ids in ascending order."""
    player_ids = set(ints(query, "player_ids"))
    after = one_int(query, "cursor") or 0
    if one_int(query, "period") not in (None, 0):
        return
    for game in chosen_games(league, query):
        if game.id * 100 + 99 <= after:  # a page further on: skip the games before it unmade
            continue
        for n, (team, line) in enumerate(
            (team, line) for team, lines in league.lines(game.id) for line in lines
        ):
            if not player_ids or line.person.id in player_ids:
                yield game.id * 100 + n, game, team, line


def stats(league: League, query: Query, _: dict[str, str]) -> Listing:
    rows = (
        {
            "id": stat_id,
            **line.vendor(),
            "player": line.person.with_team_id(),
            "team": dict(team),
            "game": game.slim(),
        }
        for stat_id, game, team, line in _lines(league, query)
    )
    return Listing(rows)


def advanced(league: League, query: Query, _: dict[str, str]) -> Listing:
    rows = (
        {
            "id": stat_id,
            "period": 0,
            "player": line.person.vendor(),
            "team": dict(team),
            "game": game.vendor(),
            **dict.fromkeys(ADVANCED_KEYS),
            **_advanced_numbers(line),
        }
        for stat_id, game, team, line in _lines(league, query)
    )
    return Listing(rows)


def _advanced_numbers(line: Line) -> dict[str, float]:
    """The few advanced numbers a box-score line gives; the tracking ones stay null."""
    n = line.numbers
    shots = n["fga"] + 0.44 * n["fta"]
    return {
        "true_shooting_percentage": round(n["pts"] / (2 * shots), 3) if shots else 0,
        "effective_field_goal_percentage": (
            round((n["fgm"] + 0.5 * n["fg3m"]) / n["fga"], 3) if n["fga"] else 0
        ),
        "assist_to_turnover": round(n["ast"] / n["turnover"], 2) if n["turnover"] else n["ast"],
        "usage_percentage": round((shots + n["turnover"]) / max(1, line.minutes) / 2.0, 3),
        "possessions": round(shots + n["turnover"] - n["oreb"], 1),
    }


def season_averages(league: League, query: Query, _: dict[str, str]) -> Listing:
    season = one_int(query, "season", required=True)
    player_id = one_int(query, "player_id", required=True)
    return Listing(plain_averages(league, season, player_id, postseason=False), paged=False)


def category_averages(league: League, query: Query, match: dict[str, str]) -> Listing:
    if match["category"] not in CATEGORIES:
        raise BadParams(f"category must be one of {', '.join(CATEGORIES)}")
    season = one_int(query, "season", required=True)
    season_type = query.get("season_type")
    if season_type not in SEASON_TYPES:
        raise BadParams(f"season_type must be one of {', '.join(SEASON_TYPES)}")
    if not query.get("type"):
        raise BadParams("type is required")
    wanted = set(ints(query, "player_ids"))
    games = [
        g
        for g in league.games
        if g.season == season and g.state == "final" and g.postseason == (season_type == "playoffs")
    ]
    totals = player_totals(league, games) if season_type in ("regular", "playoffs") else {}
    rows = [
        {
            "player_id": pid,
            "season": season,
            "season_type": season_type,
            "stats": _category_stats(averages(total)),
        }
        for pid, total in sorted(totals.items())
        if not wanted or pid in wanted
    ]
    return Listing(rows, key=lambda row: row["player_id"])


def team_category_averages(league: League, query: Query, match: dict[str, str]) -> Listing:
    category = match["category"]
    if category not in TEAM_CATEGORIES:
        raise BadParams(f"category must be one of {', '.join(TEAM_CATEGORIES)}")
    season = one_int(query, "season", required=True)
    season_type = query.get("season_type")
    if season_type not in ("regular", "playoffs", "ist"):
        raise BadParams("season_type must be one of regular, playoffs, ist")
    if category != "hustle" and not query.get("type"):
        raise BadParams(f"type is required for category {category}")
    wanted = set(ints(query, "team_ids"))
    found = team_averages(league, season, season_type == "playoffs") if season_type != "ist" else {}
    teams_by_id = {t["id"]: t for t in TEAMS}
    rows = [
        {
            "team": dict(teams_by_id[tid]),
            "season": season,
            "season_type": season_type,
            "stats": stats,
        }
        for tid, stats in sorted(found.items())
        if not wanted or tid in wanted
    ]
    return Listing(rows, key=lambda row: row["team"]["id"])


def _category_stats(row: dict[str, Any]) -> dict[str, Any]:
    stats = {key: value for key, value in row.items() if key != "games_played"}
    stats["gp"] = row["games_played"]
    stats["tov"] = stats.pop("turnover")
    return stats


def standings_of(league: League, query: Query, _: dict[str, str]) -> Listing:
    return Listing(standings(league, one_int(query, "season", required=True)), paged=False)


def leaders_of(league: League, query: Query, _: dict[str, str]) -> Listing:
    stat_type = query.get("stat_type")
    if stat_type not in LEADER_STATS:
        raise BadParams(f"stat_type must be one of {', '.join(LEADER_STATS)}")
    season = one_int(query, "season", required=True)
    season_type = query.get("season_type", "regular")
    if season_type not in ("regular", "playoffs"):
        raise BadParams("season_type must be regular or playoffs")
    rows = leaders(league, season, stat_type, postseason=season_type == "playoffs")
    return Listing(rows, paged=False)


def injured(league: League, query: Query, _: dict[str, str]) -> Listing:
    team_ids, player_ids = set(ints(query, "team_ids")), set(ints(query, "player_ids"))
    rows = [
        row
        for row in injuries(league)
        if (not team_ids or row["player"]["team"]["id"] in team_ids)
        and (not player_ids or row["player"]["id"] in player_ids)
    ]
    return Listing(rows, key=lambda row: row["player"]["id"])


def box_scores(league: League, query: Query, _: dict[str, str]) -> Listing:
    day = dates(query, "date")
    if not day:
        raise BadParams("date is required")
    chosen = [g for g in league.games if g.date == day[0] and g.state != "scheduled"]
    return Listing([_box_score(league, g) for g in chosen], paged=False)


def live_box_scores(league: League, query: Query, _: dict[str, str]) -> Listing:
    chosen = [g for g in league.games if g.state == "live"]
    return Listing([_box_score(league, g) for g in chosen], paged=False)


def _box_score(league: League, game: Game) -> dict[str, Any]:
    """As the vendor's recorded answers have it: each team's own fields beside `players`."""
    body = {
        k: v for k, v in game.slim().items() if k not in ("id", "home_team_id", "visitor_team_id")
    }
    for side, (team, lines) in zip(
        ("home_team", "visitor_team"), league.lines(game.id), strict=True
    ):
        body[side] = {
            **team,
            "players": [{**line.vendor(), "player": line.person.slim()} for line in lines],
        }
    return body


# Every route the sample answers, by the route table's name for it (`upstream.routes`: the
# vendor's path under its league and version); the table's paths say where each is served.
ANSWERS: dict[str, Callable[..., Listing | dict[str, Any]]] = {
    "teams": teams,
    "teams/{id}": team,
    "players": players,
    "players/active": active_players,
    "players/{id}": player,
    "games": games,
    "games/{id}": game,
    "stats": stats,
    "season_averages": season_averages,
    "season_averages/{category}": category_averages,
    "team_season_averages/{category}": team_category_averages,
    "standings": standings_of,
    "leaders": leaders_of,
    "player_injuries": injured,
    "box_scores": box_scores,
    "box_scores/live": live_box_scores,
    "stats/advanced": advanced,
}
