"""Answering a validated question: cache, upstream, shaping. The one core behind HTTP and MCP.

The flow is the same for every endpoint: look the normalised question up in the cache; on a miss
fetch the upstream (one call, or one per player for season averages), shape flat rows, fit the
body under the assistant's size limit, and store it.
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass
from typing import Any

from .. import errors
from ..cache import X_CACHE, AnswerCache, Entry, Produced, parse_body
from ..errors import UpstreamFailure
from ..upstream.client import CallCount, UpstreamClient
from . import players
from .endpoints import PLAYERS, TEAMS, Endpoint
from .params import LIMIT_MAX, Query, current_season, upstream_params
from .policy import PlayerNames, TeamNames
from .teams import TeamIndex

# Assistants cut or refuse answers over 100,000 characters; leave room for their framing.
MAX_BODY_CHARS = 90_000
SOURCE = "BALLDONTLIE NBA API"
ALL_TEAMS = Query({})  # the one teams question every filter and name is answered from


@dataclass
class Reply:
    """A data answer ready to send: body bytes, cache state and the headers that go with it."""

    body: bytes
    state: str
    entry: Entry

    @property
    def headers(self) -> dict[str, str]:
        return {
            "Content-Type": "application/json",
            "X-Cache": X_CACHE[self.state],
            "Age": str(max(0, int(time.time() - self.entry.fetched_at))),
        }

    def answer(self) -> dict[str, Any]:
        return json.loads(self.body)


class Answers:
    """Turns (endpoint, query) into a `Reply`, at the lowest upstream cost it can."""

    def __init__(self, upstream: UpstreamClient, cache: AnswerCache) -> None:
        self.upstream = upstream
        self.cache = cache
        self._teams: tuple[Entry, TeamIndex] | None = None  # the index of the cached list

    async def reply(self, endpoint: Endpoint, query: Query) -> Reply:
        query = self._complete(endpoint, query)
        by_name = endpoint.name_params and any(
            query.get(p) is not None for p in endpoint.name_params
        )
        if not by_name:
            entry = self.cache.fresh(_key(endpoint, query))  # the common case: no more awaits
            if entry is not None:
                return Reply(entry.render("hit"), "hit", entry)
        count = CallCount()
        try:
            deadline = self.upstream.deadline()
            if by_name:
                query = await self._resolve_names(endpoint, query, deadline)
            entry, state = await self._entry(endpoint, query, deadline)
        finally:
            calls = count.stop()
        return Reply(entry.render(state, calls), state, entry)

    async def _resolve_names(self, endpoint: Endpoint, query: Query, deadline: float) -> Query:
        """The question with its team and player names as ids."""
        teams, people = endpoint.team_names, endpoint.player_names
        if teams is not None and query.get(teams.param) is not None:
            query = await self._resolve_teams(teams, query, deadline)
        if people is not None and query.get(people.param) is not None:
            query = await self._resolve_players(people, query, deadline)
        return query

    async def _resolve_teams(self, names: TeamNames, query: Query, deadline: float) -> Query:
        """Team names as ids, from the one cached teams list (an upstream call only when the
        list is not cached)."""
        entry, _ = await self._entry(TEAMS, ALL_TEAMS, deadline)
        if self._teams is None or self._teams[0] is not entry:
            self._teams = (entry, TeamIndex(parse_body(entry.body)["data"]))
        ids = self._teams[1].resolve_all(query.get(names.param), names.param)
        if names.into is None:
            return query.replace(**{names.param: ids})
        merged = tuple(sorted({*(query.get(names.into) or ()), *ids}))
        return query.replace(**{names.param: None, names.into: merged})

    @staticmethod
    def _complete(endpoint: Endpoint, query: Query) -> Query:
        """The question as answered (e.g. season averages default to the current season)."""
        return endpoint.complete(query) if endpoint.complete else query

    async def _resolve_players(self, names: PlayerNames, query: Query, deadline: float) -> Query:
        """Player names as ids, each through one (cached) players question."""
        ids = set(query.get(names.into) or ())
        for given in query.get(names.param):
            if given.isascii() and given.isdigit():
                ids.add(int(given))
                continue
            rows = await self._players_named(given, deadline)
            found = players.candidates(given, rows)
            if len(found) > 1:
                raise players.ambiguous(given, found, names.param)
            if not found:
                last = given.split()[-1]
                nearby = rows if last == given else await self._players_named(last, deadline)
                raise players.unknown(given, nearby)
            ids.add(found[0]["player_id"])
        return query.replace(**{names.param: None, names.into: tuple(sorted(ids))})

    async def _players_named(self, name: str, deadline: float) -> list[dict[str, Any]]:
        """The players answer for `name`, as `/players?query=<name>&limit=100` asks it."""
        entry, _ = await self._entry(PLAYERS, Query({"query": name, "limit": 100}), deadline)
        return parse_body(entry.body)["data"]

    async def _entry(self, endpoint: Endpoint, query: Query, deadline: float) -> tuple[Entry, str]:
        """The entry for a completed question (see `_complete`), from the cache or upstream."""
        produce = self._produce
        if endpoint.per_player:
            produce = self._merge_players
        elif any(query.get(name) is not None for name in endpoint.local_params):
            produce = self._filter_complete_list
        return await self.cache.fetch(
            _key(endpoint, query), lambda: produce(endpoint, query, deadline)
        )

    async def _produce(self, endpoint: Endpoint, query: Query, deadline: float) -> Produced:
        """One upstream call, shaped into an answer."""
        asked = endpoint.upstream_query(query) if endpoint.upstream_query else query
        pairs = upstream_params(endpoint.params, asked)
        if endpoint.per_player:
            pairs = endpoint.per_player.single(pairs)
        payload = await self.upstream.get(endpoint.upstream_path, pairs, deadline)
        items = payload.get("data")
        if isinstance(items, dict):
            items = [items]
        if not isinstance(items, list):
            raise errors.UpstreamBadAnswer(
                "The upstream data service sent an answer without a data list."
            )
        meta: dict[str, Any] = {"source": f"{SOURCE} {endpoint.upstream_path}"}
        if endpoint.item_filter is not None:
            items = endpoint.item_filter.apply(items, meta)
        upstream_meta = payload.get("meta") if isinstance(payload.get("meta"), dict) else {}
        next_cursor = upstream_meta.get("next_cursor") if endpoint.paged else None
        if isinstance(next_cursor, bool) or not isinstance(next_cursor, int):
            next_cursor = None  # a cursor we could not take back as `cursor` is no cursor
        rows = endpoint.table.rows(items)
        answer = build_answer(endpoint, rows, next_cursor, meta, query)
        ttl = endpoint.freshness.ttl_s(
            self.cache.settings, items, query.get("season"), current_season()
        )
        if not rows:
            ttl = min(ttl, self.cache.settings.empty_ttl_s)
        return Produced(answer, ttl)

    async def _filter_complete_list(
        self, endpoint: Endpoint, query: Query, deadline: float
    ) -> Produced:
        """Filtered and sorted here, from the endpoint's complete answer (paged: its widest
        page), cached on its own: one upstream call for every filter and order of it."""
        complete = query.replace(**dict.fromkeys(endpoint.local_params))
        if endpoint.paged:
            complete = complete.replace(limit=LIMIT_MAX)
        entry, state = await self.cache.fetch(
            _key(endpoint, complete), lambda: self._produce(endpoint, complete, deadline)
        )
        whole = parse_body(entry.body)
        rows = [row for row in whole["data"] if _kept(endpoint, query, row)]
        next_cursor = whole["meta"].get("next_cursor")
        meta: dict[str, Any] = {"source": f"{SOURCE} {endpoint.upstream_path}"}
        if query.get("sort"):
            rows = sort_rows(rows, query.get("sort"))
            meta["sorted"] = "page" if next_cursor is not None else "all"
        limit = query.get("limit") or len(rows)
        if len(rows) > limit:
            meta.update(truncated=True, shown=limit, total=len(rows))
            next_cursor = None
        answer = build_answer(endpoint, rows[:limit], next_cursor, meta, query)
        if len(rows) > limit:
            answer["meta"]["note"] = (
                f"Showing the first {limit} of {len(rows)} rows; ask with a larger limit for more."
            )
        elif meta.get("sorted") == "page":
            answer["meta"]["note"] = (
                f"Sorted within these {len(rows)} rows only: there are more (next_cursor)."
            )
        if state == "stale":
            return Produced(answer, 0, stale_since=entry.fetched_at)
        ttl_s = max(0.0, entry.fresh_until - time.time())
        return Produced(answer, ttl_s, fetched_at=entry.fetched_at)

    async def _merge_players(self, endpoint: Endpoint, query: Query, deadline: float) -> Produced:
        """Season averages: one cached upstream call per player, concurrently, joined with names.

        Each player's averages are cached on their own, so a later question about an overlapping
        set of players costs only the players not yet asked about.
        """
        ids_param = endpoint.per_player.ids_param
        player_ids = query.get(ids_param)
        one_player = query.replace(**dict.fromkeys(endpoint.local_params))  # shared by any order
        lookups = [
            self.cache.fetch(
                f"{endpoint.name}/player?{sub.key}",
                lambda sub=sub: self._produce(endpoint, sub, deadline),
            )
            for sub in (one_player.replace(**{ids_param: (pid,)}) for pid in player_ids)
        ]
        *results, names = await asyncio.gather(
            *lookups, self.names(player_ids, deadline), return_exceptions=True
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
        meta: dict[str, Any] = {"source": f"{SOURCE} {endpoint.upstream_path}"}
        if isinstance(names, BaseException) or not names:
            names = {}
            meta["names_unavailable"] = True
        for row in rows:
            row["player"] = names.get(row["player_id"])
        if query.get("sort"):
            rows = sort_rows(rows, query.get("sort"))
            meta["sorted"] = "all"
        if failures:
            meta["errors"] = failures
        if missing:
            meta["missing_player_ids"] = missing
        ttl = endpoint.freshness.ttl_s(
            self.cache.settings, rows, query.get("season"), current_season()
        )
        answer = build_answer(endpoint, rows, None, meta, query)
        # A partial answer is not kept: the next try fetches only the players that failed.
        return Produced(answer, 0 if failures or not names else ttl, stale_since)

    async def names(self, player_ids: tuple[int, ...], deadline: float) -> dict[int, str]:
        """Player names by id, through the (cached) players endpoint."""
        query = Query({"player_ids": player_ids, "limit": 100})
        entry, _ = await self._entry(PLAYERS, query, deadline)
        return {row["player_id"]: row["name"] for row in parse_body(entry.body)["data"]}


def _key(endpoint: Endpoint, query: Query) -> str:
    return f"{endpoint.name}?{query.key}"


def _kept(endpoint: Endpoint, query: Query, row: dict[str, Any]) -> bool:
    """Does `row` pass the endpoint's local filters the question gives?"""
    for name, column in endpoint.local_filters:
        wanted = query.get(name)
        if wanted is None:
            continue
        if row.get(column) not in (wanted if isinstance(wanted, tuple) else (wanted,)):
            return False
    return True


