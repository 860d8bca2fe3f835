"""Abuse limits: methods, request bounds (in the app and in aiohttp's parser), per-client rate
limits, and the security headers on every response."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
from aiohttp import web
from aioresponses import aioresponses
from mcp import Client
from mcp.shared.exceptions import MCPError
from mcp_types.version import LATEST_HANDSHAKE_VERSION

from sportstats.app import create_app
from sportstats.ops.limits import RateLimiter
from sportstats.settings import LimitsSettings, SettingsError
from sportstats.web.bounds import SECURITY_HEADERS, handler_args
from sportstats.web.keys import LIMITS
from sportstats.web.runner import JsonErrorAppRunner
from tests.conftest import error_fields, load_fixture, make_settings, sent, upstream_route

SMALL = {"max_url_bytes": 512, "max_header_bytes": 2048, "max_headers": 20, "max_body_bytes": 1024}
ALICE = "alice-key-0123456789abcdef"
BOB = "bob-key-0123456789abcdefgh"
TESTERS = [{"name": "alice", "key": ALICE}, {"name": "bob", "key": BOB}]


def serve_teams(upstream: aioresponses) -> None:
    upstream.get(upstream_route("/teams"), payload=load_fixture("teams_all.json"), repeat=True)


async def json_error(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status == status
    assert response.headers["Content-Type"].startswith("application/json")
    body = await response.json()
    assert error_fields(body)[0] == code
    return body


# --- methods -------------------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH", "TRACE", "PROPFIND"])
async def test_only_get_head_and_options_are_served(
    client: Any, upstream: aioresponses, method: str
) -> None:
    response = await client.request(method, "/teams")
    await json_error(response, 405, "method_not_allowed")
    assert response.headers["Allow"] == "GET, HEAD, OPTIONS"
    assert sent(upstream) == []


async def test_head_is_served_like_get(client: Any, upstream: aioresponses) -> None:
    serve_teams(upstream)
    response = await client.head("/teams")
    assert response.status == 200


async def test_mcp_takes_post_and_nothing_else_but_preflights(client: Any) -> None:
    for method in ("PUT", "DELETE"):
        response = await client.request(method, "/mcp")
        await json_error(response, 405, "method_not_allowed")
        assert response.headers["Allow"] == "OPTIONS, POST"
    response = await client.post("/mcp", json={"jsonrpc": "2.0", "id": 1, "method": "ping"})
    assert response.status != 405


# --- bounds inside the app -----------------------------------------------------------------------


async def test_a_long_url_is_414(make_client: Any, upstream: aioresponses) -> None:
    client = await make_client(limits=SMALL)
    response = await client.get("/players", params={"query": "x" * 510})
    await json_error(response, 414, "uri_too_long")
    assert sent(upstream) == []


async def test_too_many_query_parameters_are_400(make_client: Any, upstream: aioresponses) -> None:
    client = await make_client(limits={"max_query_params": 5})
    response = await client.get("/games", params=[("seasons", str(2000 + i)) for i in range(6)])
    await json_error(response, 400, "too_many_parameters")
    assert sent(upstream) == []


async def test_headers_too_large_together_are_431(make_client: Any) -> None:
    """Each header is within aiohttp's per-field limit; together they are over ours."""
    client = await make_client(limits=SMALL)
    large = {"X-Big-1": "a" * 1000, "X-Big-2": "b" * 1000}
    await json_error(await client.get("/healthz", headers=large), 431, "headers_too_large")


async def test_a_body_over_the_limit_is_413(make_client: Any) -> None:
    client = await make_client(limits=SMALL)
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "ping", "pad": "x" * 2000})
    response = await client.post("/mcp", data=body, headers={"Content-Type": "application/json"})
    await json_error(response, 413, "request_too_large")


async def test_a_chunked_body_over_the_limit_is_413_too(make_client: Any) -> None:
    client = await make_client(limits=SMALL)

    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"jsonrpc": "2.0", "id": 1, "method": "ping", "pad": "'
        for _ in range(10):
            yield b"x" * 500
        yield b'"}'

    response = await client.post(
        "/mcp", data=chunks(), headers={"Content-Type": "application/json"}
    )
    assert response.status == 413
    assert response.headers["Content-Type"].startswith("application/json")


# --- bounds in aiohttp's parser, over a real socket ----------------------------------------------


