"""Single flight: concurrent identical questions share one upstream call and its outcome."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from sportstats.cache import AnswerCache, MemoryStore, Produced
from sportstats.errors import UpstreamFailure
from sportstats.settings import CacheSettings
from sportstats.web.errors import as_api_error
from sportstats.web.keys import CACHE
from tests.cache_support import answer_when, calls, fast
from tests.conftest import load_fixture, upstream_route

PLAYERS = load_fixture("players_page_ASSEMBLED.json")
CONCURRENT = 50


def all_joined(client: Any, callers: int) -> Any:
    """Hold the upstream's answer until `callers` requests wait on fetches (one started a fetch,
    the others joined one), so that they overlap however slow the machine is."""
    cache = client.app[CACHE]
    return answer_when(lambda: cache.in_flight + cache.coalesced >= callers)


async def test_50_concurrent_identical_cold_requests_make_one_upstream_call(
    make_client: Any, upstream: Any
) -> None:
    client = await make_client(**fast())
    upstream.get(
        upstream_route("/players"), payload=PLAYERS, callback=all_joined(client, CONCURRENT)
    )

    answers = await asyncio.gather(*(client.get("/players?query=james") for _ in range(CONCURRENT)))

    assert [r.status for r in answers] == [200] * CONCURRENT
    bodies = [await r.json() for r in answers]
    assert all(b["data"] == bodies[0]["data"] for b in bodies)
    assert len(bodies[0]["data"]) == len(PLAYERS["data"])
    assert calls(upstream) == 1
    assert client.app[CACHE].coalesced == CONCURRENT - 1


async def test_all_concurrent_callers_get_the_error_of_the_one_failed_call(
    make_client: Any, upstream: Any
) -> None:
    client = await make_client(**fast())
    upstream.get(
        upstream_route("/players"),
        status=401,
        body="Unauthorized",
        callback=all_joined(client, CONCURRENT),
    )

    answers = await asyncio.gather(*(client.get("/players?query=james") for _ in range(CONCURRENT)))

    assert [r.status for r in answers] == [503] * CONCURRENT
    codes = {(await r.json())["error"]["code"] for r in answers}
    assert codes == {"upstream_key_rejected"}
    assert calls(upstream) == 1


async def test_callers_share_one_call_and_its_retries_when_the_upstream_fails(
    make_client: Any, upstream: Any
) -> None:
    client = await make_client(**fast(upstream={"max_attempts": 3}))
    upstream.get(
        upstream_route("/players"),
        status=503,
        body="down",
        callback=all_joined(client, 20),
        repeat=True,
    )

    answers = await asyncio.gather(*(client.get("/players?query=james") for _ in range(20)))

    assert {r.status for r in answers} == {502}
    assert calls(upstream) == 3  # one call, retried twice, shared by all twenty


async def test_different_questions_are_not_coalesced(make_client: Any, upstream: Any) -> None:
    client = await make_client(**fast())
    upstream.get(
        upstream_route("/players"), payload=PLAYERS, callback=all_joined(client, 20), repeat=True
    )

    answers = await asyncio.gather(
        *(client.get(f"/players?query={name}") for name in ("james", "curry") * 10)
    )

    assert {r.status for r in answers} == {200}
    assert calls(upstream) == 2


async def test_spellings_of_one_question_coalesce_too(make_client: Any, upstream: Any) -> None:
    client = await make_client(**fast())
    upstream.get(upstream_route("/players"), payload=PLAYERS, callback=all_joined(client, 30))
    spellings = ("team_ids=2,14", "team_ids=14&team_ids=2", "team_ids[]=2&team_ids[]=14&team_ids=2")

    answers = await asyncio.gather(*(client.get(f"/players?{q}") for q in spellings * 10))

    assert {r.status for r in answers} == {200}
    assert calls(upstream) == 1


async def test_a_caller_that_goes_away_does_not_cancel_the_shared_fetch() -> None:
    cache = AnswerCache(MemoryStore(10, 10**6), CacheSettings())
    started, release = asyncio.Event(), asyncio.Event()
    produced = 0

    async def produce() -> Produced:
        nonlocal produced
        produced += 1
        started.set()
        await release.wait()
        return Produced({"columns": [], "data": [1], "meta": {}}, 60)

    impatient = asyncio.create_task(cache.fetch("k", produce))
    await started.wait()
    patient = asyncio.create_task(cache.fetch("k", produce))
    await asyncio.sleep(0)
    impatient.cancel()
    release.set()
    entry, state = await patient

    assert state == "miss"
    assert b'"data":[1]' in entry.render("miss")
    assert produced == 1
    assert (await cache.fetch("k", produce))[1] == "hit"


async def test_a_waiter_gives_up_after_the_bounded_wait() -> None:
    cache = AnswerCache(MemoryStore(10, 10**6), CacheSettings(coalesce_wait_s=0.1))

    async def never() -> Produced:
        await asyncio.sleep(3600)
        raise AssertionError("unreachable")

    with pytest.raises(UpstreamFailure) as raised:
        await cache.fetch("k", never)
    await cache.close()

    shown = as_api_error(raised.value)
    assert (shown.status, shown.code, raised.value.transient) == (504, "upstream_timeout", True)
