"""CORS for the assistant's web origins, on every route, preflights included.

aiohttp-cors does the standard part. It does not answer Private Network Access preflights, which a
browser sends before an https page may call a server on localhost: `allow_private_network` adds
`Access-Control-Allow-Private-Network: true` to those preflights.
"""

from __future__ import annotations

from collections.abc import Iterable

import aiohttp_cors
from aiohttp import web


async def allow_private_network(request: web.Request, response: web.StreamResponse) -> None:
    if (
        request.method == "OPTIONS"
        and request.headers.get("Access-Control-Request-Private-Network", "").lower() == "true"
        and "Access-Control-Allow-Origin" in response.headers
    ):
        response.headers["Access-Control-Allow-Private-Network"] = "true"


def setup_cors(
    app: web.Application, origins: Iterable[str], routes: Iterable[web.AbstractRoute]
) -> None:
    options = aiohttp_cors.ResourceOptions(
        allow_credentials=False,
        expose_headers=("X-Cache", "Age", "Retry-After", "X-Request-Id"),
        allow_headers=(
            "Authorization",
            "Content-Type",
            "Openai-Ephemeral-User-Id",
            "Openai-Conversation-Id",
            "Mcp-Session-Id",
            "Mcp-Protocol-Version",
        ),
        allow_methods=("GET", "HEAD", "OPTIONS"),
        max_age=3600,
    )
    cors = aiohttp_cors.setup(app, defaults={origin: options for origin in origins})
    for route in routes:
        cors.add(route)
    app.on_response_prepare.append(allow_private_network)