@asynccontextmanager
async def served(app: web.Application) -> AsyncIterator[int]:
    """The app behind `JsonErrorAppRunner` (as `python -m sportstats` runs it), on a free port."""
    runner = JsonErrorAppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        yield int(runner.addresses[0][1])
    finally:
        await runner.cleanup()


async def exchange(port: int, request: bytes) -> tuple[int, dict[str, str], bytes]:
    """Send raw bytes, read one answer: (status, headers, body)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(request)
    await writer.drain()
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
    lines = head.decode("latin-1").strip().split("\r\n")
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    body = await asyncio.wait_for(reader.readexactly(int(headers["content-length"])), 10)
    writer.close()
    return int(lines[0].split()[1]), headers, body


def get(target: bytes, extra: bytes = b"") -> bytes:
    return b"GET " + target + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n" + extra + b"\r\n"


PARSER_CASES = [
    ("url-beyond-the-parser", get(b"/players?query=" + b"x" * 5000), 414, "uri_too_long"),
    ("url-in-the-app", get(b"/players?query=" + b"x" * 500), 414, "uri_too_long"),
    (
        "one-huge-header",
        get(b"/healthz", b"X-Big: " + b"a" * 5000 + b"\r\n"),
        431,
        "headers_too_large",
    ),
    (
        "too-many-headers",
        get(b"/healthz", b"".join(b"X-%d: 1\r\n" % i for i in range(40))),
        431,
        "headers_too_large",
    ),
    ("not-http", b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n", 400, "bad_request"),
    ("bad-method-token", b"G(ET / HTTP/1.1\r\nHost: x\r\n\r\n", 400, "bad_request"),
    ("bad-header-name", get(b"/healthz", b"Bad Header: 1\r\n"), 400, "bad_request"),
    (
        "bad-content-length",
        b"POST /mcp HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n",
        400,
        "bad_request",
    ),
    (
        "body-too-large",
        b"POST /mcp HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length:"
        b" 2000\r\nContent-Type: application/json\r\n\r\n" + b" " * 2000,
        413,
        "request_too_large",
    ),
]


@pytest.mark.parametrize(
    ("request_bytes", "status", "code"),
    [case[1:] for case in PARSER_CASES],
    ids=[case[0] for case in PARSER_CASES],
)
async def test_requests_the_parser_refuses_get_the_json_error_too(
    upstream: aioresponses,
    caplog: pytest.LogCaptureFixture,
    request_bytes: bytes,
    status: int,
    code: str,
) -> None:
    caplog.set_level(logging.INFO, logger="sportstats.access")
    async with served(create_app(make_settings(limits=SMALL))) as port:
        got, headers, body = await exchange(port, request_bytes)
    lines = [r.getMessage() for r in caplog.records if r.name == "sportstats.access"]
    assert [line for line in lines if f"request_id={headers['x-request-id']} " in line] == [
        line for line in lines if f" status={status} " in line
    ]
    assert len(lines) == 1, "one access-log line per request, refused ones too"
    assert got == status
    assert headers["content-type"].startswith("application/json")
    assert error_fields(json.loads(body))[0] == code
    assert headers["server"] == "sportstats"
    assert headers["x-content-type-options"] == "nosniff"
    assert b"Traceback" not in body and b"<html" not in body.lower()
    assert sent(upstream) == []


def test_the_parser_limits_sit_just_above_ours_and_tell_a_url_from_a_header() -> None:
    args = handler_args(LimitsSettings(max_url_bytes=1000, max_header_bytes=1032))
    assert args["max_line_size"] > 1000
    assert args["max_field_size"] <= 1032
    assert args["max_line_size"] != args["max_field_size"]


# --- per-client rate limit -----------------------------------------------------------------------


async def test_a_client_past_its_burst_gets_429_with_retry_after_and_no_upstream_call(
    make_client: Any, upstream: aioresponses
) -> None:
    serve_teams(upstream)
    client = await make_client(limits={"requests_per_minute": 6, "burst": 3})
    for _ in range(3):
        assert (await client.get("/teams")).status == 200
    calls = len(sent(upstream))
    response = await client.get("/players", params={"query": "curry"})
    await json_error(response, 429, "too_many_requests")
    assert 1 <= int(response.headers["Retry-After"]) <= 10
    assert len(sent(upstream)) == calls
    assert (await client.get("/healthz")).status == 200  # probes are not counted


async def test_each_tester_has_an_own_budget(make_client: Any, upstream: aioresponses) -> None:
    serve_teams(upstream)
    client = await make_client(
        auth={"mode": "user", "keys": TESTERS}, limits={"requests_per_minute": 6, "burst": 2}
    )
    alice, bob = {"Authorization": f"Bearer {ALICE}"}, {"Authorization": f"Bearer {BOB}"}
    assert [(await client.get("/teams", headers=alice)).status for _ in range(3)] == [200, 200, 429]
    assert [(await client.get("/teams", headers=bob)).status for _ in range(3)] == [200, 200, 429]


async def test_workers_sharing_redis_share_each_testers_bucket(
    make_client: Any, upstream: aioresponses, redis_prefix: str, redis_url: str
) -> None:
    """Two app instances on one Redis (as gunicorn workers are): a tester's burst is spent across
    both, so more workers do not multiply a client's rate; another tester is not affected."""
    serve_teams(upstream)
    shared = {
        "auth": {"mode": "user", "keys": TESTERS},
        "limits": {"requests_per_minute": 6, "burst": 2},
        "redis_url": redis_url,
        "redis_prefix": redis_prefix,
    }
    one, two = await make_client(**shared), await make_client(**shared)
    alice, bob = {"Authorization": f"Bearer {ALICE}"}, {"Authorization": f"Bearer {BOB}"}
    statuses = [(await c.get("/teams", headers=alice)).status for c in (one, two, one, two)]
    # The burst of 2, whichever worker leased it: leases are spent where they were taken.
    assert statuses.count(200) == 2 and statuses.count(429) == 2
    refused = await two.get("/teams", headers=alice)
    assert refused.status == 429 and int(refused.headers["Retry-After"]) >= 1
    assert (await one.get("/teams", headers=bob)).status == 200


