"""The app's one middleware: the request's record, every refusal before a handler, the error.

One layer calling plain functions, rather than a middleware per concern: a cache hit pays for
each layer it passes (`python bench/bench_cache.py layers`).
"""

from __future__ import annotations

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware

from ..ops.auth import AccessControl
from ..ops.limits import ClientLimits
from ..ops.metrics import Metrics
from ..ops.record import RequestRecord
from ..upstream.shares import spending_for
from .bounds import RequestBounds
from .errors import error_response


def front(
    bounds: RequestBounds, access: AccessControl, limits: ClientLimits, metrics: Metrics
) -> Middleware:
    """The request's record (id, access log, metrics), the checks (request bounds, credentials,
    client rate), and the JSON error for any failure."""

    @web.middleware
    async def front(request: web.Request, handler: Handler) -> web.StreamResponse:
        record = RequestRecord(request, metrics)
        try:
            try:
                bounds.check(request)
                await bounds.read_body(request)
                await access.admit(request)
                spending_for(limits.caller(request))  # whose share the upstream calls spend
                await limits.rate_limit(request)
                response = await handler(request)
            except Exception as exc:
                response = error_response(request, exc)
        except BaseException as exc:  # a redirect raised again, or the client went away
            record.raised(exc)
            raise
        return record.answered(response)

    return front
