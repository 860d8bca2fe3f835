"""Benchmark of the answer cache: hit throughput, coalescing of cold requests, memory bound.

Run: `python bench/bench_cache.py` (about a minute; everything stays on 127.0.0.1). It prints:

1. cache hits: requests/s and p50/p99 latency at 64 concurrent keep-alive clients against the
   sportstats server, side by side (interleaved rounds, same run) with a bare aiohttp handler
   that returns the same body, and the ratio (target: >= 80 % of the bare handler); also the
   answer path alone: the data handler, validation, cache and JSON errors, without the
   operator's layers (access log, metrics, access control, limits, security headers, CORS);
2. upstream calls caused by 200 concurrent identical cold requests (target: exactly 1), against
   a fake upstream that answers in 100 ms;
3. memory held after 100,000 distinct cached questions, measured with tracemalloc, against the
   configured bound (target: within it);
4. (`layers`) where a hit's time goes: the full app with one operator layer taken out at a time
   (metrics, the request checks, security headers, CORS), with the server CPU time each layer
   costs a request.

5. (`inproc`) each app's own work per hit, driven in-process as aiohttp's server drives a
   request but without HTTP parsing or sockets: steadier than part 4, so the layers' costs can
   be read apart.
6. (`redis`) a hit in Redis mode against one in memory mode, side by side: memory, Redis, and
   Redis with the per-client limit on (shared through Redis), all on a `redis-server` of the
   bench's own (a free port, nothing on disk); then two gunicorn workers sharing that Redis.
   Targets: a Redis-mode hit at least 0.8 of a memory-mode hit's throughput with p99 at most
   1.5x; with the per-client limit on, at least 0.7.

Parts 1, 4 and 5 measure the app as this process builds it: a plain `web.AppRunner`, logging
not configured (so no access-log line is written) and no header timer. The server as deployed
(`python -m sportstats` and gunicorn, with their logging, runner, timers and metrics) is
measured by `bench/deployed.py`.

Ratios are medians of per-round ratios (each round measures every server once, in turn), and
each server's CPU time per request is read from /proc: on a shared machine both are steadier
than a single best round.
The servers run in a child process (one core), the load generator in this one (the other core);
it is a minimal HTTP/1.1 client on raw asyncio streams so that it outruns either server.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import re
import statistics
import subprocess
import sys
import time
import tracemalloc
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiohttp import ClientSession, web
from aiohttp.http import HttpVersion11, RawRequestMessage
from aiohttp.http_writer import _serialize_headers  # how aiohttp writes a response's headers
from aiohttp.streams import EMPTY_PAYLOAD
from multidict import CIMultiDict, CIMultiDictProxy
from yarl import URL

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


from sportstats.app import create_app, upstream_ctx  # noqa: E402
from sportstats.cache import AnswerCache, MemoryStore, Produced  # noqa: E402
from sportstats.core.endpoints import BY_NAME  # noqa: E402
from sportstats.ops.auth import CLIENT_ADDRESS, TESTER  # noqa: E402
from sportstats.ops.hangup import Hangup  # noqa: E402
from sportstats.settings import CacheSettings, Settings, load_settings  # noqa: E402
from sportstats.web.errors import error_response  # noqa: E402
from sportstats.web.keys import (  # noqa: E402
    ACCESS,
    BOUNDS,
    HANGUP,
    LIMITS,
    METRICS,
    SETTINGS,
    UPSTREAM,
)
from sportstats.web.routes import data_handler  # noqa: E402
from tests import fake_upstream  # noqa: E402
from tests.server_process import clean_environment, free_port  # noqa: E402

HOST = "127.0.0.1"
HIT_PATH = "/teams"
CLIENTS = 64
ROUND_S = 2.0
ROUNDS = 5
COLD_REQUESTS = 200
UPSTREAM_LATENCY_S = 0.1
DISTINCT_QUERIES = 100_000


def settings_for(upstream_port: int):
    """Default settings, but the fake upstream, and no per-client limit (one client asks all)."""
    return load_settings(
        cli={
            "upstream_url": f"http://{HOST}:{upstream_port}/v1",
            # The fake serves the ALL-STAR routes: set, so no plan is learned at start-up.
            "upstream": {"plan": "all-star"},
            "limits": {"requests_per_minute": 0},
        },
        environ={"BALLDONTLIE_API_KEY": fake_upstream.API_KEY},
        require_api_key=True,
    )


async def start(app: web.Application) -> tuple[web.AppRunner, int]:
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, HOST, 0)
    await site.start()
    return runner, site._server.sockets[0].getsockname()[1]


def cache_path_app(settings: Settings) -> web.Application:
    """The answer path alone: the data handler, its cache and upstream client, JSON errors;
    without the operator's layers (access log, metrics, access control, limits, CORS)."""

    @web.middleware
    async def json_errors(request: web.Request, handler) -> web.StreamResponse:
        try:
            return await handler(request)
        except Exception as exc:
            return error_response(request, exc)

    app = web.Application(middlewares=[json_errors])
    app[SETTINGS] = settings
    app[HANGUP] = Hangup()  # the upstream's plan is forgotten on SIGHUP: it asks for this
    app.cleanup_ctx.append(upstream_ctx)
    app.router.add_get(HIT_PATH, data_handler(BY_NAME[HIT_PATH.strip("/")]))
    return app


