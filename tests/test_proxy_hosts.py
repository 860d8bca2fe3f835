"""Which `Host` names /mcp answers to behind a TLS proxy, in both MCP eras.

The deployment the docs recommend binds the server to 127.0.0.1 behind nginx or Caddy, which pass
the public host through: that host (the `public_url`'s, or, without one, whatever a configured
`auth.trusted_proxies` peer forwards) is this server, while any other stays refused as a
DNS-rebinding page would send it. The test client's peer is 127.0.0.1, so naming 127.0.0.1/32 in
`auth.trusted_proxies` makes it the proxy, and naming another network makes it a stranger.
"""

from __future__ import annotations

from typing import Any

import pytest
from mcp_types.version import LATEST_MODERN_VERSION

from tests.test_mcp import PING, VERSION_HEADER, modern, post

PUBLIC = "https://stats.example.org"
PROXY_HERE = ["127.0.0.1/32", "::1/128"]  # the test client's address: it is the proxy
PROXY_ELSEWHERE = ["10.0.0.0/8"]  # the test client is not the proxy


def handshake_era() -> tuple[dict[str, Any], dict[str, str]]:
    return PING, VERSION_HEADER


def per_request_era() -> tuple[dict[str, Any], dict[str, str]]:
    return modern("tools/list")


@pytest.fixture(params=[handshake_era, per_request_era], ids=["2025-11-25", LATEST_MODERN_VERSION])
def era(request: pytest.FixtureRequest) -> Any:
    """A request of one MCP era: (body, headers), to which a test adds its Host and Origin."""
    return request.param


async def ask(client: Any, era: Any, **headers: str) -> tuple[int, str]:
    """POST one request of `era` with these extra headers: the status and any error message."""
    body, base = era()
    status, reply = await post(client, body, {**base, **headers})
    return status, (reply or {}).get("error", {}).get("message", "")


@pytest.mark.parametrize(
    "host", ["stats.example.org", "stats.example.org:443", "STATS.Example.org"]
)
async def test_on_loopback_the_public_urls_host_is_this_server(
    make_client: Any, era: Any, host: str
) -> None:
    client = await make_client(public_url=PUBLIC)
    assert await ask(client, era, Host=host) == (200, "")


async def test_on_loopback_with_a_public_url_local_names_still_answer(
    make_client: Any, era: Any
) -> None:
    client = await make_client(public_url=PUBLIC)
    assert (await ask(client, era))[0] == 200  # the test client's own 127.0.0.1:port
    assert (await ask(client, era, Host="localhost:5001"))[0] == 200


@pytest.mark.parametrize("proxies", [[], PROXY_HERE], ids=["no-proxy", "trusted-proxy"])
@pytest.mark.parametrize("host", ["evil.example", "stats.example.org.evil.example", "example.org"])
async def test_with_a_public_url_any_other_host_is_refused_even_from_the_proxy(
    make_client: Any, era: Any, proxies: list[str], host: str
) -> None:
    client = await make_client(public_url=PUBLIC, auth={"trusted_proxies": proxies})
    status, message = await ask(client, era, Host=host)
    assert status == 403
    assert message.startswith(f"Host '{host}' is neither this local server")
    assert "stats.example.org" in message


async def test_without_a_public_url_the_host_a_trusted_proxy_forwards_is_this_server(
    make_client: Any, era: Any
) -> None:
    client = await make_client(auth={"trusted_proxies": PROXY_HERE})
    forwarded = {"X-Forwarded-For": "203.0.113.7", "X-Forwarded-Proto": "https"}
    assert await ask(client, era, Host="stats.example.org", **forwarded) == (200, "")


async def test_without_a_public_url_a_peer_that_is_not_a_trusted_proxy_is_refused(
    make_client: Any, era: Any
) -> None:
    client = await make_client(auth={"trusted_proxies": PROXY_ELSEWHERE})
    status, message = await ask(client, era, Host="stats.example.org")
    assert status == 403 and message.startswith("Host 'stats.example.org' is not this local")
    assert "set public_url" in message and "auth.trusted_proxies" in message


async def test_with_no_proxy_and_no_public_url_a_foreign_host_is_refused_as_before(
    make_client: Any, era: Any
) -> None:
    client = await make_client()
    status, message = await ask(client, era, Host="stats.example.org")
    assert status == 403 and "is not this local server" in message


async def test_through_the_proxy_a_foreign_browser_origin_is_still_refused(
    make_client: Any, era: Any
) -> None:
    client = await make_client(public_url=PUBLIC, auth={"trusted_proxies": PROXY_HERE})
    host = {"Host": "stats.example.org"}
    status, message = await ask(client, era, **host, Origin="https://evil.example")
    assert status == 403 and "Origin 'https://evil.example' is not allowed" in message
    assert (await ask(client, era, **host, Origin="https://chatgpt.com"))[0] == 200


async def test_on_a_public_address_the_public_host_rule_is_unchanged_by_trusted_proxies(
    make_client: Any, era: Any
) -> None:
    client = await make_client(
        host="0.0.0.0", public_url=PUBLIC, auth={"trusted_proxies": PROXY_HERE}
    )
    assert (await ask(client, era, Host="stats.example.org"))[0] == 200
    status, message = await ask(client, era, Host="localhost")
    assert status == 403 and "not this server's public host" in message
