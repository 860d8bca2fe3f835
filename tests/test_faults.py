"""End to end against a failing upstream: the real app on loopback, the fault-injecting fake
upstream on 127.0.0.1 (real sockets, not a mock in the client).

Whatever the upstream does (reset connections, answer too late, send garbage, storm us with 429s
or 5xx), every question is answered within the deadline (plus a second of slack), never with a
500, always as JSON: the error body, a stale copy where one exists, or a table that matches the
spec. Upstream calls stay within the configured budget.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import jsonschema
import pytest
from yarl import URL

from sportstats.app import create_app
from sportstats.core.endpoints import BY_NAME
from sportstats.mcp.tools import output_schema
from sportstats.web.keys import UPSTREAM
from sportstats.web.plugin import ERROR_SCHEMA
from tests.conftest import API_KEY, make_settings
from tests.fault_upstream import GARBAGE_BODIES, FaultUpstream, recorded_answer

pytestmark = pytest.mark.faults

DEADLINE_S = 1.5
SLACK_S = 1.0  # a correctness bound (the deadline is kept), not a speed benchmark
FAST_RETRIES = {"backoff_base_s": 0.05, "backoff_max_s": 0.2, "budget_wait_s": 0.5}

# One question per endpoint, each answered by the fake from a recorded fixture.
QUESTIONS = (
    "/players?query=james",
    "/teams",
    "/games?dates=2025-01-05",
    "/stats?game_ids=15907925",
    "/season_averages?season=2019&player_ids=237",
)


@pytest.fixture
async def fake() -> AsyncIterator[FaultUpstream]:
    upstream = FaultUpstream(api_key=API_KEY, slow_s=DEADLINE_S * 4)
    await upstream.start()
    yield upstream
    await upstream.close()


@pytest.fixture
def serve(aiohttp_client: Any, fake: FaultUpstream) -> Callable[..., Any]:
    """The real app on a loopback port, calling the fake; `upstream`/`cache` override settings."""

    async def factory(upstream: dict[str, Any] | None = None, **overrides: Any) -> Any:
        settings = make_settings(
            upstream_url=fake.url,
            upstream={"deadline_s": DEADLINE_S, **FAST_RETRIES, **(upstream or {})},
            limits={"requests_per_minute": 0},  # one test client asks a lot, quickly
            **overrides,
        )
        return await aiohttp_client(create_app(settings))

    return factory


async def ask(client: Any, path: str) -> tuple[int, dict[str, Any], Any]:
    """GET `path`; checks the answer is in time, never a 500, and JSON of the documented shape."""
    started = time.monotonic()
    response = await client.get(path)
    body = await response.json()
    elapsed = time.monotonic() - started
    assert elapsed < DEADLINE_S + SLACK_S, f"{path} took {elapsed:.2f}s"
    assert response.status != 500, body
    assert response.content_type == "application/json"
    if response.status == 200:
        endpoint = BY_NAME[path[1:].split("?")[0]]
        jsonschema.validate(body, output_schema(endpoint))
    else:
        assert response.status in (404, 429, 502, 503, 504), body
        jsonschema.validate(body, ERROR_SCHEMA)
        if response.status in (429, 503):
            assert int(response.headers["Retry-After"]) >= 1
    return response.status, body, response.headers


async def ask_all(client: Any, paths: list[str] | tuple[str, ...]) -> list[Any]:
    return await asyncio.gather(*(ask(client, path) for path in paths))


async def test_connection_resets_are_answered_502_in_time_then_recovery_answers_200(
    serve: Callable[..., Any], fake: FaultUpstream
) -> None:
    client = await serve(upstream={"breaker_cooldown_s": 0.3})
    fake.mode = "reset"
    answers = await ask_all(client, QUESTIONS)
    assert {status for status, _, _ in answers} <= {502, 503}
    assert any(body["error"]["code"] == "upstream_unreachable" for _, body, _ in answers)

    fake.mode = "ok"
    await asyncio.sleep(0.35)  # the breaker lets a probe through after its cool-down
    status, body, headers = await ask(client, "/teams")
    assert status == 200 and headers["X-Cache"] == "MISS"
    assert body["meta"]["count"] == 30


async def test_an_upstream_slower_than_the_deadline_is_answered_504_in_time(
    serve: Callable[..., Any], fake: FaultUpstream
) -> None:
    client = await serve()
    fake.mode = "slow"
    answers = await ask_all(client, QUESTIONS)
    assert [status for status, _, _ in answers] == [504] * len(QUESTIONS)
    assert {body["error"]["code"] for _, body, _ in answers} == {"upstream_timeout"}


async def test_identical_questions_to_a_slow_upstream_share_one_call(
    serve: Callable[..., Any], fake: FaultUpstream
) -> None:
    client = await serve()
    fake.mode = "slow"
    answers = await ask_all(client, ["/games?dates=2025-01-05"] * 20)
    assert [status for status, _, _ in answers] == [504] * 20
    assert len(fake.calls) == 1


async def test_garbage_bodies_are_answered_502_or_a_table_that_matches_the_spec(
    serve: Callable[..., Any], fake: FaultUpstream
) -> None:
    client = await serve(upstream={"breaker_failures": 1000, "requests_per_minute": 10_000})
    fake.mode = "garbage"
    # Distinct questions, so that each garbage body is really shaped (no cache hit).
    for n in range(len(GARBAGE_BODIES)):
        for path in QUESTIONS:
            separator = "&" if "?" in path else "?"
            question = path if path == "/teams" else f"{path}{separator}limit={n + 1}"
            if path.startswith("/season_averages"):
                question = f"/season_averages?season={2000 + n}&player_ids=237"
            status, body, _ = await ask(client, question)
            assert status in (200, 502), body
            if status == 502:
                assert body["error"]["code"] == "upstream_bad_response"
    assert len(fake.calls) >= len(GARBAGE_BODIES)


async def test_a_429_storm_with_retry_after_is_answered_429_in_time_with_retry_after(
    serve: Callable[..., Any], fake: FaultUpstream
) -> None:
    client = await serve()
    fake.mode = "rate_limited"
    fake.retry_after_s = 1  # fits the deadline once: waited for, then the storm goes on
    answers = await ask_all(client, QUESTIONS)
    assert [status for status, _, _ in answers] == [429] * len(QUESTIONS)
    assert all(headers["Retry-After"] == "1" for _, _, headers in answers)

    fake.retry_after_s = 120  # does not fit: answered at once, nothing retried
    calls_before = len(fake.calls)
    status, body, headers = await ask(client, "/players?query=curry")
    assert status == 429 and headers["Retry-After"] == "120"
    assert body["error"]["code"] == "upstream_rate_limited"
    assert len(fake.calls) == calls_before + 1


async def test_a_5xx_burst_is_retried_through_and_the_answer_is_200(
    serve: Callable[..., Any], fake: FaultUpstream
) -> None:
    client = await serve(upstream={"max_attempts": 3})
    fake.queue("error", 2)
    status, body, _ = await ask(client, "/games?dates=2025-01-05")
    assert status == 200
    assert len(fake.calls) == 3
    sent = URL(fake.calls[-1])  # the recording the fake chose for the third, healthy attempt
    recorded = json.loads(recorded_answer("games", sent.query_string))
    assert body["meta"]["count"] == len(recorded["data"]) > 0


async def test_a_long_5xx_burst_is_answered_502_then_recovery_answers_200(
    serve: Callable[..., Any], fake: FaultUpstream
) -> None:
    client = await serve(upstream={"breaker_failures": 3, "breaker_cooldown_s": 0.3})
    for status_code in (500, 502, 503, 504):
        fake.error_status = status_code
        fake.mode = "error"
        answers = await ask_all(client, QUESTIONS)
        assert {status for status, _, _ in answers} <= {502, 503}
    fake.mode = "ok"
    await asyncio.sleep(0.35)  # the breaker lets one probe through after its cool-down
    for question in QUESTIONS:
        status, _, _ = await ask(client, question)
        assert status == 200


@pytest.mark.parametrize("mode", ["reset", "slow", "garbage", "rate_limited", "error"])
async def test_a_stale_copy_is_served_when_the_upstream_fails_after_the_ttl(
    serve: Callable[..., Any], fake: FaultUpstream, mode: str
) -> None:
    ttl = {name: 1 for name in ("players", "teams", "games", "stats", "season_averages")}
    client = await serve(
        cache={"ttl_s": ttl, "revalidate_window_s": 0, "recent_ttl_s": 1, "live_ttl_s": 1},
        upstream={"breaker_failures": 1000},
    )
    primed = await ask_all(client, QUESTIONS)
    assert [headers["X-Cache"] for _, _, headers in primed] == ["MISS"] * len(QUESTIONS)
    await asyncio.sleep(1.1)  # past every TTL

    fake.mode = mode
    answers = await ask_all(client, QUESTIONS)
    for (status, body, headers), (_, first, _) in zip(answers, primed, strict=True):
        assert status == 200 and headers["X-Cache"] == "STALE"
        assert body["meta"]["cache"] == "stale"
        assert body["data"] == first["data"]


async def test_upstream_calls_stay_within_the_budget_whatever_the_upstream_does(
    serve: Callable[..., Any], fake: FaultUpstream
) -> None:
    budget = 6
    client = await serve(upstream={"requests_per_minute": budget, "breaker_failures": 1000})
    questions = [f"/players?query=name{n}" for n in range(12)]
    for mode in ("error", "reset", "rate_limited", "ok"):
        fake.mode = mode
        fake.retry_after_s = 1
        answers = await ask_all(client, [f"{q}&limit={len(mode)}" for q in questions])
        assert all(status != 200 or mode == "ok" for status, _, _ in answers)
    # All of it within one minute: the fake never saw more than the budget.
    assert 1 <= len(fake.calls) <= budget


@pytest.mark.parametrize("attempts", [1, 3])
async def test_a_dropped_connection_is_sent_again_only_by_our_retries_each_in_the_budget(
    serve: Callable[..., Any], fake: FaultUpstream, attempts: int
) -> None:
    """aiohttp's client would quietly send an idempotent GET again after a reset, outside the
    budget and the counts; the server turns that off, so the upstream sees our attempts only."""
    client = await serve(upstream={"max_attempts": attempts, "breaker_failures": 100})
    fake.queue("reset", attempts)
    status, body, _ = await ask(client, "/teams")
    assert status in (502, 503) and fake.calls and len(fake.calls) == attempts
    assert body["error"]["code"] == "upstream_unreachable"
    spent = (
        client.app[UPSTREAM].budget.requests_per_minute
        - await client.app[UPSTREAM].budget.remaining()
    )
    assert spent == attempts  # every request that left took a slot
