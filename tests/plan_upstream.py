"""A fake upstream's plan and quota, as the vendor keeps them, in front of any fake's routes.

`PlanGate(plan)` refuses with 401 (plain text `Unauthorized`, as recorded) every route the plan
does not serve (`sportstats.upstream.routes` says which plans serve which), and every route to a
wrong key; past `per_minute` requests in any `window_s` it answers 429, as the vendor does. It
notes when each request arrived, so a test or bench can tell the most the upstream saw in any
window. Paths are read under either base the server may use (`/nba/v1/...` or `/v1/...`).
"""

from __future__ import annotations

import re
import time
from collections import Counter
from dataclasses import dataclass, field

from aiohttp import web
from aiohttp.typedefs import Handler

from sportstats.upstream.routes import LEAGUE, ROUTES, Route

UNAUTHORIZED = "Unauthorized"


def _pattern(route: Route) -> re.Pattern[str]:
    """The route's path under any base, with or without the league's prefix."""
    path = re.escape(route.path.removeprefix(LEAGUE.prefix))
    path = re.sub(r"\\\{[^}]+\\\}", "[^/]+", path)
    return re.compile(rf".*?(?:{re.escape(LEAGUE.prefix)})?{path}$")


# Longest first, so that `players/active` is not read as `players`.
PATTERNS = sorted(((_pattern(r), r) for r in ROUTES.values()), key=lambda p: -len(p[1].path))


def route_of(path: str) -> Route | None:
    return next((route for pattern, route in PATTERNS if pattern.match(path)), None)


@dataclass
class PlanGate:
    plan: str | None  # None: the key is refused everywhere
    key: str
    per_minute: int | None = None
    window_s: float = 60.0
    lacks: frozenset[str] = frozenset()  # routes refused though the declaration says served
    arrivals: list[float] = field(default_factory=list)  # monotonic
    answered: Counter[str] = field(default_factory=Counter)  # "<route> <status>"

    def status(self, path: str, key: str | None) -> int | None:
        """The refusal for this request (401, 429), or None: let the fake answer it."""
        now = time.monotonic()
        self.arrivals.append(now)
        recent = [at for at in self.arrivals if at > now - self.window_s]
        route = route_of(path)
        name = route.name if route else path
        if self.per_minute is not None and len(recent) > self.per_minute:
            self.answered[f"{name} 429"] += 1
            return 429
        served = route is None or (route.served_by(self.plan or "") and name not in self.lacks)
        if key != self.key or self.plan is None or not served:
            self.answered[f"{name} 401"] += 1
            return 401
        self.answered[f"{name} 200"] += 1
        return None

    def most_in_any_window(self) -> int:
        """The most requests that arrived within any `window_s`."""
        most, start = 0, 0
        for end, at in enumerate(self.arrivals):
            while at - self.arrivals[start] >= self.window_s:
                start += 1
            most = max(most, end - start + 1)
        return most

    def refused(self, status: int = 401) -> int:
        return sum(n for what, n in self.answered.items() if what.endswith(f" {status}"))

    @web.middleware
    async def middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        status = self.status(request.path, request.headers.get("Authorization"))
        if status == 401:
            return web.Response(status=401, text=UNAUTHORIZED)
        if status == 429:
            return web.json_response({"error": "Too many requests"}, status=429)
        return await handler(request)

    def guard(self, app: web.Application) -> web.Application:
        """`app` behind this gate (before it starts)."""
        app.middlewares.append(self.middleware)
        return app


def every_route_app(inner: web.Application) -> web.Application:
    """`inner` (a fake serving `/v1/{name}`) with the routes it lacks answered empty, as a
    plan that serves them would: `{"data": []}`."""

    async def empty(request: web.Request) -> web.Response:
        return web.json_response({"data": [], "meta": {"next_cursor": None}})

    inner.router.add_get("/{tail:.*}", empty)
    return inner
