"""Questions answered by a bounded search rather than one upstream page: `next` N (the
schedule ahead), `last` N (the games behind) and `opponent` (the meetings of two teams).

Which search a question takes follows from the parameters it gives; each search asks the
upstream through ordinary cached questions, at most the configured number of lookups.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from . import recent, schedule
from .endpoints import Endpoint
from .params import Query
from .recent import Row, Search

Searcher = Callable[[Endpoint, Query, Search], Awaitable[tuple[list[Row], dict[str, Any]]]]
# The meta keys a search's answer carries over to the answer as asked (filtered, sorted, cut).
SEARCH_META = ("last", "next", "searched", "series", "note")


def searcher(endpoint: Endpoint, query: Query) -> Searcher | None:
    """The search that answers `query`, if it takes one (checked first: 400 before any data)."""
    declared = {param.name for param in endpoint.params}
    given = {name for name in ("next", "last", "opponent") if query.get(name) is not None}
    given &= declared
    if "opponent" in given:
        schedule.check_opponent(query)
    if "next" in given:
        return schedule.upcoming
    if "last" in given:
        return _latest
    if "opponent" in given:
        return schedule.meetings
    return None


async def _latest(
    endpoint: Endpoint, query: Query, search: Search
) -> tuple[list[Row], dict[str, Any]]:
    return await recent.latest(endpoint, query, search, schedule.meeting(query))