def sort_rows(rows: list[dict[str, Any]], order: str) -> list[dict[str, Any]]:
    """Rows by one column (`-` first: descending); rows without a value go last either way."""
    column = order.lstrip("-")
    valued = [row for row in rows if row.get(column) is not None]
    empty = [row for row in rows if row.get(column) is None]
    return sorted(valued, key=lambda row: row[column], reverse=order.startswith("-")) + empty


def build_answer(
    endpoint: Endpoint,
    rows: list[dict[str, Any]],
    next_cursor: Any,
    meta: dict[str, Any],
    query: Query,
) -> dict[str, Any]:
    """The table answer: columns, rows and meta, trimmed to fit the assistant's size limit."""
    meta = {"count": len(rows), "next_cursor": next_cursor, **meta, "query": query.as_json()}
    asked = json.dumps(query.as_json()) if query.values else "everything"
    if meta.get("missing_player_ids"):
        meta["note"] = (
            "No averages for player ids "
            + ", ".join(map(str, meta["missing_player_ids"]))
            + f" in season {query.get('season')}: they played no games that season."
        )
    elif not rows:
        meta["note"] = (
            f"No {endpoint.name.replace('_', ' ')} matched {asked}; try a wider question"
            " (another season, fewer filters, one name part)."
        )
    elif endpoint.item_filter is not None and meta.get(endpoint.item_filter.meta_key):
        meta["note"] = endpoint.item_filter.note.format(count=len(rows))
    answer = {"columns": list(endpoint.table.columns), "data": rows, "meta": meta}
    size = len(json.dumps(answer, ensure_ascii=False, separators=(",", ":")))
    if size > MAX_BODY_CHARS:
        row_sizes = [
            len(json.dumps(row, ensure_ascii=False, separators=(",", ":"))) + 1 for row in rows
        ]
        budget = MAX_BODY_CHARS - (size - sum(row_sizes)) - 300
        shown = 0
        while shown < len(rows) and budget >= row_sizes[shown]:
            budget -= row_sizes[shown]
            shown += 1
        meta.update(
            count=shown,
            truncated=True,
            shown=shown,
            total=len(rows),
            note=f"Showing {shown} of {len(rows)} rows to stay within the answer size limit;"
            " ask with a smaller limit or narrower filters for the rest.",
        )
        answer["data"] = rows[:shown]
    return answer
