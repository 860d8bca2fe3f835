"""The data routes: every data endpoint through one generic handler, and the plugin files."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web

from ..core.endpoints import ENDPOINTS, Endpoint
from ..core.memo import QueryMemo
from . import plugin
from .keys import ANSWERS

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def data_handler(endpoint: Endpoint) -> Handler:
    """The handler of one data endpoint: validate, answer (cache or upstream), send."""

    questions = QueryMemo(endpoint.params)

    async def handle(request: web.Request) -> web.Response:
        query = questions.parse(request.rel_url)
        reply = await request.app[ANSWERS].reply(endpoint, query)
        return web.Response(body=reply.body, headers=reply.headers)

    handle.__name__ = f"get_{endpoint.name}"
    return handle


def setup_routes(app: web.Application) -> list[web.AbstractRoute]:
    """Add the data routes and the plugin files; returns them so CORS can be set on each."""
    routes = [app.router.add_get(e.path, data_handler(e), name=e.name) for e in ENDPOINTS]
    routes += [
        app.router.add_get("/.well-known/ai-plugin.json", plugin.manifest_view, name="manifest"),
        app.router.add_get("/openapi.yaml", plugin.spec_view, name="openapi"),
        app.router.add_get("/logo.png", plugin.logo_view, name="logo"),
        app.router.add_get("/legal", plugin.legal_view, name="legal"),
    ]
    return routes
