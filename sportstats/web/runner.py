"""Serving the app: aiohttp's server, with the JSON error even for what its HTTP parser refuses.

aiohttp's HTTP parser refuses oversized or malformed requests before any middleware runs and
answers them in plain text; `run_app` and gunicorn's worker serve with a protocol handler that
answers those with the JSON error too (`JsonErrorRequestHandler`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import ssl
from collections.abc import Callable
from typing import Any

from aiohttp import web
from aiohttp.http_exceptions import BadHttpMessage, HttpProcessingError, LineTooLong
from aiohttp.web_protocol import RequestHandler

from .. import errors
from ..errors import ApiError, internal_error
from ..ops.access_log import REQUEST_ID_HEADER, log_access, new_request_id
from .bounds import (
    REQUEST_LINE_EXTRA_BYTES,
    SECURITY_HEADERS,
    SERVER_NAME,
    headers_too_large,
    uri_too_long,
)
from .errors import json_error
from .keys import ENDS_FIRST, SETTINGS

log = logging.getLogger(__name__)


class JsonErrorRequestHandler(RequestHandler):
    """aiohttp's protocol handler, answering requests its parser refuses with the JSON error.

    aiohttp renders those (and failures outside every middleware) itself, as text or HTML, and
    logs them with a traceback; here they are the JSON error with the security headers, logged
    in one line without the offending bytes (they may hold a key).

    It also keeps slow and greedy clients from holding the server: a connection whose request
    headers have not all come within `limits.header_timeout_s` (of connecting, or of the last
    answer on a kept-alive connection) is closed, and past `limits.max_connections` open ones a
    new connection is closed at once. aiohttp itself waits for headers as long as they trickle.
    """

    __slots__ = ("_header_timer", "_requests_seen")

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        self._header_timer: asyncio.TimerHandle | None = None
        self._requests_seen = 0
        server = self._manager
        if isinstance(server, JsonErrorServer) and len(server.connections) > server.max_connections:
            server.refused += 1
            transport.close()
            return
        if isinstance(server, JsonErrorServer) and server.header_timeout_s:
            # One timer per connection, not one armed and cancelled per request (that cost a
            # cache hit 3.5% of its CPU): when it fires, it looks whether requests came since,
            # and closes the connection or waits again.
            when = self._loop.time() + server.header_timeout_s
            self._header_timer = self._loop.call_at(when, self._headers_overdue)

    def _headers_overdue(self) -> None:
        """The header timer fired: close the connection unless a request came in time (then
        wait again: a while more during a request, else the timeout after its answer)."""
        self._header_timer = None
        server = self._manager
        if self.transport is None or not isinstance(server, JsonErrorServer):
            return
        now, timeout_s = self._loop.time(), server.header_timeout_s
        if self._request_in_progress:
            when = now + timeout_s  # counted as seen once answered
        elif self._request_count != self._requests_seen:
            self._requests_seen = self._request_count
            # aiohttp notes when the keep-alive wait after the last answer ends.
            when = self._next_keepalive_close_time - self._keepalive_timeout + timeout_s
        else:
            self.transport.close()  # no request since: its headers never all came
            return
        self._header_timer = self._loop.call_at(max(when, now), self._headers_overdue)

    def connection_lost(self, exc: BaseException | None) -> None:
        if getattr(self, "_header_timer", None) is not None:
            self._header_timer.cancel()
            self._header_timer = None
        super().connection_lost(exc)

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
        response = json_error(error)
        response.headers[REQUEST_ID_HEADER] = request_id
        response.headers.update(SECURITY_HEADERS)
        response.headers["Server"] = SERVER_NAME
        response.headers["Cache-Control"] = "no-store"
        response.force_close()
        return response

    def _describe(self, status: int, exc: BaseException | None) -> ApiError:
        if isinstance(exc, LineTooLong) and str(exc.args[1]) == str(self.max_line_size):
            return uri_too_long(self.max_line_size - REQUEST_LINE_EXTRA_BYTES)
        if isinstance(exc, LineTooLong) or (
            isinstance(exc, BadHttpMessage) and "headers" in exc.message
        ):
            return headers_too_large(self.max_headers, self.max_field_size)
        if isinstance(exc, HttpProcessingError) or 400 <= status < 500:
            return ApiError(
                400,
                errors.BAD_REQUEST,
                "The request is not valid HTTP.",
                "Send an HTTP/1.1 GET request; see /openapi.yaml.",
            )
        if status == 504:
            return ApiError(
                504, errors.SERVER_TIMEOUT, "The server took too long.", "Try again shortly."
            )
        return internal_error()


class QuietAccept:
    """The loop's exception handler, saying a failing `accept()` (out of files, say) once a
    second at most: asyncio logs each one, a flood of slow sockets made 111,140 such tracebacks
    in 30 s. Everything else goes to the default handler."""

    INTERVAL_S = 1.0

    def __init__(self, default: Callable[[dict[str, Any]], None]) -> None:
        self.default = default
        self.last = 0.0
        self.quiet = 0

    def __call__(self, loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        if "accept" not in str(context.get("message", "")):
            self.default(context)
            return
        now = loop.time()
        if now - self.last < self.INTERVAL_S:
            self.quiet += 1
            return
        log.error(
            "accepting connections fails: %s (%d more like it not logged)",
            context.get("exception") or context.get("message"),
            self.quiet,
        )
        self.last, self.quiet = now, 0


class JsonErrorServer(web.Server):
    """aiohttp's low-level server, with `JsonErrorRequestHandler` per connection."""

    header_timeout_s: float = 0.0  # 0: wait as aiohttp does
    max_connections: int = 1_000_000
    refused = 0  # connections closed at once, past `max_connections`

    @property
    def in_flight(self) -> int:
        """Requests being answered now (counted when asked: at a stop)."""
        return sum(1 for handler in self.connections if handler._request_in_progress)

    def __call__(self) -> RequestHandler:
        return JsonErrorRequestHandler(self, loop=self._loop, **self._kwargs)


