"""The MCP tools: the data endpoints, each called exactly as its HTTP endpoint is.

A tool call takes the HTTP endpoint's path: `parse_query` on the tool's arguments, then
`Answers.reply` (cache, coalescing, upstream budget, retries, shaping). Tool schemas come from the
same declarations as `openapi.yaml`: `inputSchema` from each `Param`, `outputSchema` from
`plugin.answer_schema`. Errors are the HTTP edge's (`web.errors`), as tool results.
"""

from __future__ import annotations

import logging
from typing import Any

from aiohttp import web
from mcp_types import CallToolResult, TextContent, Tool, ToolAnnotations

from ..cache import X_CACHE
from ..core.endpoints import ENDPOINTS, Endpoint
from ..core.params import parse_query
from ..core.tables import markdown_table
from ..errors import ApiError, UpstreamFailure, internal_error
from ..ops.record import CACHE_STATE
from ..web.errors import as_api_error
from ..web.keys import ANSWERS
from ..web.plugin import answer_schema, column_types
from .apps import TOOL_UI_META

log = logging.getLogger(__name__)
# An answer's outline: what a tool that lists no whole schema still promises.
OUTLINE: dict[str, Any] = {
    "type": "object",
    "required": ["columns", "data", "meta"],
    "properties": {"data": {"type": "array", "items": {"type": "object"}}},
}


def input_schema(endpoint: Endpoint) -> dict[str, Any]:
    """The tool's arguments: one property per declared parameter, as in `openapi.yaml`."""
    schema: dict[str, Any] = {
        "type": "object",
        "properties": {
            p.name: {**p.schema(), "description": p.description} for p in endpoint.params
        },
        "additionalProperties": False,
    }
    required = [p.name for p in endpoint.params if p.always_required]
    return {**schema, "required": required} if required else schema


def output_schema(endpoint: Endpoint) -> dict[str, Any]:
    """The answer's schema, whole in itself: its column types in its own `$defs`, each named
    by its type (`integer` there is an integer or null)."""
    if endpoint.outline_in_tools:
        return OUTLINE
    schema = answer_schema(endpoint, lambda kind: f"#/$defs/{kind}", described=False)
    return {**schema, "$defs": column_types((endpoint,), name=str)}


def tool(endpoint: Endpoint, view: bool = False) -> Tool:
    """The tool as listed; `view`: for a client that declared MCP Apps (it names the view)."""
    return Tool(
        name=endpoint.tool_name,
        title=endpoint.summary,
        description=endpoint.description,
        input_schema=input_schema(endpoint),
        output_schema=output_schema(endpoint),
        annotations=ToolAnnotations(
            title=endpoint.summary, read_only_hint=True, open_world_hint=True
        ),
        meta=TOOL_UI_META if view else None,
    )


TOOLS = {endpoint.tool_name: endpoint for endpoint in ENDPOINTS}


async def call_tool(
    request: web.Request, endpoint: Endpoint, arguments: dict[str, Any]
) -> CallToolResult:
    """The HTTP endpoint's path exactly; its errors become tool results the model can act on."""
    try:
        # JSON null means "not given", as an empty query value does over HTTP.
        given = {name: value for name, value in arguments.items() if value is not None}
        query = parse_query(endpoint.params, given)
        answered = await request.app[ANSWERS].reply(endpoint, query)
    except ApiError as exc:
        return error_result(exc)
    except UpstreamFailure as exc:
        return error_result(as_api_error(exc))
    except Exception:
        log.exception("unhandled error in tool %s", endpoint.tool_name)
        return error_result(internal_error())
    request[CACHE_STATE] = X_CACHE[answered.state]  # the access log's and metrics' cache=
    answer_body = answered.answer()
    return CallToolResult(
        content=[TextContent(text=markdown_table(answer_body))], structured_content=answer_body
    )


def error_result(exc: ApiError) -> CallToolResult:
    text = f"Error ({exc.code}): {exc.message}" + (f"\nHint: {exc.hint}" if exc.hint else "")
    return CallToolResult(content=[TextContent(text=text)], is_error=True)
