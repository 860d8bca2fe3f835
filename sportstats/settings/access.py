"""Who may call (`auth`): the modes, the tester keys, and the OAuth server's options."""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Annotated, Any

from pydantic import BeforeValidator, model_validator

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
    """Who may call the data endpoints: anyone (none), one shared token (service) or testers."""

    mode: str = option("none", "who may call: `none`, `service` or `user`")
    service_token: str = option(
        "", "service mode: the bearer token the assistant platform sends", repr=False
    )
    verification_token: str = option("", "service mode: the manifest's OpenAI verification token")
    keys: Annotated[list[TesterKey], BeforeValidator(parse_tester_keys)] = option(
        None, "user mode: the testers, `[{name, key}, ...]`", default_factory=list, repr=False
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
