"""`python -m sportstats`: read the options, start the server."""

from __future__ import annotations

import contextlib
import resource
import sys

from .app import create_app
from .check import run as check
from .ops.health import plan_on_offer
from .ops.record import configure_logging
from .settings import SettingsError, command_line, load_settings
from .startup import cannot_listen, listen_problem, startup_line
from .web.keys import UPSTREAM
from .web.runner import run_app
from .web.tls import server_ssl_context

FILE_LIMIT = 65_536


def raise_file_limit() -> None:
    """Every connection is a file: let the process open as many as it is allowed to (the soft
    limit is often 1,024, far below the hard one), so slow clients cannot starve the rest."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = hard if hard != resource.RLIM_INFINITY else FILE_LIMIT
    if soft != resource.RLIM_INFINITY and soft < wanted:
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (min(wanted, FILE_LIMIT), hard))


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["check"]:  # python -m sportstats check --url ... --key ...
        raise SystemExit(check.main(argv[1:]))
    args = vars(command_line().parse_args(argv))
    config_file = args.pop("config")
    try:
        settings = load_settings(cli=args, config_file=config_file)
    except SettingsError as exc:
        print(f"sportstats: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    problem = listen_problem(settings.host, settings.port)
    if problem:
        print(problem, file=sys.stderr)
        raise SystemExit(1)
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
    except OSError as exc:  # taken between the check and the bind
        print(cannot_listen(settings.host, settings.port, exc), file=sys.stderr)
        raise SystemExit(1) from None


if __name__ == "__main__":
    main()