def same_answer(one: bytes, other: bytes) -> bool:
    """The same answer, though each server fetched its own copy (perhaps a second apart)."""
    fetched_at = re.compile(rb'"fetched_at":"[^"]*"')
    return fetched_at.sub(b"", one) == fetched_at.sub(b"", other)


async def start_servers() -> tuple[
    list[web.AppRunner], dict[str, web.Application], dict[str, int], bytes
]:
    """The fake upstream and every server to compare, listening and with warm caches: their
    runners, apps and ports by name, and the body of the hit they all answer."""
    upstream_runner, upstream_port = await start(fake_upstream.make_app(UPSTREAM_LATENCY_S))
    ours = create_app(settings_for(upstream_port))
    ours_runner, ours_port = await start(ours)
    async with ClientSession() as session, session.get(f"http://{HOST}:{ours_port}{HIT_PATH}") as r:
        body = await r.read()
        assert r.status == 200, body

    async def bare_handler(request: web.Request) -> web.Response:
        return web.Response(body=body, content_type="application/json")

    bare = web.Application()
    bare.router.add_get(HIT_PATH, bare_handler)
    apps = {"bare": bare, "core": cache_path_app(settings_for(upstream_port))}
    for name, (_, take_out) in LAYERS.items():
        apps[name] = without(create_app(settings_for(upstream_port)), take_out)
    runners, ports = [upstream_runner, ours_runner], {"ours": ours_port}
    for name, app in apps.items():
        runner, ports[name] = await start(app)
        runners.append(runner)
        if name != "bare":
            url = f"http://{HOST}:{ports[name]}{HIT_PATH}"
            async with ClientSession() as session, session.get(url) as r:
                assert same_answer(await r.read(), body)  # warm its cache
    return runners, {"ours": ours, **apps}, ports, body


async def serve() -> None:
    """Child process: fake upstream, the servers to compare; prints their ports."""
    runners, _, ports, body = await start_servers()
    print(json.dumps({**ports, "bytes": len(body)}), flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)  # until parent ends
    for runner in reversed(runners):
        await runner.cleanup()


async def keep_asking(port: int, until: float, latencies: list[float]) -> None:
    """One keep-alive client sending GET requests back to back until `until`."""
    reader, writer = await asyncio.open_connection(HOST, port)
    request = f"GET {HIT_PATH} HTTP/1.1\r\nHost: {HOST}:{port}\r\n\r\n".encode()
    clock = time.perf_counter
    try:
        while clock() < until:
            sent = clock()
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            if not head.startswith(b"HTTP/1.1 200"):
                body = await reader.read(500)
                answer = head + body
                raise RuntimeError(answer.decode(errors="replace"))
            length = 0
            for line in head.split(b"\r\n"):
                if line[:15].lower() == b"content-length:":
                    length = int(line[15:])
            await reader.readexactly(length)
            latencies.append(clock() - sent)
    finally:
        writer.close()


