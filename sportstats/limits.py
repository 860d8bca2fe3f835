"""Abuse limits: what one client may ask, how big a request may be, and the headers we send.

- A token bucket per client (tester name, else client address): `burst` requests at once,
  refilled at `requests_per_minute`; past it, 429 with `Retry-After`. Its memory is bounded: the
  least recently seen clients are forgotten first (a forgotten client comes back with a full
  bucket, as it would after a pause). With Redis the buckets live there, shared by every worker
  (`SharedRateLimiter`), so several workers do not multiply a client's rate.
- Only GET, HEAD and OPTIONS (POST and OPTIONS on /mcp); bounds on the URL, the number of query
  parameters, the headers and the body.
- aiohttp's HTTP parser refuses oversized or malformed requests before any middleware runs and
  answers them in plain text; `run_app` serves with a protocol handler that answers those with the
  JSON error too (`JsonErrorRequestHandler`).
- Security headers on every response, and no server version.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import signal
import ssl
import time
from collections import OrderedDict
from collections.abc import Callable
from itertools import chain
from typing import Any

from aiohttp import web
from aiohttp.http_exceptions import BadHttpMessage, HttpProcessingError, LineTooLong
from aiohttp.web_protocol import RequestHandler

from .access_log import REQUEST_ID_HEADER, log_access, new_request_id
from .auth import CLIENT_ADDRESS, PROBE_PATHS, TESTER
from .errors import ApiError
from .settings import LimitsSettings

log = logging.getLogger(__name__)

SERVER_NAME = "sportstats"
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'",
}
_SECURITY_ITEMS = tuple(SECURITY_HEADERS.items())
HSTS = "max-age=31536000"
ALLOWED_METHODS = ("GET", "HEAD", "OPTIONS")
POST_ONLY_PATHS = frozenset({"/mcp"})  # the MCP endpoint takes POST (and CORS preflights)
REQUEST_LINE_EXTRA_BYTES = 32  # method, spaces and HTTP version around the URL


class RateLimiter:
    """One token bucket per client, in a bounded LRU map."""

    def __init__(
        self,
        requests_per_minute: int,
        burst: int,
        max_clients: int,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.rate_per_s = requests_per_minute / 60
        self.burst = burst
        self.max_clients = max_clients
        self.clock = clock
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()  # tokens, when

    def __len__(self) -> int:
        return len(self._buckets)

    def take(self, client: str) -> float:
        """Spend one of `client`'s requests: 0 when allowed, else the seconds until one is."""
        now = self.clock()
        tokens, then = self._buckets.pop(client, (float(self.burst), now))
        tokens = min(float(self.burst), tokens + (now - then) * self.rate_per_s)
        wait_s = 0.0
        if tokens >= 1:
            tokens -= 1
        else:
            wait_s = (1 - tokens) / self.rate_per_s
        self._buckets[client] = (tokens, now)
        while len(self._buckets) > self.max_clients:
            self._buckets.popitem(last=False)
        return wait_s


# KEYS[1]: the client's bucket; ARGV: tokens per ms, burst. Returns the wait in ms, as text.
_TAKE_TOKEN = """
local now = redis.call('TIME')
now = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
local rate, burst = tonumber(ARGV[1]), tonumber(ARGV[2])
local bucket = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(bucket[1]) or burst
local at = tonumber(bucket[2]) or now
tokens = math.min(burst, tokens + math.max(0, now - at) * rate)
local wait = 0
if tokens >= 1 then tokens = tokens - 1 else wait = (1 - tokens) / rate end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', now)
redis.call('PEXPIRE', KEYS[1], math.ceil(burst / rate) + 1000)
return tostring(wait)
"""


class SharedRateLimiter:
    """The token buckets in Redis, one hash per client, updated atomically on Redis's clock.

    A bucket expires once it would be full again, so Redis holds only recent clients. If Redis
    fails, the process's own `RateLimiter` answers until it is back.
    """

    def __init__(self, redis: Any, prefix: str, local: RateLimiter) -> None:
        self.prefix = f"{prefix}client:"
        self.local = local
        self._script = redis.register_script(_TAKE_TOKEN)

    async def take(self, client: str) -> float:
        rate_per_ms = self.local.rate_per_s / 1000
        try:
            wait_ms = await self._script(
                keys=[self.prefix + client], args=[repr(rate_per_ms), self.local.burst]
            )
        except Exception as exc:  # Redis down: each process keeps to the limit on its own
            log.warning("shared rate limit unavailable (%s); using this process's", exc)
            return self.local.take(client)
        return float(wait_ms) / 1000


