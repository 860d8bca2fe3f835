"""The testers' authorization server, as the MCP authorization specification describes it.

Authorization code with PKCE (S256 only, RFC 7636's grammar) and `state`, the issuer in the
redirect (RFC 9207), resource indicators (RFC 8707: a token names this server, and is refused for
anything else), short-lived access tokens and rotating refresh tokens: each refresh token is used
once, and a second use ends its whole grant (it was stolen, or replayed); so does a second use of
a code (RFC 9700 section 4.5). A tester signs in with the key the operator gave them
(`auth.keys`); every grant is tied to a digest of that key (`keys`), so rotating or removing the
key (and sending SIGHUP) ends every token issued under it, for good. Wrong keys are counted per
address, per network and in all, across processes with Redis. PKCE's S256 is authlib's.
"""

from __future__ import annotations

import math
import re
import secrets
from dataclasses import dataclass, field
from typing import Any

from authlib.oauth2.rfc7636 import create_s256_code_challenge

from ...settings import AuthSettings
from ..auth import MCP_PATH
from .clients import Clients
from .counts import Counts, network_of
from .errors import OAuthError
from .keys import KeyLedger
from .metadata import GRANT_TYPES, redirect_matches
from .store import GrantStore, digest

CODE_TTL_S = 300
MAX_PARAM_CHARS = 2000
PKCE_GRAMMAR = re.compile(r"[A-Za-z0-9\-._~]{43,128}")  # RFC 7636 sections 4.1 and 4.2


@dataclass(frozen=True)
class SignInRequest:
    """A checked authorization request: who asks, where the tester goes back, for what."""

    client_id: str
    client_name: str
    redirect_uri: str
    code_challenge: str
    state: str | None
    resource: str
    scope: str | None
    client: dict[str, Any] = field(compare=False, repr=False)

    def form_fields(self) -> dict[str, str]:
        """The request as the sign-in form carries it back (hidden fields)."""
        fields = {
            "response_type": "code",
            "client_id": self.client_id,
            "redirect_uri": self.redirect_uri,
            "code_challenge": self.code_challenge,
            "code_challenge_method": "S256",
            "resource": self.resource,
            "state": self.state,
            "scope": self.scope,
        }
        return {k: v for k, v in fields.items() if v is not None}


def resources_of(base: str) -> tuple[str, str]:
    """What a token may be bound to: the MCP endpoint, or the server as a whole."""
    return f"{base}{MCP_PATH}", base


