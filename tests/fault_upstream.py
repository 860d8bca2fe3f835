"""A fake BALLDONTLIE on 127.0.0.1 that answers with recorded fixtures or fails on purpose.

A real aiohttp server (not a mock inside the client), so the server under test meets real
sockets: connection resets, answers that come too late, garbage bodies, 429 storms with
`Retry-After`, 5xx bursts. A test switches the mode at will (`fake.mode = "reset"`) or queues
faults for the next calls (`fake.queue("error", 3)`); once the queue is empty the default mode
answers again, which is how recovery is tested. Every call is recorded in `calls`.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import random
import socket
import struct
import time
import zlib
from collections import deque
from pathlib import Path

from aiohttp import web

FIXTURES = Path(__file__).parent / "fixtures"

MODES = ("ok", "reset", "slow", "garbage", "rate_limited", "error")

# Recorded answers per upstream path; a query picks one by a stable hash, so generated
# questions meet every recorded shape (final, live, DNP, partial pages, empty).
ANSWERS: dict[str, tuple[str, ...]] = {
    "teams": ("teams_all.json", "teams_conference_East_DERIVED.json"),
    "players": ("players_page_ASSEMBLED.json", "players_empty_search.json"),
    "games": (
        "games_2025-01-05_final_with_quarters.json",
        "games_2023-24_mixed_page.json",
        "games_2024-10-22_TRUNCATED_as_recorded.json",
    ),
    "stats": (
        "stats_2024-10-22_jaylen_brown.json",
        "stats_dnp_all_null.json",
        "stats_2015-04-05_page.json",
        "stats_game_1037684_2023-11-05_DET_vs_GSW.json",
    ),
    # The paid routes, from the fixtures built on the vendor's shapes.
    "leaders": ("leaders_ast_2025_SPEC.json",),
    "player_injuries": ("player_injuries_SPEC.json",),
    "players/active": ("players_active_LAL_SPEC.json",),
    "season_averages/general": ("season_averages_general_base_LAL_SPEC.json",),
    "box_scores": ("box_scores_2026-12-03_SPEC.json", "box_scores_2024-02-07_PARTIAL.json"),
    "box_scores/live": ("box_scores_live_SPEC.json",),
    "stats/advanced": ("stats_advanced_2026-12-03_SPEC.json",),
}
SEASON_AVERAGES = {"237": "season_averages_237_2019.json", "115": "season_averages_115_2022.json"}

# Bodies a broken upstream or a confused proxy in front of it might send with status 200.
GARBAGE_BODIES: tuple[bytes, ...] = (
    b"<html><body>502 Bad Gateway</body></html>",
    b'{"data": [{"id": 1, "first_name": "Trun',
    b"\x00\xff\xfe garbage \x1b[31m",
    b"[1, 2, 3]",
    b"null",
    b'{"data": "not a list"}',
    b'{"data": [1, "two", null, {"id": "x", "team": 7, "game": [], "home_team": "?"}]}',
    b'{"data": [], "meta": {"next_cursor": "nope"}}',
    b'{"data": [{"id": 1, "pts": NaN, "reb": Infinity, "player": {"id": -Infinity}}]}',
    b'{"data": [{"id": true, "season": "2024", "postseason": "yes", "full_name": 42}]}',
    b"",
)


@functools.cache
def fixture_bytes(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def recorded_answer(name: str, query: str, player_id: str | None = None) -> bytes:
    """The fixture a healthy upstream would send for `/v1/{name}?{query}` (or `/v2/...`)."""
    if name == "season_averages":
        return fixture_bytes(SEASON_AVERAGES.get(player_id or "", "season_averages_empty.json"))
    choices = ANSWERS.get(name)
    if not choices:
        return b""
    return fixture_bytes(choices[zlib.crc32(query.encode()) % len(choices)])


class FaultUpstream:
    """The fake upstream's state: its mode, queued faults, and the calls it received."""

    def __init__(
        self,
        api_key: str | None = None,
        latency_s: float = 0.0,
        slow_s: float = 30.0,
        retry_after_s: int = 1,
        error_status: int = 503,
        quota: int | None = None,
        window_s: float = 60.0,
        arrival_jitter_s: float = 0.0,
    ) -> None:
        self.api_key = api_key  # None: any Authorization header is accepted
        self.latency_s = latency_s
        self.slow_s = slow_s
        self.retry_after_s = retry_after_s
        self.error_status = error_status
        self.mode = "ok"
        self.calls: list[str] = []
        # Its own per-window quota, as the real one keeps it: counted on arrival, 429 beyond.
        self.quota = quota
        self.window_s = window_s
        self.arrival_jitter_s = arrival_jitter_s  # the way there takes up to this (a network)
        self.arrivals: list[float] = []  # when each request arrived (monotonic)
        self.refused = 0
        self.reset_share = 0.0  # of requests answered with a reset (benches)
        self._queued: deque[str] = deque()
        self._garbage = 0
        self._runner: web.AppRunner | None = None
        self.url = ""

    def queue(self, mode: str, times: int) -> None:
        """Fail the next `times` calls with `mode`, then answer in the default mode again."""
        assert mode in MODES, mode
        self._queued.extend([mode] * times)

    def next_mode(self) -> str:
        mode = self._queued.popleft() if self._queued else self.mode
        assert mode in MODES, mode
        return mode

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/v1/{name:.+}", self.serve)  # the vendor's older base, as read
        app.router.add_get("/v2/{name:.+}", self.serve)
        app.router.add_get("/calls", self.count)  # for benches running the fake as a process
        return app

    async def count(self, request: web.Request) -> web.Response:
        return web.json_response(
            {
                "calls": len(self.calls),
                "refused": self.refused,
                "most_in_a_window": most_in_a_window(self.arrivals, self.window_s),
            }
        )

    async def start(self) -> str:
        """Listen on an ephemeral port of 127.0.0.1; returns the base URL (ends in /v1)."""
        self._runner = web.AppRunner(self.app(), shutdown_timeout=0.5, access_log=None)
        self.url = await listen(self._runner) + "/v1"
        return self.url

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def serve(self, request: web.Request) -> web.StreamResponse:
        self.calls.append(str(request.rel_url))
        if self.arrival_jitter_s:
            await asyncio.sleep(random.random() * self.arrival_jitter_s)
        now = time.monotonic()
        self.arrivals.append(now)
        if self.quota is not None:
            recent = sum(1 for at in self.arrivals if at > now - self.window_s)
            if recent > self.quota:
                self.refused += 1
                return web.json_response(
                    {"error": "Too Many Requests"}, status=429, headers={"Retry-After": "1"}
                )
        mode = self.next_mode()
        if self.reset_share and random.random() < self.reset_share:
            mode = "reset"
        if self.latency_s:
            await asyncio.sleep(self.latency_s)
        if mode == "reset":
            return reset(request)
        if mode == "slow":
            await asyncio.sleep(self.slow_s)
        if mode == "rate_limited":
            return web.json_response(
                {"error": "Too Many Requests"},
                status=429,
                headers={"Retry-After": str(self.retry_after_s)},
            )
        if mode == "error":
            return web.Response(status=self.error_status, text="upstream on fire")
        if self.api_key is not None and request.headers.get("Authorization") != self.api_key:
            return web.Response(status=401, text=fixture_bytes("401_unauthorized.txt").decode())
        if mode == "garbage":
            body = GARBAGE_BODIES[self._garbage % len(GARBAGE_BODIES)]
            self._garbage += 1
            return web.Response(body=body, content_type="application/json")
        name = request.match_info["name"]
        body = recorded_answer(name, request.query_string, request.query.get("player_id"))
        if not body:
            return web.json_response({"error": "Not Found"}, status=404)
        return web.Response(body=body, content_type="application/json")


