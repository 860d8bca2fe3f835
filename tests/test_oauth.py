"""OAuth sign-in for testers (`auth.mode: oauth`), end to end with the official MCP client's OAuth
support: discovery, registration, the sign-in form posted as a browser posts it, the token
exchange, a tool call, refresh, and the end of a tester's tokens when their key goes (SIGHUP).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import logging
import os
import re
import secrets
import signal
import socket
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import aiohttp
import httpx2
import jwt
import pytest
import yaml
from aiohttp import web
from mcp import Client
from mcp.client.auth import OAuthClientProvider
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.auth import (
    AuthorizationCodeResult,
    OAuthClientInformationFull,
    OAuthClientMetadata,
    OAuthToken,
)
from openapi_spec_validator import validate
from yarl import URL

from sportstats.app import create_app
from sportstats.settings import Settings, load_settings
from sportstats.web.keys import ACCESS
from tests.conftest import API_KEY, eventually, load_fixture, make_settings, upstream_route
from tests.mcp_support import NEGOTIATED

ALICE_KEY, BOB_KEY = "alice-key-0123456789", "bob-key-0123456789ab"
TESTERS = [{"name": "alice", "key": ALICE_KEY}, {"name": "bob", "key": BOB_KEY}]
OAUTH = {"mode": "oauth", "keys": TESTERS}
CALLBACK = "http://localhost:3030/callback"


class Fields(HTMLParser):
    """The sign-in form's hidden fields, as a browser would submit them."""

    def __init__(self) -> None:
        super().__init__()
        self.values: dict[str, str] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "input" and found.get("type") == "hidden" and found.get("name"):
            self.values[found["name"]] = found.get("value") or ""


def hidden_fields(page: str) -> dict[str, str]:
    parser = Fields()
    parser.feed(page)
    return parser.values


class SignInRefused(Exception):
    """The sign-in page did not send the tester back (it showed itself again)."""


@dataclass
class Browser:
    """The tester's side: opens the sign-in page, enters the key, follows nothing further."""

    key: str
    result: AuthorizationCodeResult | None = None
    pages: list[str] = field(default_factory=list)
    refusals: list[int] = field(default_factory=list)

    async def open(self, authorization_url: str) -> None:
        async with aiohttp.ClientSession() as session:
            async with session.get(authorization_url) as page:
                assert page.status == 200, await page.text()
                text = await page.text()
            self.pages.append(text)
            form = {**hidden_fields(text), "tester_key": self.key}
            action = URL(authorization_url).with_path("/authorize").with_query(None)
            async with session.post(action, data=form, allow_redirects=False) as answer:
                if answer.status != 302:
                    self.refusals.append(answer.status)
                    raise SignInRefused(await answer.text())
                back = URL(answer.headers["Location"])
        assert str(back.with_query(None)) == CALLBACK
        self.result = AuthorizationCodeResult(
            code=back.query["code"], state=back.query.get("state"), iss=back.query.get("iss")
        )

    async def callback(self) -> AuthorizationCodeResult:
        assert self.result is not None
        return self.result


class Memory:
    """The client's token storage."""

    def __init__(self) -> None:
        self.tokens: OAuthToken | None = None
        self.client: OAuthClientInformationFull | None = None
        self.history: list[OAuthToken] = []

    async def get_tokens(self) -> OAuthToken | None:
        return self.tokens

    async def set_tokens(self, tokens: OAuthToken) -> None:
        self.tokens = tokens
        self.history.append(tokens)

    async def get_client_info(self) -> OAuthClientInformationFull | None:
        return self.client

    async def set_client_info(self, client_info: OAuthClientInformationFull) -> None:
        self.client = client_info


def oauth_client(url: str, browser: Browser, storage: Memory) -> OAuthClientProvider:
    metadata = OAuthClientMetadata(
        client_name="a test assistant",
        redirect_uris=[CALLBACK],
        grant_types=["authorization_code", "refresh_token"],
        response_types=["code"],
        token_endpoint_auth_method="none",
    )
    return OAuthClientProvider(url, metadata, storage, browser.open, browser.callback)


