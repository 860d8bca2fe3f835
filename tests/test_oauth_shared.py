"""The sign-in's bounds hold across workers that share Redis: a key rotated in one worker's
configuration ends the tokens another issued, wrong keys are counted once for all, and the
registration cap and rates are the same for every worker.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import yaml

from sportstats.app import create_app
from tests.conftest import make_settings
from tests.fake_upstream import API_KEY, make_app
from tests.server_process import ServerProcess, clean_environment, free_port
from tests.test_oauth import ALICE_KEY, BOB_KEY, CALLBACK, OAUTH, TESTERS, Flow

PUBLIC = "http://127.0.0.1:5001"  # one public URL for every worker, as behind one proxy


async def workers(aiohttp_client: Any, shared: dict[str, Any], *auths: dict[str, Any]) -> list:
    """A test client per worker, each with its own `auth`, sharing Redis and the public URL."""
    return [
        await aiohttp_client(create_app(make_settings(auth=auth, public_url=PUBLIC, **shared)))
        for auth in auths
    ]


async def test_a_key_rotated_for_one_worker_ends_the_tokens_another_issued(
    aiohttp_client: Any, upstream: Any, redis_url: str, redis_prefix: str
) -> None:
    shared = {"redis_url": redis_url, "redis_prefix": redis_prefix}
    rotated = {**OAUTH, "keys": [{"name": "alice", "key": "alice-new-key-0123456789"}, TESTERS[1]]}
    old, same, new = await workers(aiohttp_client, shared, OAUTH, OAUTH, rotated)
    flow = Flow(old, PUBLIC)
    await flow.register()
    tokens = await flow.tokens()
    assert await Flow(same, PUBLIC).ping(tokens["access_token"]) == 200  # the same key: yes
    assert await Flow(new, PUBLIC).ping(tokens["access_token"]) == 401  # rotated: ended
    refresh = {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"],
               "client_id": flow.client_id}  # fmt: skip
    response = await new.post("/token", data=refresh)
    assert (await response.json())["error"] == "invalid_grant"


async def test_two_workers_share_the_count_of_wrong_keys(
    aiohttp_client: Any, upstream: Any, redis_url: str, redis_prefix: str
) -> None:
    shared = {"redis_url": redis_url, "redis_prefix": redis_prefix}
    one, other = await workers(aiohttp_client, shared, OAUTH, OAUTH)
    flows = [Flow(one, PUBLIC), Flow(other, PUBLIC)]
    await flows[0].register()
    flows[1].client_id = flows[0].client_id  # the registration is shared as well
    statuses = []
    for attempt in range(6):  # 5 wrong keys an address may try a minute, wherever it lands
        response = await flows[attempt % 2].sign_in(key=f"guess-{attempt}-0123456789")
        statuses.append(response.status)
    assert statuses == [401] * 5 + [429]
    assert (await flows[1].sign_in(key=ALICE_KEY)).status == 429


async def test_a_burst_of_wrong_keys_at_once_is_counted_as_it_comes(
    aiohttp_client: Any, upstream: Any, redis_url: str, redis_prefix: str
) -> None:
    shared = {"redis_url": redis_url, "redis_prefix": redis_prefix}
    one, other = await workers(aiohttp_client, shared, OAUTH, OAUTH)
    flows = [Flow(one, PUBLIC), Flow(other, PUBLIC)]
    await flows[0].register()
    flows[1].client_id = flows[0].client_id
    answers = await asyncio.gather(
        *(flows[n % 2].sign_in(key=f"guess-{n:02d}-0123456789") for n in range(30))
    )
    statuses = sorted(answer.status for answer in answers)
    assert statuses == [401] * 5 + [429] * 25  # no more keys checked than the limit


async def test_the_registration_cap_and_rate_hold_for_all_workers(
    aiohttp_client: Any, upstream: Any, redis_url: str, redis_prefix: str
) -> None:
    shared = {"redis_url": redis_url, "redis_prefix": redis_prefix}
    auth = {**OAUTH, "trusted_proxies": ["127.0.0.1/32"], "registrations_unused_max": 12}
    one, other = await workers(aiohttp_client, shared, auth, auth)
    flow = Flow(one, PUBLIC)
    await flow.register()
    tokens = await flow.tokens()  # a tester signed in before the flood

    async def register(client: Any, address: str) -> int:
        body = {"redirect_uris": [CALLBACK]}
        response = await client.post("/register", json=body, headers={"X-Forwarded-For": address})
        return response.status

    # the rate: 10 an address a minute, counted once for both workers
    same_address = [await register((one, other)[n % 2], "203.0.113.9") for n in range(11)]
    assert same_address == [201] * 10 + [429]
    # the cap: 12 unused registrations in all (10 made above), for both workers
    flood = [await register((one, other)[n % 2], f"198.51.{n}.1") for n in range(6)]
    assert flood == [201, 201, 503, 503, 503, 503]
    assert await Flow(other, PUBLIC).ping(tokens["access_token"]) == 200


@pytest.mark.process
async def test_two_server_processes_do_not_double_the_wrong_key_allowance(
    aiohttp_server: Any, redis_url: str, redis_prefix: str, tmp_path: Path
) -> None:
    config = tmp_path / "sportstats.yaml"
    config.write_text(yaml.safe_dump({"auth": OAUTH, "public_url": "http://127.0.0.1"}))
    fake = await aiohttp_server(make_app())
    env = clean_environment(
        SPORTSTATS_CONFIG=str(config),
        BALLDONTLIE_API_KEY=API_KEY,
        SPORTSTATS_UPSTREAM_URL=str(fake.make_url("/v1")),
        SPORTSTATS_REDIS_URL=redis_url,
        SPORTSTATS_REDIS_PREFIX=redis_prefix,
    )
    servers = [ServerProcess.sportstats(env=env), ServerProcess.sportstats(env=env)]
    try:
        for server in servers:
            await server.start()
        async with aiohttp.ClientSession() as one, aiohttp.ClientSession() as other:
            flows = [Flow(TestSession(one, servers[0].url), "http://127.0.0.1"),
                     Flow(TestSession(other, servers[1].url), "http://127.0.0.1")]  # fmt: skip
            assert (await flows[0].register())[0] == 201
            flows[1].client_id = flows[0].client_id  # registered in Redis: both know it
            statuses = [
                (await flows[n % 2].sign_in(key=f"guess-{n:02d}-0123456789")).status
                for n in range(12)
            ]
    finally:
        for server in servers:
            await server.stop()
    assert statuses == [401] * 5 + [429] * 7  # 5 an address, whichever process it reaches


class TestSession:
    """A session bound to one server's URL, as `Flow` calls a test client."""

    __test__ = False

    def __init__(self, session: aiohttp.ClientSession, url: str) -> None:
        self.session, self.url = session, url

    def post(self, path: str, **kwargs: Any) -> Any:
        return self.session.post(self.url + path, **kwargs)


