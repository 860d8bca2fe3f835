"""Who may call (`auth`): the modes, the tester keys, and the OAuth server's options."""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Annotated, Any

from pydantic import BeforeValidator, model_validator
from yarl import URL

from .base import MIN_TOKEN_CHARS, PLACEHOLDER, Float, Int, Names, Section, SettingsError, option

AUTH_MODES = ("none", "service", "user", "oauth")
# Where ChatGPT and Claude send a tester back after sign-in, and local clients (any port).
DEFAULT_REDIRECT_URIS = [
    "https://chatgpt.com/connector_platform_oauth_redirect",
    "https://claude.ai/api/mcp/auth_callback",
    "https://claude.com/api/mcp/auth_callback",
    "http://localhost/*",
    "http://127.0.0.1/*",
    "http://[::1]/*",
]


@dataclass
class TesterKey:
    """One tester's key: the name appears in logs and metrics, the key never does."""

    name: str
    key: str = field(repr=False)


def parse_tester_keys(value: Any, where: str = "auth.keys") -> list[TesterKey]:
    """The tester list (`[{name, key}, ...]`) from a config file, checked: names and keys unique."""
    if not isinstance(value, list):
        raise SettingsError(f"{where} must be a list of {{name, key}} entries")
    keys: list[TesterKey] = []
    for number, item in enumerate(value, 1):
        if isinstance(item, TesterKey):
            item = {"name": item.name, "key": item.key}
        if not isinstance(item, Mapping) or set(item) != {"name", "key"}:
            raise SettingsError(f"{where} entry {number} must have exactly a name and a key")
        name, key = str(item["name"] or "").strip(), str(item["key"] or "").strip()
        if not name or len(key) < MIN_TOKEN_CHARS:
            raise SettingsError(
                f"{where} entry {number} needs a name and a key of at least"
                f" {MIN_TOKEN_CHARS} characters"
            )
        if PLACEHOLDER in key:
            raise SettingsError(f"{where} entry {number} still has the example's placeholder key")
        if any(k.name == name for k in keys) or any(k.key == key for k in keys):
            raise SettingsError(f"{where} entry {number} repeats a name or a key")
        keys.append(TesterKey(name, key))
    return keys


