"""Answering a validated question: cache, upstream, shaping. The one core behind HTTP and MCP.

The flow is the same for every endpoint: look the normalised question up in the cache; on a miss
fetch the upstream (one call, or one per player for season averages), shape flat rows, fit the
body under the assistant's size limit, and store it.
"""

from __future__ import annotations

import asyncio
import functools
import json
import time
from dataclasses import dataclass
from functools import partial
from typing import Any

from .. import errors
from ..cache import X_CACHE, AnswerCache, Entry, Produced, parse_body
from ..errors import UpstreamFailure
from ..upstream.client import CallCount, UpstreamClient
from . import averages, players
from .endpoints import BY_NAME, PLAYERS, TEAMS, Endpoint
from .league_table import LeagueTables
from .params import LIMIT_MAX, Query, current_season, upstream_params
from .policy import PlayerNames, TeamNames
from .recent import Search
from .search import SEARCH_META, searcher
from .shape import (
    build_answer,
    caveat_for,
    chosen_columns,
    kept,
    narrow_note,
    project,
    sort_rows,
    source,
)
from .shape import derived as _derived
from .teams import TeamIndex

Row = dict[str, Any]
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

    def __init__(
        self, upstream: UpstreamClient, cache: AnswerCache, league: LeagueTables | None = None
    ) -> None:
        self.upstream = upstream
        self.cache = cache
        self.league = league  # standings (None: none here)
        self._answer = partial(build_answer, caveat=upstream.caveat)  # e.g. "not real" first
        self._teams: tuple[Entry, TeamIndex] | None = None  # the index of the cached list
        self._names = players.KnownNames()  # player names by id, as learned

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
        if state == "miss" and not calls:  # made from cached answers (a `fields` variant, a
            state = "hit"  # filter of a cached list) or another caller's fetch: no upstream call
        return Reply(entry.render(state, calls), state, entry)

    async def _resolve_names(self, endpoint: Endpoint, query: Query, deadline: float) -> Query:
        """The question with its team and player names as ids."""
        people = endpoint.player_names
        for teams in endpoint.teams_named:
            if query.get(teams.param) is not None:
                query = await self._resolve_teams(teams, query, deadline)
        if people is not None and query.get(people.param) is not None:
            query = await self._resolve_players(people, query, deadline)
        return query

    async def _resolve_teams(self, names: TeamNames, query: Query, deadline: float) -> Query:
        """Team names as ids, from the one cached teams list (an upstream call only when the
        list is not cached)."""
        index = await self._team_index(deadline)
        ids = index.resolve_all(query.get(names.param), names.param)
        if names.into is None:
            return query.replace(**{names.param: ids})
        merged = tuple(sorted({*(query.get(names.into) or ()), *ids}))
        return query.replace(**{names.param: None, names.into: merged})

    async def _team_index(self, deadline: float) -> TeamIndex:
        """The index of the one cached teams list (an upstream call only when not cached)."""
        entry, _ = await self._entry(TEAMS, ALL_TEAMS, deadline)
        if self._teams is None or self._teams[0] is not entry:
            self._teams = (entry, TeamIndex(parse_body(entry.body)["data"]))
        return self._teams[1]

    def _complete(self, endpoint: Endpoint, query: Query) -> Query:
        """The question as answered; refused, with no call, where the key's plan lacks it."""
        try:
            self.upstream.coverage.check(endpoint.needs)
        except errors.PlanNotCovered as refused:
            raise _nearest_answers(refused, endpoint) from None
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
                lookup = functools.partial(self._players_named, deadline=deadline)
                raise players.unknown(given, await players.nearby(given, rows, lookup))
            ids.add(found[0]["player_id"])
        return query.replace(**{names.param: None, names.into: tuple(sorted(ids))})

    async def _players_named(self, name: str, deadline: float) -> list[dict[str, Any]]:
        """The players answer for `name`, as `/players?query=<name>&limit=100` asks it."""
        entry, _ = await self._entry(PLAYERS, Query({"query": name, "limit": 100}), deadline)
        rows = parse_body(entry.body)["data"]
        self._names.learn(rows)
        return rows

    async def _entry(self, endpoint: Endpoint, query: Query, deadline: float) -> tuple[Entry, str]:
        """The entry for a completed question (see `_complete`), from the cache or upstream."""
        produce = self._produce
        stand_in = self._stand_in(endpoint, query)
        if stand_in is not None:  # a night's lines from its box scores: one call a day
            return await self._entry(*stand_in, deadline)
        if endpoint.ledger_table and self.league is not None:
            produce = partial(self.league.produce, team_rows=self.team_rows)
        elif query.get("fields"):
            produce = self._project
        elif endpoint.per_player:
            produce = averages.producer(self, endpoint, query)
        elif searcher(endpoint, query) or any(
            query.get(n) is not None for n in endpoint.local_params
        ):
            produce = self._filter_complete_list
        return await self.cache.fetch(
            _key(endpoint, query), lambda: produce(endpoint, query, deadline)
        )

    def _stand_in(self, endpoint: Endpoint, query: Query) -> tuple[Endpoint, Query] | None:
        """The endpoint and question that answer this one at less cost, where the plan
        serves its route (`StandIn`), else None."""
        if endpoint.stand_in is None:
            return None
        question = endpoint.stand_in.question(query)
        other = BY_NAME[endpoint.stand_in.endpoint]
        if question is None or not self.upstream.coverage.known_to_serve(other.route):
            return None
        return other, question

    async def _produce(self, endpoint: Endpoint, query: Query, deadline: float) -> Produced:
        """One upstream call, shaped into an answer."""
        asked = endpoint.upstream_query(query) if endpoint.upstream_query else query
        pairs = upstream_params(endpoint.params, asked)
        for single in (endpoint.per_player, endpoint.per_value):
            if single is not None:
                pairs = single.single(pairs)
        route = endpoint.route_for(query)
        try:
            payload = await self.upstream.get(route, pairs, deadline, **dict(endpoint.path_params))
        except errors.PlanNotCovered as refused:  # a switched route (`active=true`)
            raise _nearest_answers(refused, endpoint) from None
        items = payload.get("data")
        if isinstance(items, dict):
            items = [items]
        if not isinstance(items, list):
            raise errors.UpstreamBadAnswer(
                "The upstream data service sent an answer without a data list."
            )
        if endpoint.unpack is not None:
            items = endpoint.unpack(items)
        meta: dict[str, Any] = {"source": source(endpoint, self.upstream.source, route)}
        caveat_for(endpoint, query, meta, time.time())
        if endpoint.item_filter is not None:
            items = endpoint.item_filter.apply(items, meta)
        upstream_meta = payload.get("meta") if isinstance(payload.get("meta"), dict) else {}
        next_cursor = upstream_meta.get("next_cursor") if endpoint.paged else None
        if isinstance(next_cursor, bool) or not isinstance(next_cursor, int):
            next_cursor = None  # a cursor we could not take back as `cursor` is no cursor
        rows = endpoint.table.rows(items)
        unlabelled = bool(endpoint.team_labels and rows) and not await self._label_teams(
            endpoint, rows, deadline
        )
        labels = None if rows else self._labels()  # an empty answer's note names who it asked
        answer = self._answer(endpoint, rows, next_cursor, meta, query, labels)
        ttl = endpoint.freshness.ttl_s(
            self.cache.settings, items, query.get("season"), current_season()
        )
        if not rows:
            ttl = min(ttl, self.cache.settings.empty_ttl_s)
        if unlabelled:  # the teams list failed: asked again soon
            ttl = min(ttl, self.cache.settings.live_ttl_s)
        return Produced(answer, ttl)

    async def team_rows(self, deadline: float | None = None) -> list[Row]:
        """The teams list's rows, cached (standings and team names need it)."""
        return list((await self._team_index(deadline or self.upstream.deadline())).rows.values())

    async def _label_teams(self, endpoint: Endpoint, rows: list[Row], deadline: float) -> bool:
        """Fill the team columns named from the cached teams list (`TeamLabels`); False when
        that list could not be had (the columns stay null)."""
        labels = endpoint.team_labels
        try:  # an upstream call once a teams TTL at most
            index = await self._team_index(deadline)
        except UpstreamFailure:
            return False
        for row in rows:
            row[labels.column] = index.abbreviation(row.get(labels.id_column))
        return True

    async def _filter_complete_list(
        self, endpoint: Endpoint, query: Query, deadline: float
    ) -> Produced:
        """Filtered and sorted here, from a wider answer cached on its own: the endpoint's
        complete answer (paged: its widest page, or every page a whole sort may read), or for
        `last`, `next` and `opponent` the rows the search found. One upstream call (or one
        search) for every filter and order of it."""
        searched = searcher(endpoint, query)
        if searched:
            complete = query.replace(sort=None, limit=None)
            produce = self._searched
        else:
            complete = query.replace(**dict.fromkeys(endpoint.local_params))
            if endpoint.paged:
                complete = complete.replace(limit=LIMIT_MAX)
            produce = self._produce
        # One complete answer, or one for each value the route takes alone (a day's box scores).
        parts = endpoint.per_value.split(complete) if endpoint.per_value else [complete]
        sources = list(
            await asyncio.gather(
                *(
                    self.cache.fetch(
                        _key(endpoint, part), lambda part=part: produce(endpoint, part, deadline)
                    )
                    for part in parts
                )
            )
        )
        wholes = [parse_body(entry.body) for entry, _ in sources]
        whole = wholes[0]
        rows = [row for each in wholes for row in each["data"]]
        next_cursor = whole["meta"].get("next_cursor")
        whole_sort = endpoint.sort_whole and query.get("sort") and not query.get("cursor")
        if next_cursor is not None and whole_sort:
            rows, next_cursor = await self._more_pages(
                endpoint, complete, rows, next_cursor, sources, deadline
            )
        rows = [row for row in rows if kept(endpoint, query, row)]
        meta: dict[str, Any] = {
            "source": whole["meta"].get("source", source(endpoint, self.upstream.source))
        }
        if searched:  # what the search found and said
            meta.update({k: whole["meta"][k] for k in SEARCH_META if k in whole["meta"]})
        caveat_for(endpoint, query, meta, sources[0][0].fetched_at)
        if query.get("sort"):
            rows = sort_rows(rows, query.get("sort"))
            meta["sorted"] = "page" if next_cursor is not None else "all"
        limit = query.get("limit") or len(rows)
        if meta.get("sorted") == "page":
            meta.setdefault("note", narrow_note(endpoint, len(rows), len(sources)))
        if len(rows) > limit:
            meta.update(truncated=True, shown=limit, total=len(rows))
            meta.setdefault(
                "note",
                f"Showing the first {limit} of {len(rows)} rows; ask with a larger limit for more.",
            )
            next_cursor = None if meta.get("sorted") != "page" else next_cursor
        answer = self._answer(endpoint, rows[:limit], next_cursor, meta, query)
        return _derived(answer, sources)

    async def _more_pages(
        self,
        endpoint: Endpoint,
        complete: Query,
        rows: list[Row],
        cursor: Any,
        sources: list[tuple[Entry, str]],
        deadline: float,
    ) -> tuple[list[Row], Any]:
        """The pages after the first, each cached on its own, while they fit the bound: the
        rows of them all, and the cursor left (None: the answer is whole)."""
        rows = list(rows)
        while cursor is not None and len(sources) < self.upstream.settings.sort_max_pages:
            page = complete.replace(cursor=cursor)
            entry, state = await self.cache.fetch(
                _key(endpoint, page), lambda page=page: self._produce(endpoint, page, deadline)
            )
            sources.append((entry, state))
            more = parse_body(entry.body)
            rows += more["data"]
            cursor = more["meta"].get("next_cursor")
        return rows, cursor

    async def _project(self, endpoint: Endpoint, query: Query, deadline: float) -> Produced:
        """`fields`: the answer to the same question with every column, cut to those asked."""
        entry, state = await self._entry(endpoint, query.replace(fields=None), deadline)
        answer = project(parse_body(entry.body), chosen_columns(endpoint, query.get("fields")))
        answer["meta"]["query"] = query.as_json()
        return _derived(answer, [(entry, state)])

    async def _searched(self, endpoint: Endpoint, query: Query, deadline: float) -> Produced:
        """`last`, `next` or `opponent`: the rows a bounded search found (`core.search`)."""
        sources: list[tuple[Entry, str]] = []

        async def page(asked: Endpoint, question: Query) -> dict[str, Any]:
            entry, state = await self._entry(asked, question, deadline)
            sources.append((entry, state))
            return parse_body(entry.body)

        search = Search(page, self.upstream.settings.last_max_calls)
        rows, found = await searcher(endpoint, query)(endpoint, query, search)
        meta = {"source": source(endpoint, self.upstream.source), **found}
        answer = self._answer(endpoint, rows, None, meta, query)
        return _derived(answer, sources, cap_s=self.cache.settings.recent_ttl_s)

    async def names(self, player_ids: tuple[int, ...], deadline: float) -> dict[int, str]:
        """Player names by id: those this process learned resolving names (an id's name does
        not change), else through the (cached) players endpoint."""
        if all(pid in self._names for pid in player_ids):
            return {pid: self._names[pid] for pid in player_ids}
        query = Query({"player_ids": player_ids, "limit": 100})
        entry, _ = await self._entry(PLAYERS, query, deadline)
        return self._names.learn(parse_body(entry.body)["data"])

    def _labels(self) -> dict[str, dict[int, str]]:
        """The names known here without an upstream call: players learned, the cached teams."""
        teams = {i: row["team"] for i, row in self._teams[1].rows.items()} if self._teams else {}
        return {"player_ids": self._names, "team_ids": teams}


def _nearest_answers(refused: errors.PlanNotCovered, endpoint: Endpoint) -> errors.PlanNotCovered:
    """The refusal naming this question's nearest answers first, then the plan's."""
    if endpoint.instead and endpoint.instead not in refused.instead:
        refused.instead = f"Instead: {endpoint.instead}. {refused.instead}".strip()
    return refused


def _key(endpoint: Endpoint, query: Query) -> str:
    return f"{endpoint.name}?{query.key}"