async def listen(runner: web.AppRunner) -> str:
    """Set `runner` up on an ephemeral port of 127.0.0.1; returns its base URL."""
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    return f"http://127.0.0.1:{port}"


def most_in_a_window(arrivals: list[float], window_s: float) -> int:
    """The most requests that arrived within any `window_s`, as the upstream counts them."""
    times = sorted(arrivals)
    most, first = 0, 0
    for last, at in enumerate(times):
        while times[first] <= at - window_s:
            first += 1
        most = max(most, last - first + 1)
    return most


def reset(request: web.Request) -> web.StreamResponse:
    """Drop the connection with a TCP RST, as a crashed upstream or a middlebox does."""
    transport = request.transport
    assert transport is not None
    sock: socket.socket | None = transport.get_extra_info("socket")
    if sock is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    transport.abort()
    raise asyncio.CancelledError  # nothing more can be sent on this connection


def main() -> None:
    """`python tests/fault_upstream.py --port N [--latency-ms MS] [--api-key KEY]`: serve until
    killed, healthy (recorded fixtures, every call counted at /calls)."""
    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--latency-ms", type=float, default=0.0)
    parser.add_argument("--api-key", default=None)
    parser.add_argument("--quota", type=int, default=None, help="its own quota a window")
    parser.add_argument("--reset-share", type=float, default=0.0, help="connections reset")
    args = parser.parse_args()
    fake = FaultUpstream(api_key=args.api_key, latency_s=args.latency_ms / 1000, quota=args.quota)
    fake.reset_share = args.reset_share
    web.run_app(fake.app(), host="127.0.0.1", port=args.port, print=None, access_log=None)


if __name__ == "__main__":
    main()
