"""Fetching a Client ID Metadata Document: the client id is an HTTPS URL, and the server fetches
what it names, without becoming a way into the operator's network.

The host is resolved once, every address checked (public only: not private, loopback, link-local,
nor NAT64 or 6to4, which Python counts as global but which reach IPv4 addresses behind them), and
the connection goes to those checked addresses (a name that resolves elsewhere the second time,
DNS rebinding, gains nothing). The body is read up to the size cap, however many segments it
comes in. A failure to connect, TLS or time out is one message, so the page is no port scanner.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import socket
import ssl
from typing import Any

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult
from yarl import URL

from ...settings import AuthSettings
from .errors import OAuthError

# Ranges `ipaddress` calls global that lead to other addresses: NAT64 (RFC 6052, RFC 8215) and
# 6to4 (RFC 3056).
TRANSLATED = tuple(
    ipaddress.ip_network(net) for net in ("64:ff9b::/96", "64:ff9b:1::/48", "2002::/16")
)
# The CAs a document's certificate is checked against; None: the system's (tests swap it).
TRUSTED_CAS: ssl.SSLContext | None = None
UNREACHABLE = "The client metadata document could not be fetched."


def public_address(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """May a document be fetched from `address`?"""
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return public_address(address.ipv4_mapped)
        if any(address in network for network in TRANSLATED):
            return False
    return address.is_global


class CheckedAddresses(AbstractResolver):
    """A resolver that answers only the addresses already checked for the host."""

    def __init__(self, host: str, infos: list[ResolveResult]) -> None:
        self.host = host
        self.infos = infos

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        if host != self.host:
            raise OSError(f"{host} was not checked")
        return [{**info, "port": port} for info in self.infos]

    async def close(self) -> None:
        return None


async def checked_addresses(host: str, port: int, private_ok: bool) -> list[ResolveResult]:
    """`host`'s addresses, each checked; `OAuthError` when one is not public."""
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(
            host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP
        )
    except (OSError, UnicodeError):
        unknown = f"The client's host {host!r} does not resolve."
        raise OAuthError("invalid_client", unknown) from None
    found: list[ResolveResult] = []
    for family, _, proto, _, sockaddr in infos:
        address = ipaddress.ip_address(str(sockaddr[0]).split("%")[0])
        if not private_ok and not public_address(address):
            raise OAuthError(
                "invalid_client", f"The client's host {host!r} is on a private or local address."
            )
        found.append(
            {
                "hostname": host,
                "host": str(sockaddr[0]),
                "port": port,
                "family": family,
                "proto": proto,
                "flags": socket.AI_NUMERICHOST,
            }
        )
    if not found:
        raise OAuthError("invalid_client", f"The client's host {host!r} does not resolve.")
    return found


async def fetch_document(url: str, settings: AuthSettings) -> dict[str, Any]:
    """The document at `url`: HTTPS, a public address, small, quick, JSON, no redirects."""
    try:
        target = URL(url)
        host, port = target.host, target.port or 443
    except (ValueError, TypeError):  # UnicodeError too: a host that is no IDNA name
        raise OAuthError("invalid_client", "The client id is not a URL.") from None
    if target.scheme != "https" or not host or target.path in ("", "/"):
        raise OAuthError("invalid_client", "A client id URL must be https with a path.")
    infos = await checked_addresses(host, port, settings.client_document_private_ok)
    limit = settings.client_document_max_bytes
    connector = aiohttp.TCPConnector(
        resolver=CheckedAddresses(host, infos), use_dns_cache=False, limit=1
    )
    timeout = aiohttp.ClientTimeout(total=settings.client_document_timeout_s)
    try:
        async with (
            aiohttp.ClientSession(connector=connector, timeout=timeout) as session,
            session.get(
                target, allow_redirects=False, ssl=TRUSTED_CAS if TRUSTED_CAS else True
            ) as response,
        ):
            status = response.status
            body = b""
            while len(body) <= limit:
                chunk = await response.content.read(limit + 1 - len(body))
                if not chunk:
                    break
                body += chunk
    except (TimeoutError, aiohttp.ClientError, OSError, ssl.SSLError):
        raise OAuthError("invalid_client", UNREACHABLE) from None
    if status != 200:
        raise OAuthError("invalid_client", f"The client metadata document answered {status}.")
    if len(body) > limit:
        raise OAuthError("invalid_client", f"The client metadata document is over {limit} bytes.")
    try:
        document = json.loads(body)
    except (ValueError, RecursionError):
        raise OAuthError("invalid_client", "The client metadata document is not JSON.") from None
    if not isinstance(document, dict):
        raise OAuthError("invalid_client", "The client metadata document is not an object.")
    return document
