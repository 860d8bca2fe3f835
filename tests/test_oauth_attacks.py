"""The sign-in under attack (issue #20's red-team round): bounded registration, registered grant
types, keys that end their tokens, an issuer no header chooses, guessing counted per network and
in all, replayed codes, malformed input, PKCE's grammar and loopback redirect ports. Each test
here failed on the server before these fixes.
"""

from __future__ import annotations

import asyncio
import functools
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from yarl import URL

from sportstats.app import create_app
from sportstats.ops.oauth.store import MemoryGrants
from tests.test_oauth import (
    ALICE_KEY,
    BOB_KEY,
    CALLBACK,
    OAUTH,
    TESTERS,
    Flow,
    oauth_from_file,
    reload_testers,
)

PUBLIC = "http://127.0.0.1:5001"  # the configured public URL, so a proxy may be trusted
BEHIND_PROXY = {"public_url": PUBLIC}
PROXIED = {**OAUTH, "trusted_proxies": ["127.0.0.1/32"]}


def from_address(address: str) -> dict[str, str]:
    """Headers as the trusted proxy (this test, on 127.0.0.1) sends them for a client."""
    return {"X-Forwarded-For": address}


async def register(client: Any, address: str, **metadata: Any) -> Any:
    body = {"client_name": "flood", "redirect_uris": [CALLBACK], **metadata}
    response = await client.post("/register", json=body, headers=from_address(address))
    return response.status, await response.json()


@pytest.fixture
async def flow(make_client: Any) -> Flow:
    """A server on loopback in oauth mode, with a client registered."""
    client = await make_client(auth=OAUTH)
    flow = Flow(client, f"http://{client.server.host}:{client.server.port}")
    assert (await flow.register())[0] == 201
    return flow


@pytest.fixture
async def proxied(make_client: Any) -> Flow:
    """A server behind a trusted proxy (so each request can come from another address), with
    a client registered."""
    client = await make_client(auth=PROXIED, **BEHIND_PROXY)
    flow = Flow(client, PUBLIC)
    assert (await flow.register())[0] == 201
    return flow


# --- registration ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "metadata",
    [
        {"redirect_uris": [CALLBACK + "?" + "x" * 63_000]},
        {"redirect_uris": [CALLBACK + "?pad=" + "x" * 500]},  # past 500 characters
        {"redirect_uris": [f"{CALLBACK}?n={n}" for n in range(11)]},
        {"redirect_uris": [CALLBACK], "client_name": "n" * 101},
        {"redirect_uris": [CALLBACK], "client_name": ["a", "list"]},
        {"redirect_uris": [CALLBACK], "grant_types": []},
        {"redirect_uris": [CALLBACK], "grant_types": [["x"]]},
        {"redirect_uris": [CALLBACK], "grant_types": "authorization_code"},
    ],
    ids=["63kB", "long-uri", "11-uris", "long-name", "name-list", "no-grants", "nested-grants",
         "grants-text"],
)  # fmt: skip
async def test_registration_metadata_is_bounded_and_typed(flow: Flow, metadata: Any) -> None:
    response = await flow.client.post("/register", json=metadata)
    body = await response.json()
    assert response.status == 400, body
    assert body["error"] in ("invalid_client_metadata", "invalid_redirect_uri")
    assert body["error_description"]


async def test_registrations_are_limited_per_address_and_per_network(proxied: Flow) -> None:
    client = proxied.client
    statuses = [(await register(client, "203.0.113.7"))[0] for _ in range(11)]
    assert statuses == [201] * 10 + [429]
    status, body = await register(client, "203.0.113.7")
    assert status == 429 and body["error"] == "temporarily_unavailable"
    # one IPv6 /64 is one holder, whatever address in it asks
    statuses = [(await register(client, f"2001:db8:1:2::{n:x}"))[0] for n in range(31)]
    assert statuses == [201] * 30 + [429]
    # one IPv4 /24 likewise (203.0.113.7 made 10 of its 30 already)
    statuses = [(await register(client, f"203.0.113.{n}"))[0] for n in range(100, 121)]
    assert statuses == [201] * 20 + [429]
    assert (await register(client, "198.51.100.1"))[0] == 201  # another network is not held up


