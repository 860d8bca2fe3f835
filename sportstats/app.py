"""The app factory: settings in, a ready `web.Application` out.

Resources live in `cleanup_ctx` generators, each made before its `yield` and closed after it: the
one upstream `ClientSession`, the Redis connection (when configured), the cache.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

import aiohttp
from aiocache import Cache
from aiohttp import web

from .answers import Answers
from .budget import LocalBudget, RedisBudget, UpstreamBudget
from .cache import AnswerCache, BoundedMemoryCache
from .cors import setup_cors
from .errors import error_middleware
from .keys import ANSWERS, CACHE, SETTINGS, UPSTREAM
from .routes import setup_routes
from .settings import Settings
from .upstream import UpstreamClient

log = logging.getLogger(__name__)

CONNECTIONS_TO_UPSTREAM = 20


async def upstream_ctx(app: web.Application) -> AsyncIterator[None]:
    """The shared upstream session, cache and (optionally) Redis, for the app's lifetime."""
    settings = app[SETTINGS]
    redis = None
    budget: UpstreamBudget
    if settings.redis_url:
        import redis.asyncio as aioredis

        redis = aioredis.from_url(settings.redis_url)
        backend = Cache.from_url(settings.redis_url)
        backend.namespace = settings.redis_prefix
        budget = RedisBudget(
            redis, settings.upstream.requests_per_minute, f"{settings.redis_prefix}budget"
        )
    else:
        backend = BoundedMemoryCache(settings.cache.max_entries, settings.cache.max_bytes)
        budget = LocalBudget(settings.upstream.requests_per_minute)
    session = aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=CONNECTIONS_TO_UPSTREAM),
        timeout=aiohttp.ClientTimeout(total=settings.upstream.deadline_s),
        raise_for_status=False,
    )
    upstream = UpstreamClient(
        session, settings.upstream_url, settings.api_key, settings.upstream, budget
    )
    cache = AnswerCache(backend, settings.cache, redis, settings.redis_prefix)
    app[UPSTREAM] = upstream
    app[CACHE] = cache
    app[ANSWERS] = Answers(upstream, cache)
    try:
        yield
    finally:
        await cache.close()
        await session.close()
        if redis is not None:
            await redis.aclose()


def create_app(settings: Settings) -> web.Application:
    app = web.Application(middlewares=[error_middleware])
    app[SETTINGS] = settings
    app.cleanup_ctx.append(upstream_ctx)
    routes = setup_routes(app)
    setup_cors(app, settings.cors_origins, routes)
    return app
