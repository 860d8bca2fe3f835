"""Our /mcp transport against the SDK's own, mounted inside the same aiohttp app.

Run: `pip install -e '.[bench]'`, then `python bench/bench_mcp_transport.py` (about 30 s, all on
127.0.0.1). One child process serves the sportstats app with its /mcp, and the same app with the
`mcp` SDK's streamable HTTP transport (stateless, JSON responses) mounted at /sdk through
aiohttp-asgi, whose one tool answers through the same `Answers` (the same cache). The parent sends
`tools/call get_teams` (a cache hit) from `CLIENTS` keep-alive clients, the two in turn for
`ROUNDS` rounds, and prints requests/s, p50, p99 and the child's CPU time per call.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from aiohttp import ClientSession, TCPConnector, web

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sportstats.app import create_app  # noqa: E402
from sportstats.core.endpoints import TEAMS  # noqa: E402
from sportstats.core.params import parse_query  # noqa: E402
from sportstats.settings import load_settings  # noqa: E402
from sportstats.web.keys import ANSWERS  # noqa: E402
from tests import fake_upstream  # noqa: E402

HOST = "127.0.0.1"
CLIENTS = 16
ROUNDS = 5
ROUND_S = 2.0
CALL = {"jsonrpc": "2.0", "id": 1, "method": "tools/call"}
CALL["params"] = {"name": "get_teams", "arguments": {}}
HEADERS = {
    "Accept": "application/json, text/event-stream",
    "Content-Type": "application/json",
    "MCP-Protocol-Version": "2025-06-18",
}
PATHS = {"ours (sportstats.mcp)": "/mcp", "SDK transport via aiohttp-asgi": "/sdk/mcp"}


def app_with_the_sdk_transport(upstream_port: int) -> web.Application:
    """The sportstats app, plus the SDK's transport at /sdk with a get_teams tool."""
    from aiohttp_asgi import ASGIResource
    from mcp.server import MCPServer

    from sportstats.web import bounds

    bounds.POST_ONLY_PATHS = bounds.POST_ONLY_PATHS | {"/sdk/mcp"}  # let its POSTs through

    settings = load_settings(
        cli={
            "upstream_url": f"http://{HOST}:{upstream_port}/v1",
            "limits": {"requests_per_minute": 0},
        },
        environ={"BALLDONTLIE_API_KEY": fake_upstream.API_KEY},
    )
    app = create_app(settings)
    sdk = MCPServer("sportstats-sdk")

    @sdk.tool(name="get_teams")
    async def get_teams() -> dict:
        reply = await app[ANSWERS].reply(TEAMS, parse_query(TEAMS.params, {}))
        return reply.answer()

    star = sdk.streamable_http_app(
        stateless_http=True, json_response=True, streamable_http_path="/mcp"
    )
    resource = ASGIResource(star, root_path="/sdk")
    app.router.register_resource(resource)
    resource.lifespan_mount(app)
    # The SDK's server sets up logging of its own at INFO; both paths would pay for it.
    logging.getLogger().setLevel(logging.WARNING)
    return app


async def serve() -> None:
    """Child process: the fake upstream and the app; prints the app's port."""
    upstream = web.AppRunner(fake_upstream.make_app(latency_s=0.0))
    await upstream.setup()
    upstream_site = web.TCPSite(upstream, HOST, 0)
    await upstream_site.start()
    upstream_port = upstream_site._server.sockets[0].getsockname()[1]
    runner = web.AppRunner(app_with_the_sdk_transport(upstream_port), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, HOST, 0)
    await site.start()
    print(json.dumps({"port": site._server.sockets[0].getsockname()[1]}), flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
    await runner.cleanup()
    await upstream.cleanup()


async def measure(url: str, seconds: float) -> tuple[float, float, float]:
    latencies: list[float] = []
    body = json.dumps(CALL).encode()
    until = time.perf_counter() + seconds

    async def client(session: ClientSession) -> None:
        while time.perf_counter() < until:
            sent = time.perf_counter()
            async with session.post(url, data=body, headers=HEADERS) as response:
                answer = await response.json()
                if response.status != 200 or answer["result"].get("isError"):
                    raise RuntimeError(f"{response.status}: {answer}")
            latencies.append(time.perf_counter() - sent)

    started = time.perf_counter()
    async with ClientSession(connector=TCPConnector(limit=CLIENTS)) as session:
        await asyncio.gather(*(client(session) for _ in range(CLIENTS)))
    elapsed = time.perf_counter() - started
    cuts = statistics.quantiles(latencies, n=100)
    return len(latencies) / elapsed, cuts[49] * 1000, cuts[98] * 1000


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def main() -> None:
    child = subprocess.Popen(
        [sys.executable, __file__, "--serve"], stdin=subprocess.PIPE, stdout=subprocess.PIPE
    )
    try:
        port = json.loads(child.stdout.readline())["port"]
        urls = {name: f"http://{HOST}:{port}{path}" for name, path in PATHS.items()}
        for url in urls.values():
            await measure(url, 1.0)  # warm up: the first call fills the cache
        rounds: dict[str, list[tuple[float, float, float, float]]] = {name: [] for name in urls}
        for _ in range(ROUNDS):
            for name, url in urls.items():
                before = cpu_seconds(child.pid)
                rps, p50, p99 = await measure(url, ROUND_S)
                cpu_us = (cpu_seconds(child.pid) - before) / (rps * ROUND_S) * 1e6
                rounds[name].append((rps, p50, p99, cpu_us))
    finally:
        child.stdin.close()
        child.wait(timeout=10)
    ours = list(PATHS)[0]
    print(
        f"tools/call get_teams (a cache hit), {CLIENTS} clients, {ROUNDS} rounds of"
        f" {ROUND_S:g} s, in turn; medians of the rounds:"
    )
    for name, values in rounds.items():
        rps, p50, p99, cpu = (statistics.median(v[i] for v in values) for i in range(4))
        ratio = statistics.median(v[0] / o[0] for v, o in zip(values, rounds[ours], strict=True))
        print(
            f"   {name:32} {rps:7.0f} calls/s   p50 {p50:6.2f} ms   p99 {p99:6.2f} ms"
            f"   server CPU {cpu:6.1f} us/call   {ratio:4.0%} of ours"
        )


if __name__ == "__main__":
    if "--serve" in sys.argv:
        asyncio.run(serve())
    else:
        asyncio.run(main())
