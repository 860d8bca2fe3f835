"""Rows -> the answer sent: local filters, order, columns, the note that fits, the size limit.

Everything here works on shaped rows (`tables`), whichever way they were fetched: one upstream
page, a cached complete list, a merge of players or a search back through time.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from typing import Any

from ..cache import Entry, Produced
from ..upstream.routes import Route
from .endpoints import Endpoint
from .params import Query, current_season

Row = dict[str, Any]

# Assistants cut or refuse answers over 100,000 characters; leave room for their framing.
MAX_BODY_CHARS = 90_000


def source(endpoint: Endpoint, origin: str, route: Route | None = None) -> str:
    """Where the answer came from: the upstream's name (the vendor, or the sample league,
    which says it is not real) and the route asked."""
    return f"{origin} /{(route or endpoint.route).name}"


def caveat_for(endpoint: Endpoint, query: Query, meta: dict[str, Any], fetched_at: float) -> None:
    """The first of the endpoint's caveats that fits the question, said in `meta`."""
    for each in endpoint.caveats:
        if each.fits(query.get):
            meta[each.meta_key] = True
            fetched = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(fetched_at))
            meta["note"] = each.say(query.get, fetched=fetched)
            return


def kept(endpoint: Endpoint, query: Query, row: Row) -> bool:
    """Does `row` pass the endpoint's local filters the question gives?"""
    for name, column in endpoint.local_filters:
        wanted = query.get(name)
        if wanted is None:
            continue
        if row.get(column) not in (wanted if isinstance(wanted, tuple) else (wanted,)):
            return False
    return True


def sort_rows(rows: list[Row], order: str) -> list[Row]:
    """Rows by one column (`-` first: descending); rows without a value go last either way."""
    column = order.lstrip("-")
    valued = [row for row in rows if row.get(column) is not None]
    empty = [row for row in rows if row.get(column) is None]
    return sorted(valued, key=lambda row: row[column], reverse=order.startswith("-")) + empty


def narrow_note(endpoint: Endpoint, shown: int, pages: int) -> str:
    """A sorted answer of more pages than it may read: how to have it sorted whole."""
    if not endpoint.sort_whole:
        return f"Sorted within these {shown} rows only: there are more (next_cursor)."
    return (
        f"Sorted within the first {shown} rows only: the answer spans more than {pages} pages"
        " (upstream.sort_max_pages). Narrow it to be ranked whole: one night (dates=yesterday),"
        " a team, a player or game_ids."
    )


def chosen_columns(endpoint: Endpoint, fields: tuple[str, ...] | None) -> list[str]:
    """The answer's columns: all of the table's, or those in `fields` and the id columns, in
    the table's order (ids stay so that an answer can be followed up by id)."""
    columns = endpoint.table.columns
    if not fields:
        return list(columns)
    return [c for c in columns if c in fields or c.endswith("_id")]


def project(answer: dict[str, Any], columns: list[str]) -> dict[str, Any]:
    """`answer` with only `columns`, in that order."""
    rows = [{column: row.get(column) for column in columns} for row in answer["data"]]
    return {**answer, "columns": columns, "data": rows}


def not_started(endpoint: Endpoint, query: Query) -> str | None:
    """A season asked for that has not begun yet, said with when it begins; else None."""
    asked: list[int] = []
    for param in endpoint.params:
        if param.kind in ("season", "seasons") and query.get(param.name) is not None:
            value = query.get(param.name)
            asked.extend(value if isinstance(value, tuple) else (value,))
    now = current_season()
    if not asked or min(asked) <= now:
        return None
    first = min(asked)
    return (
        f"Season {first} ({season_label(first)}) has not started yet: it starts in October"
        f" {first}, when its games begin. The current season is {now} ({season_label(now)})."
    )


def season_label(season: int) -> str:
    return f"{season}-{(season + 1) % 100:02d}"


def missing_note(missing: list[int], names: Mapping[Any, str], season: Any) -> str:
    """Season averages that came back empty: the players by name (and id), and why."""
    who = ", ".join(
        f"{names[pid]} (player_id {pid})" if names.get(pid) else f"player_id {pid}"
        for pid in missing
    )
    return f"No averages for {who} in season {season}: no games played that season."


Labels = Mapping[str, Mapping[Any, str]]  # parameter -> id -> name, for the notes


