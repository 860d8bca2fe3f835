"""`python -m sportstats`: read the options, start the server."""

from __future__ import annotations

import argparse
import sys
from typing import NoReturn

from .app import create_app
from .ops.record import configure_logging
from .settings import API_KEY_ENV, SettingsError, load_settings
from .web.runner import run_app
from .web.tls import server_ssl_context


class OneLineParser(argparse.ArgumentParser):
    """Command-line mistakes are one line, like every other configuration error."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"sportstats: {message} (see --help)\n")


def parser() -> argparse.ArgumentParser:
    p = OneLineParser(
        prog="python -m sportstats",
        description="NBA stats for AI assistants (plugin, GPT Action and MCP), over the"
        f" BALLDONTLIE API. The API key is read from {API_KEY_ENV}. Every option can also be set"
        " in the YAML config file (same name, underscores) or as SPORTSTATS_<NAME>;"
        " precedence: defaults < config file < environment < command line.",
    )
    p.add_argument("--config", metavar="FILE", help="YAML config file (also SPORTSTATS_CONFIG)")
    p.add_argument("--host", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, help="port to listen on (default 5001)")
    p.add_argument(
        "--upstream-url", help="BALLDONTLIE base URL (default https://api.balldontlie.io/v1)"
    )
    p.add_argument(
        "--public-url",
        help="URL assistants reach this server at, for the manifest and spec"
        " (default: taken from each request, honouring X-Forwarded-Proto/Host)",
    )
    p.add_argument(
        "--cors-origins",
        help="comma-separated allowed browser origins"
        " (default https://chat.openai.com,https://chatgpt.com)",
    )
    p.add_argument(
        "--redis-url",
        help="share the cache and upstream budget through Redis, e.g. redis://127.0.0.1:6379/0"
        " (default: in-process memory)",
    )
    p.add_argument("--log-level", help="DEBUG, INFO, WARNING or ERROR (default INFO)")
    p.add_argument(
        "--tls-cert",
        metavar="FILE",
        help="serve HTTPS (TLS 1.2+) with this PEM certificate chain; needs --tls-key",
    )
    p.add_argument("--tls-key", metavar="FILE", help="the PEM private key of --tls-cert")
    return p


def main(argv: list[str] | None = None) -> None:
    args = vars(parser().parse_args(argv))
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
