"""Season averages of many players in as few upstream calls as the plan allows: a team's
current players (its leaders, with `sort` and `limit`), or several players named at once.

The plain route takes one player a call. Where the plan serves the per-category route (GOAT),
its `general`/`base` averages answer every player in one call; a team's players come from the
active-players route (ALL-STAR and up) in one more. Elsewhere the answer fans out one cached
call per player, as before. `meta.path` says which way an answer was made and at what cost.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from functools import partial
from typing import TYPE_CHECKING, Any

from ..cache import Produced, parse_body
from ..errors import UpstreamFailure
from ..upstream.routes import ROUTES
from . import report_tables
from .endpoint import Endpoint
from .endpoints import PLAYERS
from .params import LIMIT_MAX, Param, Query, current_season
from .policy import Freshness
from .shape import derived, order_and_cut, source

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
    covers = answers.upstream.coverage.known_to_serve
    if query.get("team"):
        return partial(team_averages, answers)
    if len(query.get("player_ids") or ()) > 1 and covers(CATEGORY_AVERAGES.route):
        return partial(many_averages, answers)
    return partial(one_call_each, answers)


async def team_averages(
    answers: Answers, endpoint: Endpoint, query: Query, deadline: float
) -> Produced:
    """A team's current players' averages: its roster (one call), then theirs."""
    roster_question = Query({"team_ids": query.get("team"), "active": True, "limit": LIMIT_MAX})
    roster_entry, _ = await answers._entry(PLAYERS, roster_question, deadline)
    roster = parse_body(roster_entry.body)["data"]
    answers._names.learn(roster)
    ids = tuple(sorted({row["player_id"] for row in roster if row.get("player_id")}))
    players = query.replace(team=None, player_ids=ids)
    if not ids:
        roster_source = source(PLAYERS, answers.upstream.source, PLAYERS.route_for(roster_question))
        answer = answers._answer(endpoint, [], None, {"source": roster_source}, query)
        return Produced(answer, answers.cache.settings.empty_ttl_s)
    if answers.upstream.coverage.known_to_serve(CATEGORY_AVERAGES.route):
        produced = await many_averages(answers, endpoint, players, deadline)
        path = "the team's active roster, then one season-averages call for all its players"
    else:
        produced = await one_call_each(answers, endpoint, players, deadline)
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
    whole = parse_body(entry.body)
    meta: dict[str, Any] = {
        "source": whole["meta"].get("source"),
        "path": f"one season-averages call for {len(ids)} players",
    }
    try:  # names known here cost nothing; else one cached players question
        names = await answers.names(ids, deadline)
    except UpstreamFailure:  # the averages still answer, by id, as `one_call_each` does
        names = {}
        meta["names_unavailable"] = True
    rows = [dict(row) for row in whole["data"]]
    for row in rows:
        row["player"] = row.get("player") or names.get(row.get("player_id"))
    missing = sorted(set(ids) - {row.get("player_id") for row in rows})
    if missing:
        meta["missing_player_ids"] = missing
    rows = order_and_cut(rows, query, meta)
    answer = answers._answer(endpoint, rows, None, meta, query, {"player_ids": names})
    return derived(answer, [(entry, state)])


async def one_call_each(
    answers: Answers, endpoint: Endpoint, query: Query, deadline: float
) -> Produced:
    """Season averages: one cached upstream call per player, concurrently, joined with names.

    Each player's averages are cached on their own, so a later question about an overlapping
    set of players costs only the players not yet asked about.
    """
    ids_param = endpoint.per_player.ids_param
    player_ids = query.get(ids_param)
    one_player = query.replace(**dict.fromkeys(endpoint.local_params))  # shared by any order
    lookups = [
        answers.cache.fetch(
            f"{endpoint.name}/player?{sub.key}",
            lambda sub=sub: answers._produce(endpoint, sub, deadline),
        )
        for sub in (one_player.replace(**{ids_param: (pid,)}) for pid in player_ids)
    ]
    *results, names = await asyncio.gather(
        *lookups, answers.names(player_ids, deadline), return_exceptions=True
    )
    rows: list[dict[str, Any]] = []
    failures: list[dict[str, Any]] = []
    missing: list[int] = []
    stale_since: float | None = None
    for pid, result in zip(player_ids, results, strict=True):
        if isinstance(result, UpstreamFailure):
            failures.append({"player_id": pid, "code": result.code, "message": result.message})
        elif isinstance(result, BaseException):
            raise result
        else:
            entry, state = result
            if state == "stale":
                stale_since = min(stale_since or entry.fetched_at, entry.fetched_at)
            found = parse_body(entry.body)["data"]
            if found:
                rows.extend(found)
            else:
                missing.append(pid)
    if len(failures) == len(player_ids):
        raise next(r for r in results if isinstance(r, UpstreamFailure))
    meta: dict[str, Any] = {"source": source(endpoint, answers.upstream.source)}
    if isinstance(names, BaseException) or not names:
        names = {}
        meta["names_unavailable"] = True
    for row in rows:
        row["player"] = names.get(row["player_id"])
    rows = order_and_cut(rows, query, meta)
    if failures:
        meta["errors"] = failures
    if missing:
        meta["missing_player_ids"] = missing
    ttl = endpoint.freshness.ttl_s(
        answers.cache.settings, rows, query.get("season"), current_season()
    )
    answer = answers._answer(endpoint, rows, None, meta, query, {"player_ids": names})
    # A partial answer is not kept: the next try fetches only the players that failed.
    return Produced(answer, 0 if failures or not names else ttl, stale_since)
