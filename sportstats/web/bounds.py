"""How big a request may be, which methods each path takes, and the headers every answer gets.

Only GET, HEAD and OPTIONS (POST and OPTIONS on /mcp); bounds on the URL, the number of query
parameters, the headers and the body, each refused with the JSON error. aiohttp's own parser
limits sit just above ours (`handler_args`), so ours answer first; what its parser still refuses
is answered in JSON by `runner`. Security headers on every response, and no server version.
"""

from __future__ import annotations

import asyncio
from itertools import chain

from aiohttp import web

from .. import errors
from ..errors import ApiError
from ..ops.auth import MCP_PATH
from ..settings import LimitsSettings

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
POST_ONLY_PATHS = frozenset({MCP_PATH, "/token", "/register"})  # and CORS preflights
FORM_PATHS = frozenset({"/authorize"})  # the sign-in page (GET) and its form (POST)
REQUEST_LINE_EXTRA_BYTES = 32  # method, spaces and HTTP version around the URL


def uri_too_long(max_url_bytes: int) -> ApiError:
    return ApiError(
        414,
        errors.URI_TOO_LONG,
        f"The URL is longer than {max_url_bytes} bytes.",
        "Ask for fewer ids or dates per request, or page with cursor.",
    )


def headers_too_large(max_headers: int, max_header_bytes: int) -> ApiError:
    return ApiError(
        431,
        errors.HEADERS_TOO_LARGE,
        f"Over {max_headers} headers or {max_header_bytes} bytes of headers.",
        "Send fewer or shorter headers (cookies are not needed).",
    )


def _allowed_methods(path: str) -> tuple[str, ...]:
    if path in FORM_PATHS:
        return (*ALLOWED_METHODS, "POST")
    return ("OPTIONS", "POST") if path in POST_ONLY_PATHS else ALLOWED_METHODS


class RequestBounds:
    """The request bounds, as one check that raises the JSON error."""

    def __init__(self, settings: LimitsSettings) -> None:
        self.settings = settings

    async def read_body(self, request: web.Request) -> None:
        """A POST's body, read (and kept for the handler) within `body_timeout_s`, else 408:
        a client that trickles its body must not hold a connection and a handler for ever."""
        if request.method != "POST" or not request.can_read_body:
            return
        try:
            await asyncio.wait_for(request.read(), self.settings.body_timeout_s)
        except TimeoutError:
            raise ApiError(
                408,
                errors.REQUEST_TIMEOUT,
                f"The request body did not all come within {self.settings.body_timeout_s:g} s.",
                "Send the whole body at once.",
            ) from None

    def check(self, request: web.Request) -> None:
        """Method, URL, parameters, headers and body within bounds, else the JSON error."""
        s = self.settings
        allowed = _allowed_methods(request.path)
        if request.method not in allowed:
            raise ApiError(
                405,
                errors.METHOD_NOT_ALLOWED,
                f"Method {request.method[:16]} is not allowed here.",
                f"Use {', '.join(allowed)}.",
                {"Allow": ", ".join(allowed)},
            )
        if len(request.raw_path) > s.max_url_bytes:
            raise uri_too_long(s.max_url_bytes)
        raw_query = request.rel_url.raw_query_string
        # Parse the query only when it may hold too many parameters: one more than separators.
        separators = raw_query.count("&") + raw_query.count(";")
        if separators >= s.max_query_params and len(request.query) > s.max_query_params:
            raise ApiError(
                400,
                errors.TOO_MANY_PARAMETERS,
                f"The query has more than {s.max_query_params} parameters.",
                "Separate values with commas (ids=1,2,3) or ask in several requests.",
            )
        raw_headers = request.raw_headers  # (name, value) pairs; ": " and CRLF make 4 more bytes
        header_bytes = sum(map(len, chain.from_iterable(raw_headers))) + 4 * len(raw_headers)
        if len(raw_headers) > s.max_headers or header_bytes > s.max_header_bytes:
            raise headers_too_large(s.max_headers, s.max_header_bytes)
        if (request.content_length or 0) > s.max_body_bytes:
            raise ApiError(
                413,
                errors.REQUEST_TOO_LARGE,
                f"The request body is larger than {s.max_body_bytes} bytes.",
                "Send a smaller request.",
            )


async def security_headers(request: web.Request, response: web.StreamResponse) -> None:
    """An `on_response_prepare` signal: the security headers, no server version, no-store errors."""
    if "Content-Security-Policy" in response.headers:  # a page with a policy of its own
        response.headers.extend(i for i in _SECURITY_ITEMS if i[0] != "Content-Security-Policy")
    else:
        response.headers.extend(_SECURITY_ITEMS)  # no other handler sets these
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