def _allowed_methods(path: str) -> tuple[str, ...]:
    return ("OPTIONS", "POST") if path in POST_ONLY_PATHS else ALLOWED_METHODS


class Limits:
    """The request bounds and the per-client rate limit, as two checks that raise the JSON error.

    They are plain functions, not middlewares, so that the app runs every check of a request in
    one middleware (`app.guard`): each middleware layer costs a cache hit a few microseconds.
    """

    def __init__(self, settings: LimitsSettings) -> None:
        self.settings = settings
        self.limiter = (
            RateLimiter(settings.requests_per_minute, settings.burst, settings.max_clients)
            if settings.requests_per_minute
            else None
        )
        self.shared: SharedRateLimiter | None = None

    def check_request(self, request: web.Request) -> None:
        """Method, URL, parameters, headers and body within bounds, else the JSON error."""
        s = self.settings
        allowed = _allowed_methods(request.path)
        if request.method not in allowed:
            raise ApiError(
                405,
                "method_not_allowed",
                f"Method {request.method[:16]} is not allowed here.",
                f"Use {', '.join(allowed)}.",
                {"Allow": ", ".join(allowed)},
            )
        if len(request.raw_path) > s.max_url_bytes:
            raise ApiError(
                414,
                "uri_too_long",
                f"The URL is longer than {s.max_url_bytes} bytes.",
                "Ask for fewer ids or dates per request, or page with cursor.",
            )
        raw_query = request.rel_url.raw_query_string
        # Parse the query only when it may hold too many parameters: one more than separators.
        separators = raw_query.count("&") + raw_query.count(";")
        if separators >= s.max_query_params and len(request.query) > s.max_query_params:
            raise ApiError(
                400,
                "too_many_parameters",
                f"The query has more than {s.max_query_params} parameters.",
                "Separate values with commas (ids=1,2,3) or ask in several requests.",
            )
        raw_headers = request.raw_headers  # (name, value) pairs; ": " and CRLF make 4 more bytes
        header_bytes = sum(map(len, chain.from_iterable(raw_headers))) + 4 * len(raw_headers)
        if len(raw_headers) > s.max_headers or header_bytes > s.max_header_bytes:
            raise ApiError(
                431,
                "headers_too_large",
                f"Over {s.max_headers} headers or {s.max_header_bytes} bytes of headers.",
                "Send fewer or shorter headers (cookies are not needed).",
            )
        if (request.content_length or 0) > s.max_body_bytes:
            raise ApiError(
                413,
                "request_too_large",
                f"The request body is larger than {s.max_body_bytes} bytes.",
                "Send a smaller request.",
            )

    def share(self, redis: Any, prefix: str) -> None:
        """Keep the buckets in Redis from now on (called once the app's Redis client exists)."""
        if self.limiter is not None:
            self.shared = SharedRateLimiter(redis, prefix, self.limiter)

    async def rate_limit(self, request: web.Request) -> None:
        """At most `requests_per_minute` per tester (or per address), in bursts of `burst`."""
        if self.limiter is None or request.method == "OPTIONS" or request.path in PROBE_PATHS:
            return
        client = request.get(TESTER) or request.get(CLIENT_ADDRESS) or request.remote or ""
        if self.shared is not None:
            wait_s = await self.shared.take(client)
        else:
            wait_s = self.limiter.take(client)
        if wait_s:
            retry_after = max(1, math.ceil(wait_s))
            raise ApiError(
                429,
                "too_many_requests",
                f"Too many requests from this client: at most {self.settings.requests_per_minute}"
                f" per minute, {self.settings.burst} at once.",
                f"Wait {retry_after} s (Retry-After) before asking again.",
                {"Retry-After": str(retry_after)},
            )


async def security_headers(request: web.Request, response: web.StreamResponse) -> None:
    """An `on_response_prepare` signal: the security headers, no server version, no-store errors."""
    response.headers.extend(_SECURITY_ITEMS)  # no handler sets these: nothing to replace
    response.headers["Server"] = SERVER_NAME  # replaces aiohttp's, which names its version
    if request.secure:
        response.headers.setdefault("Strict-Transport-Security", HSTS)
    if response.status >= 400 or "Authorization" in request.headers:
        response.headers["Cache-Control"] = "no-store"


