"""The sign-in guessing of issue #20, rerunnable: how many wrong tester keys the sign-in page
checks when they come from many addresses of one network, and from one address through two
server processes.

Run: `python bench/sign_in_guessing.py` (about 10 s; everything on 127.0.0.1; the second part
needs `redis-server`). It starts `python -m sportstats` in oauth mode behind this script as its
trusted proxy (which names each guesser's address in `X-Forwarded-For`), registers a client, then
1. sends 5 wrong keys from each of 40 addresses of one IPv6 /64 (200 guesses) to one server;
2. starts two servers sharing a `redis-server` of their own and sends 20 wrong keys from one
   address, alternating between them.
It prints how many keys were checked (401) and how many refused unchecked (429).
"""

from __future__ import annotations

import asyncio
import base64
import collections
import hashlib
import secrets
import subprocess
import sys
import tempfile
from pathlib import Path

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.registration_flood import CALLBACK, start_server  # noqa: E402
from tests.server_process import free_port  # noqa: E402


async def sign_in_form(session: aiohttp.ClientSession, base: str) -> dict[str, str]:
    async with session.post(f"{base}/register", json={"redirect_uris": [CALLBACK]}) as answer:
        client_id = (await answer.json())["client_id"]
    digest = hashlib.sha256(secrets.token_urlsafe(48).encode()).digest()
    return {
        "response_type": "code",
        "client_id": client_id,
        "redirect_uri": CALLBACK,
        "code_challenge": base64.urlsafe_b64encode(digest).rstrip(b"=").decode(),
        "code_challenge_method": "S256",
    }


async def guess(
    session: aiohttp.ClientSession, url: str, form: dict[str, str], address: str, n: int
) -> int:
    data = {**form, "tester_key": f"guess-{n:04d}-0123456789"}
    headers = {"X-Forwarded-For": address}
    async with session.post(url, data=data, headers=headers, allow_redirects=False) as answer:
        return answer.status


async def one_network(folder: Path) -> collections.Counter[int]:
    server, base = start_server(folder)
    try:
        async with aiohttp.ClientSession() as session:
            form = await sign_in_form(session, base)
            statuses = collections.Counter(
                [
                    await guess(session, f"{base}/authorize", form, f"2001:db8:1:2::{a + 1:x}", n)
                    for a in range(40)
                    for n in range(5)
                ]
            )
    finally:
        server.terminate()
        server.wait(10)
    return statuses


async def two_processes(folder: Path) -> collections.Counter[int]:
    redis_port = free_port()
    redis = subprocess.Popen(
        ["redis-server", "--bind", "127.0.0.1", "--port", str(redis_port), "--save", ""],
        stdout=subprocess.DEVNULL,
    )
    url = f"redis://127.0.0.1:{redis_port}/0"
    public = "http://127.0.0.1:5001"  # one public URL for both, as behind one proxy
    servers = []
    try:
        await asyncio.sleep(0.3)
        servers = [start_server(folder, public, SPORTSTATS_REDIS_URL=url) for _ in range(2)]
        async with aiohttp.ClientSession() as session:
            form = await sign_in_form(session, servers[0][1])
            statuses = collections.Counter(
                [
                    await guess(session, f"{servers[n % 2][1]}/authorize", form, "192.0.2.7", n)
                    for n in range(20)
                ]
            )
    finally:
        for server, _ in servers:
            server.terminate()
            server.wait(10)
        redis.terminate()
        redis.wait(10)
    return statuses


def told(statuses: collections.Counter[int]) -> str:
    return f"{statuses[401]} checked (401), {statuses[429]} refused unchecked (429)"


async def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        network = told(await one_network(Path(folder)))
        print(f"1. 200 wrong keys from 40 addresses of one /64: {network}")
        shared = told(await two_processes(Path(folder)))
        print(f"2. 20 wrong keys from one address, two processes: {shared}")


if __name__ == "__main__":
    asyncio.run(main())