async def test_with_leases_of_one_every_request_asks_the_shared_bucket(
    make_client: Any, upstream: aioresponses, redis_prefix: str, redis_url: str
) -> None:
    serve_teams(upstream)
    shared = {
        "auth": {"mode": "user", "keys": TESTERS},
        "limits": {"requests_per_minute": 6, "burst": 2, "lease": 1},
        "redis_url": redis_url,
        "redis_prefix": redis_prefix,
    }
    one, two = await make_client(**shared), await make_client(**shared)
    alice = {"Authorization": f"Bearer {ALICE}"}
    statuses = [(await c.get("/teams", headers=alice)).status for c in (one, two, one, two)]
    assert statuses == [200, 200, 429, 429]


async def test_a_lease_answers_without_redis_and_the_limit_holds_within_it(
    redis_url: str, redis_prefix: str
) -> None:
    import redis.asyncio as aioredis

    from sportstats.ops.limits import RateLimiter, SharedRateLimiter

    conns = [aioredis.from_url(redis_url) for _ in range(2)]
    workers = [
        SharedRateLimiter(conn, redis_prefix, RateLimiter(60, 20, 100), lease=5) for conn in conns
    ]
    calls = 0
    for worker in workers:
        script = worker._script

        async def counted(*args: Any, script: Any = script, **kwargs: Any) -> Any:
            nonlocal calls
            calls += 1
            return await script(*args, **kwargs)

        worker._script = counted
    granted = [await workers[n % 2].take("alice") == 0 for n in range(40)]
    assert sum(granted) <= 20 + 5 * 2  # the burst, within a lease per process
    assert sum(granted) >= 20 - 5 * 2
    assert calls <= 40 // 5 + 8  # about one Redis call a lease, not one a request
    for conn in conns:
        await conn.aclose()


def tool_call(query: str) -> dict[str, Any]:
    """An MCP tools/call message asking for players named `query` (an upstream call each)."""
    params = {"name": "get_players", "arguments": {"query": query}}
    return {"jsonrpc": "2.0", "id": query, "method": "tools/call", "params": params}


