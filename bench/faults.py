"""Two fault figures the docs quote: how long a stop takes with a request stuck upstream, and what
a frozen Redis costs a question.

Run: `python bench/faults.py` (about 15 s; everything on 127.0.0.1; needs `redis-server`).

1. stop: `python -m sportstats` with `shutdown_timeout_s` 2, a request waiting on an upstream that
   answers in 30 s, then SIGTERM: seconds until the process has exited (target: at most 2);
2. frozen Redis: a server on a `redis-server` of its own (`redis_timeout_s` 0.3), the Redis frozen
   with SIGSTOP, then three cold questions at once: seconds until all three are answered (before:
   a request waited out the freeze, up to past its 20 s deadline).
"""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.server_process import clean_environment, free_port  # noqa: E402

HOST = "127.0.0.1"
API_KEY = "test-key"  # what tests/fake_upstream.py accepts
SHUTDOWN_TIMEOUT_S = 2


def wait_until_up(url: str, timeout_s: float = 20.0) -> None:
    give_up = time.monotonic() + timeout_s
    while time.monotonic() < give_up:
        try:
            with urllib.request.urlopen(url, timeout=1):
                return
        except OSError:
            time.sleep(0.05)
    raise SystemExit(f"{url} did not come up")


def start_fake(latency_ms: int) -> tuple[subprocess.Popen, int]:
    port = free_port()
    fake = subprocess.Popen(
        [sys.executable, str(ROOT / "tests" / "fake_upstream.py"), str(port), str(latency_ms)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    time.sleep(0.5)
    return fake, port


def start_server(upstream_port: int, **variables: str) -> tuple[subprocess.Popen, int]:
    port = free_port()
    env = clean_environment(
        BALLDONTLIE_API_KEY=API_KEY,
        SPORTSTATS_UPSTREAM_URL=f"http://{HOST}:{upstream_port}/v1",
        **variables,
    )
    server = subprocess.Popen(
        [sys.executable, "-m", "sportstats", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    wait_until_up(f"http://{HOST}:{port}/healthz")
    return server, port


async def stop_time() -> float:
    fake, upstream_port = start_fake(latency_ms=30_000)
    server, port = start_server(
        upstream_port, SPORTSTATS_SHUTDOWN_TIMEOUT_S=str(SHUTDOWN_TIMEOUT_S)
    )
    try:
        async with aiohttp.ClientSession() as session:
            stuck = asyncio.create_task(session.get(f"http://{HOST}:{port}/teams"))
            await asyncio.sleep(0.5)  # the request is waiting on the upstream
            began = time.monotonic()
            server.send_signal(signal.SIGTERM)
            while server.poll() is None:
                await asyncio.sleep(0.01)
            took = time.monotonic() - began
            stuck.cancel()
        return took
    finally:
        fake.terminate()


async def frozen_redis_cost() -> float:
    redis_port = free_port()
    redis = subprocess.Popen(
        ["redis-server", "--bind", HOST, "--port", str(redis_port), "--save", ""],
        stdout=subprocess.DEVNULL,
    )
    fake, upstream_port = start_fake(latency_ms=0)
    time.sleep(0.3)
    server, port = start_server(
        upstream_port,
        SPORTSTATS_REDIS_URL=f"redis://{HOST}:{redis_port}/0",
        SPORTSTATS_REDIS_TIMEOUT_S="0.3",
    )
    try:
        async with aiohttp.ClientSession() as session:
            async with session.get(f"http://{HOST}:{port}/teams") as warm:
                await warm.read()
            redis.send_signal(signal.SIGSTOP)
            began = time.monotonic()
            questions = [f"/players?query=name{n}" for n in range(3)]

            async def ask(path: str) -> int:
                async with session.get(f"http://{HOST}:{port}{path}") as response:
                    await response.read()
                    return response.status

            statuses = await asyncio.gather(*(ask(q) for q in questions))
            took = time.monotonic() - began
        assert statuses == [200, 200, 200], statuses
        return took
    finally:
        redis.send_signal(signal.SIGCONT)
        for process in (server, fake, redis):
            process.terminate()
            process.wait(timeout=15)


async def main() -> None:
    took = await stop_time()
    print(
        f"1. stop with a request stuck upstream, shutdown_timeout_s {SHUTDOWN_TIMEOUT_S}:"
        f" exited after {took:.2f} s (target: at most {SHUTDOWN_TIMEOUT_S})"
    )
    took = await frozen_redis_cost()
    print(
        f"2. Redis frozen (SIGSTOP), redis_timeout_s 0.3: three cold questions answered in"
        f" {took:.2f} s"
    )


if __name__ == "__main__":
    asyncio.run(main())
