"""Access control: who may call the server, and from which networks.

`auth.mode` says who may call: `none` (local development), `service` (the assistant platform
sends one shared bearer token), `user` (each tester has an own key, reloaded from the config
file on SIGHUP) or `oauth` (each tester signs in with that key once, then sends OAuth tokens).
Only the plugin files, the health probes and CORS preflights are public; every other path,
including routes added later (MCP, metrics), needs a credential. A refused request gets a 401
before any handler runs, so it costs no upstream call and says nothing about the keys.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import logging
import math
import secrets
from collections import Counter
from collections.abc import Callable, Iterable
from typing import Any, Protocol

from aiohttp import web

from .. import errors
from ..errors import ApiError
from ..settings import AuthSettings, SettingsError, parse_tester_keys, read_config_file
from .oauth.errors import OAuthError

log = logging.getLogger(__name__)

Network = ipaddress.IPv4Network | ipaddress.IPv6Network

PROBE_PATHS = frozenset({"/healthz", "/readyz"})
MCP_PATH = "/mcp"  # the MCP endpoint: JSON-RPC, refused in JSON-RPC, its own resource
RESOURCE_METADATA_PATH = "/.well-known/oauth-protected-resource"
# What a client needs before it has a token (oauth mode): the metadata and the sign-in.
OAUTH_PATHS = frozenset(
    {
        RESOURCE_METADATA_PATH,
        RESOURCE_METADATA_PATH + MCP_PATH,
        "/.well-known/oauth-authorization-server",
        "/authorize",
        "/token",
        "/register",
    }
)
PUBLIC_PATHS = (
    PROBE_PATHS
    | OAUTH_PATHS
    | {"/.well-known/ai-plugin.json", "/openapi.yaml", "/logo.png", "/legal"}
)
METRICS_PATH = "/metrics"

# What the access control learned about a request, for the limits, the access log and metrics.
TESTER = "sportstats.tester"  # the tester's name (user mode), never the key
CLIENT_ADDRESS = "sportstats.client_address"  # the client's IP, X-Forwarded-For resolved

CREDENTIALS_HINT = (
    "Send the key as 'Authorization: Bearer <key>'; the server's operator hands out keys."
)


def manifest_auth(auth: AuthSettings, base: str = "") -> dict[str, Any]:
    """The manifest's `auth` section for the configured mode (`base`: our public URL)."""
    if auth.mode == "oauth":
        return {
            "type": "oauth",
            "client_url": f"{base}/authorize",
            "authorization_url": f"{base}/token",
            "scope": "",
            "authorization_content_type": "application/x-www-form-urlencoded",
        }
    if auth.mode == "user":
        return {"type": "user_http", "authorization_type": "bearer"}
    if auth.mode == "service":
        section: dict[str, Any] = {"type": "service_http", "authorization_type": "bearer"}
        if auth.verification_token:
            section["verification_tokens"] = {"openai": auth.verification_token}
        return section
    return {"type": "none"}


LOCAL_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})  # what a local client calls us


def on_loopback(host: str) -> bool:
    """Does the server listen on a loopback address only (local development)?"""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def parse_networks(cidrs: Iterable[str]) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(cidr, strict=False) for cidr in cidrs)


def _in(address: str, networks: Iterable[Network]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in networks)


def client_address(request: web.Request, trusted_proxies: tuple[Network, ...]) -> str:
    """The client's IP: the peer's, unless the peer is a trusted proxy.

    Behind trusted proxies, `X-Forwarded-For` is read right to left (each proxy appends the
    address it saw), skipping trusted hops; the first untrusted address is the client. A forged
    entry further left is never reached, and a header from an untrusted peer is ignored.
    """
    address = request.remote or ""
    if not trusted_proxies or not _in(address, trusted_proxies):
        return address
    hops = [
        hop.strip()
        for value in request.headers.getall("X-Forwarded-For", ())
        for hop in value.split(",")
    ]
    for hop in reversed(hops):
        try:
            ipaddress.ip_address(hop)
        except ValueError:
            break  # garbage: the last proxy's own view is all we can trust
        address = hop
        if not _in(hop, trusted_proxies):
            break
    return address


