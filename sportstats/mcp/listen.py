"""`subscriptions/listen` (2026-07-28): a stream that says when the tools on offer change.

The tools this server lists depend on the upstream plan (`upstream.coverage`); when `auto`
learns the plan, or that a route is not in it, or forgets what it learned (SIGHUP), clients
that listen get `notifications/tools/list_changed` and list the tools again. The response to
the listen request is the stream itself (SSE): the acknowledgment first, then the changes, and,
when the server stops, the request's result, which ends it gracefully. Nothing is replayed: a
client that listens again lists the tools again.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from typing import Any

from aiohttp import web
from mcp_types import INVALID_PARAMS, SERVER_INFO_META_KEY
from mcp_types import methods as mcp_methods
from pydantic import ValidationError

from ..upstream.coverage import Change
from ..web.keys import UPSTREAM
from .methods import SERVER_INFO_STAMP as SERVER_INFO
from .wire import Message, modern_response

SUBSCRIPTION_ID = "io.modelcontextprotocol/subscriptionId"
KEEPALIVE_S = 15.0  # an SSE comment this often, so proxies keep an idle stream open
MAX_STREAMS = 1024
ACKNOWLEDGED = "notifications/subscriptions/acknowledged"
TOOLS_CHANGED = "notifications/tools/list_changed"


class Listeners:
    """The open listen streams of this process, each with its queue of changes."""

    def __init__(self) -> None:
        self.queues: set[asyncio.Queue[str | None]] = set()

    def tools_changed(self, change: Change) -> None:
        if change.routes_changed:
            for queue in self.queues:
                if queue.empty():  # one pending change says it all: the client lists again
                    queue.put_nowait(TOOLS_CHANGED)

    def close(self) -> None:
        for queue in self.queues:
            queue.put_nowait(None)


LISTENERS = web.AppKey("mcp_listeners", Listeners)


async def listeners_ctx(app: web.Application) -> AsyncIterator[None]:
    """Told of the plan's changes once the upstream client exists (after `upstream_ctx`)."""
    listeners = app[LISTENERS] = Listeners()
    app[UPSTREAM].coverage.listeners.append(listeners.tools_changed)
    yield


async def end_streams(app: web.Application) -> None:
    """`on_shutdown`: end every stream gracefully before the server waits for its requests."""
    if LISTENERS in app:
        app[LISTENERS].close()


def frame(message: Message) -> bytes:
    return f"event: message\ndata: {json.dumps(message, separators=(',', ':'))}\n\n".encode()


async def listen(
    request: web.Request, request_id: Any, params: dict[str, Any] | None, version: str
) -> web.StreamResponse:
    """Serve one `subscriptions/listen` request: its response is the stream."""
    try:
        parsed = mcp_methods.parse_client_request("subscriptions/listen", version, params)
    except ValidationError as exc:
        error = {"code": INVALID_PARAMS, "message": f"Invalid params: {exc.errors()[0]['msg']}"}
        return modern_response({"jsonrpc": "2.0", "id": request_id, "error": error})
    listeners = request.app[LISTENERS]
    if len(listeners.queues) >= MAX_STREAMS:
        error = {"code": INVALID_PARAMS, "message": "Too many open listen streams; try later."}
        return modern_response({"jsonrpc": "2.0", "id": request_id, "error": error})
    wants_tools = bool(parsed.params.notifications.tools_list_changed)
    meta = {SUBSCRIPTION_ID: request_id}
    honored = {"toolsListChanged": True} if wants_tools else {}
    response = web.StreamResponse(
        headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"}
    )
    await response.prepare(request)
    queue: asyncio.Queue[str | None] = asyncio.Queue()
    listeners.queues.add(queue)
    try:
        ack = {"notifications": honored, "_meta": meta}
        await response.write(frame({"jsonrpc": "2.0", "method": ACKNOWLEDGED, "params": ack}))
        while True:
            try:
                change = await asyncio.wait_for(queue.get(), KEEPALIVE_S)
            except TimeoutError:
                await response.write(b": keepalive\n\n")
                continue
            if change is None:
                break
            if wants_tools:
                message = {"jsonrpc": "2.0", "method": change, "params": {"_meta": meta}}
                await response.write(frame(message))
        result = {"resultType": "complete", "_meta": {**meta, SERVER_INFO_META_KEY: SERVER_INFO}}
        await response.write(frame({"jsonrpc": "2.0", "id": request_id, "result": result}))
    except ConnectionResetError:
        pass  # the client went away: the stream just ends
    finally:
        listeners.queues.discard(queue)
    with contextlib.suppress(ConnectionResetError):
        await response.write_eof()
    return response
