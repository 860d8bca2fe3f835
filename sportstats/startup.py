"""What an operator reads when the server starts, the same under `python -m sportstats` and
under gunicorn (`deploy/gunicorn.conf.py`): the one line that says where it listens and how it is
set up, or the one line that says why it cannot listen."""

from __future__ import annotations

import errno
import socket

from . import __version__
from . import sample as sample_league
from .core.endpoints import ENDPOINTS
from .ops.auth import MCP_PATH
from .settings import Settings


def startup_line(settings: Settings, tls: bool) -> str:
    """Where the server listens, who may call, the cache, the upstream with its budget, the
    tools on offer and the URL an assistant connects to."""
    host = f"[{settings.host}]" if ":" in settings.host else settings.host
    where = f"{'https' if tls else 'http'}://{host}:{settings.port}"
    cache = "Redis" if settings.redis_url else "memory"
    tools = ", ".join(endpoint.tool_name for endpoint in ENDPOINTS)
    connect = f"{settings.public_url or where}{MCP_PATH}"
    upstream = sample_league.SOURCE if settings.upstream.demo else settings.upstream_url
    return (
        f"sportstats {__version__} listening on {where} (MCP at {where}{MCP_PATH}) · auth"
        f" {settings.auth.mode} · cache {cache} · upstream {upstream},"
        f" {settings.upstream.requests_per_minute} requests a minute · tools {tools}"
        f" · connect assistants to {connect}"
    )


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