def public_base(request: web.Request, configured: str | None, access: AccessControl) -> str:
    """The URL clients reach us at: configured, else as the request (or its proxy) says."""
    if configured:
        return configured
    if not access.trusts_forwarding(request):
        return f"{request.scheme}://{request.host}"
    proto = request.headers.get("X-Forwarded-Proto", request.scheme).split(",")[0].strip()
    host = request.headers.get("X-Forwarded-Host", request.host).split(",")[0].strip()
    if proto not in ("http", "https"):
        proto = request.scheme
    if not host or any(ch in host for ch in "/\\ \"'<>"):
        host = request.host
    return f"{proto}://{host}"


def key_id(key: str) -> str:
    """A tester key's digest, the same in every process (a grant in Redis names it); it stands
    for the key in the grant store, never the key itself."""
    return hashlib.blake2b(key.encode(), digest_size=16, person=b"sportstats-key").hexdigest()


class TokenVerifier(Protocol):
    """Who an OAuth access token stands for here (our own server's, or an external issuer's)."""

    async def tester_of(self, token: str, base: str) -> str | None: ...


def bearer_token(request: web.Request) -> str | None:
    scheme, _, token = request.headers.get("Authorization", "").strip().partition(" ")
    token = token.strip()
    return token if scheme.lower() == "bearer" and token else None