class AuthSettings(Section):
    """Who may call: anyone (none), one shared token (service), testers' keys (user) or testers
    signed in through OAuth (oauth)."""

    mode: str = option("none", "who may call: `none`, `service`, `user` or `oauth`")
    service_token: str = option(
        "", "service mode: the bearer token the assistant platform sends", repr=False
    )
    verification_token: str = option("", "service mode: the manifest's OpenAI verification token")
    keys: Annotated[list[TesterKey], BeforeValidator(parse_tester_keys)] = option(
        None,
        "user and oauth modes: the testers, `[{name, key}, ...]`",
        default_factory=list,
        repr=False,
    )
    allow_networks: Names = option(
        None, "CIDRs allowed to call; everyone else gets 403 (empty: all)", default_factory=list
    )
    trusted_proxies: Names = option(
        None, "proxies whose X-Forwarded-For is honoured", default_factory=list
    )
    redirect_uris: Names = option(
        None,
        "oauth mode: the redirect URIs a client may register, matched exactly (a loopback one"
        " ending in `/*`: any port and path)",
        default_factory=lambda: list(DEFAULT_REDIRECT_URIS),
        shown="ChatGPT's and Claude's callbacks, loopback ones",
    )
    access_token_ttl_s: Int = option(3600, "oauth mode: how long an access token is accepted")
    refresh_token_ttl_s: Int = option(
        30 * 86400, "oauth mode: how long a refresh token (each is used once) stays valid"
    )
    sign_in_failures_per_minute: Int = option(
        5, "oauth mode: wrong tester keys an address may try a minute on the sign-in page"
    )
    sign_in_failures_per_minute_network: Int = option(
        20,
        "oauth mode: wrong tester keys a network (an IPv6 /64, an IPv4 /24) may try a minute,"
        " counted across processes with Redis",
    )
    sign_in_failures_per_tester_per_minute: Int = option(
        10,
        "oauth mode: the ceiling on wrong keys from everywhere a minute, per tester in"
        " `auth.keys` (a wrong key names no tester: the ceiling is this times the testers)",
    )
    registrations_per_minute: Int = option(
        10, "oauth mode: client registrations (`POST /register`) an address may make a minute"
    )
    registrations_per_minute_network: Int = option(
        30, "oauth mode: client registrations a network (IPv6 /64, IPv4 /24) may make a minute"
    )
    registration_unused_ttl_s: Int = option(
        600,
        "oauth mode: how long a registered client is kept before its first sign-in (after it:"
        " as long as a refresh token)",
    )
    registrations_unused_max: Int = option(
        1000,
        "oauth mode: registered clients not yet used, kept at once (apart from grants and"
        " tokens, which a flood never evicts); past it `POST /register` answers 503",
    )
    client_document_max_bytes: Int = option(
        5_000, "oauth mode: the largest client metadata document fetched"
    )
    client_document_timeout_s: Float = option(
        3.0, "oauth mode: how long a client metadata document may take to fetch"
    )
    client_document_private_ok: bool = option(
        False, "oauth mode: fetch client metadata documents from private addresses (tests only)"
    )
    issuer: str = option(
        "",
        "oauth mode: an external authorization server's issuer; its JWT access tokens are"
        " checked instead of running our own",
    )
    jwks_url: str = option("", "oauth mode with `issuer`: where its signing keys are (JWKS)")
    audience: str = option(
        "", "oauth mode with `issuer`: the audience tokens must name (default: the public URL)"
    )

    @model_validator(mode="after")
    def _check(self) -> AuthSettings:
        if self.mode not in AUTH_MODES:
            raise SettingsError(
                f"auth.mode must be none, service, user or oauth, got {self.mode!r}"
            )
        if self.mode == "oauth" and not self.keys and not self.issuer:
            raise SettingsError(
                "auth.mode oauth needs testers: set auth.keys (a list of {name, key}), or"
                " auth.issuer for an authorization server of your own"
            )
        for name in (
            "sign_in_failures_per_minute",
            "sign_in_failures_per_minute_network",
            "sign_in_failures_per_tester_per_minute",
            "registrations_per_minute",
            "registrations_per_minute_network",
            "registration_unused_ttl_s",
            "registrations_unused_max",
        ):
            if getattr(self, name) < 1:
                raise SettingsError(f"auth.{name} must be at least 1, got {getattr(self, name)}")
        if self.issuer and not self.jwks_url:
            raise SettingsError("auth.issuer needs auth.jwks_url, where its signing keys are")
        if self.mode == "service" and len(self.service_token) < MIN_TOKEN_CHARS:
            raise SettingsError(
                f"auth.service_token (at least {MIN_TOKEN_CHARS} characters) is needed in service"
                " mode, e.g. SPORTSTATS_AUTH__SERVICE_TOKEN"
            )
        for name in ("allow_networks", "trusted_proxies"):
            for cidr in getattr(self, name):
                try:
                    ipaddress.ip_network(cidr, strict=False)
                except ValueError:
                    raise SettingsError(
                        f"auth.{name} holds {cidr!r}, not a network such as 203.0.113.0/24"
                    ) from None
        return self


def loopback_host(host: str | None) -> bool:
    """Is `host` this machine only (`localhost`, 127.0.0.0/8, ::1)?"""
    if not host:
        return False
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_oauth_deployment(auth: AuthSettings, host: str, public_url: str | None) -> None:
    """In oauth mode the public URL is the issuer and the resource, so it is never taken from a
    request's headers (a client can set them): it must be configured, https (the hosts refuse
    anything else) and an origin (the hosts look for `/.well-known/...` and `/mcp` at its root).
    Local development, on a loopback address behind no proxy, may go without."""
    if auth.mode != "oauth":
        return
    if public_url is None:
        if loopback_host(host) and not auth.trusted_proxies:
            return
        raise SettingsError(
            "auth.mode oauth needs public_url, the https URL assistants reach the server at"
            " (e.g. public_url: https://stats.example.com): the issuer must not follow request"
            " headers; only a server on a loopback host with no auth.trusted_proxies may omit it"
        )
    url = URL(public_url)
    if url.scheme != "https" and not loopback_host(url.host):
        raise SettingsError(
            f"public_url must be https in auth.mode oauth (ChatGPT and Claude refuse http),"
            f" got {public_url!r}: put TLS in front (a proxy, or tls_cert and tls_key) and set"
            " public_url: https://..."
        )
    if url.path not in ("", "/") or url.query_string or url.fragment:
        raise SettingsError(
            f"public_url must be an origin without a path in auth.mode oauth, got {public_url!r}:"
            " the hosts call /.well-known/... and /mcp at the host's root, so serve the server"
            f" there and set public_url: {url.origin()}"
        )
