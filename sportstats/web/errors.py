"""The edge's one table of errors: each failure as an HTTP status, code, message and hint.

Domain errors (`errors.UpstreamFailure` kinds) get their status and a hint that names our routes
here; the MCP tools render the same `ApiError` as a tool result, so both surfaces say the same.
aiohttp's own refusals (routing, methods, oversized input) become the same JSON error.
"""

from __future__ import annotations

import logging

from aiohttp import web

from .. import errors
from ..errors import ApiError, UpstreamFailure, internal_error
from ..ops.auth import MCP_PATH

log = logging.getLogger(__name__)

LATER = "Try again in a minute."
WHEN = "Try again in {seconds} seconds."  # {seconds}: the failure's Retry-After

# Failure kind -> (HTTP status, the hint). The most specific kind is listed first.
UPSTREAM_FAILURES: dict[type[UpstreamFailure], tuple[int, str]] = {
    errors.ShareSpent: (
        429,
        "Try again in {seconds} seconds, or ask for less (fewer players, a narrower question);"
        " answers already cached are still served.",
    ),
    errors.QuotaSpent: (
        429,
        "Try again in {seconds} seconds; answers already cached are still served.",
    ),
    errors.UpstreamUnavailable: (503, WHEN),
    errors.UpstreamRateLimited: (429, WHEN),
    errors.AnswerTooSlow: (504, LATER),
    errors.UpstreamTimedOut: (
        504,
        "Try again in a minute, or narrow the question (fewer players, a shorter date range).",
    ),
    errors.UpstreamUnreachable: (502, LATER),
    errors.UpstreamBadAnswer: (502, LATER),
    errors.UpstreamFailed: (502, LATER),
    errors.PlanNotCovered: (
        403,
        "{instead} The operator can upgrade the key to the {needs} plan at balldontlie.io;"
        " asking again will not help until then.",
    ),
    errors.KeyRejected: (
        503,
        "Ask the server's operator to check BALLDONTLIE_API_KEY; asking again will not help"
        " until the key is fixed.",
    ),
    errors.UpstreamRefused: (
        502,
        "Ask the server's operator to check BALLDONTLIE_API_KEY and its plan.",
    ),
    errors.UpstreamNotFound: (404, "Look the id up with /players, /teams or /games first."),
    errors.UpstreamRejected: (
        502,
        "Check the parameters against /openapi.yaml; if they are right, report it.",
    ),
}

# Statuses aiohttp raises itself (routing, method, oversized input) and their codes.
HTTP_CODES = {
    400: errors.BAD_REQUEST,
    404: errors.NOT_FOUND,
    405: errors.METHOD_NOT_ALLOWED,
    413: errors.REQUEST_TOO_LARGE,
    414: errors.URI_TOO_LONG,
    431: errors.HEADERS_TOO_LARGE,
}


def as_api_error(exc: UpstreamFailure) -> ApiError:
    """An upstream failure as the caller sees it."""
    status, hint = next(row for kind, row in UPSTREAM_FAILURES.items() if isinstance(exc, kind))
    seconds = exc.retry_after_whole_s
    headers = {"Retry-After": str(seconds)} if seconds is not None else None
    words = {"instead": getattr(exc, "instead", ""), "needs": getattr(exc, "needs", "")}
    hint = hint.format(seconds=seconds, **words).strip()
    return ApiError(status, exc.code, exc.message, hint, headers)


# Paths that speak JSON-RPC: a refusal there is a JSON-RPC error object (with the same HTTP
# status and headers), so that MCP clients show its message rather than a bare status.
RPC_PATHS = frozenset({MCP_PATH})
RPC_REFUSED = -32000  # JSON-RPC's range for server-defined errors; `data.code` says which


def json_error(error: ApiError) -> web.Response:
    return web.json_response(error.body(), status=error.status, headers=error.headers)


def rpc_error(error: ApiError) -> web.Response:
    """The refusal as JSON-RPC: `message` with the hint, `data` with our code and the wait."""
    retry_after = error.headers.get("Retry-After")
    data: dict[str, object] = {"code": error.code, "status": error.status}
    if retry_after is not None and retry_after.isdigit():
        data["retry_after_s"] = int(retry_after)
    message = f"{error.message} {error.hint}".strip()
    body = {
        "jsonrpc": "2.0",
        "id": None,
        "error": {"code": RPC_REFUSED, "message": message, "data": data},
    }
    return web.json_response(body, status=error.status, headers=error.headers)


def error_response(request: web.Request, exc: Exception) -> web.Response:
    """The JSON error for a failure while answering `request`; unexpected ones are logged without
    leaking them. A redirect (an `HTTPException` under 400) is not an error: it is raised again.
    On a JSON-RPC path (`RPC_PATHS`) the error is a JSON-RPC error object."""
    render = rpc_error if request.path in RPC_PATHS else json_error
    if isinstance(exc, ApiError):
        response = render(exc)
        if exc.status == 408:  # the body never all came: the connection cannot be reused
            response.force_close()
        return response
    if isinstance(exc, UpstreamFailure):
        return render(as_api_error(exc))
    if isinstance(exc, web.HTTPException):
        if exc.status < 400:
            raise exc
        code = HTTP_CODES.get(exc.status, errors.HTTP_ERROR)
        hint = "See /openapi.yaml for the endpoints and their parameters."
        if exc.status == 405:
            hint = "Only GET, HEAD and OPTIONS are served on the data endpoints."
        headers = {k: v for k, v in exc.headers.items() if k.lower() == "allow"}
        return render(ApiError(exc.status, code, exc.reason, hint, headers))
    log.error("unhandled error on %s", request.path, exc_info=exc)
    return render(internal_error())
