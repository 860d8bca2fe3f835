"""Player names -> player ids, through the upstream's name filters (answers cached as any
players answer is).

A full name is asked as first and last name; the rows whose folded full name equals the one
given are the candidates (one: resolved; several: ambiguous, every candidate listed with team
and `player_id`). When no row matches, the closest names among those sharing the last name are
offered. An id is taken as it is.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from typing import Any

from .. import errors
from ..errors import ApiError
from .params import Query
from .teams import fold

MAX_SUGGESTIONS = 3

Row = dict[str, Any]


def describe(row: Row) -> str:
    return f"{row.get('name')} ({row.get('team') or 'no team'}, player_id {row.get('player_id')})"


def candidates(given: str, rows: Iterable[Row]) -> list[Row]:
    """The players in `rows` that `given` names: the exact (folded) full names, or all of
    them when the upstream's filters found exactly one player."""
    found = [row for row in rows if row.get("player_id") is not None]
    exact = [row for row in found if fold(row.get("name") or "") == fold(given)]
    return exact or (found if len(found) == 1 else [])


def ambiguous(given: str, found: list[Row], param: str) -> ApiError:
    return ApiError(
        400,
        errors.AMBIGUOUS_PLAYER,
        f"'{given[:40]}' names {len(found)} players: "
        + "; ".join(describe(row) for row in found[:10])
        + ".",
        f"Ask again with player_ids (e.g. player_ids={found[0]['player_id']}) instead of {param}.",
    )


def unknown(given: str, nearby: Iterable[Row]) -> ApiError:
    by_name = {row.get("name"): row for row in nearby if row.get("name")}
    close = difflib.get_close_matches(given, list(by_name), n=MAX_SUGGESTIONS, cutoff=0.6)
    suggestion = "; ".join(describe(by_name[name]) for name in close) or "none close"
    return ApiError(
        400,
        errors.UNKNOWN_PLAYER,
        f"No player is named '{given[:40]}'. Closest: {suggestion}.",
        "Give the player's full name as spelled on /players (e.g. /players?query=<last name>),"
        " or player_ids.",
    )


def full_name_as_parts(query: Query) -> Query:
    """`query=LeBron James` -> first_name=LeBron, last_name=James.

    The upstream's `search` matches a first or a last name, so a full name (what people ask
    for) matches nothing; its `first_name` and `last_name` filters find the player.
    """
    words = str(query.get("query", "")).split()
    if len(words) < 2 or query.get("first_name") or query.get("last_name"):
        return query
    return query.replace(query=None, first_name=words[0], last_name=" ".join(words[1:]))
