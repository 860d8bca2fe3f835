"""What the operator sees: one access-log line per request with its id, /metrics and /readyz.

The access log replaces aiohttp's own (which prints the request line, query string included,
where a key could sit): it names the client by tester name, never by key, and logs the route,
not the raw path or query. Values that come from the request are quoted and escaped, so a line
cannot be forged by a crafted header.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import AsyncIterator, Callable
from contextvars import ContextVar
from typing import Any

from aiohttp import web

from .access_log import REQUEST_ID_HEADER, log_access, new_request_id
from .auth import CLIENT_ADDRESS, TESTER
from .cache import BoundedMemoryCache
from .health import Readiness
from .keys import CACHE, METRICS, READINESS, SETTINGS, UPSTREAM
from .metrics import CONTENT_TYPE, Metrics
from .upstream import UpstreamEvent

log = logging.getLogger(__name__)

REQUEST_ID = "sportstats.request_id"  # where the id is kept on the request
SAFE_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")
CLIENT_CLOSED = 499  # nginx's status for "the client went away before the answer"
BUDGET_READ_TIMEOUT_S = 1.0
LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"

# The upstream calls made for the current request: a one-item list, shared with the tasks the
# request starts (they copy the context), so calls made in a cache fill count for the request.
_upstream_calls: ContextVar[list[int] | None] = ContextVar("upstream_calls", default=None)


def configure_logging(level: str) -> None:
    """Log to stderr at `level`, for `python -m sportstats` and the gunicorn workers alike."""
    logging.basicConfig(level=level, format=LOG_FORMAT)
    # aiocache's debug lines print every cache key, i.e. every question's query values.
    logging.getLogger("aiocache").setLevel(max(logging.INFO, logging.getLevelName(level)))


def request_id_of(request: web.Request) -> str:
    """The caller's X-Request-Id when it is short and safe to log, else a new one."""
    given = request.headers.get(REQUEST_ID_HEADER, "")
    if given and SAFE_REQUEST_ID.fullmatch(given):
        return given
    return new_request_id()


def client_of(request: web.Request) -> tuple[str | None, str]:
    """(tester name or None, client address) as the access control recorded them.

    The address honours X-Forwarded-For only from configured proxies; before the access control
    ran (or without it) it is the peer's address.
    """
    name = request.get(TESTER)
    address = request.get(CLIENT_ADDRESS) or request.remote or "-"
    return (str(name) if name else None), str(address)


def endpoint_of(request: web.Request) -> str:
    """The route's name (bounded, no user input); `unmatched` for unknown paths and methods."""
    route = request.match_info.route
    return (route.name if route.resource is not None else None) or "unmatched"


class RequestRecord:
    """One request as the operator sees it: its id, its duration, the upstream calls it caused.

    Made when the request comes in, closed once it is answered (`answered`, or `raised` for a
    request that ends by an exception): then it writes the request's one access-log line and
    counts it in the metrics. A plain object, not
    a middleware layer of its own: the app's one middleware (`app.front`) opens and closes it.
    """

    __slots__ = ("request", "request_id", "metrics", "calls", "started", "_token")

    def __init__(self, request: web.Request, metrics: Metrics) -> None:
        self.request = request
        self.request_id = request[REQUEST_ID] = request_id_of(request)
        self.metrics = metrics
        self.calls = [0]
        self._token = _upstream_calls.set(self.calls)
        metrics.request_started()
        self.started = time.perf_counter()

    def answered(self, response: web.StreamResponse) -> web.StreamResponse:
        """Close the record for a response the app returns; it gets the request id header."""
        if not response.prepared:
            response.headers[REQUEST_ID_HEADER] = self.request_id
        self.close(response.status, response.headers.get("X-Cache"))
        return response

    def raised(self, exc: BaseException) -> None:
        """Close the record for a request that ends by an exception (a redirect, a client gone)."""
        if isinstance(exc, web.HTTPException):
            exc.headers[REQUEST_ID_HEADER] = self.request_id
            self.close(exc.status, None)
        else:
            self.close(CLIENT_CLOSED if isinstance(exc, asyncio.CancelledError) else 500, None)

    def close(self, status: int, cache: str | None) -> None:
        duration_s = time.perf_counter() - self.started
        _upstream_calls.reset(self._token)
        request = self.request
        endpoint = endpoint_of(request)
        name, address = client_of(request)
        calls = self.calls[0]
        self.metrics.observe_request(endpoint, status, duration_s, name, cache, calls)
        log_access(
            self.request_id,
            name,
            address,
            request.method,
            endpoint,
            status,
            cache,
            calls,
            duration_s,
        )


def observe_upstream(metrics: Metrics) -> Callable[[UpstreamEvent], None]:
    """The UpstreamClient's observer: counts each attempt in the metrics and for its request."""

    def observe(event: UpstreamEvent) -> None:
        calls = _upstream_calls.get()
        if calls is not None and event.sent:
            calls[0] += 1
        metrics.observe_upstream(event)

    return observe


async def metrics_view(request: web.Request) -> web.Response:
    """Prometheus text format. The access control guards it: with `metrics_token` set only that
    token opens it, else it needs what the data endpoints need."""
    metrics = request.app[METRICS]
    budget = request.app[UPSTREAM].budget
    try:
        remaining = await asyncio.wait_for(budget.remaining(), BUDGET_READ_TIMEOUT_S)
        metrics.budget_remaining.set(remaining)
    except Exception as exc:  # a Redis hiccup must not hide the other metrics
        log.warning("cannot read the upstream budget for metrics: %s", type(exc).__name__)
    return web.Response(body=metrics.render(), headers={"Content-Type": CONTENT_TYPE})


def _state(app: web.Application) -> dict[str, Any]:
    """The values `StateCollector` exports, read from the running app's objects."""
    cache, upstream = app.get(CACHE), app.get(UPSTREAM)
    if cache is None or upstream is None:
        return {}
    memory = cache.backend if isinstance(cache.backend, BoundedMemoryCache) else None
    return {
        "coalesced": cache.coalesced,
        "breaker_open": upstream.breaker.state == "open",
        "last_success": upstream.last_success,
        "cache_entries": len(memory) if memory is not None else None,
        "cache_bytes": memory.bytes if memory is not None else None,
    }


async def readyz(request: web.Request) -> web.Response:
    """200 when ready for traffic, else 503; the body says which check failed."""
    app = request.app
    ready, body = await app[READINESS].report(app[CACHE], app[UPSTREAM])
    return web.json_response(body, status=200 if ready else 503)


async def observer_ctx(app: web.Application) -> AsyncIterator[None]:
    """Attach the metrics to the upstream client once it exists (after `upstream_ctx`)."""
    app[UPSTREAM].observer = observe_upstream(app[METRICS])
    app[READINESS] = Readiness(app[SETTINGS].readiness_max_age_s)
    yield
    await app[READINESS].close()


def setup_observability(app: web.Application, metrics: Metrics) -> list[web.AbstractRoute]:
    """Metrics, readiness, the upstream observer and their routes (returned, for CORS).

    Call after `upstream_ctx` is in `cleanup_ctx`; the app's middleware keeps a
    `RequestRecord` of every request, which counts it in `metrics`.
    """
    app[METRICS] = metrics
    metrics.watch(lambda: _state(app))
    app.cleanup_ctx.append(observer_ctx)
    return [
        app.router.add_get("/metrics", metrics_view, name="metrics"),
        app.router.add_get("/readyz", readyz, name="readyz"),
    ]