async def test_a_registration_flood_never_evicts_a_signed_in_testers_grant(
    make_client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # a small store makes eviction reachable in a test: 60 entries, 20 unused registrations
    monkeypatch.setattr("sportstats.app.MemoryGrants", functools.partial(MemoryGrants, 60))
    client = await make_client(auth={**PROXIED, "registrations_unused_max": 20}, **BEHIND_PROXY)
    flow = Flow(client, PUBLIC)
    await flow.register()
    tokens = await flow.tokens()
    statuses = [(await register(client, f"198.51.{n}.1"))[0] for n in range(200)]
    assert statuses.count(201) == 20 and statuses.count(503) == 180  # the tester's is used
    status, body = await register(client, "192.0.2.1")
    assert status == 503 and body["error"] == "temporarily_unavailable"
    assert await flow.ping(tokens["access_token"]) == 200
    status, newer = await flow.refresh(tokens["refresh_token"])
    assert status == 200 and await flow.ping(newer["access_token"]) == 200


async def test_an_unused_registration_is_forgotten_and_a_used_one_kept(make_client: Any) -> None:
    client = await make_client(auth={**OAUTH, "registration_unused_ttl_s": 1})
    base = f"http://{client.server.host}:{client.server.port}"
    used, unused = Flow(client, base), Flow(client, base)
    await used.register()
    await unused.register()
    await used.code()  # a sign-in: the registration is kept
    await asyncio.sleep(1.2)
    page = await client.get("/authorize", params=unused.authorization())
    assert page.status == 401 and "not registered" in await page.text()
    assert await used.ping((await used.tokens())["access_token"]) == 200


async def test_registered_grant_types_are_enforced_at_the_token_endpoint(flow: Flow) -> None:
    assert (await flow.register(grant_types=["authorization_code"]))[0] == 201
    tokens = await flow.tokens()
    assert "refresh_token" not in tokens  # none issued to a client that cannot use it
    assert await flow.ping(tokens["access_token"]) == 200
    assert (await flow.register(grant_types=["refresh_token"]))[0] == 201
    status, body = await flow.exchange(await flow.code())
    assert (status, body["error"]) == (400, "unauthorized_client")


# --- keys end their tokens -----------------------------------------------------------------


async def test_rotating_or_removing_a_key_ends_its_tokens_and_re_adding_the_name_does_not_revive(
    aiohttp_server: Any, aiohttp_client: Any, upstream: Any, tmp_path: Path
) -> None:
    config = tmp_path / "sportstats.yaml"
    settings = oauth_from_file(config)
    client = await aiohttp_client(await aiohttp_server(create_app(settings)))
    flow = Flow(client, f"http://{client.server.host}:{client.server.port}")
    await flow.register()
    alice = await flow.tokens()
    status, bob = await flow.exchange(await flow.code(key=BOB_KEY))
    assert status == 200

    async def keys(*testers: dict[str, str]) -> None:
        await reload_testers(client.app, config, list(testers))

    alice_rotated = {"name": "alice", "key": "alice-new-key-0123456789"}
    await keys(alice_rotated, TESTERS[1])  # alice's key rotated
    assert await flow.ping(alice["access_token"]) == 401
    assert (await flow.refresh(alice["refresh_token"]))[0] == 400
    assert await flow.ping(bob["access_token"]) == 200
    assert (await flow.sign_in(key=alice_rotated["key"])).status == 302  # her new key works

    await keys(alice_rotated)  # bob removed ...
    await keys(alice_rotated, {"name": "bob", "key": "bob-other-key-0123456789"})  # ... back
    assert await flow.ping(bob["access_token"]) == 401
    assert (await flow.refresh(bob["refresh_token"]))[0] == 400


# --- the issuer --------------------------------------------------------------------------------


async def test_no_forwarded_header_chooses_the_issuer_in_oauth_mode(make_client: Any) -> None:
    client = await make_client(auth=OAUTH)
    base = f"http://{client.server.host}:{client.server.port}"
    forged = {"X-Forwarded-Host": "evil.example", "X-Forwarded-Proto": "https"}
    server = await client.get("/.well-known/oauth-authorization-server", headers=forged)
    assert (await server.json())["issuer"] == base
    resource = await client.get("/.well-known/oauth-protected-resource/mcp", headers=forged)
    assert (await resource.json())["resource"] == f"{base}/mcp"
    for response in (server, resource):
        assert response.headers["Cache-Control"].startswith("private")  # no shared cache
    refused = await client.post("/mcp", json={"jsonrpc": "2.0", "id": 1, "method": "ping"},
                                headers=forged)  # fmt: skip
    assert "evil.example" not in refused.headers["WWW-Authenticate"]


async def test_behind_a_trusted_proxy_the_issuer_is_the_configured_public_url(
    proxied: Flow,
) -> None:
    forged = {"X-Forwarded-Host": "evil.example", "X-Forwarded-Proto": "https"}
    server = await proxied.client.get("/.well-known/oauth-authorization-server", headers=forged)
    assert (await server.json())["issuer"] == PUBLIC


# --- guessing ----------------------------------------------------------------------------------


async def test_wrong_keys_are_counted_per_network(make_client: Any) -> None:
    auth = {**PROXIED, "sign_in_failures_per_tester_per_minute": 1000}  # no ceiling in the way
    proxied = Flow(await make_client(auth=auth, **BEHIND_PROXY), PUBLIC)
    await proxied.register()
    statuses = []
    for n in range(40):  # 40 addresses of one IPv6 /64, each a fresh allowance of 5 before
        response = await proxied.client.post(
            "/authorize",
            data={**proxied.authorization(), "tester_key": f"guess-{n:04d}-0123456789"},
            headers=from_address(f"2001:db8:5:6::{n + 1:x}"),
            allow_redirects=False,
        )
        statuses.append(response.status)
    assert statuses == [401] * 20 + [429] * 20
    response = await proxied.client.post(  # the network waits, even with a right key
        "/authorize",
        data={**proxied.authorization(), "tester_key": ALICE_KEY},
        headers=from_address("2001:db8:5:6::ffff"),
        allow_redirects=False,
    )
    assert response.status == 429 and int(response.headers["Retry-After"]) >= 1


async def test_wrong_keys_from_everywhere_meet_a_ceiling_per_tester(make_client: Any) -> None:
    auth = {**PROXIED, "sign_in_failures_per_tester_per_minute": 3}  # 2 testers: 6 a minute
    client = await make_client(auth=auth, **BEHIND_PROXY)
    flow = Flow(client, PUBLIC)
    await flow.register()
    statuses = []
    for n in range(8):  # each from a network of its own
        response = await client.post(
            "/authorize",
            data={**flow.authorization(), "tester_key": f"guess-{n:04d}-0123456789"},
            headers=from_address(f"192.0.{n}.1"),
            allow_redirects=False,
        )
        statuses.append(response.status)
    assert statuses == [401] * 6 + [429] * 2


# --- codes ---------------------------------------------------------------------------------


async def test_a_replayed_code_revokes_the_tokens_issued_from_it(flow: Flow) -> None:
    code = await flow.code()
    status, tokens = await flow.exchange(code)
    assert status == 200 and await flow.ping(tokens["access_token"]) == 200
    status, body = await flow.exchange(code)
    assert (status, body["error"]) == (400, "invalid_grant")
    assert await flow.ping(tokens["access_token"]) == 401
    assert (await flow.refresh(tokens["refresh_token"]))[0] == 400


# --- malformed input and grammar -------------------------------------------------------------


def multipart(fields: dict[str, str]) -> aiohttp.FormData:
    form = aiohttp.FormData()
    for name, value in fields.items():
        form.add_field(name, value)
    form.add_field("file", b"\x00binary", filename="x.bin")
    return form


async def test_a_multipart_post_is_a_400_in_oauths_words(flow: Flow) -> None:
    code = await flow.code()
    fields = {"grant_type": "authorization_code", "code": code, "client_id": flow.client_id,
              "redirect_uri": CALLBACK, "code_verifier": flow.verifier}  # fmt: skip
    response = await flow.client.post("/token", data=multipart(fields))
    body = await response.json()
    assert response.status == 400 and body["error"] == "invalid_request"
    assert "x-www-form-urlencoded" in body["error_description"]
    assert (await flow.exchange(code))[0] == 200  # the refused form burnt nothing
    page = await flow.client.post(
        "/authorize", data=multipart({**flow.authorization(), "tester_key": ALICE_KEY})
    )
    assert page.status == 400 and "invalid_request" in await page.text()


@pytest.mark.parametrize("path", ["/token", "/authorize"])
async def test_a_form_that_is_not_utf8_is_a_400(flow: Flow, path: str) -> None:
    response = await flow.client.post(
        path,
        data=b"grant_type=authorization_code&code=\xff\xfe",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert response.status == 400 and "UTF-8" in await response.text()


async def test_a_parameter_sent_twice_is_a_400(flow: Flow) -> None:
    response = await flow.client.post(
        "/token", data=[("grant_type", "refresh_token"), ("grant_type", "authorization_code")]
    )
    assert response.status == 400 and (await response.json())["error"] == "invalid_request"


@pytest.mark.parametrize(
    "verifier",
    ["verifier-" + "\u00e9" * 40, "v" * 42, "v" * 129, "v" * 50 + " " + "v" * 10, ""],
    ids=["non-ascii", "42", "129", "space", "none"],
)
async def test_a_verifier_outside_rfc_7636_is_refused_and_burns_no_code(
    flow: Flow, verifier: str
) -> None:
    code = await flow.code()
    status, body = await flow.exchange(code, code_verifier=verifier)
    assert (status, body["error"]) == (400, "invalid_request") and "RFC 7636" in str(body)
    assert (await flow.exchange(code))[0] == 200  # the code still works with its verifier


@pytest.mark.parametrize("challenge", ["c" * 42, "c" * 129, "c" * 42 + "=", "\u00e9" * 43])
async def test_a_challenge_outside_rfc_7636_is_refused(flow: Flow, challenge: str) -> None:
    page = await flow.client.get("/authorize", params=flow.authorization(code_challenge=challenge))
    assert page.status == 400 and "RFC 7636" in await page.text()


async def test_a_refresh_without_client_id_is_refused_and_burns_nothing(flow: Flow) -> None:
    tokens = await flow.tokens()
    form = {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]}
    response = await flow.client.post("/token", data=form)
    body = await response.json()
    assert (response.status, body["error"]) == (400, "invalid_request")
    assert "client_id" in body["error_description"]
    assert (await flow.refresh(tokens["refresh_token"]))[0] == 200


async def test_registration_json_nested_deep_is_a_400(flow: Flow) -> None:
    body = "[" * 30_000 + "]" * 30_000
    response = await flow.client.post(
        "/register", data=body, headers={"Content-Type": "application/json"}
    )
    assert response.status == 400
    assert (await response.json())["error"] == "invalid_client_metadata"


@pytest.mark.parametrize(
    "client_id", ["https://[::1", "https://client.example:99999/c.json", "https://xn--/c.json"]
)
async def test_a_client_id_that_is_no_url_is_a_400_page(flow: Flow, client_id: str) -> None:
    page = await flow.client.get("/authorize", params=flow.authorization(client_id=client_id))
    assert page.status == 400 and "invalid_client" in await page.text()


# --- loopback redirects ------------------------------------------------------------------------


async def test_a_loopback_redirect_uri_matches_in_any_port(flow: Flow) -> None:
    assert (await flow.register(["http://127.0.0.1:3030/callback"]))[0] == 201
    other_port = "http://127.0.0.1:49152/callback"
    response = await flow.sign_in(redirect_uri=other_port)
    assert response.status == 302
    back = URL(response.headers["Location"])
    assert str(back.with_query(None)) == other_port
    status, _ = await flow.exchange(back.query["code"], redirect_uri=other_port)
    assert status == 200
    for refused in ("http://127.0.0.1:49152/elsewhere", "http://localhost:49152/callback"):
        page = await flow.client.get("/authorize", params=flow.authorization(redirect_uri=refused))
        assert page.status == 400 and "redirect_uri" in await page.text()


async def test_a_key_removed_and_added_back_does_not_bring_its_old_tokens_back(
    aiohttp_server: Any, aiohttp_client: Any, upstream: Any, tmp_path: Path
) -> None:
    config = tmp_path / "sportstats.yaml"
    settings = oauth_from_file(config)
    client = await aiohttp_client(await aiohttp_server(create_app(settings)))
    flow = Flow(client, f"http://{client.server.host}:{client.server.port}")
    await flow.register()
    status, bob = await flow.exchange(await flow.code(key=BOB_KEY))
    assert status == 200 and await flow.ping(bob["access_token"]) == 200

    for testers in (TESTERS[:1], TESTERS):  # bob removed, then back with the very same key
        await reload_testers(client.app, config, testers)

    assert await flow.ping(bob["access_token"]) == 401
    assert (await flow.refresh(bob["refresh_token"]))[0] == 400
    status, again = await flow.exchange(await flow.code(key=BOB_KEY))  # he signs in anew
    assert status == 200 and await flow.ping(again["access_token"]) == 200
