"""/healthz (the process is up) and /readyz (cache backend and upstream usable), rationed probes."""

from __future__ import annotations

from tests.conftest import load_fixture, sent, upstream_route
from tests.server_process import free_port

TEAMS = upstream_route("/teams")


async def readyz(client) -> tuple[int, dict]:
    response = await client.get("/readyz")
    return response.status, await response.json()


async def test_healthz_answers_without_touching_the_upstream(client, upstream):
    response = await client.get("/healthz")
    assert response.status == 200
    assert await response.json() == {"status": "ok"}
    assert sent(upstream) == []


async def test_an_idle_server_probes_the_upstream_once_then_trusts_that_answer(client, upstream):
    upstream.get(TEAMS, payload=load_fixture("teams_all.json"))
    status, body = await readyz(client)
    assert status == 200
    assert body["status"] == "ready" and body["failed"] == []
    assert body["checks"]["cache"] == {"ok": True, "backend": "memory"}
    assert body["checks"]["upstream"]["probed"] is True

    status, body = await readyz(client)
    assert status == 200
    assert "probed" not in body["checks"]["upstream"]
    assert body["checks"]["upstream"]["last_success_age_s"] >= 0
    assert len(sent(upstream)) == 1


async def test_an_upstream_reached_by_real_questions_needs_no_probe(client, upstream):
    upstream.get(upstream_route("/players"), payload=load_fixture("players_page_ASSEMBLED.json"))
    assert (await client.get("/players?query=curry")).status == 200
    status, body = await readyz(client)
    assert status == 200
    assert len(sent(upstream)) == 1  # only the question's own call


async def test_without_a_recent_answer_every_readyz_may_probe(make_client, upstream):
    client = await make_client(readiness_max_age_s=0)
    upstream.get(TEAMS, payload=load_fixture("teams_all.json"), repeat=True)
    for _ in range(2):
        assert (await readyz(client))[0] == 200
    assert len(sent(upstream)) == 2


async def test_a_failing_upstream_is_not_ready_and_not_probed_again_at_once(client, upstream):
    upstream.get(TEAMS, status=401, repeat=True)
    status, body = await readyz(client)
    assert status == 503
    assert body["status"] == "not_ready" and body["failed"] == ["upstream"]
    assert body["checks"]["upstream"]["error"] == "upstream_key_rejected"
    assert body["checks"]["cache"]["ok"] is True

    assert await readyz(client) == (status, body)
    assert len(sent(upstream)) == 1


async def test_an_upstream_that_answers_429_counts_as_reachable(client, upstream):
    upstream.get(TEAMS, status=429, repeat=True)
    status, body = await readyz(client)
    assert status == 200
    assert body["checks"]["upstream"]["ok"] is True


async def test_redis_backend_is_pinged(make_client, upstream, redis_url, redis_prefix):
    client = await make_client(redis_url=redis_url, redis_prefix=redis_prefix)
    upstream.get(TEAMS, payload=load_fixture("teams_all.json"))
    status, body = await readyz(client)
    assert status == 200
    assert body["checks"]["cache"] == {"ok": True, "backend": "redis"}


async def test_an_unreachable_redis_is_not_ready_and_its_url_is_not_shown(make_client, upstream):
    down = f"redis://:hunter2-password@127.0.0.1:{free_port()}/0"
    client = await make_client(redis_url=down)
    status, body = await readyz(client)
    assert status == 503
    assert "cache" in body["failed"]
    assert body["checks"]["cache"]["ok"] is False
    assert body["checks"]["cache"]["error"].startswith("ping failed")
    assert "hunter2" not in str(body)


async def test_probes_stay_public_when_the_data_needs_a_key(make_client, upstream):
    client = await make_client(
        auth={"mode": "user", "keys": [{"name": "alice", "key": "alice-key-0123456789abcdef"}]}
    )
    upstream.get(TEAMS, payload=load_fixture("teams_all.json"))
    assert (await client.get("/teams")).status == 401
    assert (await client.get("/healthz")).status == 200
    assert (await readyz(client))[0] == 200