@asynccontextmanager
async def signed_in(url: str, provider: OAuthClientProvider, mode: str) -> AsyncIterator[Client]:
    """The official client, its HTTP client signing in through `provider`."""
    http = httpx2.AsyncClient(auth=provider, timeout=30)
    async with http, Client(streamable_http_client(url, http_client=http), mode=mode) as client:
        yield client


async def test_a_tester_signs_in_through_the_sdk_calls_a_tool_and_refreshes(
    serve: Any, upstream: Any, mode: str
) -> None:
    upstream.get(upstream_route("/teams"), payload=load_fixture("teams_all.json"), repeat=True)
    url = await serve(auth={**OAUTH, "access_token_ttl_s": 2})
    browser, storage = Browser(ALICE_KEY), Memory()
    async with signed_in(url, oauth_client(url, browser, storage), mode) as mcp_client:
        assert mcp_client.protocol_version == NEGOTIATED[mode]
        first = await mcp_client.call_tool("get_teams", {"division": "Pacific"})
        assert first.is_error is False and len(first.structured_content["data"]) == 5
        assert storage.client is not None and storage.client.client_id.startswith("client-")
        assert "a test assistant" in browser.pages[0]  # the page names the client asking
        await asyncio.sleep(2.5)  # the access token expires: the client refreshes
        again = await mcp_client.call_tool("get_teams", {"division": "Atlantic"})
        assert again.is_error is False
    assert len(storage.history) >= 2
    first_refresh, later = storage.history[0].refresh_token, storage.history[-1].refresh_token
    assert first_refresh and later and first_refresh != later  # rotated


async def test_metadata_documents_and_the_401_that_points_to_them(make_client: Any) -> None:
    client = await make_client(auth=OAUTH)
    base = f"http://{client.server.host}:{client.server.port}"
    response = await client.post("/mcp", json={"jsonrpc": "2.0", "id": 1, "method": "ping"})
    assert response.status == 401
    challenge = response.headers["WWW-Authenticate"]
    assert (
        challenge == f'Bearer resource_metadata="{base}/.well-known/oauth-protected-resource/mcp"'
    )
    body = await response.json()
    assert body["jsonrpc"] == "2.0" and body["error"]["data"]["code"] == "unauthorized"
    data = await client.get("/teams")
    assert data.status == 401
    assert data.headers["WWW-Authenticate"].endswith('/.well-known/oauth-protected-resource"')

    resource = await (await client.get("/.well-known/oauth-protected-resource/mcp")).json()
    assert resource["resource"] == f"{base}/mcp" and resource["authorization_servers"] == [base]
    whole = await (await client.get("/.well-known/oauth-protected-resource")).json()
    assert whole["resource"] == base
    server = await (await client.get("/.well-known/oauth-authorization-server")).json()
    assert server["issuer"] == base
    assert server["code_challenge_methods_supported"] == ["S256"]
    assert server["client_id_metadata_document_supported"] is True
    assert server["authorization_response_iss_parameter_supported"] is True
    assert server["registration_endpoint"] == f"{base}/register"


# --- the flow by hand, and everything it refuses ---------------------------------------------


def pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
    return verifier, challenge.rstrip(b"=").decode()