async def test_a_key_removed_in_one_deployment_stays_ended_when_the_next_adds_it_back(
    aiohttp_client: Any, upstream: Any, redis_url: str, redis_prefix: str
) -> None:
    shared = {"redis_url": redis_url, "redis_prefix": redis_prefix}
    (first,) = await workers(aiohttp_client, shared, OAUTH)
    flow = Flow(first, PUBLIC)
    await flow.register()
    status, bob = await flow.exchange(await flow.code(key=BOB_KEY))
    assert status == 200
    # the next deployment starts without bob's key, the one after with it again
    (second,) = await workers(aiohttp_client, shared, {**OAUTH, "keys": TESTERS[:1]})
    (third,) = await workers(aiohttp_client, shared, OAUTH)
    assert await Flow(third, PUBLIC).ping(bob["access_token"]) == 401  # his key is back: not so
    assert await Flow(second, PUBLIC).ping(bob["access_token"]) == 401  # his tokens
    again = Flow(third, PUBLIC)
    again.client_id = flow.client_id
    status, fresh = await again.exchange(await again.code(key=BOB_KEY))
    assert status == 200 and await again.ping(fresh["access_token"]) == 200


async def test_with_redis_away_the_sign_in_says_unavailable_never_500(
    aiohttp_client: Any, upstream: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    away = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens there
    client = await aiohttp_client(
        create_app(make_settings(auth=OAUTH, redis_url=away, redis_timeout_s=0.3))
    )
    flow = Flow(client, f"http://{client.server.host}:{client.server.port}")
    flow.client_id = "client-anything"
    register = await client.post("/register", json={"redirect_uris": [CALLBACK]})
    assert register.status == 503 and (await register.json())["error"] == "temporarily_unavailable"
    assert register.headers["Retry-After"] == "1"
    page = await client.get("/authorize", params=flow.authorization())
    assert page.status == 503 and "temporarily_unavailable" in await page.text()
    status, body = await flow.refresh("some-refresh-token")
    assert (status, body["error"]) == (503, "temporarily_unavailable")
    response = await client.post(
        "/mcp",
        json={"jsonrpc": "2.0", "id": 1, "method": "ping"},
        headers={"Authorization": "Bearer some-token", "MCP-Protocol-Version": "2025-11-25"},
    )
    assert response.status == 503 and "sign_in_unavailable" in await response.text()
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]  # no traceback