class AccessControl:
    """The credentials and networks the server accepts; the tester keys can be reloaded."""

    def __init__(
        self,
        auth: AuthSettings,
        metrics_token: str | None = None,
        config_file: str | None = None,
        public_url: str | None = None,
    ) -> None:
        self.mode = auth.mode
        self.public_url = public_url
        self.tokens: TokenVerifier | None = None  # oauth mode: set once the store exists
        self.config_file = config_file
        self.allow_networks = parse_networks(auth.allow_networks)
        self.trusted_proxies = parse_networks(auth.trusted_proxies)
        self.usage: Counter[str] = Counter()  # accepted requests per tester name
        self.key_listeners: list[Callable[[], None]] = []  # told after the keys are reloaded
        # Tokens are compared as keyed digests: equal lengths, so compare_digest leaks nothing,
        # not even a key's length.
        self._secret = secrets.token_bytes(32)
        self._service = self._digest(auth.service_token) if auth.service_token else None
        self._metrics = self._digest(metrics_token) if metrics_token else None
        self._testers: list[tuple[bytes, str]] = []
        self.set_keys(auth.keys)
        if self.mode in ("user", "oauth") and not self._testers and not auth.issuer:
            log.warning(
                "auth.mode is %s but no tester keys are configured: all requests fail", self.mode
            )

    def trusts_forwarding(self, request: web.Request) -> bool:
        """May this request's X-Forwarded-* headers be believed? From the configured proxies
        only; with none configured (local development, a proxy not yet named), from anyone,
        except in oauth mode, where they would choose the issuer a client is told."""
        if not self.trusted_proxies:
            return self.mode != "oauth"
        return self.from_trusted_proxy(request)

    def from_trusted_proxy(self, request: web.Request) -> bool:
        """Is the peer one of `auth.trusted_proxies` (none configured: no request is)?"""
        return bool(self.trusted_proxies) and _in(request.remote or "", self.trusted_proxies)

    def _digest(self, token: str) -> bytes:
        return hmac.new(self._secret, token.encode(), hashlib.sha256).digest()

    def set_keys(self, keys: Iterable[Any]) -> None:
        keys = list(keys)
        self._testers = [(self._digest(k.key), k.name) for k in keys]
        self._key_ids = {k.name: key_id(k.key) for k in keys}
        self.keys_version = getattr(self, "keys_version", 0) + 1  # OAuth's ledger re-reads

    @property
    def key_ids(self) -> list[str]:
        return list(self._key_ids.values())

    def key_id(self, name: str) -> str | None:
        """The digest of tester `name`'s current key (None: no such tester): what an OAuth grant
        is tied to, so that a rotated or removed key ends the tokens issued under it."""
        return self._key_ids.get(name)

    @property
    def testers(self) -> list[str]:
        return [name for _, name in self._testers]

    def tester(self, token: str) -> str | None:
        """The tester whose key `token` is; every key is compared, in constant time."""
        digest = self._digest(token)
        found = None
        for key, name in self._testers:
            if hmac.compare_digest(key, digest):
                found = name
        return found

    def _matches(self, expected: bytes | None, token: str) -> bool:
        return expected is not None and hmac.compare_digest(expected, self._digest(token))

    def reload_keys(self) -> bool:
        """Read the tester list from the config file again; keep the old one if it is bad."""
        if not self.config_file:
            log.error("cannot reload tester keys: the server was started without a config file")
            return False
        try:
            section = read_config_file(self.config_file).get("auth") or {}
            if not isinstance(section, dict):
                raise SettingsError("auth in the config file must be a section of keys")
            keys = parse_tester_keys(section.get("keys", []))
        except SettingsError as exc:
            log.error("tester keys not reloaded, %d kept in use: %s", len(self._testers), exc)
            return False
        self.set_keys(keys)
        log.info("tester keys reloaded from %s: %d testers", self.config_file, len(keys))
        for listener in self.key_listeners:
            listener()
        return True

    def _refuse(self, token: str | None, request: web.Request | None = None) -> ApiError:
        hint = CREDENTIALS_HINT
        challenge = 'Bearer realm="sportstats"'
        if request is not None:  # oauth: where to learn how to get a token (RFC 9728)
            base = public_base(request, self.public_url, self)
            suffix = MCP_PATH if request.path == MCP_PATH else ""
            challenge = f'Bearer resource_metadata="{base}{RESOURCE_METADATA_PATH}{suffix}"'
            hint = "Sign in through OAuth: the resource metadata in WWW-Authenticate says where."
        if token is None:
            message = "This server needs an API key." if request is None else "Sign in first."
        else:
            message = (
                "The API key was not accepted." if request is None else "The token was refused."
            )
            challenge += ', error="invalid_token"'
        return ApiError(401, errors.UNAUTHORIZED, message, hint, {"WWW-Authenticate": challenge})

    async def _authenticate(self, request: web.Request) -> None:
        if request.path == METRICS_PATH and self._metrics is not None:
            token = bearer_token(request)
            if token is None or not self._matches(self._metrics, token):
                raise self._refuse(token)
            return
        if self.mode == "none":
            return
        token = bearer_token(request)
        if token is not None and self.mode == "service" and self._matches(self._service, token):
            return
        name = None
        if token is not None and self.mode == "user":
            name = self.tester(token)
        elif token is not None and self.mode == "oauth" and self.tokens is not None:
            try:
                name = await self.tokens.tester_of(
                    token, public_base(request, self.public_url, self)
                )
            except OAuthError as exc:  # the token store is away: neither yes nor no
                raise ApiError(
                    exc.status,
                    errors.SIGN_IN_UNAVAILABLE,
                    exc.description,
                    "Try again in a moment; the server's operator is told in its log.",
                    {"Retry-After": str(math.ceil(exc.retry_after_s or 1))},
                ) from None
        if name is None:
            raise self._refuse(token, request if self.mode == "oauth" else None)
        request[TESTER] = name
        self.usage[name] += 1

    async def admit(self, request: web.Request) -> None:
        """Record the client's address; refuse (403/401) who may not ask, else return."""
        address = client_address(request, self.trusted_proxies)
        request[CLIENT_ADDRESS] = address
        request[TESTER] = None  # set, so that readers' `request.get` finds it without a KeyError
        if (
            self.allow_networks
            and request.path not in PROBE_PATHS
            and not _in(address, self.allow_networks)
        ):
            raise ApiError(
                403,
                errors.FORBIDDEN,
                "This server does not serve your network.",
                "Ask the server's operator to add your network to auth.allow_networks.",
            )
        if request.method != "OPTIONS" and request.path not in PUBLIC_PATHS:
            await self._authenticate(request)

    @property
    def reloads_on_sighup(self) -> bool:
        """In user and oauth mode, SIGHUP reloads the tester keys from the config file."""
        return self.mode in ("user", "oauth") and bool(self.config_file)
