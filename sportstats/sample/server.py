"""The sample league as the vendor's HTTP API, on a loopback port of this process.

It answers as the vendor does, byte for byte where the vendor's behaviour is known: the key in
the `Authorization` header (none: 401 `Unauthorized` as plain text), a route outside the chosen
plan refused the same way, the plan's requests a minute (past them: 429), 400 `{"error": ...}`
for bad parameters, 404 for an unknown id, `{"data": [...], "meta": {"next_cursor",
"per_page"}}` with cursor paging (`per_page` 25 by default, at most 100; no `next_cursor` on the
last page), array params as `name[]` repeated.

Which routes exist and which the plan serves are not decided here: the caller passes them, read
from the upstream's route table and plan declarations, so the sample cannot drift from them.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import itertools
import json
import time
from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from .answers import ANSWERS, BadParams, Listing, NotFound
from .league import League, league_today

PER_PAGE_DEFAULT = 25
PER_PAGE_MAX = 100
WINDOW_S = 60.0
LOOPBACK = "127.0.0.1"


@dataclass(frozen=True)
class Plan:
    """What the sample serves: the vendor paths the plan covers (others answer 401) and its
    requests a minute (past them, 429)."""

    name: str
    paths: frozenset[str]
    requests_per_minute: int


class SampleVendor:
    """The vendor's answers from the sample league: the declared `routes` (name: vendor path),
    of which the `plan` serves some (by path)."""

    def __init__(
        self, routes: Mapping[str, str], plan: Plan, clock: Callable[[], League] | None = None
    ) -> None:
        self.routes = dict(routes)  # route name -> the vendor's path for it
        unanswered = [name for name in self.routes if name not in ANSWERS]
        if unanswered:
            raise ValueError(f"the sample league has no answer for {', '.join(unanswered)}")
        self.plan = plan
        self.clock = clock or (lambda: League.of(league_today()))
        self.base_url = ""  # where it listens, once `serving`
        self.requests = 0  # every request it answered, refusals included (for tests, benches)
        self._sent: collections.deque[float] = collections.deque()

    def app(self) -> web.Application:
        app = web.Application()
        for name, path in self.routes.items():
            app.router.add_get(path, self._handler(path, ANSWERS[name]))
        return app

    def _handler(self, path: str, answer: Callable[..., Listing | dict[str, Any]]):
        async def handle(request: web.Request) -> web.Response:
            self.requests += 1
            if not request.headers.get("Authorization") or path not in self.plan.paths:
                return web.Response(status=401, text="Unauthorized")
            if not self._take():
                return _error(429, "Too many requests: the plan's minute is spent")
            try:
                found = answer(self.clock(), request.query, dict(request.match_info))
                if isinstance(found, Listing):
                    return _json(_envelope(found, request.query))
            except BadParams as exc:
                return _error(400, str(exc))
            except NotFound:
                return _error(404, "Not found")
            return _json({"data": found})

        return handle

    def _take(self) -> bool:
        """One request of the plan's minute, if any is left."""
        now = time.monotonic()
        while self._sent and self._sent[0] <= now - WINDOW_S:
            self._sent.popleft()
        if len(self._sent) >= self.plan.requests_per_minute:
            return False
        self._sent.append(now)
        return True


def _envelope(listing: Listing, query: Any) -> dict[str, Any]:
    if not listing.paged:
        return {"data": list(listing.items)}
    try:
        per_page = int(query.get("per_page", PER_PAGE_DEFAULT))
        cursor = int(query.get("cursor", 0))
    except ValueError:
        raise BadParams("per_page and cursor must be integers") from None
    if per_page < 1:
        raise BadParams("per_page must be at least 1")
    per_page = min(per_page, PER_PAGE_MAX)
    after: Iterable[Any] = (item for item in listing.items if listing.key(item) > cursor)
    page = list(itertools.islice(after, per_page + 1))
    meta: dict[str, Any] = {"per_page": per_page}
    if len(page) > per_page:
        page = page[:per_page]
        meta["next_cursor"] = listing.key(page[-1])
    return {"data": page, "meta": meta}


def _json(body: dict[str, Any]) -> web.Response:
    return web.Response(text=json.dumps(body), content_type="application/json")


def _error(status: int, message: str) -> web.Response:
    return web.Response(
        status=status, text=json.dumps({"error": message}), content_type="application/json"
    )


@contextlib.asynccontextmanager
async def serving(vendor: SampleVendor) -> AsyncIterator[str]:
    """The vendor on a free loopback port for as long as the block runs: its base URL (also
    kept as `vendor.base_url`)."""
    runner = web.AppRunner(vendor.app(), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, LOOPBACK, 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    vendor.base_url = f"http://{host}:{port}"
    try:
        yield vendor.base_url
    finally:
        await asyncio.shield(runner.cleanup())