async def test_mcp_tool_calls_are_limited_per_tester_before_any_upstream_call(
    make_client: Any, upstream: aioresponses
) -> None:
    upstream.get(upstream_route("/players"), payload={"data": [], "meta": {}}, repeat=True)
    client = await make_client(
        auth={"mode": "user", "keys": TESTERS}, limits={"requests_per_minute": 6, "burst": 2}
    )
    mcp = {
        "Accept": "application/json, text/event-stream",
        "MCP-Protocol-Version": LATEST_HANDSHAKE_VERSION,
    }
    alice = {**mcp, "Authorization": f"Bearer {ALICE}"}
    bob = {**mcp, "Authorization": f"Bearer {BOB}"}
    for name in ("curry", "james"):
        response = await client.post("/mcp", json=tool_call(name), headers=alice)
        reply = await response.json()
        assert response.status == 200 and reply["id"] == name
        assert reply["result"]["isError"] is False
    assert len(sent(upstream)) == 2

    response = await client.post("/mcp", json=tool_call("durant"), headers=alice)
    await json_error(response, 429, "too_many_requests")
    assert 1 <= int(response.headers["Retry-After"]) <= 10
    assert len(sent(upstream)) == 2

    response = await client.post("/mcp", json=tool_call("durant"), headers=bob)
    assert response.status == 200
    assert (await response.json())["result"]["structuredContent"]["meta"]["cache"] == "miss"
    assert len(sent(upstream)) == 3


async def test_clients_behind_a_trusted_proxy_are_limited_one_by_one(
    make_client: Any, upstream: aioresponses
) -> None:
    serve_teams(upstream)
    client = await make_client(
        auth={"trusted_proxies": ["127.0.0.1/32"]}, limits={"requests_per_minute": 6, "burst": 1}
    )
    one, two = {"X-Forwarded-For": "198.51.100.1"}, {"X-Forwarded-For": "198.51.100.2"}
    assert (await client.get("/teams", headers=one)).status == 200
    assert (await client.get("/teams", headers=one)).status == 429
    assert (await client.get("/teams", headers=two)).status == 200
    assert len(client.app[LIMITS].limiter) == 2


async def test_requests_per_minute_zero_turns_the_limit_off(
    make_client: Any, upstream: aioresponses
) -> None:
    serve_teams(upstream)
    client = await make_client(limits={"requests_per_minute": 0, "burst": 1})
    assert [(await client.get("/teams")).status for _ in range(5)] == [200] * 5


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_the_bucket_refills_at_the_configured_rate() -> None:
    clock = Clock()
    limiter = RateLimiter(requests_per_minute=60, burst=2, max_clients=10, clock=clock)
    assert [limiter.take("a") for _ in range(2)] == [0.0, 0.0]
    assert limiter.take("a") == pytest.approx(1.0)
    clock.now += 0.5
    assert limiter.take("a") == pytest.approx(0.5)  # refused requests spend nothing
    clock.now += 0.5
    assert limiter.take("a") == 0.0
    clock.now += 3600
    assert [limiter.take("a") for _ in range(3)][-1] > 0  # never more than the burst


def test_the_per_client_state_stays_bounded_forgetting_the_least_recent() -> None:
    clock = Clock()
    limiter = RateLimiter(requests_per_minute=60, burst=1, max_clients=100, clock=clock)
    limiter.take("regular")
    for i in range(10_000):
        limiter.take(f"10.0.{i // 256}.{i % 256}")
        if i % 50 == 0:
            limiter.take("regular")
    assert len(limiter) == 100
    assert limiter.take("regular") > 0  # a recent client is remembered


def test_bad_limits_stop_the_server() -> None:
    with pytest.raises(SettingsError, match="limits.burst"):
        make_settings(limits={"burst": 0})
    with pytest.raises(SettingsError, match="limits.max_url_bytes"):
        make_settings(limits={"max_url_bytes": -1})


# --- security headers ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "headers", "status"),
    [
        ("GET", "/teams", {}, 200),
        ("GET", "/logo.png", {}, 200),
        ("GET", "/openapi.yaml", {}, 200),
        ("GET", "/nowhere", {}, 404),
        ("GET", "/players?limit=0", {}, 400),
        ("PUT", "/teams", {}, 405),
        (
            "OPTIONS",
            "/teams",
            {"Origin": "https://chatgpt.com", "Access-Control-Request-Method": "GET"},
            200,
        ),
    ],
)
async def test_every_response_carries_the_security_headers_and_no_server_version(
    client: Any,
    upstream: aioresponses,
    method: str,
    path: str,
    headers: dict[str, str],
    status: int,
) -> None:
    serve_teams(upstream)
    response = await client.request(method, path, headers=headers)
    assert response.status == status
    for name, value in SECURITY_HEADERS.items():
        assert response.headers[name] == value
    assert response.headers["Server"] == "sportstats"
    if status >= 400:
        assert response.headers["Cache-Control"] == "no-store"
    names = [name.lower() for name, _ in response.raw_headers]
    assert len(names) == len(set(names)), names  # no header twice (Server replaced, not added)


