"""What the operator sees of each request: its id, one access-log line, its metrics.

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

from aiohttp import web

from ..upstream.client import CallCount
from .access_log import LOG_FORMAT, REQUEST_ID_HEADER, LogStream, log_access, new_request_id
from .auth import CLIENT_ADDRESS, TESTER
from .metrics import Metrics

log = logging.getLogger(__name__)

REQUEST_ID = "sportstats.request_id"  # where the id is kept on the request
SAFE_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")
CLIENT_CLOSED = 499  # nginx's status for "the client went away before the answer"


def configure_logging(level: str) -> None:
    """Log to stderr at `level`, for `python -m sportstats` and the gunicorn workers alike."""
    logging.basicConfig(level=level, format=LOG_FORMAT, handlers=[LogStream()])
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
    route = request.match_info.route  # None for a resource without routes (a mounted app)
    resource = getattr(route, "resource", None)
    return (route.name if resource is not None else None) or "unmatched"


# The cache outcome of an answer sent inside another body (an MCP tool call), in X-Cache's words.
CACHE_STATE = "sportstats.cache_state"


class RequestRecord:
    """One request as the operator sees it: its id, its duration, the upstream calls it caused.

    Made when the request comes in, closed once it is answered (`answered`, or `raised` for a
    request that ends by an exception): then it writes the request's one access-log line and
    counts it in the metrics. A plain object, not
    a middleware layer of its own: the app's one middleware (`web.front`) opens and closes it.
    """

    __slots__ = ("request", "request_id", "metrics", "calls", "started")

    def __init__(self, request: web.Request, metrics: Metrics) -> None:
        self.request = request
        self.request_id = request[REQUEST_ID] = request_id_of(request)
        self.metrics = metrics
        self.calls = CallCount()  # the calls made in a cache fill count for the request
        metrics.request_started()
        self.started = time.perf_counter()

    def answered(self, response: web.StreamResponse) -> web.StreamResponse:
        """Close the record for a response the app returns; it gets the request id header."""
        if not response.prepared:
            response.headers[REQUEST_ID_HEADER] = self.request_id
        # an answer's cache state: its X-Cache header, or what an MCP tool call recorded
        self.close(
            response.status, response.headers.get("X-Cache") or self.request.get(CACHE_STATE)
        )
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
        calls = self.calls.stop()
        request = self.request
        endpoint = endpoint_of(request)
        name, address = client_of(request)
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
