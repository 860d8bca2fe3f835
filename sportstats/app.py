"""The app factory: settings in, a ready `web.Application` out.

Resources live in `cleanup_ctx` generators, each made before its `yield` and closed after it: the
one upstream `ClientSession`, the Redis connection (when configured), the cache.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

import aiohttp
from aiocache.base import BaseCache
from aiohttp import web
from aiohttp.typedefs import Handler, Middleware

from .answers import Answers
from .auth import AccessControl
from .budget import LocalBudget, RedisBudget, UpstreamBudget
from .cache import AnswerCache, BoundedMemoryCache, RedisAnswerBackend
from .cors import setup_cors
from .errors import error_response
from .keys import ACCESS, ANSWERS, CACHE, LIMITS, SETTINGS, UPSTREAM
from .limits import JsonErrorAppRunner, Limits, handler_args, security_headers
from .metrics import Metrics
from .observability import RequestRecord, configure_logging, setup_observability
from .routes import setup_routes
from .settings import Settings, load_settings
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
        backend: BaseCache = RedisAnswerBackend(redis, settings.redis_prefix)
        budget = RedisBudget(
            redis, settings.upstream.requests_per_minute, f"{settings.redis_prefix}budget"
        )
        app[LIMITS].share(redis, settings.redis_prefix)
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
        log.info("closed: background refreshes, upstream session%s", redis and ", Redis" or "")


def front(limits: Limits, access: AccessControl, metrics: Metrics) -> Middleware:
    """The app's one middleware: the request's record (id, access log, metrics), every refusal
    before a handler runs (request bounds, credentials, client rate), and the JSON error for
    any failure.

    One layer calling plain functions, rather than a middleware per concern: a cache hit pays
    for each layer it passes (`python bench/bench_cache.py layers`).
    """

    @web.middleware
    async def front(request: web.Request, handler: Handler) -> web.StreamResponse:
        record = RequestRecord(request, metrics)
        try:
            try:
                limits.check_request(request)
                access.admit(request)
                await limits.rate_limit(request)
                response = await handler(request)
            except Exception as exc:
                response = error_response(request, exc)
        except BaseException as exc:  # a redirect raised again, or the client went away
            record.raised(exc)
            raise
        return record.answered(response)

    return front


def create_app(settings: Settings) -> web.Application:
    access = AccessControl(settings.auth, settings.metrics_token, settings.config_file)
    limits = Limits(settings.limits)
    metrics = Metrics()
    app = web.Application(
        middlewares=[front(limits, access, metrics)],
        client_max_size=settings.limits.max_body_bytes,
        handler_args=handler_args(settings.limits),
    )
    app[SETTINGS] = settings
    app[ACCESS] = access
    app[LIMITS] = limits
    app.cleanup_ctx.append(access.reload_on_sighup)
    app.on_response_prepare.append(security_headers)
    app.cleanup_ctx.append(upstream_ctx)
    routes = setup_observability(app, metrics) + setup_routes(app)
    setup_cors(app, settings.cors_origins, routes)
    return app


async def gunicorn_app() -> web.AppRunner:
    """The app for gunicorn's `aiohttp.GunicornWebWorker` (see deploy/gunicorn.conf.py).

    Configured like `python -m sportstats` but without command-line options (SPORTSTATS_CONFIG
    names the YAML file, the environment overrides it), and served the same way: JSON errors
    for what the HTTP parser refuses, our access log only, the same shutdown grace.
    """
    settings = load_settings()
    configure_logging(settings.log_level)
    return JsonErrorAppRunner(
        create_app(settings), access_log=None, shutdown_timeout=settings.shutdown_timeout_s
    )
