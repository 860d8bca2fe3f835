"""Which OAuth clients may ask for a tester's sign-in.

Two ways in, as the MCP authorization specification has them: a Client ID Metadata Document (the
client id is an HTTPS URL the server fetches, `documents`), and dynamic registration (RFC 7591)
for hosts that still use it. Registration is open to anyone, so it is bounded: the metadata's
size (`metadata`), a rate per address and per network, and a cap on registrations not yet used,
kept apart from grants and tokens; an unused registration is forgotten after a short while, one
used for a sign-in is kept as long as a refresh token.
"""

from __future__ import annotations

import math
import secrets
import time
from typing import Any

from ...settings import AuthSettings
from .counts import Counts, network_of
from .documents import fetch_document
from .errors import OAuthError
from .metadata import checked_metadata
from .store import GrantStore

DOCUMENT_TTL_S = 3600  # a fetched client metadata document is trusted for an hour
MAX_DOCUMENTS = 1000
UNUSED = "unused-clients"  # the store's group of registrations not yet used


class Clients:
    """Registered clients (in the grant store) and fetched metadata documents (cached here)."""

    def __init__(self, store: GrantStore, settings: AuthSettings, counts: Counts) -> None:
        self.store = store
        self.settings = settings
        self.counts = counts
        self._documents: dict[str, tuple[float, dict[str, Any]]] = {}

    async def register(self, metadata: Any, address: str) -> dict[str, Any]:
        """Dynamic registration: a public client (no secret) with allowed redirect URIs."""
        wait_s, _ = await self.counts.take(
            [
                (f"register:address:{address}", self.settings.registrations_per_minute),
                (
                    f"register:network:{network_of(address)}",
                    self.settings.registrations_per_minute_network,
                ),
            ]
        )
        if wait_s:
            raise OAuthError(
                "temporarily_unavailable",
                f"Too many registrations from your network; try again in {math.ceil(wait_s)}"
                " seconds.",
                429,
                wait_s,
            )
        checked = checked_metadata(metadata, self.settings.redirect_uris)
        if metadata.get("token_endpoint_auth_method", "none") != "none":
            raise OAuthError(
                "invalid_client_metadata",
                "Only public clients are registered (token_endpoint_auth_method none, with PKCE).",
            )
        client = {
            "client_id": "client-" + secrets.token_urlsafe(16),
            "client_id_issued_at": int(time.time()),
            **checked,
            "response_types": ["code"],
            "token_endpoint_auth_method": "none",
        }
        wait_s = await self.store.put_capped(
            UNUSED,
            "client:" + client["client_id"],
            client,
            self.settings.registration_unused_ttl_s,
            self.settings.registrations_unused_max,
        )
        if wait_s:
            raise OAuthError(
                "temporarily_unavailable",
                "Too many clients are registered and not yet used; try again in"
                f" {math.ceil(wait_s)} seconds.",
                503,
                wait_s,
            )
        return client

    async def used(self, client: dict[str, Any]) -> None:
        """`client` signed a tester in: a registered one is kept as long as a refresh token."""
        if str(client["client_id"]).startswith("client-"):
            key = "client:" + client["client_id"]
            await self.store.put(key, client, self.settings.refresh_token_ttl_s)
            await self.store.leave(UNUSED, key)

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
        document = await fetch_document(url, self.settings)
        if document.get("client_id") != url:
            raise OAuthError("invalid_client", "The client metadata document names another client.")
        client = {"client_id": url, **checked_metadata(document, self.settings.redirect_uris)}
        if len(self._documents) >= MAX_DOCUMENTS:
            self._documents.pop(next(iter(self._documents)))
        self._documents[url] = (time.time() + DOCUMENT_TTL_S, client)
        return client
