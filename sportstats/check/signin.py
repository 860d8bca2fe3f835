"""The OAuth half of the check, as the MCP authorization specification has a host do it:
discovery from the 401, the resource and authorization-server metadata, a client (dynamic
registration, or a client metadata document given by URL), authorization with PKCE S256 and
`state`, the sign-in page filled in with the tester key, the token exchange and a refresh."""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
from dataclasses import dataclass
from html.parser import HTMLParser
from typing import Any

import aiohttp
from yarl import URL

from .report import CheckFailed, Report, answer_of, said_by

CLIENT_NAME = "sportstats check"
CHATGPT_REDIRECT = "https://chatgpt.com/connector_platform_oauth_redirect"


@dataclass
class Grant:
    """What the sign-in gave: the tokens, and what a refresh needs."""

    access_token: str
    refresh_token: str | None
    token_endpoint: str
    client_id: str
    resource: str


@dataclass
class Server:
    """The authorization server as its metadata describes it."""

    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    registration_endpoint: str | None
    resource: str


def resource_metadata_url(challenge: str) -> str | None:
    """The `resource_metadata` a 401's `WWW-Authenticate` names (RFC 9728), if any."""
    found = re.search(r'resource_metadata="([^"]+)"', challenge)
    return found.group(1) if found else None


def pkce_pair() -> tuple[str, str]:
    """A PKCE verifier and its S256 challenge (RFC 7636)."""
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


class HiddenFields(HTMLParser):
    """The sign-in form's hidden fields, read as a browser would post them back."""

    def __init__(self) -> None:
        super().__init__()
        self.fields: dict[str, str] = {}
        self.has_key_field = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        named = dict(attrs)
        if tag != "input":
            return
        if named.get("type") == "hidden" and named.get("name"):
            self.fields[str(named["name"])] = named.get("value") or ""
        if named.get("name") == "tester_key":
            self.has_key_field = True


async def get_json(session: aiohttp.ClientSession, url: str, what: str) -> dict[str, Any]:
    try:
        async with session.get(url) as response:
            status, body, text = await answer_of(response)
    except aiohttp.ClientError as exc:
        raise CheckFailed(f"{what} at {url} could not be fetched: {exc}") from None
    if status != 200 or not isinstance(body, dict):
        raise CheckFailed(f"{what} at {url} answered {status}: {said_by(body, text)}")
    return body


async def discover(session: aiohttp.ClientSession, report: Report, metadata_url: str) -> Server:
    report.start("resource metadata")
    resource = await get_json(session, metadata_url, "the resource metadata")
    issuers = resource.get("authorization_servers") or []
    if not issuers or not resource.get("resource"):
        raise CheckFailed("the resource metadata names no resource or authorization server")
    report.ok(f"resource {resource['resource']}, tokens from {issuers[0]}")
    report.start("authorization server metadata")
    issuer = str(issuers[0]).rstrip("/")
    meta = await get_json(
        session, f"{issuer}/.well-known/oauth-authorization-server", "the server metadata"
    )
    if "S256" not in meta.get("code_challenge_methods_supported", []):
        raise CheckFailed("the authorization server does not offer PKCE S256, which hosts require")
    missing = [key for key in ("authorization_endpoint", "token_endpoint") if key not in meta]
    if missing:
        raise CheckFailed(f"the authorization server's metadata has no {' or '.join(missing)}")
    if meta.get("issuer", "").rstrip("/") != issuer:
        raise CheckFailed(f"the metadata's issuer {meta.get('issuer')!r} is not {issuer!r}")
    server = Server(
        issuer=meta["issuer"],
        authorization_endpoint=meta["authorization_endpoint"],
        token_endpoint=meta["token_endpoint"],
        registration_endpoint=meta.get("registration_endpoint"),
        resource=str(resource["resource"]),
    )
    report.ok(f"authorization at {server.authorization_endpoint}, PKCE S256")
    return server


async def client_id_for(
    session: aiohttp.ClientSession,
    report: Report,
    server: Server,
    redirect_uri: str,
    document: str | None,
) -> str:
    """A client id: the metadata document's URL when one is given, else registered."""
    if document:
        report.skip("registration", f"the client metadata document {document} is the client id")
        return document
    report.start("registration")
    if not server.registration_endpoint:
        raise CheckFailed(
            "the server offers no dynamic registration",
            "Pass --client-id with the URL of a client metadata document the server can fetch.",
        )
    metadata = {
        "client_name": CLIENT_NAME,
        "redirect_uris": [redirect_uri],
        "grant_types": ["authorization_code", "refresh_token"],
        "response_types": ["code"],
        "token_endpoint_auth_method": "none",
    }
    async with session.post(server.registration_endpoint, json=metadata) as response:
        status, body, text = await answer_of(response)
    if status != 201 or not isinstance(body, dict) or not body.get("client_id"):
        fix = ""
        if isinstance(body, dict) and body.get("error") == "invalid_redirect_uri":
            fix = (
                "Pass --redirect-uri with one on the server's auth.redirect_uris, e.g."
                f" ChatGPT's {CHATGPT_REDIRECT}, or add {redirect_uri} there."
            )
        raise CheckFailed(f"registration refused ({status}): {said_by(body, text)}", fix)
    report.ok(f"client {body['client_id']} for {redirect_uri}")
    return str(body["client_id"])


