"""MCP at `/mcp`: the streamable HTTP transport of both protocol eras, stateless, in JSON.

This module frames the exchange (one POST, one JSON body or 202; JSON-RPC batches in 2025-03-26;
the handshake era's header rules, the per-request era's envelope and headers); `methods` answers
each method and `tools` runs the tools. The SDK's `mcp_types` (pydantic models, no web framework)
do the protocol work: request params are validated with `methods.parse_client_request`, results
are shaped for the negotiated revision by `methods.serialize_server_result`.

Why this transport rather than the SDK's own: its server transport is an ASGI application
(`StreamableHTTPSessionManager`, Starlette) with its own lifespan and task group. Mounted inside
aiohttp with aiohttp-asgi (`python bench/bench_mcp_transport.py`, same app, same cache, a
cached `tools/call get_teams`), it answered 695 calls/s against our 1,577 (48 %), p99 99 ms
against 19 ms, at 1,467 against 637 us of server CPU a call; its lifespan needs a cleanup
context of its own; and it fits our middleware badly: its resource matches without a route (the
request's record had to learn to log it as `unmatched`), the request bounds had to be told its
path takes POST, and its own Origin and Host checks and error bodies would sit beside ours. What
it would save is this small module and `wire`: a stateless server that answers every POST with
one JSON body, which the transport allows (no SSE stream, no session). So ours stays.

Revisions served: the handshake era (`initialize`, 2024-11-05 to 2025-11-25) and the per-request
era (2026-07-28: `server/discover`, no handshake, revision and client capabilities in each
request's `_meta`), side by side; `wire` holds the wire rules of both.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from aiohttp import web
from mcp.shared.inbound import InboundLadderRejection
from mcp_types import (
    DEFAULT_NEGOTIATED_VERSION,
    INVALID_PARAMS,
    INVALID_REQUEST,
    PARSE_ERROR,
    SERVER_INFO_META_KEY,
)
from mcp_types import methods as mcp_methods
from mcp_types.version import MODERN_PROTOCOL_VERSIONS
from pydantic import ValidationError

from .. import errors
from ..ops.auth import MCP_PATH
from ..web.keys import ENDS_FIRST
from . import apps
from .listen import end_streams, listen, listeners_ctx
from .methods import LISTEN, SERVER_INFO_STAMP, dispatch, negotiate
from .wire import (
    PROTOCOL_VERSION_HEADER,
    Message,
    RpcError,
    accepts_json,
    acknowledge_notification,
    classify_request,
    error_message,
    first_error,
    modern_response,
    per_request_era,
    rebinding_refusal,
    rejection_message,
    rpc_error_response,
)

log = logging.getLogger(__name__)

# JSON-RPC batches exist only in this revision of the streamable HTTP transport. A batch counts
# once against the per-client rate limit, so its size is bounded.
BATCH_VERSIONS = frozenset({"2025-03-26"})
MAX_BATCH_MESSAGES = 10


async def post_view(request: web.Request) -> web.Response:
    """One POST: a JSON-RPC request (answered in JSON), a notification or response (202)."""
    refused = rebinding_refusal(request)
    if refused is not None:
        return rpc_error_response(403, INVALID_REQUEST, refused, errors.FORBIDDEN)
    if not accepts_json(request):
        return rpc_error_response(406, INVALID_REQUEST, "Not Acceptable: accept application/json.")
    if request.content_type != "application/json":
        return rpc_error_response(
            415, INVALID_REQUEST, "Unsupported Media Type: send application/json."
        )
    version = request.headers.get(PROTOCOL_VERSION_HEADER)
    try:
        payload = json.loads(await request.read())
    except (ValueError, RecursionError):
        return rpc_error_response(400, PARSE_ERROR, "Parse error: the body is not valid JSON.")
    if per_request_era(version, payload):
        return await per_request_post(request, payload)
    return await handshake_post(request, payload, version or DEFAULT_NEGOTIATED_VERSION)


async def per_request_post(request: web.Request, payload: Any) -> web.Response:
    """2026-07-28: one self-contained request; its envelope and headers checked, then answered."""
    if isinstance(payload, dict) and "id" not in payload:
        return acknowledge_notification(request, payload)
    request_id, verdict = classify_request(request, payload)
    if isinstance(verdict, InboundLadderRejection):
        return modern_response(rejection_message(request_id, verdict))
    # `Mcp-Param-*` headers mirror arguments whose schema carries `x-mcp-header`; ours carry none,
    # so there is nothing to check them against (unannotated ones are ignored, as specified).
    method, params = payload["method"], payload.get("params")
    if method == LISTEN:
        return await listen(request, request_id, params, verdict.protocol_version)
    return modern_response(
        await reply(request, request_id, method, params, verdict.protocol_version)
    )


async def handshake_post(request: web.Request, payload: Any, version: str) -> web.Response:
    """2024-11-05 to 2025-11-25: the revision named by the header (or negotiated by initialize)."""
    if isinstance(payload, list):
        if version not in BATCH_VERSIONS:
            return rpc_error_response(
                400, INVALID_REQUEST, f"Invalid Request: no JSON-RPC batches in {version}."
            )
        if not 0 < len(payload) <= MAX_BATCH_MESSAGES:
            return rpc_error_response(
                400, INVALID_REQUEST, f"Invalid Request: a batch holds 1 to {MAX_BATCH_MESSAGES}."
            )
        answers = [await answer(request, m, version, in_batch=True) for m in payload]
        replies = [a for a in answers if a is not None]
        return web.json_response(replies) if replies else web.Response(status=202)
    message = await answer(request, payload, version)
    if message is None:
        return web.Response(status=202)
    headers = {}
    initialized = "result" in message and payload.get("method") == "initialize"
    if initialized and apps.declared(request, "initialize", payload.get("params")):
        headers[apps.SESSION_HEADER] = apps.ui_session_id()  # see `apps`: it says, keeps nothing
    # A message whose id cannot be read is rejected by the transport; any other gets its answer.
    return web.json_response(message, status=400 if message["id"] is None else 200, headers=headers)


async def answer(
    request: web.Request, message: Any, version: str, in_batch: bool = False
) -> Message | None:
    """The reply to one handshake-era JSON-RPC message; None for notifications and responses."""
    if not isinstance(message, dict) or message.get("jsonrpc") != "2.0":
        return error_message(None, INVALID_REQUEST, "Invalid Request: not a JSON-RPC 2.0 message.")
    request_id = message.get("id")
    method = message.get("method")
    if method is None and ("result" in message or "error" in message):
        return None  # a response to a request we never send: accepted and dropped
    if not isinstance(method, str) or (
        "id" in message and (isinstance(request_id, bool) or not isinstance(request_id, int | str))
    ):
        return error_message(None, INVALID_REQUEST, "Invalid Request: no method or a bad id.")
    if "id" not in message:
        return (
            None  # notifications (initialized, cancelled, ...) need nothing from a stateless server
        )
    params = message.get("params")
    if params is not None and not isinstance(params, dict):
        return error_message(
            request_id, INVALID_REQUEST, "Invalid Request: params is not an object."
        )
    if method == "initialize":
        if in_batch:
            return error_message(
                request_id, INVALID_REQUEST, "Invalid Request: initialize may not be batched."
            )
        version = negotiate(params)
    return await reply(request, request_id, method, params, version)


async def reply(
    request: web.Request, request_id: Any, method: str, params: dict[str, Any] | None, version: str
) -> Message:
    """A request's JSON-RPC response at `version`: its result, or the error the spec defines."""
    try:
        result = await dispatch(request, method, params, version)
    except RpcError as exc:
        return error_message(request_id, exc.code, exc.message, exc.data)
    except ValidationError as exc:
        return error_message(request_id, INVALID_PARAMS, f"Invalid params: {first_error(exc)}")
    wire = mcp_methods.serialize_server_result(method, version, result)
    if version in MODERN_PROTOCOL_VERSIONS:
        # Every 2026-07-28 response SHOULD name the server that produced it.
        wire["_meta"] = {**wire.get("_meta", {}), SERVER_INFO_META_KEY: SERVER_INFO_STAMP}
    return {"jsonrpc": "2.0", "id": request_id, "result": wire}


async def method_not_allowed_view(request: web.Request) -> web.Response:
    """GET: no server-initiated stream is offered; DELETE: there are no sessions to end."""
    return rpc_error_response(
        405, INVALID_REQUEST, f"Method Not Allowed: {request.method} /mcp.", Allow="POST"
    )


def setup_mcp_routes(app: web.Application) -> list[web.AbstractRoute]:
    """The routes; call after `upstream_ctx` is in `cleanup_ctx` (listeners need the client)."""
    app.cleanup_ctx.append(listeners_ctx)
    app[ENDS_FIRST] = [*app.get(ENDS_FIRST, ()), end_streams]  # before the stop's wait
    app.on_shutdown.append(end_streams)  # and under aiohttp's own runner (tests)
    resource = app.router.add_resource(MCP_PATH, name="mcp")
    return [
        resource.add_route("POST", post_view),
        resource.add_route("GET", method_not_allowed_view),
        resource.add_route("DELETE", method_not_allowed_view),
    ]