def empty_note(endpoint: Endpoint, query: Query, labels: Labels | None = None) -> str:
    """Why nothing matched, in words that fit the endpoint and the question, ids named where
    `labels` knows them (a team's or a player's name, not its id)."""
    later = not_started(endpoint, query)
    if later:
        return later
    for note in endpoint.empty_notes:
        if note.fits(query.get):
            return note.say(query.get, labels)
    asked = json.dumps(query.as_json()) if query.values else "everything"
    return (
        f"No {endpoint.name.replace('_', ' ')} matched {asked}; try a wider question"
        " (another season, fewer filters, one name part)."
    )


def build_answer(
    endpoint: Endpoint,
    rows: list[Row],
    next_cursor: Any,
    meta: dict[str, Any],
    query: Query,
    labels: Labels | None = None,
    caveat: str | None = None,
) -> dict[str, Any]:
    """The table answer: columns, rows and meta, trimmed to fit the assistant's size limit.

    A note already in `meta` (a search that found fewer, a partial page) is kept; otherwise an
    empty answer says why it is empty, naming players and teams by `labels` where known. A
    `caveat` (what every answer from this upstream must say, e.g. that the sample league is not
    real) leads the note, whatever else it says."""
    meta = {"count": len(rows), "next_cursor": next_cursor, **meta, "query": query.as_json()}
    if meta.get("missing_player_ids"):
        meta["note"] = not_started(endpoint, query) or missing_note(
            meta["missing_player_ids"], (labels or {}).get("player_ids", {}), query.get("season")
        )
    elif not rows:
        meta.setdefault("note", empty_note(endpoint, query, labels))
    elif endpoint.item_filter is not None and meta.get(endpoint.item_filter.meta_key):
        meta.setdefault("note", endpoint.item_filter.note.format(count=len(rows)))
    answer = fit({"columns": list(endpoint.table.columns), "data": rows, "meta": meta}, rows)
    note = answer["meta"].get("note")
    if caveat and not (note or "").startswith(caveat):  # a note taken from an answer has it
        answer["meta"]["note"] = f"{caveat} {note}" if note else caveat
    return answer


def fit(answer: dict[str, Any], rows: list[Row]) -> dict[str, Any]:
    """The answer with as many rows as fit under `MAX_BODY_CHARS`, saying so when cut."""
    size = _size(answer)
    if size <= MAX_BODY_CHARS:
        return answer
    row_sizes = [
        len(json.dumps(row, ensure_ascii=False, separators=(",", ":"))) + 1 for row in rows
    ]
    budget = MAX_BODY_CHARS - (size - sum(row_sizes)) - 300
    shown = 0
    while shown < len(rows) and budget >= row_sizes[shown]:
        budget -= row_sizes[shown]
        shown += 1
    answer["meta"].update(
        count=shown,
        truncated=True,
        shown=shown,
        total=len(rows),
        note=f"Showing {shown} of {len(rows)} rows to stay within the answer size limit;"
        " ask with a smaller limit or narrower filters for the rest.",
    )
    answer["data"] = rows[:shown]
    return answer


def _size(value: Any) -> int:
    return len(json.dumps(value, ensure_ascii=False, separators=(",", ":")))


def derived(
    answer: dict[str, Any], sources: list[tuple[Entry, str]], cap_s: float | None = None
) -> Produced:
    """An answer made from cached ones: dated by the oldest, fresh while all of them are
    (and at most `cap_s`), served as stale when one of them was."""
    if not sources:
        return Produced(answer, 0)
    stale = [entry.fetched_at for entry, state in sources if state == "stale"]
    if stale:
        return Produced(answer, 0, stale_since=min(stale))
    ttl_s = max(0.0, min(entry.fresh_until for entry, _ in sources) - time.time())
    if cap_s is not None:
        ttl_s = min(ttl_s, cap_s)
    fetched_at = min(entry.fetched_at for entry, _ in sources)
    return Produced(answer, ttl_s, fetched_at=fetched_at)


def order_and_cut(rows: list[Row], query: Query, meta: dict[str, Any]) -> list[Row]:
    """A complete answer's rows in the asked order (`sorted: all`), cut at `limit` (the top
    N), saying so in `meta`."""
    if query.get("sort"):
        rows = sort_rows(rows, query.get("sort"))
        meta["sorted"] = "all"
    limit = query.get("limit") or len(rows)
    if len(rows) > limit:
        meta.update(truncated=True, shown=limit, total=len(rows))
    return rows[:limit]
