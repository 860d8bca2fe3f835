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


@web.middleware
async def error_middleware(request: web.Request, handler: Any) -> web.StreamResponse:
    """Render every failure as the JSON error; log unexpected ones without leaking them."""
    try:
        return await handler(request)
    except ApiError as exc:
        return exc.response()
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        code = _HTTP_CODES.get(exc.status, "http_error")
        hint = "See /openapi.yaml for the endpoints and their parameters."
        if exc.status == 405:
            hint = "Only GET, HEAD and OPTIONS are served on the data endpoints."
        headers = {k: v for k, v in exc.headers.items() if k.lower() == "allow"}
        return ApiError(exc.status, code, exc.reason, hint, headers).response()
    except Exception:
        log.exception("unhandled error on %s", request.path)
        return ApiError(
            500, "internal_error", "The server failed to answer.", "Try again shortly."
        ).response()