async def measure(port: int, seconds: float) -> tuple[float, float, float]:
    """Requests/s, p50 and p99 latency (ms) of `CLIENTS` concurrent clients for `seconds`."""
    latencies: list[float] = []
    until = time.perf_counter() + seconds
    started = time.perf_counter()
    await asyncio.gather(*(keep_asking(port, until, latencies) for _ in range(CLIENTS)))
    elapsed = time.perf_counter() - started
    cuts = statistics.quantiles(latencies, n=100)
    return len(latencies) / elapsed, cuts[49] * 1000, cuts[98] * 1000


class Idle:
    """Stands in for a metrics instrument or a check: takes any call, does nothing."""

    def __getattr__(self, name: str):
        return self

    def __call__(self, *args, **kwargs) -> None:
        return None


async def idle(*args) -> None:
    return None


def no_metrics(app: web.Application) -> None:
    app[METRICS].request_started = Idle()
    app[METRICS].observe_request = Idle()


def no_checks(app: web.Application) -> None:
    async def record_client(request: web.Request) -> None:  # what admit records, unchecked
        request[CLIENT_ADDRESS] = request.remote
        request[TESTER] = None

    app[BOUNDS].check = Idle()
    app[ACCESS].admit = record_client
    app[LIMITS].rate_limit = idle


def no_signal(*names: str):
    def take_out(app: web.Application) -> None:
        app.on_response_prepare[:] = [
            s for s in app.on_response_prepare if getattr(s, "__name__", "") not in names
        ]

    return take_out


# The full app less one operator layer: (label, what takes it out of a new app).
LAYERS = {
    "no_metrics": ("metrics", no_metrics),
    "no_checks": ("bounds, credentials, client rate", no_checks),
    "no_security_headers": ("security headers", no_signal("security_headers")),
    "no_cors": ("CORS", no_signal("cors_headers")),
}


def without(app: web.Application, take_out) -> web.Application:
    """`app` with one layer taken out (once its objects exist, before it serves)."""

    async def ctx(app: web.Application):
        take_out(app)
        yield

    app.cleanup_ctx.append(ctx)
    return app


SERVERS = {
    "bare": "bare aiohttp handler",
    "core": "answer path alone",
    "ours": "sportstats, full app",
}


@dataclass
class Round:
    """One server's figures in one round: requests/s, p50 and p99 latency (ms), and the server
    process's CPU time per request (us; None where /proc cannot tell)."""

    rps: float
    p50: float
    p99: float
    cpu_us: float | None


