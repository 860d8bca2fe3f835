"""The MCP half of the check: `initialize` as today's hosts send it (the handshake era), the
`initialized` notification, `tools/list` and one `tools/call`, over streamable HTTP."""

from __future__ import annotations

import json
from typing import Any

import aiohttp

from .. import __version__
from .report import CheckFailed, Report, answer_of, said_by

PROTOCOL_VERSION = "2025-06-18"  # what ChatGPT and Claude negotiate today
ACCEPT = "application/json, text/event-stream"


class McpClient:
    """JSON-RPC over POST to `/mcp`, with the bearer token when there is one."""

    def __init__(self, session: aiohttp.ClientSession, url: str, token: str | None) -> None:
        self.session = session
        self.url = url
        self.token = token
        self.version: str | None = None
        self.ids = 0

    def headers(self) -> dict[str, str]:
        headers = {"Accept": ACCEPT, "Content-Type": "application/json"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        if self.version:
            headers["MCP-Protocol-Version"] = self.version
        return headers

    async def post(self, message: dict[str, Any]) -> tuple[int, Any, str, str]:
        """Status, the JSON-RPC answer (from JSON or the first SSE event), text, challenge."""
        async with self.session.post(self.url, json=message, headers=self.headers()) as response:
            status, body, text = await answer_of(response)
            challenge = response.headers.get("WWW-Authenticate", "")
        if body is None and "data:" in text:  # a server that answers in an SSE stream
            data = next(line[5:] for line in text.splitlines() if line.startswith("data:"))
            body = json.loads(data)
        return status, body, text, challenge

    async def call(self, method: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        self.ids += 1
        message: dict[str, Any] = {"jsonrpc": "2.0", "id": self.ids, "method": method}
        if params is not None:
            message["params"] = params
        status, body, text, _ = await self.post(message)
        if status != 200 or not isinstance(body, dict) or "result" not in body:
            raise CheckFailed(f"{method} answered {status}: {said_by(body, text)}")
        return body["result"]


def initialize_params() -> dict[str, Any]:
    return {
        "protocolVersion": PROTOCOL_VERSION,
        "capabilities": {},
        "clientInfo": {"name": "sportstats-check", "version": __version__},
    }


async def use(client: McpClient, report: Report, tool: str, arguments: dict[str, Any]) -> None:
    """initialize, initialized, tools/list, one tools/call: what a host does before and at a
    tester's first question."""
    report.start("initialize")
    result = await client.call("initialize", initialize_params())
    client.version = result.get("protocolVersion")
    server = result.get("serverInfo", {})
    report.ok(f"protocol {client.version}, server {server.get('name')} {server.get('version')}")
    status, _, text, _ = await client.post(
        {"jsonrpc": "2.0", "method": "notifications/initialized"}
    )
    if status not in (200, 202):
        raise CheckFailed(f"notifications/initialized answered {status}: {text[:200]}")
    await list_tools(client, report, tool)
    report.start(f"tools/call {tool}")
    result = await client.call("tools/call", {"name": tool, "arguments": arguments})
    text = " ".join(c.get("text", "") for c in result.get("content", []) if isinstance(c, dict))
    if result.get("isError"):
        raise CheckFailed(f"the tool answered an error: {' '.join(text.split())[:300]}")
    meta = (result.get("structuredContent") or {}).get("meta") or {}
    rows = meta.get("count", "?")
    report.ok(f"{rows} rows (cache {meta.get('cache', '?')})")


async def list_tools(client: McpClient, report: Report, wanted: str | None = None) -> None:
    report.start("tools/list")
    tools = [t.get("name") for t in (await client.call("tools/list")).get("tools", [])]
    if not tools:
        raise CheckFailed("no tools are offered")
    if wanted and wanted not in tools:
        raise CheckFailed(f"{wanted} is not offered (tools: {', '.join(tools)})")
    report.ok(f"{len(tools)} tools: {', '.join(tools)}")
