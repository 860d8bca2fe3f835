"""The app factory: settings in, a ready `web.Application` out, every room plugged in here.

Resources live in `cleanup_ctx` generators, each made before its `yield` and closed after it: the
one upstream `ClientSession`, the Redis client (when configured, closed once, here), the cache.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
from aiohttp import web

from . import sample as sample_league
from .cache import AnswerCache, AnswerStore, MemoryStore, RedisLock, RedisStore
from .core.answers import Answers
from .core.league_table import LeagueTables
from .core.offer import instead
from .mcp.transport import setup_mcp_routes
from .ops.auth import AccessControl, on_loopback
from .ops.hangup import Hangup
from .ops.limits import ClientLimits
from .ops.metrics import Metrics
from .ops.oauth.counts import MemoryCounts, RedisCounts
from .ops.oauth.external import ExternalIssuer
from .ops.oauth.server import AuthorizationServer
from .ops.oauth.store import MemoryGrants, RedisGrants
from .ops.record import configure_logging
from .sample.server import Plan as SamplePlan
from .sample.server import SampleVendor, serving
from .settings import Settings, load_settings
from .standings import LedgerKeeper
from .standings.store import MemoryLedgers, RedisLedgers
from .upstream.budget import LocalBudget, RedisBudget, UpstreamBudget
from .upstream.client import UpstreamClient
from .upstream.coverage import Coverage
from .upstream.plan_memory import PlanMemory, RedisPlanMemory
from .upstream.plans import AUTO, BY_NAME, CHEAPEST
from .upstream.routes import ROUTES
from .web.bounds import RequestBounds, handler_args, security_headers
from .web.cors import setup_cors
from .web.front import front
from .web.keys import (
    ACCESS,
    ANSWERS,
    BOUNDS,
    CACHE,
    HANGUP,
    LIMITS,
    OAUTH,
    SAMPLE,
    SETTINGS,
    UPSTREAM,
)
from .web.oauth import setup_oauth_routes
from .web.probes import setup_probes
from .web.routes import setup_routes
from .web.runner import JsonErrorAppRunner, QuietAccept

log = logging.getLogger(__name__)

CONNECTIONS_TO_UPSTREAM = 20
STANDINGS_ROUTE = ROUTES["standings"]  # where the plan serves it, the upstream's own table
LEARN_PLAN_WAIT_S = 12.0  # the longest start-up waits for `auto` to learn the plan
GUNICORN_NOTICE_S = 1.5
SAMPLE_PREFIX = "sample:"  # under redis_prefix: where upstream.demo keeps its data and budget
REDIS_CONNECTIONS = 64  # per process: the concurrency of misses, leases and probes at once


async def upstream_ctx(app: web.Application) -> AsyncIterator[None]:
    """The shared upstream session, cache and (optionally) Redis, for the app's lifetime."""
    settings = app[SETTINGS]
    redis = None
    store: AnswerStore
    lock = None
    if settings.redis_url:
        import redis.asyncio as aioredis

        # A pool sized for the concurrency: past it a caller waits (at most the timeout) for a
        # connection rather than opening one more.
        pool = aioredis.BlockingConnectionPool.from_url(
            settings.redis_url,
            max_connections=REDIS_CONNECTIONS,
            timeout=settings.redis_timeout_s,
            socket_timeout=settings.redis_timeout_s,
            socket_connect_timeout=settings.redis_timeout_s,
        )
        redis = aioredis.Redis(connection_pool=pool)
        store = RedisStore(redis, data_prefix(settings), settings.cache.near_ttl_s)
        lock = RedisLock(redis, data_prefix(settings))
        app[LIMITS].share(redis, settings.redis_prefix)
    else:
        store = MemoryStore(settings.cache.max_entries, settings.cache.max_bytes)
    coverage = plan_coverage(settings, redis)
    budget = upstream_budget(settings, coverage.requests_per_minute, redis)
    session = aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=CONNECTIONS_TO_UPSTREAM),
        timeout=aiohttp.ClientTimeout(total=settings.upstream.deadline_s),
        raise_for_status=False,
    )
    # aiohttp sends an idempotent request again, once, when a connection drops (RFC 9112 9.3.1):
    # that request would leave outside the budget and our counts. Our retries (each through the
    # budget) decide instead. There is no public switch for it in aiohttp 3.13; a test
    # (tests/test_faults.py) fails if this stops taking effect.
    session._retry_connection = False
    upstream = upstream_client(app, session, budget, coverage)
    cache = AnswerCache(store, settings.cache, lock)
    tokens = league = None
    try:  # from here on, a failed or stopped start-up closes what it made, too
        tokens = oauth_tokens(app, redis)
        if isinstance(tokens, AuthorizationServer):
            await tokens.keys.record()  # a key gone since the last start ends its grants now
        league = league_tables(settings, upstream, cache, redis)
        answers = Answers(upstream, cache, league)
        app[HANGUP].on("forget the learned upstream plan", coverage.forget)
        await learn_plan(upstream)  # first: the standings' ledger then fills at the plan's budget
        if settings.standings.start_delay_s >= 0:
            league.start(settings.standings.start_delay_s, answers.team_rows)
        app[UPSTREAM] = upstream
        app[CACHE] = cache
        app[ANSWERS] = answers
        yield
    finally:
        await upstream.learning.close()
        if league is not None:
            await league.close()
        await cache.close()
        await session.close()
        if tokens is not None:
            await tokens.close()
        if redis is not None:
            await redis.aclose()
            await redis.connection_pool.aclose()  # ours (passed in): the client leaves it open
        log.info("closed: background refreshes, upstream session%s", redis and ", Redis" or "")


