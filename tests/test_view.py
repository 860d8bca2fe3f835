"""The MCP Apps view: offered to clients that declare the extension, and only to them."""

from __future__ import annotations

import re
from typing import Any

import pytest
from mcp.client.extension import advertise
from mcp.shared.exceptions import MCPError
from mcp_types import METHOD_NOT_FOUND

from sportstats.mcp import apps
from tests.conftest import load_fixture, upstream_route
from tests.mcp_support import connect

APPS = [advertise(apps.EXTENSION, {"mimeTypes": [apps.MIME_TYPE]})]
MAX_VIEW_BYTES = 40_000


def capabilities_of(mcp_client: Any) -> Any:
    handshake = mcp_client.session.initialize_result or mcp_client.session.discover_result
    return handshake.capabilities


async def test_a_client_that_declares_the_extension_gets_the_view_and_the_tools_name_it(
    url: str, mode: str
) -> None:
    async with connect(url, mode, extensions=APPS) as mcp_client:
        capabilities = capabilities_of(mcp_client)
        listed = (await mcp_client.list_resources()).resources
        read = await mcp_client.read_resource(apps.VIEW_URI)
        tools = (await mcp_client.list_tools()).tools

    assert capabilities.resources is not None  # (2025-11-25 has no `extensions` to say it in)
    [resource] = listed
    assert str(resource.uri) == apps.VIEW_URI and resource.mime_type == apps.MIME_TYPE
    [content] = read.contents
    assert content.mime_type == "text/html;profile=mcp-app"
    assert content.text == apps.view_html() and content.text.startswith("<!DOCTYPE html>")
    csp = content.meta["ui"]["csp"]
    assert csp == {"connectDomains": [], "resourceDomains": [], "frameDomains": []}
    for listed_tool in tools:
        assert listed_tool.meta["ui"]["resourceUri"] == apps.VIEW_URI
        assert listed_tool.meta["openai/outputTemplate"] == apps.VIEW_URI


async def test_a_client_without_the_extension_sees_what_it_saw_before(url: str, mode: str) -> None:
    async with connect(url, mode) as mcp_client:
        capabilities = capabilities_of(mcp_client)
        tools = (await mcp_client.list_tools()).tools
        with pytest.raises(MCPError) as refused:
            await mcp_client.list_resources()
        with pytest.raises(MCPError) as unread:
            await mcp_client.read_resource(apps.VIEW_URI)

    assert capabilities.resources is None and not capabilities.extensions
    assert all(t.meta is None for t in tools)
    assert refused.value.error.code == unread.value.error.code == METHOD_NOT_FOUND


async def test_an_unknown_ui_resource_is_resource_not_found(url: str, mode: str) -> None:
    async with connect(url, mode, extensions=APPS) as mcp_client:
        with pytest.raises(MCPError) as missing:
            await mcp_client.read_resource("ui://sportstats/elsewhere")
    assert missing.value.error.code == apps.RESOURCE_NOT_FOUND


async def test_a_tool_result_still_carries_the_table_for_the_model(
    url: str, mode: str, upstream: Any
) -> None:
    upstream.get(upstream_route("/teams"), payload=load_fixture("teams_all.json"))
    async with connect(url, mode, extensions=APPS) as mcp_client:
        result = await mcp_client.call_tool("get_teams", {"division": "Pacific"})
    assert result.content[0].text.startswith("| team | abbreviation |")
    assert len(result.structured_content["data"]) == 5


def test_the_view_is_one_small_document_that_loads_nothing_from_elsewhere() -> None:
    html = apps.view_html()
    assert len(html.encode()) < MAX_VIEW_BYTES
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", html)
    assert "@import" not in html and "url(" not in html
    assert not re.search(r"\b(fetch|XMLHttpRequest|WebSocket|EventSource)\b", html)
    [policy] = re.findall(r'http-equiv="Content-Security-Policy" content="([^"]+)"', html)
    directives = dict(d.strip().split(" ", 1) for d in policy.split(";") if d.strip())
    assert directives["default-src"] == "'none'"  # so no connect, frame or font source at all
    assert set(directives) <= {"default-src", "script-src", "style-src", "img-src", "base-uri",
                               "form-action"}  # fmt: skip
    assert apps.VIEW_UI_META["csp"] == {
        "connectDomains": [],
        "resourceDomains": [],
        "frameDomains": [],
    }
