"""The check's command line and its order of steps: discovery first (what `/mcp` says to a caller
without a token decides the rest), then the sign-in a host would do, then MCP, then a refresh."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from typing import Any, TextIO

import aiohttp
from yarl import URL

from ..ops.auth import MCP_PATH
from .report import CheckFailed, Report
from .session import McpClient, initialize_params, list_tools, use
from .signin import client_id_for, discover, refresh, resource_metadata_url, sign_in

TIMEOUT_S = 30
DEFAULT_REDIRECT = "http://127.0.0.1/sportstats-check"
KEY_ENV = "TESTER_KEY"
LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})  # checked over http from the machine


def command_line() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m sportstats check",
        description="Run the whole path ChatGPT or Claude runs to connect (discovery,"
        " registration, PKCE authorization, the sign-in with a tester key, the token,"
        " initialize, tools/list, one tools/call, a refresh), printing each step; exit 1 at the"
        " first failure.",
    )
    parser.add_argument("--url", required=True, help="the server's public URL (or its /mcp)")
    parser.add_argument(
        "--key",
        default=os.environ.get(KEY_ENV, ""),
        help=f"a tester key from auth.keys (or {KEY_ENV} in the environment, out of the process"
        " list)",
    )
    parser.add_argument(
        "--redirect-uri",
        default=DEFAULT_REDIRECT,
        help="the callback to register; it is never visited (default: %(default)s; ChatGPT's is"
        " https://chatgpt.com/connector_platform_oauth_redirect)",
    )
    parser.add_argument(
        "--client-id", help="a client metadata document's URL, used instead of registering"
    )
    parser.add_argument("--tool", default="get_teams", help="the tool to call (%(default)s)")
    parser.add_argument(
        "--arguments", default="{}", type=json.loads, help="its arguments as JSON (%(default)s)"
    )
    return parser


async def whole_path(session: aiohttp.ClientSession, report: Report, args: Any, url: str) -> str:
    """Every step in order; returns who can connect, or raises at the first failure."""
    report.start("discovery")
    if URL(url).scheme != "https" and URL(url).host not in LOOPBACK:
        raise CheckFailed(
            f"{url} is not https: ChatGPT and Claude call https URLs only",
            "Put a TLS proxy in front (docs/deployment.md) and check the https URL.",
        )
    probe = McpClient(session, url, None)
    status, _, text, challenge = await probe.post(
        {"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": initialize_params()}
    )
    if status == 200:
        report.ok("no sign-in asked: anyone may call (auth mode none)")
        return await without_sign_in(session, report, args, url, None, "anyone")
    if status != 401:
        raise CheckFailed(f"{url} answered {status} to a first initialize: {text[:200]}")
    metadata = resource_metadata_url(challenge)
    if metadata is None:
        report.ok("401 without OAuth metadata: the server takes keys as bearer tokens")
        who = "clients that send the key as a bearer token (MCP Inspector, GPT Actions);"
        who += " ChatGPT and Claude need auth.mode oauth"
        return await without_sign_in(session, report, args, url, args.key, who)
    report.ok(f"401 naming the resource metadata {metadata}")
    server = await discover(session, report, metadata)
    client_id = await client_id_for(session, report, server, args.redirect_uri, args.client_id)
    if not args.key:
        report.start("sign-in with the tester key")
        raise CheckFailed("no tester key given", "Pass --key with a key from auth.keys.")
    grant = await sign_in(session, report, server, client_id, args.redirect_uri, args.key)
    client = McpClient(session, url, grant.access_token)
    await use(client, report, args.tool, args.arguments)
    client.token = await refresh(session, report, grant)
    await list_tools(client, report)
    return "ChatGPT, Claude and any MCP client that signs in with a tester key"


async def without_sign_in(
    session: aiohttp.ClientSession, report: Report, args: Any, url: str, key: str | None, who: str
) -> str:
    for step in ("registration", "authorization with PKCE", "sign-in", "token"):
        report.skip(step, "the server asks no OAuth sign-in")
    await use(McpClient(session, url, key or None), report, args.tool, args.arguments)
    report.skip("refresh", "no tokens to refresh")
    return who


async def check(args: Any, out: TextIO) -> int:
    base = args.url.rstrip("/")
    url = base if base.endswith(MCP_PATH) else base + MCP_PATH
    report = Report(out)
    print(f"sportstats check: {url}", file=out, flush=True)
    timeout = aiohttp.ClientTimeout(total=TIMEOUT_S)
    try:
        async with aiohttp.ClientSession(timeout=timeout) as session:
            who = await whole_path(session, report, args, url)
    except CheckFailed as exc:
        report.failed(exc)
    except (aiohttp.ClientError, OSError, TimeoutError) as exc:
        report.failed(CheckFailed(f"cannot reach the server: {exc or type(exc).__name__}"))
    else:
        print(f"passed, {report.passed} steps: {who} can connect at {url}", file=out)
        return 0
    print(f"failed after {report.passed} steps passed", file=out)
    return 1


def main(argv: list[str], out: TextIO = sys.stdout) -> int:
    args = command_line().parse_args(argv)
    return asyncio.run(check(args, out))
