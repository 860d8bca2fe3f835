"""The MCP methods this server answers, per era: the handshake, discovery, tools."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from mcp_types import (
    INVALID_PARAMS,
    METHOD_NOT_FOUND,
    DiscoverResult,
    EmptyResult,
    Implementation,
    InitializeResult,
    ListResourcesResult,
    ListToolsResult,
    ReadResourceResult,
    ResourcesCapability,
    Result,
    ServerCapabilities,
    ToolsCapability,
)
from mcp_types import methods as mcp_methods
from mcp_types.version import (
    HANDSHAKE_PROTOCOL_VERSIONS,
    LATEST_HANDSHAKE_VERSION,
    MODERN_PROTOCOL_VERSIONS,
)

from .. import __version__
from ..core import guide
from ..core.endpoints import on_offer
from ..upstream.coverage import Coverage
from ..web.keys import UPSTREAM
from ..web.plugin import NAME_FOR_HUMAN, NAME_FOR_MODEL
from . import apps
from .tools import TOOLS, call_tool, tool
from .wire import RpcError

# The methods of each era: 2026-07-28 drops `initialize` and `ping` and adds `server/discover`.
HANDSHAKE_METHODS = frozenset({"initialize", "ping", "tools/list", "tools/call"})
LISTEN = "subscriptions/listen"  # a stream of its own (`listen`), not answered here
PER_REQUEST_METHODS = frozenset({"server/discover", "tools/list", "tools/call"})
# Served only to a client that declared MCP Apps (`apps.declared`): the view's resource.
VIEW_METHODS = frozenset({"resources/list", "resources/read"})
# How long a 2026-07-28 client may reuse `server/discover` and `tools/list`: they change with a
# release, or when the upstream plan is learned (clients that listen are told at once), and they
# hold nothing user-specific (any cache may share them).
DISCOVERY_TTL_MS = 3_600_000
DISCOVERY_CACHE_SCOPE = "public"
SERVER_INFO = Implementation(
    name=NAME_FOR_MODEL,
    title=NAME_FOR_HUMAN,
    version=__version__,
    description="NBA players, teams, games, box scores and season averages, as tables.",
)
SERVER_INFO_STAMP = SERVER_INFO.model_dump(by_alias=True, mode="json", exclude_none=True)
INSTRUCTIONS = guide.for_mcp()  # one call per question, names, last, sort, fields, plans


CAPABILITIES = ServerCapabilities(tools=ToolsCapability(list_changed=False))
# 2026-07-28: `subscriptions/listen` streams say when the tools on offer change (`listen`).
MODERN_TOOLS = ToolsCapability(list_changed=True)
# For a client that declared MCP Apps: the view as a resource, and the extension said back.
VIEW_CAPABILITIES = ServerCapabilities(
    tools=ToolsCapability(list_changed=False),
    resources=ResourcesCapability(list_changed=False, subscribe=False),
    extensions={apps.EXTENSION: {"mimeTypes": [apps.MIME_TYPE]}},
)


def coverage(request: web.Request) -> Coverage:
    """What the upstream plan covers: tools/list offers the tools it serves."""
    return request.app[UPSTREAM].coverage


def negotiate(params: dict[str, Any] | None) -> str:
    """The client's revision if we speak it, else our latest (the client then decides)."""
    requested = (params or {}).get("protocolVersion")
    return requested if requested in HANDSHAKE_PROTOCOL_VERSIONS else LATEST_HANDSHAKE_VERSION


async def dispatch(
    request: web.Request, method: str, params: dict[str, Any] | None, version: str
) -> dict[str, Any]:
    served = PER_REQUEST_METHODS if version in MODERN_PROTOCOL_VERSIONS else HANDSHAKE_METHODS
    view = apps.declared(request, method, params)
    if method not in served and not (view and method in VIEW_METHODS):
        raise RpcError(METHOD_NOT_FOUND, f"Method not found: {method[:60]}")
    parsed = mcp_methods.parse_client_request(method, version, params)
    capabilities = VIEW_CAPABILITIES if view else CAPABILITIES
    result: Result
    if method == "initialize":
        result = InitializeResult(
            protocol_version=version,
            capabilities=capabilities,
            server_info=SERVER_INFO,
            instructions=INSTRUCTIONS,
        )
    elif method == "server/discover":
        result = DiscoverResult(
            supported_versions=list(MODERN_PROTOCOL_VERSIONS),
            capabilities=capabilities.model_copy(update={"tools": MODERN_TOOLS}),
            instructions=INSTRUCTIONS,
            ttl_ms=DISCOVERY_TTL_MS,
            cache_scope=DISCOVERY_CACHE_SCOPE,
        )
    elif method == "ping":
        result = EmptyResult()
    elif method == "tools/list":
        result = ListToolsResult(
            tools=[tool(endpoint, view) for endpoint in on_offer(coverage(request).covers)],
            ttl_ms=DISCOVERY_TTL_MS,
            cache_scope=DISCOVERY_CACHE_SCOPE,
        )
    elif method == "resources/list":
        result = ListResourcesResult.model_validate({"resources": [apps.resource()]})
    elif method == "resources/read":
        if parsed.params.uri != apps.VIEW_URI:
            raise RpcError(
                apps.RESOURCE_NOT_FOUND,
                f"Resource not found: {str(parsed.params.uri)[:80]}",
                {"uri": str(parsed.params.uri)[:200]},
            )
        result = ReadResourceResult.model_validate({"contents": [apps.contents()]})
    else:
        endpoint = TOOLS.get(parsed.params.name)
        if endpoint is None:
            raise RpcError(
                INVALID_PARAMS,
                f"Unknown tool: {parsed.params.name[:60]}",
                {"tools": list(TOOLS)},
            )
        result = await call_tool(request, endpoint, parsed.params.arguments or {})
    return result.model_dump(by_alias=True, mode="json", exclude_none=True)