@dataclass
class Flow:
    client: Any
    base: str
    client_id: str = ""
    verifier: str = ""

    async def register(self, redirect_uris: list[str] | None = None, **more: Any) -> Any:
        metadata = {"client_name": "hand", "redirect_uris": redirect_uris or [CALLBACK], **more}
        response = await self.client.post("/register", json=metadata)
        body = await response.json()
        if response.status == 201:
            self.client_id = body["client_id"]
        return response.status, body

    def authorization(self, **changes: str | None) -> dict[str, str]:
        self.verifier, challenge = pkce()
        query = {
            "response_type": "code",
            "client_id": self.client_id,
            "redirect_uri": CALLBACK,
            "code_challenge": challenge,
            "code_challenge_method": "S256",
            "state": "xyz",
            "resource": f"{self.base}/mcp",
        }
        query.update(changes)
        return {k: v for k, v in query.items() if v is not None}

    async def sign_in(self, key: str = ALICE_KEY, **changes: str | None) -> Any:
        return await self.client.post(
            "/authorize",
            data={**self.authorization(**changes), "tester_key": key},
            allow_redirects=False,
        )

    async def code(self, **changes: str | None) -> str:
        response = await self.sign_in(**changes)
        assert response.status == 302, await response.text()
        back = URL(response.headers["Location"])
        assert back.query["state"] == "xyz" and back.query["iss"] == self.base
        return back.query["code"]

    async def exchange(self, code: str, **changes: str) -> Any:
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "client_id": self.client_id,
            "redirect_uri": CALLBACK,
            "code_verifier": self.verifier,
            **changes,
        }
        response = await self.client.post("/token", data=form)
        return response.status, await response.json()

    async def refresh(self, token: str) -> Any:
        form = {"grant_type": "refresh_token", "refresh_token": token, "client_id": self.client_id}
        response = await self.client.post("/token", data=form)
        return response.status, await response.json()

    async def tokens(self) -> dict[str, Any]:
        status, body = await self.exchange(await self.code())
        assert status == 200, body
        return body

    async def ping(self, access_token: str, host: str | None = None) -> int:
        headers = {
            "Authorization": f"Bearer {access_token}",
            "MCP-Protocol-Version": "2025-11-25",
            **({"Host": host} if host else {}),
        }
        response = await self.client.post(
            "/mcp", json={"jsonrpc": "2.0", "id": 1, "method": "ping"}, headers=headers
        )
        return response.status


@pytest.fixture
async def flow(make_client: Any) -> Flow:
    client = await make_client(auth=OAUTH)
    flow = Flow(client, f"http://{client.server.host}:{client.server.port}")
    assert (await flow.register())[0] == 201
    return flow


async def test_a_code_is_used_once_and_only_with_its_verifier(flow: Flow) -> None:
    code = await flow.code()
    status, body = await flow.exchange(code, code_verifier="not-the-verifier-" + "x" * 30)
    assert (status, body["error"]) == (400, "invalid_grant")
    code = await flow.code()
    status, tokens = await flow.exchange(code)
    assert status == 200 and tokens["token_type"] == "Bearer" and tokens["refresh_token"]
    assert await flow.ping(tokens["access_token"]) == 200
    status, body = await flow.exchange(code)  # replayed
    assert (status, body["error"]) == (400, "invalid_grant")


