"""Player names -> player ids, through the upstream's name filters (answers cached as any
players answer is).

A full name is asked as first and last name; the rows whose folded full name equals the one
given are the candidates (one: resolved; several: ambiguous, every candidate listed with team
and `player_id`). When no row matches, the closest real names are offered: each part of the name
is searched (and, when a part finds no one, its first letters, since the upstream matches name
parts and a misspelling's end breaks the match), at most `SUGGESTION_LOOKUPS` cached questions
beyond the first, and the players found are ranked by similarity. An id is taken as it is.

The ranking is the standard library's difflib (`SequenceMatcher`), not rapidfuzz: it ranks a few
hundred names at most, once per misspelled question, so speed does not matter, and it needs no
dependency; each given part is scored against the candidate's closest part, so word order and
a missing middle name cost little.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from .. import errors
from ..errors import ApiError, UpstreamFailure
from .teams import fold

MAX_SUGGESTIONS = 3
KNOWN_NAMES = 10_000  # player names a process remembers (a few hundred kB at most)
SUGGESTION_LOOKUPS = 4  # cached players questions a misspelled name may cost, beyond the first
PREFIX_CHARS = 4  # a part that finds no one is searched again by its first letters
CLOSE_ENOUGH = 0.5  # the least similarity (0 to 1) a suggestion needs

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


def _parts(name: str) -> list[str]:
    return [part for part in re.split(r"[\s\-']+", fold(name)) if part]


def similarity(given: str, name: str) -> float:
    """How close `name` is to `given`, 0 to 1: each given part against the name's closest part,
    averaged, or the whole names compared, whichever is higher."""
    wanted, theirs = _parts(given), _parts(name)
    if not wanted or not theirs:
        return 0.0
    whole = difflib.SequenceMatcher(None, fold(given), fold(name)).ratio()
    by_part = sum(
        max(difflib.SequenceMatcher(None, part, other).ratio() for other in theirs)
        for part in wanted
    ) / len(wanted)
    return max(whole, by_part)


async def nearby(
    given: str, found: list[Row], lookup: Callable[[str], Awaitable[list[Row]]]
) -> list[Row]:
    """Players whose names might be the one meant: `found` (the first question's rows) and
    those each part of the name finds, then the first letters of each part that found no one,
    within `SUGGESTION_LOOKUPS` questions. A lookup that fails leaves the suggestions shorter;
    it never turns the refusal into an upstream error."""
    words = given.split()
    # The first question asked the whole name; for a one-word name that was the word's search.
    searches = words if len(words) > 1 else []
    missed = [] if searches or found else [given.strip()]
    rows = list(found)
    spent = 0
    for search in searches:
        if spent >= SUGGESTION_LOOKUPS:
            break
        spent += 1
        hits = await _quietly(lookup, search)
        rows.extend(hits)
        if not hits:
            missed.append(search)
    for prefix in dict.fromkeys(m[:PREFIX_CHARS] for m in missed if len(m) > PREFIX_CHARS):
        if spent >= SUGGESTION_LOOKUPS:
            break
        spent += 1
        rows.extend(await _quietly(lookup, prefix))
    return rows


async def _quietly(lookup: Callable[[str], Awaitable[list[Row]]], name: str) -> list[Row]:
    try:
        return await lookup(name)
    except UpstreamFailure:
        return []


def closest(given: str, rows: Iterable[Row]) -> list[Row]:
    """The players in `rows` most like `given`, best first, each once."""
    by_id = {row["player_id"]: row for row in rows if row.get("player_id") and row.get("name")}
    scored = sorted(
        ((similarity(given, row["name"]), row) for row in by_id.values()),
        key=lambda pair: -pair[0],
    )
    return [row for score, row in scored if score >= CLOSE_ENOUGH][:MAX_SUGGESTIONS]


def unknown(given: str, nearby_rows: Iterable[Row]) -> ApiError:
    suggestion = "; ".join(describe(row) for row in closest(given, nearby_rows)) or "none close"
    return ApiError(
        400,
        errors.UNKNOWN_PLAYER,
        f"No player is named '{given[:40]}'. Closest: {suggestion}.",
        "Give the player's full name as spelled on /players (e.g. /players?query=<last name>),"
        " or player_ids.",
    )


class KnownNames(dict[int, str]):
    """Player names by id, as this process learned them from players answers (an id's name
    does not change), at most `KNOWN_NAMES`, the oldest forgotten first."""

    def learn(self, rows: list[Row]) -> dict[int, str]:
        learned = {r["player_id"]: r["name"] for r in rows if r.get("player_id") and r.get("name")}
        self.update(learned)
        while len(self) > KNOWN_NAMES:
            self.pop(next(iter(self)))
        return learned
