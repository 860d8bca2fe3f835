"""MCP Apps (`io.modelcontextprotocol/ui`, 2026-01-26): one view of every answer, for hosts that
render it (ChatGPT, Claude), and nothing new for clients that do not declare the extension.

The view is one self-contained HTML document (`static/view.html`: script and style inline, no
external loads) served as the `ui://` resource by `resources/read`; the tools name it in
`_meta.ui.resourceUri` (and in ChatGPT's older `openai/outputTemplate`). The host hands it each
tool result; the model still gets the markdown table and `structuredContent`.

Who declared the extension: a 2026-07-28 request carries the client's capabilities in its
`_meta`; in the handshake era only `initialize` does, so this stateless server answers a client
that declared it with an `Mcp-Session-Id` that says so (`UI_SESSION_PREFIX`), which the client
sends back with each later request. The id holds no secret and grants nothing: a client that
forged it would only be shown the view.
"""

from __future__ import annotations

import functools
import uuid
from importlib import resources
from typing import Any

from aiohttp import web
from mcp_types import CLIENT_CAPABILITIES_META_KEY

EXTENSION = "io.modelcontextprotocol/ui"
MIME_TYPE = "text/html;profile=mcp-app"
VIEW_URI = "ui://sportstats/table"
VIEW_NAME = "sportstats_table"
VIEW_DESCRIPTION = (
    "The answer as a table: sortable rows, games as a scoreboard, box scores by team."
)
RESOURCE_NOT_FOUND = -32002  # the MCP specification's code for an unknown resource
SESSION_HEADER = "Mcp-Session-Id"
UI_SESSION_PREFIX = "sportstats-ui-"
# Nothing to connect to, load or frame: the view is the one document, its data postMessage'd in.
VIEW_UI_META: dict[str, Any] = {
    "csp": {"connectDomains": [], "resourceDomains": [], "frameDomains": []},
    "prefersBorder": True,
}
TOOL_UI_META: dict[str, Any] = {
    "ui": {"resourceUri": VIEW_URI},
    "openai/outputTemplate": VIEW_URI,  # ChatGPT's name for it before the extension
}


@functools.lru_cache(maxsize=1)
def view_html() -> str:
    return resources.files("sportstats").joinpath("static/view.html").read_text(encoding="utf-8")


def understands(capabilities: Any) -> bool:
    """Do these client capabilities declare the extension for HTML views?"""
    extensions = capabilities.get("extensions") if isinstance(capabilities, dict) else None
    settings = extensions.get(EXTENSION) if isinstance(extensions, dict) else None
    if not isinstance(settings, dict):
        return False
    mime_types = settings.get("mimeTypes")
    return not isinstance(mime_types, list) or MIME_TYPE in mime_types


def declared(request: web.Request, method: str, params: dict[str, Any] | None) -> bool:
    """Did the client of this request declare the extension (see the module's docstring)?"""
    params = params if isinstance(params, dict) else {}
    meta = params.get("_meta")
    if isinstance(meta, dict) and CLIENT_CAPABILITIES_META_KEY in meta:
        return understands(meta[CLIENT_CAPABILITIES_META_KEY])
    if method == "initialize":
        return understands(params.get("capabilities"))
    return request.headers.get(SESSION_HEADER, "").startswith(UI_SESSION_PREFIX)


def ui_session_id() -> str:
    return UI_SESSION_PREFIX + uuid.uuid4().hex


def resource() -> dict[str, Any]:
    """The view as `resources/list` lists it."""
    return {
        "uri": VIEW_URI,
        "name": VIEW_NAME,
        "title": "sportstats table",
        "description": VIEW_DESCRIPTION,
        "mimeType": MIME_TYPE,
        "_meta": {"ui": VIEW_UI_META},
    }


def contents() -> dict[str, Any]:
    """The view as `resources/read` returns it."""
    return {
        "uri": VIEW_URI,
        "mimeType": MIME_TYPE,
        "text": view_html(),
        "_meta": {"ui": VIEW_UI_META},
    }