async def test_an_expired_code_is_refused(flow: Flow, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sportstats.ops.oauth.server.CODE_TTL_S", 0.05)
    code = await flow.code()
    await asyncio.sleep(0.1)
    status, body = await flow.exchange(code)
    assert (status, body["error"]) == (400, "invalid_grant")


async def test_a_reused_refresh_token_ends_the_whole_grant(flow: Flow) -> None:
    tokens = await flow.tokens()
    status, newer = await flow.refresh(tokens["refresh_token"])
    assert status == 200 and newer["refresh_token"] != tokens["refresh_token"]
    assert await flow.ping(newer["access_token"]) == 200
    status, body = await flow.refresh(tokens["refresh_token"])  # the old one, again
    assert (status, body["error"]) == (400, "invalid_grant")
    assert await flow.ping(newer["access_token"]) == 401  # the grant has ended
    status, _ = await flow.refresh(newer["refresh_token"])
    assert status == 400


async def test_a_token_is_bound_to_this_server(flow: Flow) -> None:
    tokens = await flow.tokens()
    assert await flow.ping(tokens["access_token"]) == 200
    port = flow.base.rsplit(":", 1)[1]
    assert await flow.ping(tokens["access_token"], host=f"localhost:{port}") == 401
    response = await flow.sign_in(resource="https://elsewhere.example/mcp")
    assert response.status == 400 and "invalid_target" in await response.text()


@pytest.mark.parametrize(
    ("changes", "error"),
    [
        ({"client_id": "client-unknown"}, "invalid_client"),
        ({"redirect_uri": "http://localhost:3030/elsewhere"}, "invalid_request"),
        ({"code_challenge_method": "plain"}, "invalid_request"),
        ({"code_challenge": None, "code_challenge_method": None}, "invalid_request"),
        ({"response_type": "token"}, "unsupported_response_type"),
    ],
)
async def test_a_bad_authorization_request_is_refused_on_the_page_and_sends_nobody_back(
    flow: Flow, changes: dict[str, str | None], error: str
) -> None:
    page = await flow.client.get("/authorize", params=flow.authorization(**changes))
    assert page.status in (400, 401) and error in await page.text()
    response = await flow.sign_in(**changes)
    assert response.status in (400, 401) and "Location" not in response.headers


async def test_a_wrong_key_shows_the_page_again_and_failures_are_limited(flow: Flow) -> None:
    for _ in range(5):
        response = await flow.sign_in(key="wrong-key-0123456789")
        assert response.status == 401 and "Location" not in response.headers
        text = await response.text()
        assert "not accepted" in text and 'name="tester_key"' in text
    response = await flow.sign_in()  # the right key, but this address is blocked for now
    assert response.status == 429 and int(response.headers["Retry-After"]) >= 1


@pytest.mark.parametrize(
    ("metadata", "error"),
    [
        ({"redirect_uris": ["https://evil.example/cb"]}, "invalid_redirect_uri"),
        ({"redirect_uris": []}, "invalid_redirect_uri"),
        ({"redirect_uris": [CALLBACK], "token_endpoint_auth_method": "client_secret_basic"},
         "invalid_client_metadata"),
        ({"redirect_uris": [CALLBACK], "grant_types": ["client_credentials"]},
         "invalid_client_metadata"),
    ],
)  # fmt: skip
async def test_registration_refuses_what_it_cannot_serve(
    flow: Flow, metadata: dict[str, Any], error: str
) -> None:
    response = await flow.client.post("/register", json=metadata)
    assert response.status == 400 and (await response.json())["error"] == error


async def test_the_default_allowlist_takes_chatgpts_claudes_and_local_callbacks(flow: Flow) -> None:
    for uri in (
        "https://chatgpt.com/connector_platform_oauth_redirect",
        "https://claude.ai/api/mcp/auth_callback",
        "http://127.0.0.1:49152/oauth/callback",
    ):
        assert (await flow.register([uri]))[0] == 201


# --- client metadata documents -----------------------------------------------------------------

DOCUMENT_URL = "https://client.example.org/oauth/client.json"


def document(**changes: Any) -> dict[str, Any]:
    return {"client_id": DOCUMENT_URL, "client_name": "A Document Client",
            "redirect_uris": [CALLBACK], **changes}  # fmt: skip


def resolve_as(monkeypatch: pytest.MonkeyPatch, answers: dict[str, list[str]]) -> None:
    """The running loop resolves each name in `answers` to its addresses in turn (the last one
    stays), so that no DNS query for the tests' client documents leaves the machine."""
    loop = asyncio.get_running_loop()
    real = loop.getaddrinfo

    async def getaddrinfo(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        if host not in answers:
            return await real(host, port, *args, **kwargs)
        given = answers[host]
        address = given.pop(0) if len(given) > 1 else given[0]
        family = socket.AF_INET6 if ":" in address else socket.AF_INET
        sockaddr = (address, port, 0, 0) if family == socket.AF_INET6 else (address, port)
        return [(family, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", sockaddr)]

    monkeypatch.setattr(loop, "getaddrinfo", getaddrinfo)


@pytest.fixture
async def client_hosts(monkeypatch: pytest.MonkeyPatch) -> None:
    resolve_as(monkeypatch, {URL(DOCUMENT_URL).host or "": ["127.0.0.1"]})


@pytest.mark.usefixtures("client_hosts")
async def test_a_client_metadata_document_names_the_client(make_client: Any, upstream: Any) -> None:
    client = await make_client(auth={**OAUTH, "client_document_private_ok": True})
    upstream.get(DOCUMENT_URL, payload=document())
    flow = Flow(client, f"http://{client.server.host}:{client.server.port}", DOCUMENT_URL)
    page = await client.get("/authorize", params=flow.authorization())
    assert page.status == 200 and "A Document Client" in await page.text()
    assert await flow.ping((await flow.tokens())["access_token"]) == 200


@pytest.mark.parametrize(
    ("answer", "words"),
    [
        ({"body": "x" * 6000}, "over 5000 bytes"),
        ({"payload": document(client_id="https://other.example/c.json")}, "another client"),
        ({"payload": document(redirect_uris=["https://evil.example/cb"])}, "is not one"),
        ({"status": 404}, "answered 404"),
        ({"exception": TimeoutError()}, "could not be fetched"),
    ],
)
@pytest.mark.usefixtures("client_hosts")
async def test_a_bad_client_metadata_document_is_refused(
    make_client: Any, upstream: Any, answer: dict[str, Any], words: str
) -> None:
    client = await make_client(auth={**OAUTH, "client_document_private_ok": True})
    upstream.get(DOCUMENT_URL, **answer)
    flow = Flow(client, f"http://{client.server.host}:{client.server.port}", DOCUMENT_URL)
    page = await client.get("/authorize", params=flow.authorization())
    assert page.status in (400, 401) and words in await page.text()


@pytest.mark.parametrize(
    "client_id",
    ["http://client.example.org/c.json", "https://localhost/c.json", "https://127.0.0.1/c.json",
     "https://client.example.org/"],
)  # fmt: skip
async def test_a_document_must_be_https_on_a_public_address_with_a_path(
    make_client: Any, upstream: Any, client_id: str
) -> None:
    client = await make_client(auth=OAUTH)
    flow = Flow(client, f"http://{client.server.host}:{client.server.port}", client_id)
    page = await client.get("/authorize", params=flow.authorization())
    text = await page.text()
    assert page.status in (400, 401)
    assert re.search(r"https with a path|private or local address|does not resolve", text)
    assert not upstream.requests  # nothing was fetched


# --- a tester's end --------------------------------------------------------------------------


def oauth_from_file(config: Path) -> Settings:
    """OAuth settings read from `config`, a file the test then edits as an operator does."""
    config.write_text(yaml.safe_dump({"auth": OAUTH}))
    return load_settings(config_file=str(config), environ={"BALLDONTLIE_API_KEY": API_KEY})


async def reload_testers(app: web.Application, config: Path, testers: list[dict[str, str]]) -> None:
    """The testers changed as an operator changes them: the file rewritten, then SIGHUP; back
    once the running server has read the file again."""
    access = app[ACCESS]
    before = access.keys_version
    config.write_text(yaml.safe_dump({"auth": {**OAUTH, "keys": testers}}))
    os.kill(os.getpid(), signal.SIGHUP)
    await eventually(lambda: access.keys_version > before, "the tester keys reloaded")


async def test_sighup_after_removing_a_tester_ends_their_tokens(
    aiohttp_server: Any, aiohttp_client: Any, upstream: Any, tmp_path: Path
) -> None:
    config = tmp_path / "sportstats.yaml"
    settings = oauth_from_file(config)
    client = await aiohttp_client(await aiohttp_server(create_app(settings)))
    flow = Flow(client, f"http://{client.server.host}:{client.server.port}")
    await flow.register()
    alice = await flow.tokens()
    status, bob = await flow.exchange(await flow.code(key=BOB_KEY))
    assert status == 200 and await flow.ping(alice["access_token"]) == 200

    await reload_testers(client.app, config, TESTERS[1:])

    assert await flow.ping(alice["access_token"]) == 401
    assert (await flow.refresh(alice["refresh_token"]))[0] == 400
    assert await flow.ping(bob["access_token"]) == 200


async def test_the_testers_name_reaches_the_per_tester_limit(make_client: Any) -> None:
    client = await make_client(auth=OAUTH, limits={"burst": 6})  # the sign-ins take 5
    flow = Flow(client, f"http://{client.server.host}:{client.server.port}")
    await flow.register()
    alice = (await flow.tokens())["access_token"]
    bob = (await flow.exchange(await flow.code(key=BOB_KEY)))[1]["access_token"]
    assert [await flow.ping(alice) for _ in range(7)] == [200] * 6 + [429]
    assert await flow.ping(bob) == 200  # a bucket of his own


def test_settings_say_what_oauth_mode_needs() -> None:
    settings = make_settings(auth=OAUTH)
    assert settings.auth.mode == "oauth" and settings.auth.access_token_ttl_s == 3600


async def test_the_manifest_and_the_spec_follow_oauth_mode(make_client: Any) -> None:
    client = await make_client(auth=OAUTH)
    base = f"http://{client.server.host}:{client.server.port}"
    manifest = await (await client.get("/.well-known/ai-plugin.json")).json()
    assert manifest["auth"]["type"] == "oauth"
    assert manifest["auth"]["client_url"] == f"{base}/authorize"
    assert manifest["auth"]["authorization_url"] == f"{base}/token"
    spec = yaml.safe_load(await (await client.get("/openapi.yaml")).text())
    flow = spec["components"]["securitySchemes"]["oauth"]["flows"]["authorizationCode"]
    assert flow["authorizationUrl"] == f"{base}/authorize" and flow["tokenUrl"] == f"{base}/token"
    assert spec["security"] == [{"oauth": []}]
    validate(spec)


@pytest.mark.parametrize("mode", ["service", "user"])
async def test_the_spec_names_the_bearer_key_in_the_key_modes(make_client: Any, mode: str) -> None:
    auth = {"mode": mode, "service_token": "service-token-0123456789", "keys": TESTERS}
    client = await make_client(auth=auth)
    spec = yaml.safe_load(await (await client.get("/openapi.yaml")).text())
    assert spec["components"]["securitySchemes"] == {"bearer": {"type": "http", "scheme": "bearer"}}
    assert spec["security"] == [{"bearer": []}]


# --- tokens shared through Redis, and an external issuer ---------------------------------------


async def test_a_token_from_one_worker_is_accepted_by_another_through_redis(
    aiohttp_client: Any, upstream: Any, redis_url: str, redis_prefix: str
) -> None:
    shared = {"auth": OAUTH, "redis_url": redis_url, "redis_prefix": redis_prefix}
    one = await aiohttp_client(create_app(make_settings(**shared)))
    other = await aiohttp_client(create_app(make_settings(**shared)))
    flow = Flow(one, f"http://{one.server.host}:{one.server.port}")
    await flow.register()
    tokens = await flow.tokens()
    port = one.server.port
    headers = {  # the same public host, as behind one proxy
        "Authorization": f"Bearer {tokens['access_token']}",
        "Host": f"127.0.0.1:{port}",
        "MCP-Protocol-Version": "2025-11-25",
    }
    ping = {"jsonrpc": "2.0", "id": 1, "method": "ping"}
    assert (await other.post("/mcp", json=ping, headers=headers)).status == 200
    form = {
        "grant_type": "refresh_token",
        "refresh_token": tokens["refresh_token"],
        "client_id": flow.client_id,
    }
    refreshed = await other.post("/token", data=form, headers={"Host": f"127.0.0.1:{port}"})
    assert refreshed.status == 200  # the other worker rotates it
    again = await one.post("/token", data=form)
    assert (await again.json())["error"] == "invalid_grant"  # and the first knows it is used


@pytest.fixture
def issuer_keys() -> Any:
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public = jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key(), as_dict=True)
    return key, {"keys": [{**public, "kid": "k1", "use": "sig", "alg": "RS256"}]}


async def test_an_external_issuers_jwts_are_checked(
    aiohttp_server: Any, make_client: Any, issuer_keys: Any
) -> None:
    key, jwks = issuer_keys

    async def keys(_: web.Request) -> web.Response:
        return web.json_response(jwks)

    keys_app = web.Application()
    keys_app.router.add_get("/jwks.json", keys)
    keys_server = await aiohttp_server(keys_app)
    issuer = "https://login.example.org"
    client = await make_client(
        auth={
            "mode": "oauth",
            "issuer": issuer,
            "jwks_url": str(keys_server.make_url("/jwks.json")),
        }
    )
    base = f"http://{client.server.host}:{client.server.port}"
    now = int(time.time())
    good = {"iss": issuer, "aud": f"{base}/mcp", "sub": "carol", "exp": now + 300, "iat": now}

    def token(claims: dict[str, Any], signer: Any = key, kid: str = "k1") -> str:
        return jwt.encode(claims, signer, algorithm="RS256", headers={"kid": kid})

    flow = Flow(client, base)
    assert await flow.ping(token(good)) == 200
    from cryptography.hazmat.primitives.asymmetric import rsa

    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    for refused in (
        token({**good, "iss": "https://elsewhere.example"}),
        token({**good, "aud": "https://other.example/mcp"}),
        token({**good, "exp": now - 10}),
        token(good, signer=stranger),
        token(good, kid="unknown"),
        "not-a-jwt",
    ):
        assert await flow.ping(refused) == 401
    resource = await (await client.get("/.well-known/oauth-protected-resource/mcp")).json()
    assert resource["authorization_servers"] == [issuer]
    assert (await client.get("/authorize")).status == 404  # no sign-in of our own


async def test_the_sdk_client_loses_access_when_its_tester_is_removed(
    aiohttp_server: Any, upstream: Any, tmp_path: Path
) -> None:
    upstream.get(upstream_route("/teams"), payload=load_fixture("teams_all.json"), repeat=True)
    config = tmp_path / "sportstats.yaml"
    settings = oauth_from_file(config)
    server = await aiohttp_server(create_app(settings))
    url = str(server.make_url("/mcp"))
    browser, storage = Browser(ALICE_KEY), Memory()
    answered = []
    with pytest.raises(ExceptionGroup) as ended:  # the SDK's task group carries the refusal out
        async with signed_in(url, oauth_client(url, browser, storage), "legacy") as mcp_client:
            answered.append(await mcp_client.call_tool("get_teams", {}))
            await reload_testers(server.app, config, TESTERS[1:])
            await mcp_client.call_tool("get_teams", {})  # refused: signs in again, and cannot
    assert len(answered) == 1 and answered[0].is_error is False
    assert ended.group_contains(SignInRefused, depth=None)
    assert browser.refusals == [401]  # her key no longer signs her in


async def test_the_signed_in_testers_name_reaches_the_access_log(
    flow: Flow, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="sportstats.access")
    tokens = await flow.tokens()
    assert await flow.ping(tokens["access_token"]) == 200
    lines = [r.getMessage() for r in caplog.records if r.name == "sportstats.access"]
    assert any("client=alice" in line and "endpoint=mcp" in line for line in lines), lines
    assert any("endpoint=oauth_token" in line for line in lines), lines
    assert not any(tokens["access_token"] in line for line in lines)