async def test_a_refused_credential_is_never_cached(make_client: Any) -> None:
    client = await make_client(auth={"mode": "user", "keys": TESTERS})
    response = await client.get("/teams")
    assert response.status == 401
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["X-Content-Type-Options"] == "nosniff"


# --- limits that fit the caller ------------------------------------------------------------------

PING = {"jsonrpc": "2.0", "id": 1, "method": "ping"}
MCP_HEADERS = {"Accept": "application/json", "MCP-Protocol-Version": "2025-11-25"}


async def test_a_local_open_server_does_not_limit_its_one_local_session(make_client: Any) -> None:
    """Mode none on 127.0.0.1: only this machine can call, and one MCP session asks in bursts."""
    client = await make_client()
    statuses = [
        (await client.post("/mcp", json=PING, headers=MCP_HEADERS)).status for _ in range(40)
    ]
    assert statuses == [200] * 40


async def test_on_a_public_address_anonymous_callers_are_limited_per_address(
    make_client: Any,
) -> None:
    client = await make_client(host="0.0.0.0", limits={"burst": 3})
    statuses = [
        (await client.post("/mcp", json=PING, headers=MCP_HEADERS)).status for _ in range(4)
    ]
    assert statuses == [200, 200, 200, 429]


async def test_mcp_notifications_do_not_count(make_client: Any) -> None:
    client = await make_client(host="0.0.0.0", limits={"burst": 2})
    notification = {"jsonrpc": "2.0", "method": "notifications/initialized"}
    for _ in range(10):
        response = await client.post("/mcp", json=notification, headers=MCP_HEADERS)
        assert response.status == 202
    statuses = [
        (await client.post("/mcp", json=PING, headers=MCP_HEADERS)).status for _ in range(3)
    ]
    assert statuses == [200, 200, 429]


async def test_a_refusal_on_mcp_is_a_json_rpc_error_the_sdk_shows(serve: Any) -> None:
    """The official client reads the message, our code and the wait from the refusal."""
    url = await serve(host="0.0.0.0", limits={"burst": 1, "requests_per_minute": 1})
    async with Client(url, mode="legacy") as mcp_client:  # initialize takes the one request
        with pytest.raises(MCPError) as refused:
            await mcp_client.list_tools()
    error = refused.value.error
    assert "Too many requests from this client" in error.message
    assert "Retry-After" in error.message  # the hint, in the message
    assert error.data["code"] == "too_many_requests" and error.data["retry_after_s"] >= 1


async def test_a_spent_lease_asks_for_another_rather_than_refusing(
    redis_url: str, redis_prefix: str
) -> None:
    import redis.asyncio as aioredis

    from sportstats.ops.limits import RateLimiter, SharedRateLimiter

    conn = aioredis.from_url(redis_url)
    limiter = SharedRateLimiter(conn, redis_prefix, RateLimiter(6000, 100, 10), lease=5)
    assert [await limiter.take("bob") for _ in range(12)] == [0.0] * 12  # three leases
    await conn.aclose()


async def test_many_concurrent_takes_share_one_lease_request_at_a_time(
    redis_url: str, redis_prefix: str
) -> None:
    """When a lease runs out under concurrency, one request asks for the next and the others
    wait for it (no herd of Redis calls, and no waiter spinning on a finished request)."""
    import redis.asyncio as aioredis

    from sportstats.ops.limits import RateLimiter, SharedRateLimiter

    conn = aioredis.from_url(redis_url)
    limiter = SharedRateLimiter(conn, redis_prefix, RateLimiter(10**6, 10**4, 10), lease=3)
    calls = 0
    script = limiter._script

    async def counted(*args: Any, **kwargs: Any) -> Any:
        nonlocal calls
        calls += 1
        return await script(*args, **kwargs)

    limiter._script = counted
    waits = await asyncio.wait_for(
        asyncio.gather(*(limiter.take("carol") for _ in range(64))), timeout=10
    )
    assert waits == [0.0] * 64
    assert calls <= 64 // 3 + 2  # about one Redis call a lease of 3
    await conn.aclose()
