"""The header timeout with one timer per connection: requests move its deadline, never arm a
timer of their own, and a client that stops sending headers is still cut at the timeout."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
from aiohttp import web

from sportstats.app import create_app
from sportstats.web.runner import JsonErrorAppRunner
from tests.conftest import make_settings

HEADER_TIMEOUT_S = 0.4
REQUEST = b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"


@asynccontextmanager
async def serving(app: web.Application | None = None) -> AsyncIterator[int]:
    app = app or create_app(make_settings(limits={"header_timeout_s": HEADER_TIMEOUT_S}))
    runner = JsonErrorAppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        yield int(runner.addresses[0][1])
    finally:
        await runner.cleanup()


@pytest.fixture
async def header_timers(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The times header timers were armed for (the loop's clock), as they are armed."""
    armed: list[float] = []
    loop = asyncio.get_running_loop()
    call_at = loop.call_at

    def spy(when: float, callback: Any, *args: Any, **kwargs: Any) -> asyncio.TimerHandle:
        if getattr(callback, "__name__", "") == "_headers_overdue":
            armed.append(when)
        return call_at(when, callback, *args, **kwargs)

    monkeypatch.setattr(loop, "call_at", spy)
    return armed


async def ask(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bytes:
    writer.write(REQUEST)
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
    length = int(head.split(b"Content-Length: ")[1].split(b"\r\n")[0])
    await reader.readexactly(length)
    return head


async def closed_within(reader: asyncio.StreamReader, seconds: float) -> float:
    """How long until the server closes the connection (fails past `seconds`)."""
    started = time.monotonic()
    with contextlib.suppress(ConnectionResetError):
        assert await asyncio.wait_for(reader.read(), seconds) == b""
    return time.monotonic() - started


async def test_many_requests_on_one_connection_arm_one_header_timer(
    header_timers: list[float],
) -> None:
    async with serving() as port:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        started = time.monotonic()
        answered = 0
        while time.monotonic() - started < HEADER_TIMEOUT_S / 2:
            assert (await ask(reader, writer)).startswith(b"HTTP/1.1 200")
            answered += 1
        assert answered >= 10
        assert len(header_timers) == 1  # armed when the connection came, not per request
        idle_s = await closed_within(reader, HEADER_TIMEOUT_S * 5)
        writer.close()
    # Cut one timeout after the last answer (the timer re-armed once, for that deadline).
    assert HEADER_TIMEOUT_S * 0.8 <= idle_s <= HEADER_TIMEOUT_S * 3
    assert len(header_timers) == 2


async def test_headers_that_stop_after_an_answer_are_cut_at_the_timeout() -> None:
    async with serving() as port:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        await ask(reader, writer)
        writer.write(b"GET /healthz HTTP/1.1\r\nHo")  # and nothing more
        waited_s = await closed_within(reader, HEADER_TIMEOUT_S * 5)
        writer.close()
    assert HEADER_TIMEOUT_S * 0.8 <= waited_s <= HEADER_TIMEOUT_S * 3


async def test_a_request_slower_than_the_header_timeout_is_answered_then_cut_when_idle(
    header_timers: list[float],
) -> None:
    app = create_app(make_settings(limits={"header_timeout_s": HEADER_TIMEOUT_S}))

    async def slow(request: web.Request) -> web.Response:
        await asyncio.sleep(HEADER_TIMEOUT_S * 2.5)
        return web.Response(text="done", headers={"Content-Length": "4"})

    app.router.add_get("/healthz-slow", slow)
    async with serving(app) as port:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"GET /healthz-slow HTTP/1.1\r\nHost: x\r\n\r\n")
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
        assert head.startswith(b"HTTP/1.1 200")
        assert await reader.readexactly(4) == b"done"
        idle_s = await closed_within(reader, HEADER_TIMEOUT_S * 5)
        writer.close()
    assert HEADER_TIMEOUT_S * 0.8 <= idle_s <= HEADER_TIMEOUT_S * 3
    assert 2 <= len(header_timers) <= 5  # re-armed as it fired, never once per request
