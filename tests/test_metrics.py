"""/metrics: Prometheus text from a per-app registry, counting what the operator needs to see."""

from __future__ import annotations

import asyncio
from typing import Any

from aioresponses import CallbackResult
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from sportstats.app import create_app
from sportstats.ops.metrics import RequestCounts, RequestInstruments
from tests.conftest import load_fixture, make_settings, upstream_route

TEAMS = upstream_route("/teams")
PLAYERS = upstream_route("/players")


def sample(text: str, name: str, **labels: str) -> float | None:
    """The value of the sample `name` with exactly these labels (None when absent)."""
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            if s.name == name and s.labels == labels:
                return s.value
    return None


async def scrape(client: Any, **headers: str) -> str:
    response = await client.get("/metrics", headers=headers)
    assert response.status == 200, await response.text()
    assert response.content_type == "text/plain"
    return await response.text()


async def test_requests_cache_states_and_upstream_calls_are_counted(client, upstream):
    upstream.get(TEAMS, payload=load_fixture("teams_all.json"))
    assert (await client.get("/teams")).headers["X-Cache"] == "MISS"
    assert (await client.get("/teams")).headers["X-Cache"] == "HIT"
    assert (await client.get("/teams?conference=North")).status == 400
    text = await scrape(client)

    assert sample(text, "sportstats_requests_total", endpoint="teams", status="200") == 2
    assert sample(text, "sportstats_requests_total", endpoint="teams", status="400") == 1
    assert sample(text, "sportstats_cache_answers_total", endpoint="teams", state="MISS") == 1
    assert sample(text, "sportstats_cache_answers_total", endpoint="teams", state="HIT") == 1
    assert sample(text, "sportstats_upstream_calls_total", path="/teams", outcome="200") == 1
    assert sample(text, "sportstats_upstream_duration_seconds_count", path="/teams") == 1
    assert sample(text, "sportstats_request_duration_seconds_count", endpoint="teams") == 3
    assert sample(text, "sportstats_upstream_budget_remaining") == 59  # ALL-STAR: 60, 1 spent
    assert sample(text, "sportstats_upstream_retries_total") == 0
    assert sample(text, "sportstats_client_requests_total", client="anonymous", status="200") == 2
    assert sample(text, "sportstats_client_upstream_calls_total", client="anonymous") == 1
    assert sample(text, "sportstats_upstream_last_success_timestamp_seconds") is not None
    assert sample(text, "sportstats_cache_entries") == 1


async def test_retries_and_failed_statuses_are_counted(client, upstream):
    upstream.get(TEAMS, status=503)
    upstream.get(TEAMS, payload=load_fixture("teams_all.json"))
    assert (await client.get("/teams")).status == 200
    text = await scrape(client)

    assert sample(text, "sportstats_upstream_calls_total", path="/teams", outcome="503") == 1
    assert sample(text, "sportstats_upstream_calls_total", path="/teams", outcome="200") == 1
    assert sample(text, "sportstats_upstream_retries_total") == 1


async def test_attempts_held_back_by_the_spent_budget_are_counted_apart(make_client, upstream):
    client = await make_client(upstream={"requests_per_minute": 1, "budget_wait_s": 0})
    upstream.get(TEAMS, payload=load_fixture("teams_all.json"))
    assert (await client.get("/teams")).status == 200
    assert (await client.get("/players?query=curry")).status == 429
    text = await scrape(client)

    held = sample(
        text, "sportstats_upstream_held_back_total", path="/players", reason="budget_spent"
    )
    assert held == 1
    assert sample(text, "sportstats_upstream_calls_total", path="/players", outcome="200") is None
    assert sample(text, "sportstats_upstream_budget_remaining") == 0


async def test_callers_waiting_for_one_fetch_are_counted_as_coalesced(client, upstream):
    release = asyncio.Event()

    async def slow_teams(url: Any, **kwargs: Any) -> Any:
        await release.wait()
        return CallbackResult(payload=load_fixture("teams_all.json"))

    upstream.get(TEAMS, callback=slow_teams)
    requests = [asyncio.create_task(client.get("/teams")) for _ in range(3)]
    for _ in range(100):
        await asyncio.sleep(0.01)
        text = await scrape(client)
        if sample(text, "sportstats_coalesced_waiters_total") == 2:
            break
    assert sample(text, "sportstats_requests_in_flight") == 4  # the three and this scrape
    release.set()
    assert [r.status for r in await asyncio.gather(*requests)] == [200, 200, 200]
    text = await scrape(client)
    assert sample(text, "sportstats_coalesced_waiters_total") == 2
    assert sample(text, "sportstats_upstream_calls_total", path="/teams", outcome="200") == 1


