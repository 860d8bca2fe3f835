"""`python -m sportstats`: read the options, start the server."""

from __future__ import annotations

import sys

from .app import create_app
from .ops.record import configure_logging
from .settings import SettingsError, command_line, load_settings
from .web.runner import run_app
from .web.tls import server_ssl_context


def main(argv: list[str] | None = None) -> None:
    args = vars(command_line().parse_args(argv))
    config_file = args.pop("config")
    try:
        settings = load_settings(cli=args, config_file=config_file)
    except SettingsError as exc:
        print(f"sportstats: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    configure_logging(settings.log_level)
    ssl_context = None
    if settings.tls_cert and settings.tls_key:
        try:
            ssl_context = server_ssl_context(settings.tls_cert, settings.tls_key)
        except (OSError, ValueError) as exc:
            print(f"sportstats: cannot use tls_cert/tls_key: {exc}", file=sys.stderr)
            raise SystemExit(2) from None
    try:
        run_app(  # web.run_app, answering even requests aiohttp's parser refuses in JSON
            create_app(settings),
            host=settings.host,
            port=settings.port,
            ssl_context=ssl_context,
            access_log=None,  # sportstats.access logs each request, without secrets
            shutdown_timeout=settings.shutdown_timeout_s,  # in-flight requests finish first
        )
    except OSError as exc:
        print(
            f"sportstats: cannot listen on {settings.host}:{settings.port}: {exc.strerror}",
            file=sys.stderr,
        )
        raise SystemExit(1) from None


if __name__ == "__main__":
    main()