def handler_args(settings: LimitsSettings) -> dict[str, int]:
    """aiohttp's own parser limits, kept just above ours so that ours answer first.

    The request line and header limits differ, so `JsonErrorRequestHandler` can tell a long URL
    (414) from a long header (431) by the limit it hit.
    """
    line_bytes = settings.max_url_bytes + REQUEST_LINE_EXTRA_BYTES
    field_bytes = settings.max_header_bytes
    if field_bytes == line_bytes:
        field_bytes -= 1
    return {
        "max_line_size": line_bytes,
        "max_field_size": field_bytes,
        "max_headers": settings.max_headers,
    }


class JsonErrorRequestHandler(RequestHandler):
    """aiohttp's protocol handler, answering requests its parser refuses with the JSON error.

    aiohttp renders those (and failures outside every middleware) itself, as text or HTML, and
    logs them with a traceback; here they are the JSON error with the security headers, logged
    in one line without the offending bytes (they may hold a key).
    """

    __slots__ = ()

    def handle_error(
        self,
        request: Any,
        status: int = 500,
        exc: BaseException | None = None,
        message: str | None = None,
    ) -> web.StreamResponse:
        error = self._describe(status, exc)
        if error.status >= 500:
            self.log_exception("Error handling request from %s", request.remote, exc_info=exc)
        else:
            log.info("refused a malformed request from %s: %s", request.remote, error.code)
        if request.writer.output_size > 0:
            raise ConnectionError("response already started, cannot send the error")
        request_id = new_request_id()
        address = request.remote or "-"
        # Its method may be unparsed or garbage: log a fixed word, not what was sent.
        log_access(request_id, None, address, "-", "unparsed", error.status)
        response = error.response()
        response.headers[REQUEST_ID_HEADER] = request_id
        response.headers.update(SECURITY_HEADERS)
        response.headers["Server"] = SERVER_NAME
        response.headers["Cache-Control"] = "no-store"
        response.force_close()
        return response

    def _describe(self, status: int, exc: BaseException | None) -> ApiError:
        if isinstance(exc, LineTooLong) and str(exc.args[1]) == str(self.max_line_size):
            return ApiError(
                414, "uri_too_long", "The URL is too long.", "Ask for less per request."
            )
        if isinstance(exc, LineTooLong) or (
            isinstance(exc, BadHttpMessage) and "headers" in exc.message
        ):
            return ApiError(
                431,
                "headers_too_large",
                "The request headers are too large or too many.",
                "Send fewer or shorter headers.",
            )
        if isinstance(exc, HttpProcessingError) or 400 <= status < 500:
            return ApiError(
                400,
                "bad_request",
                "The request is not valid HTTP.",
                "Send an HTTP/1.1 GET request; see /openapi.yaml.",
            )
        if status == 504:
            return ApiError(504, "timeout", "The server took too long.", "Try again shortly.")
        return ApiError(500, "internal_error", "The server failed to answer.", "Try again shortly.")


class JsonErrorServer(web.Server):
    """aiohttp's low-level server, with `JsonErrorRequestHandler` per connection."""

    def __call__(self) -> RequestHandler:
        return JsonErrorRequestHandler(self, loop=self._loop, **self._kwargs)


class JsonErrorAppRunner(web.AppRunner):
    """`web.AppRunner` serving through `JsonErrorServer`."""

    async def _make_server(self) -> web.Server:
        server = await super()._make_server()
        return JsonErrorServer(
            server.request_handler,
            request_factory=server.request_factory,
            handler_cancellation=server.handler_cancellation,
            loop=asyncio.get_running_loop(),
            **server._kwargs,
        )


def run_app(
    app: web.Application,
    *,
    host: str,
    port: int,
    ssl_context: ssl.SSLContext | None = None,
    shutdown_timeout: float = 60.0,
    **runner_kwargs: Any,
) -> None:
    """Like `web.run_app` (SIGINT and SIGTERM stop it gracefully), through `JsonErrorAppRunner`."""

    async def serve() -> None:
        # The signals end the wait below, so that cleanup runs in this task and lets requests in
        # flight finish; a GracefulExit raised out of asyncio.run would cancel them all at once.
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for number in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(number, stop.set)
        runner = JsonErrorAppRunner(app, shutdown_timeout=shutdown_timeout, **runner_kwargs)
        await runner.setup()
        try:
            await web.TCPSite(runner, host, port, ssl_context=ssl_context).start()
            await stop.wait()
        finally:
            await runner.cleanup()

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve())