class AuthorizationServer:
    """Codes and tokens for testers; `tester_of` says which tester a presented token is."""

    def __init__(
        self, settings: AuthSettings, store: GrantStore, testers: Any, counts: Counts
    ) -> None:
        self.settings = settings
        self.store = store
        self.counts = counts
        self.clients = Clients(store, settings, counts)
        self.testers = testers  # AccessControl: `tester(key)`, `testers`, `key_id(name)`
        self.keys = KeyLedger(store, testers, settings.refresh_token_ttl_s)

    async def close(self) -> None:
        """A key recording under way finishes (each client document is fetched with a session
        of its own: nothing else is held open)."""
        await self.keys.close()

    @staticmethod
    def metadata(base: str) -> dict[str, Any]:
        """RFC 8414 authorization server metadata."""
        return {
            "issuer": base,
            "authorization_endpoint": f"{base}/authorize",
            "token_endpoint": f"{base}/token",
            "registration_endpoint": f"{base}/register",
            "response_types_supported": ["code"],
            "grant_types_supported": ["authorization_code", "refresh_token"],
            "code_challenge_methods_supported": ["S256"],
            "token_endpoint_auth_methods_supported": ["none"],
            "scopes_supported": [],
            "client_id_metadata_document_supported": True,
            "authorization_response_iss_parameter_supported": True,
        }

    async def sign_in_request(self, params: Any, base: str) -> SignInRequest:
        """The authorization request, checked; any fault is an `OAuthError` shown to the tester
        (never a redirect to a URI not yet known to be the client's)."""
        given = {k: str(params.get(k, ""))[:MAX_PARAM_CHARS] for k in params}
        client = await self.clients.find(given.get("client_id", ""))
        redirect_uri = given.get("redirect_uri") or ""
        if not redirect_matches(redirect_uri, client.get("redirect_uris", [])):
            raise OAuthError("invalid_request", "redirect_uri is not one this client registered.")
        if given.get("response_type") != "code":
            raise OAuthError("unsupported_response_type", "Only response_type=code is served.")
        if not given.get("code_challenge") or given.get("code_challenge_method") != "S256":
            raise OAuthError(
                "invalid_request", "PKCE is required: code_challenge with method S256."
            )
        if not PKCE_GRAMMAR.fullmatch(given["code_challenge"]):
            raise OAuthError(
                "invalid_request",
                "code_challenge must be 43 to 128 of A-Z a-z 0-9 - . _ ~ (RFC 7636).",
            )
        resource = given.get("resource") or resources_of(base)[0]
        if resource.rstrip("/") not in resources_of(base):
            raise OAuthError("invalid_target", f"This server is {base}; it issues no other tokens.")
        return SignInRequest(
            client_id=client["client_id"],
            client_name=str(client.get("client_name") or client["client_id"]),
            redirect_uri=redirect_uri,
            code_challenge=given["code_challenge"],
            state=given.get("state") or None,
            resource=resource.rstrip("/"),
            scope=given.get("scope") or None,
            client=client,
        )

    def _failure_limits(self, address: str) -> list[tuple[str, int]]:
        ceiling = self.settings.sign_in_failures_per_tester_per_minute
        return [
            (f"sign-in:address:{address}", self.settings.sign_in_failures_per_minute),
            (
                f"sign-in:network:{network_of(address)}",
                self.settings.sign_in_failures_per_minute_network,
            ),
            ("sign-in:all", ceiling * max(1, len(self.testers.testers))),
        ]

    async def sign_in_attempt(self, address: str) -> tuple[int, str]:
        """Count a key about to be checked from `address`: (0, a receipt), or the seconds until
        it may try again when it, its network or everyone is at the limit of wrong keys (counted
        across processes when Redis is shared). A right key gives its receipt back."""
        wait_s, receipt = await self.counts.take(self._failure_limits(address))
        return (math.ceil(wait_s), "") if wait_s else (0, receipt)

    async def sign_in_right(self, address: str, receipt: str) -> None:
        await self.counts.give_back([key for key, _ in self._failure_limits(address)], receipt)

    async def issue_code(self, request: SignInRequest, tester: str) -> str:
        code = secrets.token_urlsafe(32)
        grant = {
            **request.form_fields(),
            "tester": tester,
            **await self.keys.stamp(tester),
            "grant_types": request.client.get("grant_types", ["authorization_code"]),
        }
        await self.store.put("code:" + digest(code), grant, CODE_TTL_S)
        await self.clients.used(request.client)
        return code

    async def token(self, form: dict[str, str], base: str) -> dict[str, Any]:
        """The token endpoint: a code (with its PKCE verifier) or a refresh token, for tokens."""
        grant_type = form.get("grant_type")
        if grant_type == "authorization_code":
            return await self._exchange_code(form, base)
        if grant_type == "refresh_token":
            return await self._refresh(form)
        raise OAuthError(
            "unsupported_grant_type", "grant_type must be authorization_code or refresh_token."
        )

    async def _exchange_code(self, form: dict[str, str], base: str) -> dict[str, Any]:
        code, verifier = form.get("code") or "", form.get("code_verifier") or ""
        if not code or not PKCE_GRAMMAR.fullmatch(verifier):
            raise OAuthError(
                "invalid_request",
                "Send the code and its code_verifier: 43 to 128 of A-Z a-z 0-9 - . _ ~ (RFC 7636).",
            )
        code_key = digest(code)
        grant = await self.store.take("code:" + code_key)
        if grant is None:
            used = await self.store.get("used-code:" + code_key)
            if used is not None:  # a replayed code: what was issued from it ends (RFC 9700)
                await self.store.delete("grant:" + used["grant"])
            raise OAuthError("invalid_grant", "The code is unknown, used already or expired.")
        grant_id = secrets.token_urlsafe(16)
        await self.store.put("used-code:" + code_key, {"grant": grant_id}, self._refresh_ttl)
        if form.get("client_id") != grant["client_id"]:
            raise OAuthError("invalid_grant", "The code was issued to another client.")
        if "authorization_code" not in grant.get("grant_types", GRANT_TYPES):
            raise OAuthError(
                "unauthorized_client", "This client did not register grant_type authorization_code."
            )
        if form.get("redirect_uri") != grant["redirect_uri"]:
            raise OAuthError("invalid_grant", "redirect_uri differs from the authorization's.")
        if not secrets.compare_digest(
            create_s256_code_challenge(verifier), grant["code_challenge"]
        ):
            raise OAuthError("invalid_grant", "The code_verifier does not match the challenge.")
        resource = (form.get("resource") or grant["resource"]).rstrip("/")
        if resource != grant["resource"] or resource not in resources_of(base):
            raise OAuthError("invalid_target", "The resource differs from the authorization's.")
        if not await self.keys.current(grant):
            raise OAuthError("invalid_grant", "This tester's access has ended.")
        await self.store.put("grant:" + grant_id, {"tester": grant["tester"]}, self._refresh_ttl)
        held = {
            "tester": grant["tester"],
            "key": grant["key"],
            "issued_at": grant["issued_at"],
            "client_id": grant["client_id"],
            "resource": resource,
            "grant": grant_id,
            "grant_types": grant.get("grant_types", GRANT_TYPES),
        }
        return await self._tokens(held)

    @property
    def _refresh_ttl(self) -> float:
        return float(self.settings.refresh_token_ttl_s)

    async def _refresh(self, form: dict[str, str]) -> dict[str, Any]:
        token, client_id = form.get("refresh_token") or "", form.get("client_id") or ""
        if not token or not client_id:
            raise OAuthError(
                "invalid_request", "A refresh needs refresh_token and client_id (OAuth 2.1)."
            )
        key = digest(token)
        held = await self.store.take("refresh:" + key)
        if held is None:
            used = await self.store.get("used:" + key)
            if used is not None:  # a second use: the grant ends, for every token of it
                await self.store.delete("grant:" + used["grant"])
            raise OAuthError("invalid_grant", "The refresh token is unknown, used or expired.")
        await self.store.put("used:" + key, {"grant": held["grant"]}, self._refresh_ttl)
        if client_id != held["client_id"]:
            raise OAuthError("invalid_grant", "The refresh token was issued to another client.")
        if await self.store.get("grant:" + held["grant"]) is None:
            raise OAuthError("invalid_grant", "This grant has ended.")
        if not await self.keys.current(held):
            raise OAuthError("invalid_grant", "This tester's access has ended.")
        return await self._tokens(held)

    async def _tokens(self, held: dict[str, Any]) -> dict[str, Any]:
        access = secrets.token_urlsafe(32)
        await self.store.put("access:" + digest(access), held, self.settings.access_token_ttl_s)
        tokens: dict[str, Any] = {
            "access_token": access,
            "token_type": "Bearer",
            "expires_in": self.settings.access_token_ttl_s,
        }
        if "refresh_token" in held.get("grant_types", GRANT_TYPES):
            refresh = secrets.token_urlsafe(32)
            await self.store.put("refresh:" + digest(refresh), held, self._refresh_ttl)
            tokens["refresh_token"] = refresh
        return tokens

    async def tester_of(self, token: str, base: str) -> str | None:
        """The tester an access token stands for here, or None (unknown, expired, ended, its key
        rotated or removed, or bound to another server)."""
        held = await self.store.get("access:" + digest(token))
        if held is None or held["resource"] not in resources_of(base):
            return None
        if not await self.keys.current(held):
            return None
        if await self.store.get("grant:" + held["grant"]) is None:
            return None
        return held["tester"]
