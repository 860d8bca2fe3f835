"""What an operator reads when the server starts, the same under `python -m sportstats` and
under gunicorn (`deploy/gunicorn.conf.py`): the one line that says where it listens and how it is
set up, or the one line that says why it cannot listen."""

from __future__ import annotations

import errno
import socket
from typing import Any

from . import __version__
from . import sample as sample_league
from .core.offer import on_offer
from .ops.auth import MCP_PATH
from .settings import Settings
from .upstream.plans import AUTO, BY_NAME, CHEAPEST


def startup_line(settings: Settings, tls: bool, plan: dict[str, Any] | None = None) -> str:
    """Where the server listens, who may call, the cache, the upstream with its plan (set or
    learned, from `ops.health.plan_on_offer`; without it, as configured) and budget, the tools
    on offer and the URL an assistant connects to."""
    host = f"[{settings.host}]" if ":" in settings.host else settings.host
    where = f"{'https' if tls else 'http'}://{host}:{settings.port}"
    cache = "Redis" if settings.redis_url else "memory"
    connect = f"{settings.public_url or where}{MCP_PATH}"
    upstream = sample_league.SOURCE if settings.upstream.demo else settings.upstream_url
    return (
        f"sportstats {__version__} listening on {where} (MCP at {where}{MCP_PATH}) · auth"
        f" {settings.auth.mode} · cache {cache} · upstream {upstream}"
        f" · {plan_words(plan) if plan else configured_plan(settings)}"
        f" · connect assistants to {connect}"
    )


def plan_words(plan: dict[str, Any]) -> str:
    """The plan in use: set or learned, its budget and the tools it serves; or a rejected key."""
    if plan["key"] == "rejected":
        return (
            "the upstream REJECTS the API key (401 on every route): check BALLDONTLIE_API_KEY;"
            " questions get 503 upstream_key_rejected"
        )
    how = {"set": "set", "learned": "learned"}.get(plan["source"], "auto, not learned yet")
    label = plan["plan_label"] or "free-plan budget until known"
    return (
        f"plan {label} ({how}), {plan['requests_per_minute']} requests a minute · tools"
        f" {', '.join(plan['tools']) or 'none'}"
    )


def configured_plan(settings: Settings) -> str:
    """The plan as configured, where no app has learned it (gunicorn's master: each worker's
    own line in the log says what it learned)."""
    up = settings.upstream
    if up.plan == AUTO:
        budget = up.requests_per_minute or CHEAPEST.requests_per_minute
        return (
            f"plan auto (learned by each worker at start-up), {budget} requests a minute until then"
        )
    plan = BY_NAME[up.plan]
    budget = up.requests_per_minute or plan.requests_per_minute
    tools = ", ".join(e.tool_name for e in on_offer(plan.serves))
    return f"plan {plan.label} (set), {budget} requests a minute · tools {tools}"


def cannot_listen(host: str, port: int, error: OSError) -> str:
    """The one line for an address the server cannot listen on, with the fix."""
    if error.errno == errno.EADDRINUSE:
        return (
            f"sportstats: port {port} on {host} is already in use by another process: stop it,"
            " or choose another port (--port, `port:` in the config file, or SPORTSTATS_PORT)"
        )
    if error.errno == errno.EACCES:
        return (
            f"sportstats: not allowed to listen on port {port} on {host} (ports below 1024 need"
            " privileges): choose a port from 1024, with a TLS proxy in front"
        )
    if error.errno == errno.EADDRNOTAVAIL or isinstance(error, socket.gaierror):
        return (
            f"sportstats: {host} is not an address of this machine: set `host` to one of its"
            " addresses, 127.0.0.1 behind a proxy or 0.0.0.0 for all"
        )
    return f"sportstats: cannot listen on {host}:{port}: {error.strerror or error}"


def listen_problem(host: str, port: int) -> str | None:
    """Try the address as the server will bind it (SO_REUSEADDR, as aiohttp and gunicorn set):
    the one line saying why it cannot listen there, else None. Checked before anything starts,
    so a taken port is one line, not a traceback or gunicorn's retry loop."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        return cannot_listen(host, port, exc)
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as exc:
            return cannot_listen(host, port, exc)
    return None
