"""CORS for the assistant's web origins, on every route, preflights included.

aiohttp-cors does the standard part. Its response hook looks the route's CORS config up before
it reads the Origin header, on every response; ours calls it only for requests with an Origin
(without one, CORS adds no header: the CORS spec's step 6.1.1), which saves a cache hit from a
server-to-server caller that work. aiohttp-cors does not answer Private Network Access
preflights, which a browser sends before an https page may call a server on localhost:
`allow_private_network` adds `Access-Control-Allow-Private-Network: true` to those preflights.
"""

from __future__ import annotations

from collections.abc import Iterable

import aiohttp_cors
from aiohttp import hdrs, web


def allow_private_network(request: web.Request, response: web.StreamResponse) -> None:
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
    hooks = len(app.on_response_prepare)
    cors = aiohttp_cors.setup(app, defaults={origin: options for origin in origins})
    (cors_hook,) = app.on_response_prepare[hooks:]  # the response hook aiohttp-cors added
    del app.on_response_prepare[hooks:]
    for route in routes:
        cors.add(route)

    async def cors_headers(request: web.Request, response: web.StreamResponse) -> None:
        if hdrs.ORIGIN in request.headers:
            await cors_hook(request, response)
            allow_private_network(request, response)

    app.on_response_prepare.append(cors_headers)
