"""The official MCP client, connected as each protocol era connects."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

from mcp import Client
from mcp_types.version import LATEST_HANDSHAKE_VERSION, LATEST_MODERN_VERSION

# The official client's modes: "auto" (its default) probes server/discover; "legacy" initializes.
NEGOTIATED = {"auto": LATEST_MODERN_VERSION, "legacy": LATEST_HANDSHAKE_VERSION}


@asynccontextmanager
async def connect(
    server: Any, mode: str = "auto", extensions: Sequence[Any] | None = None
) -> AsyncIterator[Client]:
    """The official client connected in `mode`, on the revision that mode must negotiate."""
    async with Client(server, mode=mode, extensions=extensions) as mcp_client:
        assert mcp_client.protocol_version == NEGOTIATED[mode]
        yield mcp_client
