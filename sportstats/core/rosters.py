"""Season averages of many players in as few upstream calls as the plan allows: a team's
current players (its leaders, with `sort` and `limit`), or several players named at once.

The plain route takes one player a call. Where the plan serves the per-category route (GOAT),
its `general`/`base` averages answer every player in one call; a team's players come from the
active-players route (ALL-STAR and up) in one more. Elsewhere the answer fans out one cached
call per player, as before. `meta.path` says which way an answer was made and at what cost.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from ..cache import Produced, parse_body
from ..upstream.routes import ROUTES
from . import report_tables
from .endpoints import PLAYERS, Endpoint
from .params import LIMIT_MAX, Param, Query
from .policy import Freshness
from .shape import build_answer, derived, order_and_cut

if TYPE_CHECKING:
    from .answers import Answers

Row = dict[str, Any]

# The per-category route's averages that match the plain route's: every player in one call.
CATEGORY_AVERAGES = Endpoint(
    name="season_averages",  # the same answers, asked another way: cached as its own question
    route=ROUTES["season_averages/{category}"],
    table=report_tables.CATEGORY_AVERAGES,
    params=(
        Param("season", "season", "Season."),
        Param("season_type", "enum", "Season type.", choices=("regular",)),
        Param("type", "enum", "The category's type.", choices=("base",)),
        Param("player_ids", "ids", "Players."),
        Param("limit", "limit", "Rows per page.", upstream="per_page"),
    ),
    summary="",
    description="",
    freshness=Freshness("season_averages", by_season=True),
    paged=False,
    path_params=(("category", "general"),),
)


def producer(
    answers: Answers, endpoint: Endpoint, query: Query
) -> Callable[[Endpoint, Query, float], Awaitable[Produced]]:
    """How a season-averages question is answered: a team's players, many players in one
    per-category call, or one call per player."""
    covers = answers.upstream.coverage.covers
    if query.get("team"):
        return lambda e, q, deadline: team_averages(answers, e, q, deadline)
    if len(query.get("player_ids") or ()) > 1 and covers(CATEGORY_AVERAGES.route):
        return lambda e, q, deadline: many_averages(answers, e, q, deadline)
    return answers._merge_players


async def team_averages(
    answers: Answers, endpoint: Endpoint, query: Query, deadline: float
) -> Produced:
    """A team's current players' averages: its roster (one call), then theirs."""
    roster_question = Query({"team_ids": query.get("team"), "active": True, "limit": LIMIT_MAX})
    roster_entry, _ = await answers._entry(PLAYERS, roster_question, deadline)
    roster = parse_body(roster_entry.body)["data"]
    answers._learn(roster)
    ids = tuple(sorted({row["player_id"] for row in roster if row.get("player_id")}))
    players = query.replace(team=None, player_ids=ids)
    if not ids:
        answer = build_answer(endpoint, [], None, {"source": "roster"}, query)
        return Produced(answer, answers.cache.settings.empty_ttl_s)
    if answers.upstream.coverage.covers(CATEGORY_AVERAGES.route):
        produced = await many_averages(answers, endpoint, players, deadline)
        path = "the team's active roster, then one season-averages call for all its players"
    else:
        produced = await answers._merge_players(endpoint, players, deadline)
        path = (
            f"the team's active roster, then one season-averages call per player ({len(ids)});"
            " the GOAT plan answers all of them in one"
        )
    produced.answer["meta"].update(path=path, query=query.as_json())
    return produced


async def many_averages(
    answers: Answers, endpoint: Endpoint, query: Query, deadline: float
) -> Produced:
    """Several players' averages in one per-category call, named and ordered as asked."""
    ids = query.get("player_ids")
    asked = Query(
        {
            "season": query.get("season"),
            "season_type": "regular",
            "type": "base",
            "player_ids": ids,
            "limit": LIMIT_MAX,
        }
    )
    entry, state = await answers.cache.fetch(
        f"season_averages/category?{asked.key}",
        lambda: answers._produce(CATEGORY_AVERAGES, asked, deadline),
    )
    rows = [dict(row) for row in parse_body(entry.body)["data"]]
    names = await answers.names(ids, deadline)
    for row in rows:
        row["player"] = row.get("player") or names.get(row.get("player_id"))
    meta: dict[str, Any] = {
        "source": parse_body(entry.body)["meta"].get("source"),
        "path": f"one season-averages call for {len(ids)} players",
    }
    missing = sorted(set(ids) - {row.get("player_id") for row in rows})
    if missing:
        meta["missing_player_ids"] = missing
    rows = order_and_cut(rows, query, meta)
    return derived(build_answer(endpoint, rows, None, meta, query), [(entry, state)])
