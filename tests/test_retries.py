"""Retries only where safe, bounded backoff, Retry-After honoured, all inside one deadline."""

from __future__ import annotations

import email.utils
import time
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from sportstats.upstream.client import UpstreamClient, parse_retry_after
from tests.cache_support import calls, fast, install_clock
from tests.conftest import load_fixture, upstream_route
from tests.fault_upstream import FaultUpstream

PLAYERS = load_fixture("players_page_ASSEMBLED.json")
PLAYERS_TTL_S = 6 * 3600

RETRYABLE = {
    "500": {"status": 500, "body": "on fire"},
    "502": {"status": 502, "body": "bad gateway"},
    "503": {"status": 503, "body": "unavailable"},
    "504": {"status": 504, "body": "gateway timeout"},
    "429 with Retry-After": {"status": 429, "headers": {"Retry-After": "1"}, "body": "slow down"},
    "timeout": {"exception": TimeoutError()},
    "connection error": {"exception": aiohttp.ClientConnectionError("reset")},
}


@pytest.fixture
def pauses(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The delays the client waits before retries, recorded instead of slept."""
    recorded: list[float] = []

    async def record(self: UpstreamClient, delay_s: float) -> None:
        recorded.append(delay_s)

    monkeypatch.setattr(UpstreamClient, "_wait", record)
    return recorded


@pytest.mark.parametrize("failure", RETRYABLE.values(), ids=RETRYABLE.keys())
async def test_a_transient_failure_is_retried_until_it_succeeds(
    make_client: Any, upstream: Any, pauses: list[float], failure: dict[str, Any]
) -> None:
    upstream.get(upstream_route("/players"), **failure)
    upstream.get(upstream_route("/players"), **failure)
    upstream.get(upstream_route("/players"), payload=PLAYERS)
    client = await make_client(**fast())

    answer = await client.get("/players?query=james")

    assert answer.status == 200
    assert calls(upstream) == 3
    assert len(pauses) == 2


@pytest.mark.parametrize("failure", RETRYABLE.values(), ids=RETRYABLE.keys())
async def test_at_most_max_attempts_are_made(
    make_client: Any, upstream: Any, pauses: list[float], failure: dict[str, Any]
) -> None:
    upstream.get(upstream_route("/players"), **failure, repeat=True)
    client = await make_client(**fast())

    answer = await client.get("/players?query=james")

    assert answer.status in (429, 502, 504)
    assert calls(upstream) == 3


async def test_max_attempts_comes_from_the_settings(
    make_client: Any, upstream: Any, pauses: list[float]
) -> None:
    upstream.get(upstream_route("/players"), status=500, body="x", repeat=True)
    client = await make_client(**fast(upstream={"max_attempts": 1}))

    await client.get("/players?query=james")

    assert calls(upstream) == 1
    assert pauses == []


@pytest.mark.parametrize(
    ("status", "answered", "code"),
    [
        (400, 502, "upstream_rejected"),
        (401, 503, "upstream_key_rejected"),  # on a route every plan serves: a bad key
        (403, 503, "upstream_key_rejected"),
        (404, 404, "not_found"),
        (406, 502, "upstream_rejected"),
    ],
)
async def test_other_client_errors_are_never_retried(
    make_client: Any, upstream: Any, pauses: list[float], status: int, answered: int, code: str
) -> None:
    upstream.get(upstream_route("/players"), status=status, body="no", repeat=True)
    client = await make_client(**fast())

    answer = await client.get("/players?query=james")

    assert answer.status == answered
    assert (await answer.json())["error"]["code"] == code
    assert calls(upstream) == 1
    assert pauses == []


async def test_a_429_without_retry_after_is_not_retried_since_the_minute_is_spent(
    make_client: Any, upstream: Any, pauses: list[float]
) -> None:
    upstream.get(upstream_route("/players"), status=429, body="Too Many Requests", repeat=True)
    client = await make_client(**fast())

    answer = await client.get("/players?query=james")

    assert answer.status == 429
    assert answer.headers["Retry-After"] == "60"
    assert (await answer.json())["error"]["code"] == "upstream_rate_limited"
    assert calls(upstream) == 1
    assert pauses == []


async def test_backoff_is_exponential_with_full_jitter_and_bounded(
    make_client: Any, upstream: Any, pauses: list[float]
) -> None:
    upstream.get(upstream_route("/players"), status=503, body="down", repeat=True)
    settings = {"max_attempts": 4, "backoff_base_s": 0.01, "backoff_max_s": 0.03}
    client = await make_client(**fast(upstream=settings))

    await client.get("/players?query=james")

    assert calls(upstream) == 4
    caps = [0.02, 0.03, 0.03]  # base * 2**attempt, capped at backoff_max_s
    assert len(pauses) == len(caps)
    assert all(0 <= delay <= cap for delay, cap in zip(pauses, caps, strict=True))
    assert len(set(pauses)) == len(pauses)  # jittered, not a fixed schedule


async def test_retry_after_in_seconds_is_waited_for(
    make_client: Any, upstream: Any, pauses: list[float]
) -> None:
    upstream.get(upstream_route("/players"), status=503, headers={"Retry-After": "1"}, body="x")
    upstream.get(upstream_route("/players"), payload=PLAYERS)
    client = await make_client(**fast(upstream={"deadline_s": 5}))

    answer = await client.get("/players?query=james")

    assert answer.status == 200
    assert pauses == [1.0]


async def test_retry_after_as_an_http_date_is_waited_for(
    make_client: Any, upstream: Any, pauses: list[float]
) -> None:
    when = email.utils.formatdate(time.time() + 4, usegmt=True)
    upstream.get(upstream_route("/players"), status=429, headers={"Retry-After": when}, body="x")
    upstream.get(upstream_route("/players"), payload=PLAYERS)
    client = await make_client(**fast(upstream={"deadline_s": 10}))

    answer = await client.get("/players?query=james")

    assert answer.status == 200
    assert len(pauses) == 1
    assert 2.5 <= pauses[0] <= 4.0


def test_retry_after_parses_seconds_and_dates_and_ignores_garbage() -> None:
    now = 1_700_000_000.0
    date = email.utils.formatdate(now + 30, usegmt=True)

    assert parse_retry_after("120") == 120
    assert parse_retry_after(date, now=now) == 30
    assert parse_retry_after(email.utils.formatdate(now - 30, usegmt=True), now=now) == 0
    assert parse_retry_after("soon") is None
    assert parse_retry_after("١٢") is None  # digits, but not ASCII ones
    assert parse_retry_after(None) is None


@pytest.mark.parametrize(
    ("status", "answered", "code"),
    [(429, 429, "upstream_rate_limited"), (503, 503, "upstream_unavailable")],
)
async def test_a_retry_after_beyond_the_deadline_is_passed_on_instead_of_waited_for(
    make_client: Any, upstream: Any, pauses: list[float], status: int, answered: int, code: str
) -> None:
    upstream.get(
        upstream_route("/players"), status=status, headers={"Retry-After": "120"}, repeat=True
    )
    client = await make_client(**fast())

    answer = await client.get("/players?query=james")

    assert answer.status == answered
    assert answer.headers["Retry-After"] == "120"
    body = await answer.json()
    assert body["error"]["code"] == code
    assert "120 seconds" in body["error"]["hint"]
    assert calls(upstream) == 1
    assert pauses == []


@pytest.mark.parametrize("status", [429, 503])
async def test_a_retry_after_beyond_the_deadline_is_answered_from_a_stale_copy(
    make_client: Any,
    upstream: Any,
    pauses: list[float],
    monkeypatch: pytest.MonkeyPatch,
    status: int,
) -> None:
    clock = install_clock(monkeypatch)
    upstream.get(upstream_route("/players"), payload=PLAYERS)
    upstream.get(
        upstream_route("/players"), status=status, headers={"Retry-After": "120"}, repeat=True
    )
    client = await make_client(**fast())
    await client.get("/players?query=james")
    clock.advance(PLAYERS_TTL_S + 3600)

    answer = await client.get("/players?query=james")

    assert answer.status == 200
    assert answer.headers["X-Cache"] == "STALE"
    assert calls(upstream) == 2
    assert pauses == []


@pytest.fixture
async def hanging_upstream() -> AsyncIterator[FaultUpstream]:
    """A real upstream on 127.0.0.1 that takes 30 s to answer."""
    fake = FaultUpstream(slow_s=30)
    fake.mode = "slow"
    await fake.start()
    yield fake
    await fake.close()


async def test_the_deadline_ends_a_hanging_upstream_call_with_504(
    make_client: Any, hanging_upstream: FaultUpstream
) -> None:
    client = await make_client(
        **fast(upstream_url=hanging_upstream.url, upstream={"deadline_s": 1})
    )

    answer = await client.get("/players?query=james")

    # Without the deadline the fake would answer 200 after 30 s.
    assert answer.status == 504
    body = await answer.json()
    assert body["error"]["code"] == "upstream_timeout"
    assert "in time" in body["error"]["message"]
    assert len(hanging_upstream.calls) == 1  # no time was left for a retry
