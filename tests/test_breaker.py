"""The circuit breaker: repeated failures stop calls for a while, then one probe tries again."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from sportstats.upstream.breaker import CircuitBreaker
from sportstats.upstream.routes import ROUTES
from sportstats.web.keys import UPSTREAM
from tests.cache_support import calls, fast, install_clock
from tests.conftest import load_fixture, upstream_route

PLAYERS = load_fixture("players_page_ASSEMBLED.json")
PLAYERS_TTL_S = 6 * 3600
COOLDOWN_S = 30
# Two failures open the breaker; one attempt per question keeps the counting plain.
BREAKER = fast(
    upstream={"breaker_failures": 2, "breaker_cooldown_s": COOLDOWN_S, "max_attempts": 1}
)


def fail_twice(upstream: Any) -> None:
    for _ in range(2):
        upstream.get(upstream_route("/players"), status=500, body="down")


async def trip(client: Any) -> None:
    """Two failed questions: the breaker opens."""
    for name in ("a", "b"):
        assert (await client.get(f"/players?query={name}")).status == 502


def test_breaker_opens_after_the_threshold_and_probes_once_after_the_cooldown(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    clock = install_clock(monkeypatch)
    breaker = CircuitBreaker(failure_threshold=3, cooldown_s=10)
    for _ in range(2):
        breaker.record_failure()
    assert (breaker.state, breaker.allow()) == ("closed", True)

    breaker.record_failure()
    assert (breaker.state, breaker.allow()) == ("open", False)
    assert breaker.retry_after_s() == pytest.approx(10, abs=0.1)

    clock.advance(10)
    assert breaker.state == "half-open"
    assert breaker.allow()  # the probe
    assert not breaker.allow()  # only one at a time

    breaker.record_success()
    assert (breaker.state, breaker.allow(), breaker.failures) == ("closed", True, 0)


def test_a_failed_probe_opens_the_breaker_again(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = install_clock(monkeypatch)
    breaker = CircuitBreaker(failure_threshold=1, cooldown_s=10)
    breaker.record_failure()
    clock.advance(10)
    assert breaker.allow()

    breaker.record_failure()

    assert breaker.state == "open"
    assert not breaker.allow()
    assert breaker.retry_after_s() == pytest.approx(10, abs=0.1)


def test_a_probe_that_was_never_sent_lets_another_probe_go(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    clock = install_clock(monkeypatch)
    breaker = CircuitBreaker(failure_threshold=1, cooldown_s=10)
    breaker.record_failure()
    clock.advance(10)
    assert breaker.allow()

    breaker.release()

    assert breaker.allow()


def test_a_success_resets_the_count_of_failures() -> None:
    breaker = CircuitBreaker(failure_threshold=2, cooldown_s=10)
    breaker.record_failure()
    breaker.record_success()
    breaker.record_failure()

    assert breaker.state == "closed"


async def test_an_open_breaker_answers_a_fast_503_without_calling_upstream(
    make_client: Any, upstream: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    install_clock(monkeypatch)
    upstream.get(upstream_route("/players"), status=500, body="down", repeat=True)
    client = await make_client(**BREAKER)
    await trip(client)

    answer = await client.get("/players?query=c")

    assert answer.status == 503
    assert 1 <= int(answer.headers["Retry-After"]) <= COOLDOWN_S
    assert (await answer.json())["error"]["code"] == "upstream_unavailable"
    assert calls(upstream) == 2


async def test_an_open_breaker_answers_from_a_stale_copy_where_there_is_one(
    make_client: Any, upstream: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = install_clock(monkeypatch)
    upstream.get(upstream_route("/players"), payload=PLAYERS)
    upstream.get(upstream_route("/players"), status=500, body="down", repeat=True)
    long_cooldown = fast(upstream={**BREAKER["upstream"], "breaker_cooldown_s": 10 * PLAYERS_TTL_S})
    client = await make_client(**long_cooldown)
    await client.get("/players?query=james")
    await trip(client)
    clock.advance(PLAYERS_TTL_S + 3600)  # the copy expires; the breaker is still open

    answer = await client.get("/players?query=james")

    assert (answer.status, answer.headers["X-Cache"]) == (200, "STALE")
    assert calls(upstream) == 3


async def test_after_the_cooldown_one_probe_goes_and_its_success_closes_the_breaker(
    make_client: Any, upstream: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = install_clock(monkeypatch)
    fail_twice(upstream)
    upstream.get(upstream_route("/players"), payload=PLAYERS, repeat=True)
    client = await make_client(**BREAKER)
    await trip(client)
    assert (await client.get("/players?query=c")).status == 503
    clock.advance(COOLDOWN_S)

    probes = await asyncio.gather(*(client.get(f"/players?query=p{n}") for n in range(5)))
    after = await client.get("/players?query=d")

    # One probe goes; the others, asked while it is out, still get the fast 503.
    statuses = sorted(r.status for r in probes)
    assert statuses[0] == 200
    assert set(statuses[1:]) <= {200, 503}
    assert after.status == 200
    assert calls(upstream) == 2 + statuses.count(200) + 1


async def test_a_failed_probe_keeps_the_breaker_open(
    make_client: Any, upstream: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = install_clock(monkeypatch)
    upstream.get(upstream_route("/players"), status=500, body="down", repeat=True)
    client = await make_client(**BREAKER)
    await trip(client)
    clock.advance(COOLDOWN_S)

    probe = await client.get("/players?query=probe")
    after = await client.get("/players?query=after")

    assert probe.status == 502
    assert after.status == 503
    assert calls(upstream) == 3


async def test_a_probe_cancelled_in_flight_does_not_keep_the_breaker_shut(
    make_client: Any, upstream: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = install_clock(monkeypatch)
    fail_twice(upstream)
    hung = []

    async def hang_the_first_call(url: Any, **kwargs: Any) -> None:
        if not hung:
            hung.append(url)
            await asyncio.sleep(3600)

    upstream.get(
        upstream_route("/players"), payload=PLAYERS, callback=hang_the_first_call, repeat=True
    )
    client = await make_client(**BREAKER)
    await trip(client)
    clock.advance(COOLDOWN_S)
    probe = asyncio.create_task(
        client.app[UPSTREAM].get(ROUTES["players"], [("search", "x")], 10**9)
    )
    while calls(upstream) < 3:  # the probe is out, waiting for the upstream
        await asyncio.sleep(0.01)

    probe.cancel()
    answer = await client.get("/players?query=after")

    assert answer.status == 200
    assert calls(upstream) == 4