def data_prefix(settings: Settings) -> str:
    """Where in Redis the upstream's data lives (answers, budget, plan, ledger): the sample
    league's never mix with the vendor's."""
    return settings.redis_prefix + (SAMPLE_PREFIX if settings.upstream.demo else "")


def upstream_client(
    app: web.Application, session: aiohttp.ClientSession, budget: UpstreamBudget, coverage: Any
) -> UpstreamClient:
    """The client, for the vendor or (with upstream.demo) for the sample league in its place:
    the same client either way, only its address, key and name differ."""
    settings = app[SETTINGS]
    sample = app.get(SAMPLE)
    if sample is None:
        where: dict[str, Any] = {"base_url": settings.upstream_url, "api_key": settings.api_key}
    else:
        where = {
            "base_url": sample.base_url,
            "api_key": sample_league.KEY,
            "source": sample_league.SOURCE,
            "caveat": sample_league.CAVEAT,
        }
    return UpstreamClient(
        session=session, settings=settings.upstream, budget=budget, coverage=coverage, **where
    )


async def sample_ctx(app: web.Application) -> AsyncIterator[None]:
    """upstream.demo: the sample league served on a loopback port, for the app's lifetime."""
    routes = {name: route.path for name, route in ROUTES.items()}
    vendor = SampleVendor(routes, sample_plan(app[SETTINGS]))
    async with serving(vendor):
        app[SAMPLE] = vendor
        yield


def sample_plan(settings: Settings) -> SamplePlan:
    """The plan the sample league serves, read from the plan declarations: `upstream.plan`,
    or the free plan where the server is to learn it (`auto`), so a newcomer meets the free
    plan's refusals as a new key would."""
    name = settings.upstream.plan
    plan = CHEAPEST if name == AUTO else BY_NAME[name]
    paths = frozenset(route.path for route in plan.routes())
    return SamplePlan(plan.label, paths, plan.requests_per_minute)


def plan_coverage(settings: Settings, redis: Any) -> Coverage:
    """What the key's plan covers, set or learned; learned facts shared through Redis if any."""
    prefix = data_prefix(settings)
    memory = RedisPlanMemory(redis, prefix, settings.api_key) if redis else PlanMemory()
    up = settings.upstream
    coverage = Coverage(up.plan, memory, up.plan_memory_s, up.requests_per_minute)
    coverage.instead = lambda: instead(coverage.covers)
    return coverage


def upstream_budget(settings: Settings, per_minute: int, redis: Any) -> UpstreamBudget:
    """The upstream's request budget: this process's, or shared by all through Redis."""
    if redis is None:
        return LocalBudget(per_minute, settings.upstream.window_s)
    key = f"{data_prefix(settings)}budget"
    return RedisBudget(redis, per_minute, key, settings.upstream.window_s)