async def test_two_apps_in_one_process_keep_separate_metrics(aiohttp_client, upstream):
    upstream.get(TEAMS, payload=load_fixture("teams_all.json"))
    first = await aiohttp_client(create_app(make_settings()))
    second = await aiohttp_client(create_app(make_settings()))
    assert (await first.get("/teams")).status == 200

    assert sample(await scrape(first), "sportstats_requests_total", endpoint="teams", status="200")
    text = await scrape(second)
    assert sample(text, "sportstats_requests_total", endpoint="teams", status="200") is None


async def test_metrics_token_guards_the_metrics(make_client):
    client = await make_client(metrics_token="metrics-secret")

    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "metrics-secret"}):
        response = await client.get("/metrics", headers=headers)
        assert response.status == 401
        body = await response.json()
        assert body["error"]["code"] == "unauthorized"
        assert "metrics-secret" not in await response.text()
    text = await scrape(client, Authorization="Bearer metrics-secret")
    assert sample(text, "sportstats_requests_total", endpoint="metrics", status="401") == 3


def test_plain_counts_expose_the_same_samples_as_the_instruments() -> None:
    """One process keeps per-request metrics as plain counts, gunicorn's workers in
    prometheus-client's instruments: a scrape must not tell them apart."""
    counts_registry, instruments_registry = CollectorRegistry(), CollectorRegistry()
    counts = RequestCounts()
    counts_registry.register(counts)
    instruments = RequestInstruments(instruments_registry)
    requests = [
        ("teams", 200, 0.004, "anonymous", "HIT", 0),
        ("teams", 200, 0.005, "alice", "MISS", 1),  # on a bucket's edge
        ("teams", 503, 21.0, "alice", "STALE", 3),  # past the last bucket
        ("players", 400, 0.0001, "anonymous", None, 0),
        ("unmatched", 404, 0.3, "bob", None, 0),
    ]
    for keeper in (counts, instruments):
        keeper.started()  # one still in flight
        for request in requests:
            keeper.started()
            keeper.done(*request)

    def samples(registry: CollectorRegistry) -> dict[tuple[Any, ...], float]:
        return {
            (s.name, tuple(sorted(s.labels.items()))): round(s.value, 9)
            for family in registry.collect()
            for s in family.samples
        }

    assert samples(counts_registry) == samples(instruments_registry)
    text = generate_latest(counts_registry).decode()
    assert sample(text, "sportstats_requests_in_flight") == 1
    assert (
        sample(text, "sportstats_request_duration_seconds_bucket", endpoint="teams", le="0.005")
        == 2
    )
    assert sample(text, "sportstats_client_upstream_calls_total", client="alice") == 4


def test_metrics_module_has_no_global_registry_side_effects():
    from prometheus_client import REGISTRY

    create_app(make_settings())
    assert not [name for name in REGISTRY._names_to_collectors if name.startswith("sportstats")]


async def test_unknown_paths_share_one_label(client):
    for path in ("/nope", "/wp-admin/x.php", "/players/%00"):
        assert (await client.get(path)).status == 404
    text = await scrape(client)
    assert sample(text, "sportstats_requests_total", endpoint="unmatched", status="404") == 3


async def test_stale_and_revalidating_answers_are_counted_by_state(
    make_client, upstream, monkeypatch
):
    from sportstats.web.keys import CACHE
    from tests.cache_support import fast, install_clock

    clock = install_clock(monkeypatch)
    teams = load_fixture("teams_all.json")
    upstream.get(upstream_route("/teams"), payload=teams)
    upstream.get(upstream_route("/teams"), payload=teams)
    upstream.get(upstream_route("/teams"), status=503, repeat=True)
    client = await make_client(**fast(cache={"ttl_s": {"teams": 600}}))
    assert (await client.get("/teams")).headers["X-Cache"] == "MISS"
    clock.advance(601)  # just past the TTL: answered at once while one refresh runs
    assert (await client.get("/teams")).headers["X-Cache"] == "UPDATING"
    await client.app[CACHE].wait_background()  # the refresh has stored its copy
    clock.advance(601 + 3600)  # past TTL and revalidation window; the upstream now fails
    assert (await client.get("/teams")).headers["X-Cache"] == "STALE"

    text = await scrape(client)
    for state in ("MISS", "UPDATING", "STALE"):
        assert sample(text, "sportstats_cache_answers_total", endpoint="teams", state=state) == 1
    assert sample(text, "sportstats_cache_answers_total", endpoint="teams", state="HIT") is None
