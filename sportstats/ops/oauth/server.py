"""The testers' authorization server, as the MCP authorization specification describes it.

Authorization code with PKCE (S256 only) and `state`, the issuer in the redirect (RFC 9207),
resource indicators (RFC 8707: a token names this server, and is refused for anything else),
short-lived access tokens and rotating refresh tokens: each refresh token is used once, and a
second use ends its whole grant (it was stolen, or replayed). A tester signs in with the key the
operator gave them (`auth.keys`); removing them from the keys and sending SIGHUP ends their
tokens, since every token is checked against the current keys. PKCE's S256 is authlib's.
"""

from __future__ import annotations

import secrets
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from authlib.oauth2.rfc7636 import create_s256_code_challenge

from ...settings import AuthSettings
from ..auth import MCP_PATH
from .clients import Clients, OAuthError
from .store import GrantStore, digest

CODE_TTL_S = 300
MAX_PARAM_CHARS = 2000
MAX_FAILING_ADDRESSES = 10_000


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


class SignInFailures:
    """Wrong keys per address in the last minute: past the limit, no key is even checked."""

    def __init__(self, per_minute: int) -> None:
        self.per_minute = per_minute
        self._failures: OrderedDict[str, list[float]] = OrderedDict()

    def blocked_s(self, address: str) -> int:
        """Seconds until `address` may try again (0: now)."""
        recent = [t for t in self._failures.get(address, []) if t > time.monotonic() - 60]
        if len(recent) < self.per_minute:
            return 0
        return max(1, int(recent[0] + 60 - time.monotonic()) + 1)

    def failed(self, address: str) -> None:
        now = time.monotonic()
        recent = [t for t in self._failures.pop(address, []) if t > now - 60] + [now]
        self._failures[address] = recent[-self.per_minute :]
        while len(self._failures) > MAX_FAILING_ADDRESSES:
            self._failures.popitem(last=False)


class AuthorizationServer:
    """Codes and tokens for testers; `tester_of` says which key a presented secret is."""

    def __init__(self, settings: AuthSettings, store: GrantStore, testers: Any) -> None:
        self.settings = settings
        self.store = store
        self.clients = Clients(store, settings)
        self.testers = testers  # AccessControl: `tester(key)` and the current `testers`
        self.failures = SignInFailures(settings.sign_in_failures_per_minute)

    async def close(self) -> None:
        await self.clients.close()

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
        if redirect_uri not in client.get("redirect_uris", []):
            raise OAuthError("invalid_request", "redirect_uri is not one this client registered.")
        if given.get("response_type") != "code":
            raise OAuthError("unsupported_response_type", "Only response_type=code is served.")
        if not given.get("code_challenge") or given.get("code_challenge_method") != "S256":
            raise OAuthError(
                "invalid_request", "PKCE is required: code_challenge with method S256."
            )
        resource = given.get("resource") or resources_of(base)[0]
        if resource.rstrip("/") not in resources_of(base):
            raise OAuthError("invalid_target", f"This server is {base}; it issues no other tokens.")
        return SignInRequest(
            client_id=client["client_id"],
            client_name=client.get("client_name") or str(client["client_id"]),
            redirect_uri=redirect_uri,
            code_challenge=given["code_challenge"],
            state=given.get("state") or None,
            resource=resource.rstrip("/"),
            scope=given.get("scope") or None,
        )

    async def issue_code(self, request: SignInRequest, tester: str) -> str:
        code = secrets.token_urlsafe(32)
        grant = {**request.form_fields(), "tester": tester}
        await self.store.put("code:" + digest(code), grant, CODE_TTL_S)
        return code

    async def token(self, form: Any, base: str) -> dict[str, Any]:
        """The token endpoint: a code (with its PKCE verifier) or a refresh token, for tokens."""
        grant_type = form.get("grant_type")
        if grant_type == "authorization_code":
            return await self._exchange_code(form, base)
        if grant_type == "refresh_token":
            return await self._refresh(form)
        raise OAuthError(
            "unsupported_grant_type", "grant_type must be authorization_code or refresh_token."
        )

    async def _exchange_code(self, form: Any, base: str) -> dict[str, Any]:
        code, verifier = form.get("code") or "", form.get("code_verifier") or ""
        grant = await self.store.take("code:" + digest(code)) if code else None
        if grant is None:
            raise OAuthError("invalid_grant", "The code is unknown, used already or expired.")
        if form.get("client_id") != grant["client_id"]:
            raise OAuthError("invalid_grant", "The code was issued to another client.")
        if form.get("redirect_uri") != grant["redirect_uri"]:
            raise OAuthError("invalid_grant", "redirect_uri differs from the authorization's.")
        if not verifier or not secrets.compare_digest(
            create_s256_code_challenge(verifier), grant["code_challenge"]
        ):
            raise OAuthError("invalid_grant", "The code_verifier does not match the challenge.")
        resource = (form.get("resource") or grant["resource"]).rstrip("/")
        if resource != grant["resource"] or resource not in resources_of(base):
            raise OAuthError("invalid_target", "The resource differs from the authorization's.")
        if grant["tester"] not in self.testers.testers:
            raise OAuthError("invalid_grant", "This tester's access has ended.")
        grant_id = secrets.token_urlsafe(16)
        await self.store.put("grant:" + grant_id, {"tester": grant["tester"]}, self._refresh_ttl)
        return await self._tokens(grant["tester"], grant["client_id"], resource, grant_id)

    @property
    def _refresh_ttl(self) -> float:
        return float(self.settings.refresh_token_ttl_s)

    async def _refresh(self, form: Any) -> dict[str, Any]:
        token = form.get("refresh_token") or ""
        key = digest(token)
        held = await self.store.take("refresh:" + key) if token else None
        if held is None:
            used = await self.store.get("used:" + key) if token else None
            if used is not None:  # a second use: the grant ends, for every token of it
                await self.store.delete("grant:" + used["grant"])
            raise OAuthError("invalid_grant", "The refresh token is unknown, used or expired.")
        await self.store.put("used:" + key, {"grant": held["grant"]}, self._refresh_ttl)
        if form.get("client_id") and form.get("client_id") != held["client_id"]:
            raise OAuthError("invalid_grant", "The refresh token was issued to another client.")
        if await self.store.get("grant:" + held["grant"]) is None:
            raise OAuthError("invalid_grant", "This grant has ended.")
        if held["tester"] not in self.testers.testers:
            raise OAuthError("invalid_grant", "This tester's access has ended.")
        return await self._tokens(
            held["tester"], held["client_id"], held["resource"], held["grant"]
        )

    async def _tokens(
        self, tester: str, client_id: str, resource: str, grant: str
    ) -> dict[str, Any]:
        access, refresh = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        held = {"tester": tester, "client_id": client_id, "resource": resource, "grant": grant}
        await self.store.put("access:" + digest(access), held, self.settings.access_token_ttl_s)
        await self.store.put("refresh:" + digest(refresh), held, self._refresh_ttl)
        return {
            "access_token": access,
            "token_type": "Bearer",
            "expires_in": self.settings.access_token_ttl_s,
            "refresh_token": refresh,
        }

    async def tester_of(self, token: str, base: str) -> str | None:
        """The tester an access token stands for here, or None (unknown, expired, ended, or
        bound to another server)."""
        held = await self.store.get("access:" + digest(token))
        if held is None or held["resource"] not in resources_of(base):
            return None
        if held["tester"] not in self.testers.testers:
            return None
        if await self.store.get("grant:" + held["grant"]) is None:
            return None
        return held["tester"]
