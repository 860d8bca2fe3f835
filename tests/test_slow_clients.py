"""Slow and greedy clients: headers that trickle, bodies that trickle, too many connections, and
`accept()` failing, each bounded, while the health probe keeps answering."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import resource
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
from aiohttp import web

from sportstats.app import create_app
from sportstats.web.runner import JsonErrorAppRunner, QuietAccept
from tests.conftest import make_settings

SLOW_SOCKETS = 1000  # as many as stopped /healthz at the usual file limit before
HEADER_TIMEOUT_S = 0.5


@asynccontextmanager
async def serving(**limits: Any) -> AsyncIterator[tuple[int, JsonErrorAppRunner]]:
    """The app as `python -m sportstats` serves it, on a free loopback port."""
    runner = JsonErrorAppRunner(create_app(make_settings(limits=limits)), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        yield int(runner.addresses[0][1]), runner
    finally:
        await runner.cleanup()


async def healthz(port: int) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
    answer = await asyncio.wait_for(reader.read(), 5)
    await close(writer)
    return answer


async def close(writer: asyncio.StreamWriter) -> None:
    writer.close()
    with contextlib.suppress(OSError):
        await writer.wait_closed()


@pytest.fixture
def enough_files() -> None:
    """Both ends of every socket live in this process: room for them (as the server makes)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = 4 * SLOW_SOCKETS
    if soft < wanted:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(wanted, hard), hard))


async def test_sockets_that_trickle_their_headers_are_closed_and_health_still_answers(
    enough_files: None,
) -> None:
    async with serving(header_timeout_s=HEADER_TIMEOUT_S) as (port, _):
        slow = []
        for n in range(SLOW_SOCKETS):
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(b"GET /healthz HTTP/1.1\r\nHo")  # and then nothing more for a while
            slow.append((reader, writer))
            if n % 100 == 99:
                await asyncio.sleep(0.01)  # the listen backlog is a few hundred: let it accept
        assert (await healthz(port)).startswith(b"HTTP/1.1 200")
        await asyncio.sleep(HEADER_TIMEOUT_S * 2)
        closed = 0
        for reader, writer in slow:
            try:
                if await asyncio.wait_for(reader.read(), 2) == b"":
                    closed += 1
            except ConnectionResetError:  # closed with bytes unread: a reset, as closed
                closed += 1
            await close(writer)
        assert closed == SLOW_SOCKETS  # the server let go of every one
        assert (await healthz(port)).startswith(b"HTTP/1.1 200")


async def test_a_kept_alive_connection_is_answered_and_then_timed_out_when_idle() -> None:
    async with serving(header_timeout_s=HEADER_TIMEOUT_S) as (port, _):
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        for _ in range(2):  # requests in time on one connection are answered
            writer.write(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
            assert head.startswith(b"HTTP/1.1 200")
            length = int(head.split(b"Content-Length: ")[1].split(b"\r\n")[0])
            await reader.readexactly(length)
        assert await asyncio.wait_for(reader.read(), HEADER_TIMEOUT_S * 4) == b""
        await close(writer)


async def test_past_the_connection_bound_a_new_connection_is_closed_at_once() -> None:
    async with serving(max_connections=5, header_timeout_s=30) as (port, runner):
        held = [await asyncio.open_connection("127.0.0.1", port) for _ in range(5)]
        await asyncio.sleep(0.05)
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        assert await asyncio.wait_for(reader.read(), 2) == b""  # closed, not answered
        await close(writer)
        assert runner.server.refused >= 1
        for _, held_writer in held:
            await close(held_writer)
        await asyncio.sleep(0.05)
        assert (await healthz(port)).startswith(b"HTTP/1.1 200")  # room again


async def test_a_body_that_trickles_is_a_408() -> None:
    async with serving(body_timeout_s=0.3) as (port, _):
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(
            b"POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            b'Content-Length: 200\r\n\r\n{"jsonrpc"'
        )
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
        length = int(head.split(b"Content-Length: ")[1].split(b"\r\n")[0])
        body = await reader.readexactly(length)
        await close(writer)
    assert head.startswith(b"HTTP/1.1 408") and b"Connection: close" in head
    assert b"request_timeout" in body


def test_a_failing_accept_is_logged_once_a_second_not_each_time(
    caplog: pytest.LogCaptureFixture,
) -> None:
    passed_on: list[dict[str, Any]] = []
    loop = asyncio.new_event_loop()
    quiet = QuietAccept(passed_on.append)
    caplog.set_level(logging.ERROR, logger="sportstats.web.runner")
    for _ in range(1000):
        quiet(loop, {"message": "socket.accept() out of system resource", "exception": OSError(24)})
    quiet(loop, {"message": "something else"})
    loop.close()
    assert len([r for r in caplog.records if "accepting connections fails" in r.getMessage()]) == 1
    assert passed_on == [{"message": "something else"}]
