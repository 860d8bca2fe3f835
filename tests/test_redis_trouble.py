"""Redis trouble: a frozen Redis costs a request a short timeout, not its deadline; a Redis that
goes away leaves each process on its own share, with one log line each way."""

from __future__ import annotations

import asyncio
import logging
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from typing import Any

import pytest

from sportstats.app import create_app
from sportstats.outage import PROBE_S
from tests.conftest import ask, load_fixture, make_settings, upstream_route
from tests.server_process import free_port

pytestmark = pytest.mark.redis  # a Redis of its own, which it freezes and stops

REDIS_TIMEOUT_S = 0.3
TEAMS = load_fixture("teams_all.json")


@pytest.fixture
def own_redis() -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    """A redis-server only this test uses (it gets frozen), on a free port."""
    program = shutil.which("redis-server")
    assert program, "the Redis tests need the redis-server program"
    port = free_port()
    server = subprocess.Popen(
        [program, "--bind", "127.0.0.1", "--port", str(port), "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
    )
    time.sleep(0.3)
    try:
        yield server, f"redis://127.0.0.1:{port}/0"
    finally:
        server.send_signal(signal.SIGCONT)
        server.terminate()
        server.wait(timeout=10)


async def test_a_frozen_redis_costs_a_request_its_timeout_not_its_deadline(
    aiohttp_client: Any, upstream: Any, own_redis: tuple[Any, str], caplog: pytest.LogCaptureFixture
) -> None:
    server, url = own_redis
    upstream.get(upstream_route("/teams"), payload=TEAMS, repeat=True)
    settings = make_settings(redis_url=url, redis_timeout_s=REDIS_TIMEOUT_S)
    client = await aiohttp_client(create_app(settings))
    assert (await ask(client, "/teams"))["meta"]["cache"] == "miss"
    caplog.set_level(logging.INFO, logger="sportstats.redis")

    server.send_signal(signal.SIGSTOP)
    started = time.monotonic()
    answers = await asyncio.gather(*(ask(client, f"/teams?division={d}") for d in
                                     ("Pacific", "Atlantic", "Central")))  # fmt: skip
    took = time.monotonic() - started
    server.send_signal(signal.SIGCONT)

    assert all(a["data"] for a in answers)  # answered from the upstream meanwhile
    # a correctness bound (a few Redis timeouts, far from the 20 s deadline), not a benchmark
    assert took < 10 * REDIS_TIMEOUT_S
    said = [r.getMessage() for r in caplog.records if r.name == "sportstats.redis"]
    assert len(said) == 1 and "unavailable" in said[0]  # once, not once per operation

    await asyncio.sleep(PROBE_S + 0.1)  # until Redis is tried again
    await ask(client, "/teams?division=Southwest")
    said = [r.getMessage() for r in caplog.records if r.name == "sportstats.redis"]
    assert len(said) == 2 and "back" in said[1]
