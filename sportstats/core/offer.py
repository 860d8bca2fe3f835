"""What this server answers on the key's plan: the endpoints on offer, and the words a plan
refusal uses to name them."""

from __future__ import annotations

from collections.abc import Callable

from ..upstream.routes import Route
from .endpoint import Endpoint
from .endpoints import ENDPOINTS


def on_offer(covers: Callable[[Route], bool]) -> tuple[Endpoint, ...]:
    """The endpoints the key's plan lets this server answer (`upstream.coverage`)."""
    return tuple(endpoint for endpoint in ENDPOINTS if covers(endpoint.needs))


def instead(covers: Callable[[Route], bool]) -> str:
    """What this server can answer on the key's plan, for a refusal's hint."""
    offered = on_offer(covers)
    if not offered:
        return "Nothing can be answered on this plan now."
    paths = ", ".join(endpoint.path for endpoint in offered)
    tools = ", ".join(endpoint.tool_name for endpoint in offered)
    return f"On this plan this server answers {paths} (MCP tools {tools})."
