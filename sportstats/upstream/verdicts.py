"""What one upstream answer means: the status-to-failure table, apart from the retry loop.

A `Verdict` says three things about an answer: the payload or the domain failure it is, whether
a retry may help, and whether the service looked up (it answered, even with a refusal) or down
(5xx, a bad body), which is all the circuit breaker needs to know.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .. import errors
from ..errors import UpstreamFailure

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
RETRY_AFTER_DEFAULT_S = 60


@dataclass
class Verdict:
    """One upstream answer judged: `payload` or `failure`, and what follows from it."""

    payload: Any = None
    failure: UpstreamFailure | None = None
    retryable: bool = False
    retry_after_s: float | None = None  # what the upstream asked us to wait before a retry
    service_up: bool = True  # for the breaker: the service answered as a working service does


@dataclass(frozen=True)
class Answered:
    """An HTTP answer as the table reads it."""

    path: str
    status: int
    body: bytes
    retry_after_s: float | None
    remaining_s: float  # of the question's deadline


def _ok(answer: Answered) -> Verdict:
    try:
        payload = json.loads(answer.body)
        if not isinstance(payload, dict):
            raise ValueError("not an object")
    except ValueError:
        return Verdict(
            failure=errors.UpstreamBadAnswer(
                "The upstream data service sent an answer that is not valid JSON."
            ),
            service_up=False,
        )
    return Verdict(payload=payload)


def _refused(answer: Answered) -> Verdict:
    """401/403: never retried. The client tells a bad key from a missing plan (`coverage`)."""
    return Verdict(
        failure=errors.UpstreamRefused(
            f"The upstream data service refused this server's API key for {answer.path}."
        )
    )


def _not_found(answer: Answered) -> Verdict:
    return Verdict(failure=errors.UpstreamNotFound("The upstream has no record for that id."))


def _rate_limited(answer: Answered) -> Verdict:
    asked = answer.retry_after_s
    return Verdict(
        failure=errors.UpstreamRateLimited(
            "The upstream data service's rate limit is reached.",
            retry_after_s=asked if asked is not None else RETRY_AFTER_DEFAULT_S,
        ),
        # Without Retry-After a 429 means "this minute is spent": retrying now only wastes
        # quota, so only a Retry-After that fits the deadline is waited for.
        retryable=asked is not None and asked < answer.remaining_s,
        retry_after_s=asked,
    )


def _server_error(answer: Answered) -> Verdict:
    asked = answer.retry_after_s
    if asked is not None and asked >= answer.remaining_s:
        # The upstream says when it is back, and that is past our deadline: pass it on.
        return Verdict(
            failure=errors.UpstreamUnavailable(
                f"The upstream data service is unavailable (HTTP {answer.status}).",
                retry_after_s=asked,
            ),
            service_up=False,
        )
    return Verdict(
        failure=errors.UpstreamFailed(f"The upstream data service failed (HTTP {answer.status})."),
        retryable=answer.status in RETRY_STATUSES,
        retry_after_s=asked,
        service_up=False,
    )


def _rejected(answer: Answered) -> Verdict:
    return Verdict(
        failure=errors.UpstreamRejected(
            f"The upstream data service rejected the request (HTTP {answer.status})."
        )
    )


# Status -> its judge; 5xx and other statuses are matched by `judge`.
BY_STATUS: dict[int, Callable[[Answered], Verdict]] = {
    200: _ok,
    401: _refused,
    403: _refused,
    404: _not_found,
    429: _rate_limited,
}


def judge(answer: Answered) -> Verdict:
    """The verdict on one HTTP answer of the upstream."""
    by_status = BY_STATUS.get(answer.status)
    if by_status is not None:
        return by_status(answer)
    return _server_error(answer) if answer.status >= 500 else _rejected(answer)