def league_tables(
    settings: Settings, upstream: UpstreamClient, cache: AnswerCache, redis: Any
) -> LeagueTables:
    """Standings: the ledger of finished games, and the upstream's own table where the plan
    (set, or learned by now) serves it."""
    coverage = upstream.coverage
    ledgers = RedisLedgers(redis, data_prefix(settings)) if redis else MemoryLedgers()
    return LeagueTables(
        upstream,
        cache,
        LedgerKeeper(upstream, ledgers, settings.standings),
        serves_upstream=lambda: coverage.known_to_serve(STANDINGS_ROUTE),
    )


async def learn_plan(upstream: UpstreamClient) -> None:
    """`auto`: learn the key's plan before serving (at most `LEARN_PLAN_WAIT_S`; past it the
    learning goes on in the background, budgeting as the cheapest plan meanwhile)."""
    task = upstream.learning.ensure()
    if task is not None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(task), LEARN_PLAN_WAIT_S)


def oauth_tokens(app: web.Application, redis: Any) -> AuthorizationServer | ExternalIssuer | None:
    """In oauth mode, what checks the access tokens: our authorization server (its grants in
    Redis when there is one, so every worker accepts them) or the external issuer's keys."""
    settings = app[SETTINGS]
    if settings.auth.mode != "oauth":
        return None
    tokens: AuthorizationServer | ExternalIssuer
    if settings.auth.issuer:
        tokens = ExternalIssuer(settings.auth)
    else:
        store = RedisGrants(redis, settings.redis_prefix) if redis else MemoryGrants()
        counts = RedisCounts(redis, settings.redis_prefix) if redis else MemoryCounts()
        tokens = AuthorizationServer(settings.auth, store, app[ACCESS], counts)
        app[OAUTH] = tokens
    app[ACCESS].tokens = tokens
    return tokens


def create_app(settings: Settings) -> web.Application:
    access = AccessControl(
        settings.auth, settings.metrics_token, settings.config_file, settings.public_url
    )
    local_and_open = settings.auth.mode == "none" and on_loopback(settings.host)
    limits = ClientLimits(settings.limits, local_and_open)
    bounds = RequestBounds(settings.limits)
    metrics = Metrics()
    app = web.Application(
        middlewares=[front(bounds, access, limits, metrics)],
        client_max_size=settings.limits.max_body_bytes,
        handler_args=handler_args(settings.limits),
    )
    app[SETTINGS] = settings
    app[ACCESS] = access
    app[BOUNDS] = bounds
    app[LIMITS] = limits
    hangup = app[HANGUP] = Hangup()
    if access.reloads_on_sighup:
        hangup.on("reload tester keys", access.reload_keys)
    app.on_response_prepare.append(security_headers)
    if settings.upstream.demo:
        app.cleanup_ctx.append(sample_ctx)
    app.cleanup_ctx.append(upstream_ctx)
    routes = setup_probes(app, metrics) + setup_routes(app) + setup_mcp_routes(app)
    if settings.auth.mode == "oauth":
        routes += setup_oauth_routes(app, own_server=not settings.auth.issuer)
    setup_cors(app, settings.cors_origins, routes)
    app.cleanup_ctx.append(hangup.ctx)  # last: the parts registered while starting
    return app


async def gunicorn_app() -> web.AppRunner:
    """The app for gunicorn's `aiohttp.GunicornWebWorker` (see deploy/gunicorn.conf.py).

    Configured like `python -m sportstats` but without command-line options (SPORTSTATS_CONFIG
    names the YAML file, the environment overrides it), and served the same way: JSON errors
    for what the HTTP parser refuses, our access log only, the same shutdown grace.
    """
    settings = load_settings()
    configure_logging(settings.log_level)
    loop = asyncio.get_running_loop()
    loop.set_exception_handler(QuietAccept(loop.default_exception_handler))
    # gunicorn's worker notices SIGTERM up to a second late (it polls), and its master reaps
    # it after: the stop itself gets the rest, so the whole stays within shutdown_timeout_s.
    grace_s = max(0.5, settings.shutdown_timeout_s - GUNICORN_NOTICE_S)
    return JsonErrorAppRunner(create_app(settings), access_log=None, shutdown_timeout=grace_s)
