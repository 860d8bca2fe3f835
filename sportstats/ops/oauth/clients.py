"""Which OAuth clients may ask for a tester's sign-in, and where they may send the tester back.

Two ways in, as the MCP authorization specification has them: a Client ID Metadata Document (the
client id is an HTTPS URL; the server fetches the document it names, with size and time limits
and never from a private or loopback address, unless `client_document_private_ok` is set for
tests), and dynamic registration (RFC 7591) for hosts that still use it. Either way a redirect
URI must also be on the operator's allowlist, matched exactly (a loopback entry ending in `/*`
takes any port and path, as RFC 8252 lets native clients pick a port).
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import secrets
import time
from typing import Any

import aiohttp
from yarl import URL

from ...settings import AuthSettings
from .store import GrantStore

CLIENT_TTL_S = 365 * 86400  # a registered client is kept a year
DOCUMENT_TTL_S = 3600  # a fetched client metadata document is trusted for an hour
MAX_DOCUMENTS = 1000
MAX_REDIRECT_URIS = 10
MAX_NAME_CHARS = 100
LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})


class OAuthError(Exception):
    """An OAuth refusal (RFC 6749 section 5.2): its `error` code and what was wrong."""

    def __init__(self, error: str, description: str, status: int = 400) -> None:
        super().__init__(description)
        self.error = error
        self.description = description
        self.status = status

    def body(self) -> dict[str, str]:
        return {"error": self.error, "error_description": self.description}


def redirect_allowed(uri: str, allowlist: list[str]) -> bool:
    """Is `uri` on the allowlist: the same text, or a loopback entry's host with any port/path?"""
    if uri in allowlist:
        return True
    try:
        given = URL(uri)
    except ValueError:
        return False
    for entry in allowlist:
        if not entry.endswith("/*"):
            continue
        allowed = URL(entry[:-2])
        if (
            allowed.host in LOOPBACK_HOSTS
            and given.scheme == allowed.scheme
            and given.host == allowed.host
            and not given.user
            and not given.fragment
        ):
            return True
    return False


class Clients:
    """Registered clients (in the grant store) and fetched metadata documents (cached here)."""

    def __init__(self, store: GrantStore, settings: AuthSettings) -> None:
        self.store = store
        self.settings = settings
        self._documents: dict[str, tuple[float, dict[str, Any]]] = {}
        self._session: aiohttp.ClientSession | None = None

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()

    def _check_redirects(self, uris: Any) -> list[str]:
        if not isinstance(uris, list) or not 0 < len(uris) <= MAX_REDIRECT_URIS:
            raise OAuthError(
                "invalid_redirect_uri", f"redirect_uris must list 1 to {MAX_REDIRECT_URIS} URIs."
            )
        for uri in uris:
            if not isinstance(uri, str) or not redirect_allowed(uri, self.settings.redirect_uris):
                raise OAuthError(
                    "invalid_redirect_uri",
                    f"The redirect URI {str(uri)[:120]!r} is not one this server sends testers to.",
                )
        return uris

    async def register(self, metadata: Any) -> dict[str, Any]:
        """Dynamic registration: a public client (no secret) with allowed redirect URIs."""
        if not isinstance(metadata, dict):
            raise OAuthError("invalid_client_metadata", "Send the client metadata as JSON.")
        method = metadata.get("token_endpoint_auth_method", "none")
        if method != "none":
            raise OAuthError(
                "invalid_client_metadata",
                "Only public clients are registered (token_endpoint_auth_method none, with PKCE).",
            )
        grants = metadata.get("grant_types", ["authorization_code", "refresh_token"])
        if not isinstance(grants, list) or not set(grants) <= {
            "authorization_code",
            "refresh_token",
        }:
            raise OAuthError(
                "invalid_client_metadata", "grant_types may be authorization_code, refresh_token."
            )
        client = {
            "client_id": "client-" + secrets.token_urlsafe(16),
            "client_id_issued_at": int(time.time()),
            "client_name": str(metadata.get("client_name") or "")[:MAX_NAME_CHARS] or None,
            "redirect_uris": self._check_redirects(metadata.get("redirect_uris")),
            "grant_types": grants,
            "response_types": ["code"],
            "token_endpoint_auth_method": "none",
        }
        client = {k: v for k, v in client.items() if v is not None}
        await self.store.put("client:" + client["client_id"], client, CLIENT_TTL_S)
        return client

    async def find(self, client_id: str) -> dict[str, Any]:
        """The client `client_id` names, or `invalid_client`."""
        if client_id.startswith(("https://", "http://")):
            return await self._document(client_id)
        client = await self.store.get("client:" + client_id) if client_id else None
        if client is None:
            raise OAuthError("invalid_client", "This client is not registered here.", 401)
        return client

    async def _document(self, url: str) -> dict[str, Any]:
        cached = self._documents.get(url)
        if cached is not None and cached[0] > time.time():
            return cached[1]
        document = await self._fetch(url)
        if document.get("client_id") != url:
            raise OAuthError("invalid_client", "The client metadata document names another client.")
        self._check_redirects(document.get("redirect_uris"))
        if len(self._documents) >= MAX_DOCUMENTS:
            self._documents.pop(next(iter(self._documents)))
        self._documents[url] = (time.time() + DOCUMENT_TTL_S, document)
        return document

    async def _fetch(self, url: str) -> dict[str, Any]:
        """The document at `url`: HTTPS, a public address, small, quick, JSON, no redirects."""
        target = URL(url)
        if target.scheme != "https" or not target.host or target.path in ("", "/"):
            raise OAuthError("invalid_client", "A client id URL must be https with a path.")
        await self._check_address(target.host, target.port or 443)
        timeout = aiohttp.ClientTimeout(total=self.settings.client_document_timeout_s)
        if self._session is None:
            self._session = aiohttp.ClientSession()
        limit = self.settings.client_document_max_bytes
        try:
            async with self._session.get(url, timeout=timeout, allow_redirects=False) as response:
                body = await response.content.read(limit + 1)
                status = response.status
        except (TimeoutError, aiohttp.ClientError) as exc:
            raise OAuthError(
                "invalid_client", f"The client metadata document could not be fetched: {exc}."
            ) from None
        if status != 200:
            raise OAuthError("invalid_client", f"The client metadata document answered {status}.")
        if len(body) > limit:
            raise OAuthError(
                "invalid_client", f"The client metadata document is over {limit} bytes."
            )
        try:
            document = json.loads(body)
        except ValueError:
            raise OAuthError(
                "invalid_client", "The client metadata document is not JSON."
            ) from None
        if not isinstance(document, dict):
            raise OAuthError("invalid_client", "The client metadata document is not an object.")
        return document

    async def _check_address(self, host: str, port: int) -> None:
        """Refuse a host that resolves to a private, loopback or otherwise internal address."""
        if self.settings.client_document_private_ok:
            return
        try:
            infos = await asyncio.get_running_loop().getaddrinfo(host, port)
        except OSError:
            raise OAuthError(
                "invalid_client", f"The client's host {host!r} does not resolve."
            ) from None
        for info in infos:
            address = ipaddress.ip_address(info[4][0])
            if not address.is_global:
                raise OAuthError(
                    "invalid_client",
                    f"The client's host {host!r} is on a private or local address.",
                )
