"""The JSON error every client sees, and the middleware that renders it.

Assistants relay error messages to users, so each error says what was wrong and what to do
(`hint`), never a stack trace.
"""

from __future__ import annotations

import logging
from typing import Any

from aiohttp import web

log = logging.getLogger(__name__)


class ApiError(Exception):
    """An answer that is not a table: status, machine code, human message and recovery hint."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        hint: str = "",
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.hint = hint
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        return {"error": {"code": self.code, "message": self.message, "hint": self.hint}}

    def response(self) -> web.Response:
        return web.json_response(self.body(), status=self.status, headers=self.headers)


def bad_parameter(
    name: str, given: object, allowed: str, code: str = "invalid_parameter"
) -> ApiError:
    """A 400 that names the parameter, what was given and what is allowed."""
    shown = repr(given) if not isinstance(given, str) else f"'{given[:80]}'"
    return ApiError(
        400,
        code,
        f"Parameter '{name}' is invalid: got {shown}.",
        f"Allowed: {allowed}.",
    )


# Statuses aiohttp raises itself (routing, method, oversized input) and their codes.
_HTTP_CODES = {
    400: "bad_request",
    404: "not_found",
    405: "method_not_allowed",
    413: "request_too_large",
    414: "uri_too_long",
    431: "headers_too_large",
}


def error_response(request: web.Request, exc: Exception) -> web.Response:
    """The JSON error for a failure while answering `request`; unexpected ones are logged without
    leaking them. A redirect (an `HTTPException` under 400) is not an error: it is raised again."""
    if isinstance(exc, ApiError):
        return exc.response()
    if isinstance(exc, web.HTTPException):
        if exc.status < 400:
            raise exc
        code = _HTTP_CODES.get(exc.status, "http_error")
        hint = "See /openapi.yaml for the endpoints and their parameters."
        if exc.status == 405:
            hint = "Only GET, HEAD and OPTIONS are served on the data endpoints."
        headers = {k: v for k, v in exc.headers.items() if k.lower() == "allow"}
        return ApiError(exc.status, code, exc.reason, hint, headers).response()
    log.error("unhandled error on %s", request.path, exc_info=exc)
    return ApiError(
        500, "internal_error", "The server failed to answer.", "Try again shortly."
    ).response()