async def sign_in(
    session: aiohttp.ClientSession,
    report: Report,
    server: Server,
    client_id: str,
    redirect_uri: str,
    key: str,
) -> Grant:
    verifier, challenge = pkce_pair()
    state = secrets.token_urlsafe(16)
    query = {
        "response_type": "code",
        "client_id": client_id,
        "redirect_uri": redirect_uri,
        "code_challenge": challenge,
        "code_challenge_method": "S256",
        "state": state,
        "resource": server.resource,
    }
    report.start("authorization with PKCE")
    async with session.get(URL(server.authorization_endpoint).with_query(query)) as response:
        status, _, page = await answer_of(response)
    form = HiddenFields()
    form.feed(page)
    if status != 200 or not form.has_key_field:
        raise CheckFailed(f"no sign-in page ({status}): {said_by(None, page)}")
    report.ok("the sign-in page asks for the tester key")
    report.start("sign-in with the tester key")
    posted = {**form.fields, "tester_key": key}
    async with session.post(
        server.authorization_endpoint, data=posted, allow_redirects=False
    ) as response:
        status, _, page = await answer_of(response)
        back = URL(response.headers.get("Location", ""))
    if status != 302:
        alert = re.search(r'role="alert">([^<]+)<', page)
        said = alert.group(1) if alert else said_by(None, page)
        raise CheckFailed(
            f"the key was not accepted ({status}): {said}",
            "Check the key against auth.keys in the server's config file (SIGHUP reloads it).",
        )
    if str(back.with_query(None)) != redirect_uri or back.query.get("state") != state:
        raise CheckFailed(
            f"sent back to {back.with_query(None)}, not {redirect_uri} with our state"
        )
    if back.query.get("iss", "").rstrip("/") != server.issuer.rstrip("/"):
        raise CheckFailed(f"the redirect's iss {back.query.get('iss')!r} is not {server.issuer!r}")
    report.ok(f"a code sent back to {redirect_uri}, state and issuer as expected")
    return await exchange_code(session, report, server, client_id, redirect_uri, back, verifier)


async def exchange_code(
    session: aiohttp.ClientSession,
    report: Report,
    server: Server,
    client_id: str,
    redirect_uri: str,
    back: URL,
    verifier: str,
) -> Grant:
    report.start("token")
    form = {
        "grant_type": "authorization_code",
        "code": back.query.get("code", ""),
        "redirect_uri": redirect_uri,
        "client_id": client_id,
        "code_verifier": verifier,
        "resource": server.resource,
    }
    tokens = await post_token(session, server.token_endpoint, form)
    grant = Grant(
        tokens["access_token"],
        tokens.get("refresh_token"),
        server.token_endpoint,
        client_id,
        server.resource,
    )
    lasts = f", for {tokens['expires_in']} s" if "expires_in" in tokens else ""
    refresh = " and a refresh token" if grant.refresh_token else ", no refresh token"
    report.ok(f"an access token{lasts}{refresh}")
    return grant


async def post_token(
    session: aiohttp.ClientSession, token_endpoint: str, form: dict[str, str]
) -> dict[str, Any]:
    async with session.post(token_endpoint, data=form) as response:
        status, body, text = await answer_of(response)
    if status != 200 or not isinstance(body, dict) or not body.get("access_token"):
        raise CheckFailed(f"the token endpoint answered {status}: {said_by(body, text)}")
    if str(body.get("token_type", "")).lower() != "bearer":
        raise CheckFailed(f"the token type is {body.get('token_type')!r}, not Bearer")
    return body


async def refresh(session: aiohttp.ClientSession, report: Report, grant: Grant) -> str:
    report.start("refresh")
    if not grant.refresh_token:
        raise CheckFailed("no refresh token was issued: hosts would sign testers in again hourly")
    form = {
        "grant_type": "refresh_token",
        "refresh_token": grant.refresh_token,
        "client_id": grant.client_id,
        "resource": grant.resource,
    }
    tokens = await post_token(session, grant.token_endpoint, form)
    if tokens["access_token"] == grant.access_token:
        raise CheckFailed("the refresh gave the same access token back")
    report.ok(
        "a new access token"
        + (", the refresh token rotated" if tokens.get("refresh_token") else "")
    )
    return str(tokens["access_token"])
