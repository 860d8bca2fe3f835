"""`python -m sportstats`: read the options, start the server."""

from __future__ import annotations

import contextlib
import resource
import sys
from typing import Any

from . import __version__
from .app import create_app
from .ops.health import plan_on_offer
from .ops.record import configure_logging
from .settings import Settings, SettingsError, command_line, load_settings
from .web.keys import UPSTREAM
from .web.runner import run_app
from .web.tls import server_ssl_context

FILE_LIMIT = 65_536


def plan_words(plan: dict[str, Any]) -> str:
    """The upstream plan as the start-up line says it: set or learned, budget, tools on offer."""
    if plan["key"] == "rejected":
        return (
            "the upstream REJECTS the API key (401 on every route): check BALLDONTLIE_API_KEY;"
            " questions get 503 upstream_key_rejected"
        )
    how = {"set": "set", "learned": "learned"}.get(plan["source"], "auto, not learned yet")
    label = plan["plan_label"] or "free-plan budget until known"
    return (
        f"plan {label} ({how}), {plan['requests_per_minute']} requests a minute, tools"
        f" {', '.join(plan['tools']) or 'none'}"
    )


def startup_line(settings: Settings, tls: bool, plan: dict[str, Any] | None = None) -> str:
    """What a newcomer needs to know once the server runs: where, who may call, the cache and
    the upstream with its plan, budget and the tools it serves."""
    host = f"[{settings.host}]" if ":" in settings.host else settings.host
    where = f"{'https' if tls else 'http'}://{host}:{settings.port}"
    cache = "Redis" if settings.redis_url else "memory"
    return (
        f"sportstats {__version__} listening on {where} (MCP at {where}/mcp) · auth"
        f" {settings.auth.mode} · cache {cache} · upstream {settings.upstream_url}"
        + (f" · {plan_words(plan)}" if plan else "")
    )


def raise_file_limit() -> None:
    """Every connection is a file: let the process open as many as it is allowed to (the soft
    limit is often 1,024, far below the hard one), so slow clients cannot starve the rest."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = hard if hard != resource.RLIM_INFINITY else FILE_LIMIT
    if soft != resource.RLIM_INFINITY and soft < wanted:
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (min(wanted, FILE_LIMIT), hard))


def main(argv: list[str] | None = None) -> None:
    args = vars(command_line().parse_args(argv))
    config_file = args.pop("config")
    try:
        settings = load_settings(cli=args, config_file=config_file)
    except SettingsError as exc:
        print(f"sportstats: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    configure_logging(settings.log_level)
    raise_file_limit()
    ssl_context = None
    if settings.tls_cert and settings.tls_key:
        try:
            ssl_context = server_ssl_context(settings.tls_cert, settings.tls_key)
        except (OSError, ValueError) as exc:
            print(f"sportstats: cannot use tls_cert/tls_key: {exc}", file=sys.stderr)
            raise SystemExit(2) from None
    app = create_app(settings)
    try:
        run_app(  # web.run_app, answering even requests aiohttp's parser refuses in JSON
            app,
            host=settings.host,
            port=settings.port,
            ssl_context=ssl_context,
            access_log=None,  # sportstats.access logs each request, without secrets
            shutdown_timeout=settings.shutdown_timeout_s,  # in-flight requests finish first
            on_listening=lambda: print(
                startup_line(settings, ssl_context is not None, plan_on_offer(app[UPSTREAM])),
                file=sys.stderr,
                flush=True,
            ),
        )
    except OSError as exc:
        print(
            f"sportstats: cannot listen on {settings.host}:{settings.port}: {exc.strerror}",
            file=sys.stderr,
        )
        raise SystemExit(1) from None


if __name__ == "__main__":
    main()