class JsonErrorAppRunner(web.AppRunner):
    """`web.AppRunner` serving through `JsonErrorServer`, and stopping within `shutdown_timeout`.

    aiohttp waits `shutdown_timeout` for requests in flight, then as long again after cancelling
    them, then cleans up: a stop took three times the setting. Here the sites stop taking
    connections, requests in flight get most of the time to finish, and aiohttp's two waits get
    a small `cut_s` each, so the whole stop (cleanup included) stays within `shutdown_timeout`,
    under `python -m sportstats` and gunicorn's worker alike.
    """

    def __init__(self, app: web.Application, *, shutdown_timeout: float = 60.0, **kwargs: Any):
        self.grace_s = shutdown_timeout
        self.cut_s = min(0.25, shutdown_timeout / 8)
        super().__init__(app, shutdown_timeout=self.cut_s, **kwargs)

    async def cleanup(self) -> None:
        for site in list(self.sites):
            await site.stop()  # no new connections from now on
        server = self.server
        loop = asyncio.get_running_loop()
        # Long-lived streams (MCP's `subscriptions/listen`) are ended first, or the wait below
        # would last the whole grace for them; `on_shutdown` runs only inside the cleanup.
        for end in self._app.get(ENDS_FIRST, ()):
            await end(self._app)
        give_up = loop.time() + self.grace_s - 4 * self.cut_s  # the rest: aiohttp, cleanup
        while isinstance(server, JsonErrorServer) and server.in_flight and loop.time() < give_up:
            await asyncio.sleep(0.02)
        await super().cleanup()

    async def _make_server(self) -> web.Server:
        server = await super()._make_server()
        ours = JsonErrorServer(
            server.request_handler,
            request_factory=server.request_factory,
            handler_cancellation=server.handler_cancellation,
            loop=asyncio.get_running_loop(),
            **server._kwargs,
        )
        if SETTINGS in self.app:
            limits = self.app[SETTINGS].limits
            ours.header_timeout_s = limits.header_timeout_s
            ours.max_connections = limits.max_connections
        return ours


def run_app(
    app: web.Application,
    *,
    host: str,
    port: int,
    ssl_context: ssl.SSLContext | None = None,
    shutdown_timeout: float = 60.0,
    on_listening: Callable[[], None] | None = None,
    **runner_kwargs: Any,
) -> None:
    """Like `web.run_app` (SIGINT and SIGTERM stop it gracefully), through `JsonErrorAppRunner`;
    `on_listening` runs once the socket accepts connections."""

    async def serve() -> None:
        # The signals end the wait below, so that cleanup runs in this task and lets requests in
        # flight finish; a GracefulExit raised out of asyncio.run would cancel them all at once.
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        loop.set_exception_handler(QuietAccept(loop.default_exception_handler))
        for number in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(number, stop.set)
        runner = JsonErrorAppRunner(app, shutdown_timeout=shutdown_timeout, **runner_kwargs)
        await runner.setup()
        try:
            await web.TCPSite(runner, host, port, ssl_context=ssl_context).start()
            if on_listening is not None:
                on_listening()
            await stop.wait()
        finally:
            await runner.cleanup()

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve())
