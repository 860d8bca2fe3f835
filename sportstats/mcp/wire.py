"""The MCP wire at `/mcp`: JSON-RPC messages and the HTTP rules of both protocol eras.

Two eras share the endpoint, as the specification allows a dual-era server to do:
- handshake era (2024-11-05 to 2025-11-25): `initialize` negotiates a revision, later requests
  name it in the `MCP-Protocol-Version` header (absent: 2025-03-26); a JSON-RPC error is
  answered with HTTP 200, except when the transport rejects the message itself;
- per-request era (2026-07-28): no handshake; every request carries its revision, client info and
  capabilities in `params._meta`, and the HTTP routing headers (`MCP-Protocol-Version`,
  `Mcp-Method`, `Mcp-Name`, `Mcp-Param-*`) must agree with the body. The ladder that checks this
  is the SDK's own (`mcp.shared.inbound`), and so is the table of HTTP statuses for JSON-RPC
  errors (404 for an unknown method, 400 for bad params, a header mismatch or an unsupported
  revision).

A request is served in the per-request era when its header names anything but a handshake
revision (as the SDK's server routes it) or when its body carries the per-request envelope.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web
from mcp.shared.inbound import (
    ERROR_CODE_HTTP_STATUS,
    InboundLadderRejection,
    InboundModernRoute,
    classify_inbound_request,
    find_duplicated_routing_header,
    unsupported_protocol_version_rejection,
)
from mcp_types import (
    HEADER_MISMATCH,
    INVALID_REQUEST,
    PROTOCOL_VERSION_META_KEY,
    JSONRPCNotification,
    JSONRPCRequest,
)
from mcp_types.version import HANDSHAKE_PROTOCOL_VERSIONS
from pydantic import ValidationError
from yarl import URL

from ..ops.auth import LOCAL_NAMES, on_loopback
from ..web.keys import ACCESS, SETTINGS

PROTOCOL_VERSION_HEADER = "MCP-Protocol-Version"
NOT_ONE_MESSAGE = "Invalid Request: the body must be one JSON-RPC request or notification object."

Message = dict[str, Any]


class RpcError(Exception):
    """A JSON-RPC error response: the request itself was wrong, not the question it asked."""

    def __init__(self, code: int, message: str, data: Any = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.data = data


def error_message(request_id: Any, code: int, message: str, data: Any = None) -> Message:
    error: dict[str, Any] = {"code": code, "message": message}
    if data is not None:
        error["data"] = data
    return {"jsonrpc": "2.0", "id": request_id, "error": error}


def rpc_error_response(
    status: int, code: int, message: str, ours: str | None = None, **headers: str
) -> web.Response:
    """A transport-level rejection: HTTP status and a JSON-RPC error without an id; `ours`, our
    error code, goes in `error.data` as on every other refusal (`web.errors.rpc_error`)."""
    data = {"code": ours, "status": status} if ours else None
    return web.json_response(
        error_message(None, code, message, data), status=status, headers=headers
    )


def modern_response(reply: Message) -> web.Response:
    """A per-request-era reply, its HTTP status mapped from the JSON-RPC error code (else 200)."""
    status = ERROR_CODE_HTTP_STATUS.get(reply["error"]["code"], 200) if "error" in reply else 200
    return web.json_response(reply, status=status)


def _host_of(value: str) -> str:
    """ "example.com:443" -> "example.com", "[::1]:5001" -> "::1", lower case."""
    value = value.strip().lower()
    if value.startswith("["):
        return value[1 : value.find("]")] if "]" in value else value
    return value.rsplit(":", 1)[0] if value.count(":") == 1 else value


def host_refusal(request: web.Request) -> str | None:
    """Why the request's `Host` is not a name of this server; None if it is.

    The public URL's host is always one (a TLS proxy passes it through). On a loopback address,
    so are localhost, 127.0.0.1 and [::1] (any port) and, without a public URL, whatever host a
    request forwarded by one of `auth.trusted_proxies` carries (the proxy chose to serve it);
    any other is what a DNS-rebinding page would send. On a public address without a public
    URL, every host is.
    """
    settings = request.app[SETTINGS]
    host = _host_of(request.headers.get("Host", ""))
    public = (URL(settings.public_url).raw_host or "").lower() if settings.public_url else None
    if host == public:
        return None
    if not on_loopback(settings.host):
        return None if public is None else f"Host '{host[:60]}' is not this server's public host."
    if host in LOCAL_NAMES:
        return None
    if public is None and request.app[ACCESS].from_trusted_proxy(request):
        return None
    if public is None:
        return (
            f"Host '{host[:60]}' is not this local server; behind a proxy, set public_url to"
            " the address clients use, or name the proxy in auth.trusted_proxies."
        )
    return f"Host '{host[:60]}' is neither this local server nor its public host '{public}'."


def rebinding_refusal(request: web.Request) -> str | None:
    """Against DNS rebinding, why a request's `Host` or `Origin` is refused; None if neither is.

    `Host` must name this server (`host_refusal`). On a loopback address any localhost,
    127.0.0.1 or [::1] origin (any port) is accepted; otherwise a browser's `Origin` must be one
    of `cors_origins`. A request without `Origin` is not from a browser page and passes that
    check.
    """
    refused = host_refusal(request)
    if refused is not None:
        return refused
    settings = request.app[SETTINGS]
    origin = request.headers.get("Origin")
    if origin is None:
        return None
    if on_loopback(settings.host) and _host_of(URL(origin).raw_host or "") in LOCAL_NAMES:
        return None
    allowed = {o.rstrip("/").lower() for o in settings.cors_origins}
    if "*" in allowed or origin.rstrip("/").lower() in allowed:
        return None
    return f"Origin '{origin[:60]}' is not allowed; the operator may add it to cors_origins."


def accepts_json(request: web.Request) -> bool:
    accept = request.headers.get("Accept")
    if not accept:
        return True
    types = {part.split(";")[0].strip().lower() for part in accept.split(",")}
    return bool(types & {"application/json", "application/*", "*/*"})


def per_request_era(version_header: str | None, payload: Any) -> bool:
    """Whether a POST is served in the per-request era (2026-07-28) rather than the handshake's.

    The header decides as in the SDK's server: any value but a handshake revision, including an
    unknown one, goes to the per-request ladder, which answers it as that era requires. A body
    carrying the per-request envelope (a reserved `_meta` key no handshake client sends) goes
    there too, so a header that disagrees with it is reported as the mismatch it is.
    """
    if version_header is not None and version_header not in HANDSHAKE_PROTOCOL_VERSIONS:
        return True
    if not isinstance(payload, dict) or payload.get("method") == "initialize":
        return False
    params = payload.get("params")
    meta = params.get("_meta") if isinstance(params, dict) else None
    return isinstance(meta, dict) and PROTOCOL_VERSION_META_KEY in meta


def acknowledge_notification(request: web.Request, payload: Message) -> web.Response:
    """An id-less message of the per-request era: 202 if well formed at a served revision.

    The 2026-07-28 core defines no client-to-server notification over HTTP (a client cancels by
    closing its request's stream), so one is accepted and dropped, as the SDK's server does.
    """
    try:
        JSONRPCNotification.model_validate(payload)
    except ValidationError:
        return modern_response(error_message(None, INVALID_REQUEST, NOT_ONE_MESSAGE))
    requested = request.headers.get(PROTOCOL_VERSION_HEADER, "")
    if (rejection := unsupported_protocol_version_rejection(requested)) is not None:
        return modern_response(rejection_message(None, rejection))
    return web.Response(status=202)


def classify_request(
    request: web.Request, payload: Any
) -> tuple[Any, InboundModernRoute | InboundLadderRejection]:
    """The request's id and the ladder's verdict: its envelope, or the first rule it breaks.

    Batches and posted responses do not exist in this era: they are invalid requests.
    """
    try:
        request_id = JSONRPCRequest.model_validate(payload).id
    except ValidationError:
        return None, InboundLadderRejection(code=INVALID_REQUEST, message=NOT_ONE_MESSAGE)
    # Duplicates show only in the raw header lines: first-copy and last-copy readers disagree.
    duplicated = find_duplicated_routing_header(request.headers.items())
    if duplicated is not None:
        message = f"{duplicated} header appears more than once"
        return request_id, InboundLadderRejection(code=HEADER_MISMATCH, message=message)
    headers = {name.lower(): value for name, value in request.headers.items()}
    return request_id, classify_inbound_request(payload, headers=headers)


def rejection_message(request_id: Any, rejection: InboundLadderRejection) -> Message:
    return error_message(request_id, rejection.code, rejection.message, rejection.data)


def first_error(exc: ValidationError) -> str:
    first = exc.errors()[0]
    where = ".".join(str(part) for part in first["loc"])
    return f"{where}: {first['msg']}"[:200]
