"""The operator's routes: /healthz, /readyz and /metrics, and the state they read."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from typing import Any

from aiohttp import web

from ..cache import MemoryStore
from ..ops.health import Readiness, plan_on_offer
from ..ops.metrics import CONTENT_TYPE, Metrics
from .keys import CACHE, METRICS, READINESS, SETTINGS, UPSTREAM

log = logging.getLogger(__name__)

BUDGET_READ_TIMEOUT_S = 1.0


async def healthz(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


async def metrics_view(request: web.Request) -> web.Response:
    """Prometheus text format. The access control guards it: with `metrics_token` set only that
    token opens it, else it needs what the data endpoints need."""
    metrics = request.app[METRICS]
    budget = request.app[UPSTREAM].budget
    try:
        remaining = await asyncio.wait_for(budget.remaining(), BUDGET_READ_TIMEOUT_S)
        metrics.budget_remaining.set(remaining)
    except Exception as exc:  # a Redis hiccup must not hide the other metrics
        log.warning("cannot read the upstream budget for metrics: %s", type(exc).__name__)
    return web.Response(body=metrics.render(), headers={"Content-Type": CONTENT_TYPE})


def _state(app: web.Application) -> dict[str, Any]:
    """The values `StateCollector` exports, read from the running app's objects."""
    cache, upstream = app.get(CACHE), app.get(UPSTREAM)
    if cache is None or upstream is None:
        return {}
    memory = cache.store.backend if isinstance(cache.store, MemoryStore) else None
    return {
        "coalesced": cache.coalesced,
        "breaker_open": upstream.breaker.state == "open",
        "last_success": upstream.last_success,
        "cache_entries": len(memory) if memory is not None else None,
        "cache_bytes": memory.bytes if memory is not None else None,
        "plan": plan_on_offer(upstream),
    }


async def readyz(request: web.Request) -> web.Response:
    """200 when ready for traffic, else 503; the body says which check failed."""
    app = request.app
    ready, body = await app[READINESS].report(app[CACHE], app[UPSTREAM])
    return web.json_response(body, status=200 if ready else 503)


async def observer_ctx(app: web.Application) -> AsyncIterator[None]:
    """Attach the metrics to the upstream client once it exists (after `upstream_ctx`)."""
    app[UPSTREAM].observer = app[METRICS].observe_upstream
    app[READINESS] = Readiness(app[SETTINGS].readiness_max_age_s)
    yield
    await app[READINESS].close()


def setup_probes(app: web.Application, metrics: Metrics) -> list[web.AbstractRoute]:
    """Metrics, readiness, the upstream observer and their routes (returned, for CORS).

    Call after `upstream_ctx` is in `cleanup_ctx`; the app's middleware keeps a
    `RequestRecord` of every request, which counts it in `metrics`.
    """
    app[METRICS] = metrics
    metrics.watch(lambda: _state(app))
    app.cleanup_ctx.append(observer_ctx)
    return [
        app.router.add_get("/healthz", healthz, name="healthz"),
        app.router.add_get("/metrics", metrics_view, name="metrics"),
        app.router.add_get("/readyz", readyz, name="readyz"),
    ]
