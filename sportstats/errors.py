"""Errors as values: what went wrong, said so that an assistant can relay it to its user.

Two kinds, raised where they happen and rendered at the edges (`web.errors` for HTTP, the MCP
tools for tool results), with the same words on both:
- `ApiError`: a request refused as asked (bad parameter, no credential, too many requests,
  oversized): it carries its status, code, message and recovery hint, since the refusal is about
  the request itself;
- `UpstreamFailure` and its kinds: the data service could not answer (quota spent, unavailable,
  refused, timed out, a bad answer). They carry facts (`retry_after_s`, the upstream status) and
  a message; the edges' one table adds the HTTP status and the hint that names our routes.

Every error code is a constant here, and each error is built in one place.
"""

from __future__ import annotations

from typing import Any, ClassVar

# Codes of refused requests.
INVALID_PARAMETER = "invalid_parameter"
UNKNOWN_PARAMETER = "unknown_parameter"
MISSING_PARAMETER = "missing_parameter"
INVALID_DATE_RANGE = "invalid_date_range"
CONFLICTING_PARAMETERS = "conflicting_parameters"
UNKNOWN_TEAM = "unknown_team"
AMBIGUOUS_TEAM = "ambiguous_team"
UNKNOWN_PLAYER = "unknown_player"
AMBIGUOUS_PLAYER = "ambiguous_player"
TOO_MANY_PARAMETERS = "too_many_parameters"
BAD_REQUEST = "bad_request"
NOT_FOUND = "not_found"
METHOD_NOT_ALLOWED = "method_not_allowed"
REQUEST_TOO_LARGE = "request_too_large"
REQUEST_TIMEOUT = "request_timeout"
URI_TOO_LONG = "uri_too_long"
HEADERS_TOO_LARGE = "headers_too_large"
HTTP_ERROR = "http_error"
UNAUTHORIZED = "unauthorized"
FORBIDDEN = "forbidden"
TOO_MANY_REQUESTS = "too_many_requests"
INTERNAL_ERROR = "internal_error"
SIGN_IN_UNAVAILABLE = "sign_in_unavailable"  # oauth mode: the token store (Redis) is away
SERVER_TIMEOUT = "timeout"
# Codes of upstream failures.
UPSTREAM_QUOTA_SPENT = "upstream_quota_spent"
UPSTREAM_SHARE_SPENT = "upstream_share_spent"
UPSTREAM_UNAVAILABLE = "upstream_unavailable"
UPSTREAM_UNREACHABLE = "upstream_unreachable"
UPSTREAM_TIMEOUT = "upstream_timeout"
UPSTREAM_BAD_RESPONSE = "upstream_bad_response"
UPSTREAM_REFUSED = "upstream_refused"
UPSTREAM_RATE_LIMITED = "upstream_rate_limited"
UPSTREAM_ERROR = "upstream_error"
UPSTREAM_REJECTED = "upstream_rejected"
UPSTREAM_KEY_REJECTED = "upstream_key_rejected"
PLAN_NOT_COVERED = "plan_not_covered"


class ApiError(Exception):
    """A request refused as asked: status, machine code, human message and recovery hint."""

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


def bad_parameter(
    name: str, given: object, allowed: str, code: str = INVALID_PARAMETER
) -> ApiError:
    """A 400 that names the parameter, what was given and what is allowed."""
    shown = repr(given) if not isinstance(given, str) else f"'{given[:80]}'"
    return ApiError(
        400, code, f"Parameter '{name}' is invalid: got {shown}.", f"Allowed: {allowed}."
    )


def internal_error() -> ApiError:
    """What a caller sees of a failure we did not foresee (it is logged, never shown)."""
    return ApiError(500, INTERNAL_ERROR, "The server failed to answer.", "Try again shortly.")


class UpstreamFailure(Exception):
    """The data service could not answer. `transient` kinds may be answered from a stale copy;
    a refusal (401/403, 404, other 4xx) never is."""

    code: ClassVar[str]
    transient: ClassVar[bool] = True

    def __init__(self, message: str, *, retry_after_s: float | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.retry_after_s = retry_after_s

    @property
    def retry_after_whole_s(self) -> int | None:
        """`retry_after_s` as the whole seconds of a Retry-After header (at least 1)."""
        if self.retry_after_s is None:
            return None
        return max(1, int(self.retry_after_s + 0.999))


class QuotaSpent(UpstreamFailure):
    """Our own budget of upstream requests is spent for now."""

    code = UPSTREAM_QUOTA_SPENT


class ShareSpent(QuotaSpent):
    """This caller's share of the upstream budget is spent for now; others may still ask."""

    code = UPSTREAM_SHARE_SPENT


class UpstreamUnavailable(UpstreamFailure):
    """Calls are paused (open breaker), or the upstream said when it is back."""

    code = UPSTREAM_UNAVAILABLE


class UpstreamUnreachable(UpstreamFailure):
    code = UPSTREAM_UNREACHABLE


class UpstreamTimedOut(UpstreamFailure):
    """No answer within the question's deadline."""

    code = UPSTREAM_TIMEOUT


class AnswerTooSlow(UpstreamTimedOut):
    """The fetch this question waits for (another caller's, or another process's) is too slow."""


class UpstreamBadAnswer(UpstreamFailure):
    code = UPSTREAM_BAD_RESPONSE


class UpstreamRateLimited(UpstreamFailure):
    code = UPSTREAM_RATE_LIMITED


class UpstreamFailed(UpstreamFailure):
    """A 5xx answer."""

    code = UPSTREAM_ERROR


class UpstreamRefused(UpstreamFailure):
    """401/403: the key is refused, or its plan does not cover the path."""

    code = UPSTREAM_REFUSED
    transient = False


class UpstreamNotFound(UpstreamFailure):
    code = NOT_FOUND
    transient = False


class UpstreamRejected(UpstreamFailure):
    """Another 4xx: the upstream does not take the request as sent."""

    code = UPSTREAM_REJECTED
    transient = False


class KeyRejected(UpstreamFailure):
    """The upstream refuses this server's API key on every route (not a missing plan)."""

    code = UPSTREAM_KEY_REJECTED
    transient = False


class PlanNotCovered(UpstreamFailure):
    """The key's plan does not serve the route a question needs: refused without a call.

    `needs` is the plan (as the vendor names it) that serves the route; `instead`, what this
    server can answer on the key's plan (filled in by the core, which knows its endpoints).
    """

    code = PLAN_NOT_COVERED
    transient = False

    def __init__(self, message: str, *, needs: str, instead: str = "") -> None:
        super().__init__(message)
        self.needs = needs
        self.instead = instead