def cpu_seconds(pid: int) -> float | None:
    """CPU time (user + system) process `pid` has used so far, from /proc (Linux)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def run_rounds(
    names: list[str], serve: tuple[str, ...] = ("--serve",)
) -> tuple[dict[str, list[Round]], int]:
    """`ROUNDS` rounds, each measuring every named server of the child process in turn, and the
    body size. Ratios are taken within a round, so that the machine's drift between rounds
    (a shared, noisy machine) cancels out."""
    child = subprocess.Popen(
        [sys.executable, __file__, *serve], stdin=subprocess.PIPE, stdout=subprocess.PIPE
    )
    try:
        ports = json.loads(child.stdout.readline())
        for name in names:
            await measure(ports[name], 1.0)  # warm up
        rounds: dict[str, list[Round]] = {name: [] for name in names}
        for _ in range(ROUNDS):
            for name in names:
                before = cpu_seconds(child.pid)
                rps, p50, p99 = await measure(ports[name], ROUND_S)
                after = cpu_seconds(child.pid)
                cpu_us = None
                if before is not None and after is not None:
                    cpu_us = (after - before) / (rps * ROUND_S) * 1e6
                rounds[name].append(Round(rps, p50, p99, cpu_us))
    finally:
        child.stdin.close()
        child.wait(timeout=10)
    return rounds, ports["bytes"]


def median_of(rounds: list[Round], field: str) -> float | None:
    values = [getattr(r, field) for r in rounds]
    return None if None in values else statistics.median(values)


def ratios(rounds: dict[str, list[Round]], name: str, base: str = "bare") -> list[float]:
    """`name`'s requests/s as a share of `base`'s (the bare handler's), round by round."""
    return sorted(r.rps / b.rps for r, b in zip(rounds[name], rounds[base], strict=True))


def cpu_text(cpu_us: float | None) -> str:
    return "" if cpu_us is None else f"   server CPU {cpu_us:5.1f} us/req"


async def bench_hits() -> None:
    rounds, size = await run_rounds(list(SERVERS))
    print(f"1. cache hits, GET {HIT_PATH} ({size} bytes), {CLIENTS} concurrent clients,")
    print(f"   {ROUNDS} rounds of {ROUND_S:g} s, servers in turn; medians of the rounds:")
    for name, label in SERVERS.items():
        rps, p50, p99 = (median_of(rounds[name], f) for f in ("rps", "p50", "p99"))
        line = f"   {label:21} {rps:7.0f} req/s   p50 {p50:6.2f} ms   p99 {p99:6.2f} ms"
        line += cpu_text(median_of(rounds[name], "cpu_us"))
        if name != "bare":
            shares = ratios(rounds, name)
            line += f"   {statistics.median(shares):4.0%} of bare"
            line += f" (rounds {shares[0]:.0%}-{shares[-1]:.0%})"
        print(line)
    print("   (target: a hit at least 80% as fast as the bare handler)")


async def bench_layers() -> None:
    rounds, size = await run_rounds(["bare", "ours", *LAYERS])
    full_cpu = median_of(rounds["ours"], "cpu_us")
    print(f"4. where a cache hit's time goes, GET {HIT_PATH} ({size} bytes), {CLIENTS} clients,")
    print(f"   {ROUNDS} rounds of {ROUND_S:g} s, servers in turn; medians of the rounds:")
    for name, label in (("bare", "bare aiohttp handler"), ("ours", "sportstats, full app")):
        rps = median_of(rounds[name], "rps")
        share = (
            "" if name == "bare" else f"   {statistics.median(ratios(rounds, name)):4.0%} of bare"
        )
        print(f"   {label:40} {rps:7.0f} req/s{cpu_text(median_of(rounds[name], 'cpu_us'))}{share}")
    for name, (label, _) in LAYERS.items():
        rps = median_of(rounds[name], "rps")
        cpu = median_of(rounds[name], "cpu_us")
        cost = (
            "" if cpu is None or full_cpu is None else f"; the layer costs {full_cpu - cpu:4.1f} us"
        )
        print(
            f"   {'without ' + label:40} {rps:7.0f} req/s{cpu_text(cpu)}"
            f"   {statistics.median(ratios(rounds, name)):4.0%} of bare{cost}"
        )


class NullTransport:
    """The peer of an in-process request: an address, never closing."""

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return (HOST, 50000) if name == "peername" else default

    def is_closing(self) -> bool:
        return False


class NullProtocol:
    """What `web.Request` reads of aiohttp's connection handler."""

    transport = NullTransport()
    peername = (HOST, 50000)
    ssl_context = None
    max_field_size = max_line_length = 8190
    max_headers = 128


class NullWriter:
    """A response writer that serialises the headers as aiohttp does, and sends nothing."""

    buffer_size = output_size = 0
    length = None

    def enable_chunking(self) -> None: ...

    def enable_compression(self, *args: Any, **kwargs: Any) -> None: ...

    async def write_headers(self, status_line: str, headers: Any) -> None:
        _serialize_headers(status_line, headers)

    def send_headers(self) -> None: ...

    def set_eof(self) -> None: ...

    async def write(self, chunk: bytes, *args: Any, **kwargs: Any) -> None: ...

    async def write_eof(self, chunk: bytes = b"") -> None: ...

    async def drain(self) -> None: ...


def in_process_hit(app: web.Application) -> Callable[[], Awaitable[None]]:
    """One cache hit on `app`, driven in-process as aiohttp's server drives a request
    (`Application._handle`, then the response's preparation and headers), without HTTP parsing
    or sockets."""
    message_headers = CIMultiDictProxy(CIMultiDict({"Host": f"{HOST}:8080"}))
    raw_headers = ((b"Host", f"{HOST}:8080".encode()),)
    protocol, writer, loop = NullProtocol(), NullWriter(), asyncio.get_running_loop()

    async def hit() -> None:
        message = RawRequestMessage(
            "GET", HIT_PATH, HttpVersion11, message_headers, raw_headers,
            False, None, False, False, URL(HIT_PATH),
        )  # fmt: skip
        request = web.Request(message, EMPTY_PAYLOAD, protocol, writer, None, loop)  # type: ignore[arg-type]
        response = await app._handle(request)
        assert response.status == 200
        await response.prepare(request)
        await response.write_eof()

    return hit


async def work_per_hit(
    apps: dict[str, web.Application], rounds: int = 11, hits: int = 5_000
) -> dict[str, float]:
    """Microseconds of each app's own work per hit: the least of `rounds` rounds, each running
    every app in turn (so that the machine's drift touches all alike, and each app gets some
    quiet moments of a shared machine)."""
    runs: dict[str, list[float]] = {name: [] for name in apps}
    hit_on = {name: in_process_hit(app) for name, app in apps.items()}
    for hit in hit_on.values():
        for _ in range(hits // 5):
            await hit()  # warm up
    for _ in range(rounds):
        for name, hit in hit_on.items():
            started = time.perf_counter()
            for _ in range(hits):
                await hit()
            runs[name].append((time.perf_counter() - started) / hits * 1e6)
    return {name: min(times) for name, times in runs.items()}


async def bench_inproc() -> None:
    """Part 5: each app's own work per hit, without sockets: steadier than part 4 (no load
    generator, no network), so the layers' costs can be read apart."""
    runners, apps, _, body = await start_servers()
    try:
        work = await work_per_hit(apps)
    finally:
        for runner in reversed(runners):
            await runner.cleanup()
    print(f"5. each app's own work per cache hit, GET {HIT_PATH} ({len(body)} bytes), in-process")
    print("   (routing, middleware, handler, response headers; no HTTP parsing, no sockets):")
    labels = {**SERVERS, **{name: f"without {label}" for name, (label, _) in LAYERS.items()}}
    for name, label in labels.items():
        extra = "" if name == "bare" else f"   +{work[name] - work['bare']:5.1f} us over bare"
        if name in LAYERS:
            extra += f"; the layer costs {work['ours'] - work[name]:4.1f} us"
        print(f"   {label:40} {work[name]:6.1f} us{extra}")


async def bench_cold() -> None:
    upstream_app = fake_upstream.make_app(UPSTREAM_LATENCY_S)
    upstream_runner, upstream_port = await start(upstream_app)
    app = create_app(settings_for(upstream_port))
    runner, port = await start(app)
    try:
        async with ClientSession() as session:

            async def ask() -> tuple[int, str]:
                async with session.get(f"http://{HOST}:{port}/players?query=james") as response:
                    await response.read()
                    return response.status, response.headers["X-Cache"]

            started = time.perf_counter()
            answers = await asyncio.gather(*(ask() for _ in range(COLD_REQUESTS)))
            elapsed = time.perf_counter() - started
    finally:
        calls = len(upstream_app[fake_upstream.CALLS])
        sent = app[UPSTREAM].calls
        await runner.cleanup()
        await upstream_runner.cleanup()
    ok = sum(status == 200 for status, _ in answers)
    print(
        f"2. {COLD_REQUESTS} concurrent identical cold requests: {ok} answered 200 in"
        f" {elapsed * 1000:.0f} ms, {calls} upstream call(s) (sent: {sent}; target exactly 1)"
    )


def sample_answer(n: int) -> dict:
    """A players answer of realistic size (about 1 KB), distinct per question."""
    rows = [
        {
            "player_id": n * 10 + i,
            "name": f"Player {n}-{i}",
            "position": "G",
            "height": "6-3",
            "weight": "190",
            "team": "Golden State Warriors",
            "team_id": 10,
            "college": "Davidson",
            "country": "USA",
        }
        for i in range(4)
    ]
    meta = {"count": 4, "next_cursor": None, "source": "BALLDONTLIE NBA API /players"}
    return {"columns": list(rows[0]), "data": rows, "meta": meta | {"query": {"query": str(n)}}}


async def fill(settings: CacheSettings, questions: int) -> tuple[int, int, int]:
    """Cache `questions` distinct answers; return (entries, accounted bytes, traced bytes).

    Traced bytes are what tracemalloc finds still allocated at the end among everything
    allocated since the start: the entries kept, their keys, the LRU's tables.
    """
    gc.collect()
    tracemalloc.start()
    store = MemoryStore(settings.max_entries, settings.max_bytes)
    backend = store.backend
    cache = AnswerCache(store, settings)
    for n in range(questions):

        async def produce(n: int = n) -> Produced:
            return Produced(sample_answer(n), 3600)

        await cache.fetch(f'players?{{"query":"q{n}"}}', produce)
    gc.collect()
    traced = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    return len(backend), backend.bytes, traced


async def bench_memory() -> None:
    mib = 1024 * 1024
    runs = (
        ("the default bound", CacheSettings(), DISTINCT_QUERIES),
        ("a tight byte bound", CacheSettings(max_entries=10**6, max_bytes=2 * mib), 20_000),
    )
    print("3. memory held by the cache after distinct cached questions (~1 KB answers each):")
    for label, settings, questions in runs:
        entries, accounted, traced = await fill(settings, questions)
        verdict = "within" if traced <= settings.max_bytes else "OVER"
        print(
            f"   {questions:,} questions, {label} ({settings.max_entries:,} entries,"
            f" {settings.max_bytes / mib:g} MiB): keeps {entries:,} entries;"
            f" counted {accounted / mib:.1f} MiB, measured {traced / mib:.1f} MiB"
            f" (tracemalloc) -> {verdict} the byte bound"
        )


REDIS_MODES = {
    "memory": "memory cache",
    "redis": "Redis cache",
    "redis_limit": "Redis, client limit on",
}


async def serve_redis(redis_url: str) -> None:
    """Child process: the fake upstream and the three modes, warm; prints their ports."""
    upstream_runner, upstream_port = await start(fake_upstream.make_app(UPSTREAM_LATENCY_S))
    base = settings_for(upstream_port)
    shared = {"redis_url": redis_url, "redis_prefix": f"bench{os.getpid()}:"}
    modes = {
        "memory": base,
        "redis": base.model_copy(update=shared),
        # a limit that never refuses, but counts every request through the shared buckets
        "redis_limit": base.model_copy(
            update={
                **shared,
                "limits": base.limits.model_copy(
                    update={"requests_per_minute": 10**9, "burst": 10**6}
                ),
            }
        ),
    }
    runners, ports = [upstream_runner], {}
    for name, settings in modes.items():
        runner, ports[name] = await start(create_app(settings))
        runners.append(runner)
        async with ClientSession() as session:
            for _ in range(2):  # fetched, then stored: the hit to measure
                async with session.get(f"http://{HOST}:{ports[name]}{HIT_PATH}") as r:
                    body = await r.read()
    print(json.dumps({**ports, "bytes": len(body)}), flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
    for runner in reversed(runners):
        await runner.cleanup()


def own_redis() -> tuple[subprocess.Popen, str]:
    port = free_port()
    redis = subprocess.Popen(
        ["redis-server", "--bind", HOST, "--port", str(port), "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
    )
    time.sleep(0.5)
    return redis, f"redis://{HOST}:{port}/0"


async def gunicorn_hits(redis_url: str) -> tuple[float, float, float]:
    """Two gunicorn workers sharing the Redis: hits measured from outside, as one server."""
    upstream_runner, upstream_port = await start(fake_upstream.make_app(UPSTREAM_LATENCY_S))
    port = free_port()
    env = clean_environment(
        BALLDONTLIE_API_KEY=fake_upstream.API_KEY,
        SPORTSTATS_PORT=str(port),
        SPORTSTATS_UPSTREAM_URL=f"http://{HOST}:{upstream_port}/v1",
        SPORTSTATS_REDIS_URL=redis_url,
        SPORTSTATS_REDIS_PREFIX="benchg:",
        SPORTSTATS_LIMITS__REQUESTS_PER_MINUTE="0",
        SPORTSTATS_LOG_LEVEL="WARNING",
        WEB_CONCURRENCY="2",
    )
    command = [sys.executable, "-m", "gunicorn", "-c", "deploy/gunicorn.conf.py"]
    workers = subprocess.Popen(
        [*command, "sportstats.app:gunicorn_app"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL
    )
    try:
        for _ in range(100):
            try:
                async with (
                    ClientSession() as session,
                    session.get(f"http://{HOST}:{port}{HIT_PATH}") as r,
                ):
                    if r.status == 200:
                        break
            except OSError:
                await asyncio.sleep(0.2)
        await measure(port, 1.0)
        return await measure(port, ROUND_S * 2)
    finally:
        workers.terminate()
        workers.wait(timeout=30)
        await upstream_runner.cleanup()


async def bench_redis() -> None:
    redis, url = own_redis()
    try:
        rounds, size = await run_rounds(list(REDIS_MODES), ("--serve-redis", url))
        print(f"6. Redis-mode hits, GET {HIT_PATH} ({size} bytes), {CLIENTS} clients,")
        print(f"   {ROUNDS} rounds of {ROUND_S:g} s, modes in turn; medians of the rounds:")
        memory_p99 = median_of(rounds["memory"], "p99")
        for name, label in REDIS_MODES.items():
            rps, p50, p99 = (median_of(rounds[name], f) for f in ("rps", "p50", "p99"))
            line = f"   {label:23} {rps:7.0f} req/s   p50 {p50:6.2f} ms   p99 {p99:6.2f} ms"
            line += cpu_text(median_of(rounds[name], "cpu_us"))
            if name != "memory":
                shares = ratios(rounds, name, "memory")
                line += f"   {statistics.median(shares):4.2f} of memory"
                line += f" (rounds {shares[0]:.2f}-{shares[-1]:.2f}), p99 {p99 / memory_p99:.1f}x"
            print(line)
        rps, p50, p99 = await gunicorn_hits(url)
        print(
            f"   two gunicorn workers    {rps:7.0f} req/s   p50 {p50:6.2f} ms   p99 {p99:6.2f} ms"
            " (sharing the Redis)"
        )
        print("   (targets: Redis >= 0.80 of memory, p99 <= 1.5x; client limit on >= 0.70)")
    finally:
        redis.terminate()
        redis.wait(timeout=10)


PARTS = {
    "hits": bench_hits,
    "cold": bench_cold,
    "memory": bench_memory,
    "layers": bench_layers,
    "inproc": bench_inproc,
    "redis": bench_redis,
}


async def main(parts: list[str]) -> None:
    for part in parts:
        await PARTS[part]()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("parts", nargs="*", choices=[[], *PARTS], help="default: all")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--serve-redis", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_redis:
        asyncio.run(serve_redis(args.serve_redis))
    else:
        asyncio.run(serve() if args.serve else main(args.parts or list(PARTS)))
