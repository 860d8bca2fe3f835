"""The registration flood of issue #20, rerunnable: what `POST /register` floods cost the server's
memory, and whether a tester signed in before them can still use the server.

Run: `python bench/registration_flood.py [clients] [addresses]` (defaults 5000 and 250; about
20 s; everything on 127.0.0.1). It starts `python -m sportstats` in oauth mode behind a "proxy"
(this script, trusted on 127.0.0.1, naming each client's address in `X-Forwarded-For`, one /24
each; the general per-client rate limit off), signs a tester in, then sends two floods,
`clients` registrations each, spread over `addresses` addresses: one with 63 kB of
`redirect_uris`, one with small metadata. It prints
each flood's answers by status, the server's RSS before and after, and whether the tester's
access token and refresh token still work.
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
import time
import urllib.request
from pathlib import Path

import aiohttp
import yaml
from yarl import URL

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.server_process import clean_environment, free_port  # noqa: E402

CALLBACK = "http://127.0.0.1:3030/callback"
TESTER_KEY = "bench-tester-key-0123456789"
CONCURRENCY = 20


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def start_server(
    folder: Path, public_url: str = "", **variables: str
) -> tuple[subprocess.Popen, str]:
    """`python -m sportstats` in oauth mode behind this script as its trusted proxy, the
    general per-client rate off (the sign-in's own bounds are measured); `public_url` shared by
    several servers, else this one's own."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    config = folder / f"sportstats-{port}.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "port": port,
                "public_url": public_url or base,
                "log_level": "WARNING",
                "limits": {"requests_per_minute": 0},
                "auth": {
                    "mode": "oauth",
                    "keys": [{"name": "tester", "key": TESTER_KEY}],
                    "trusted_proxies": ["127.0.0.1/32"],
                },
            }
        )
    )
    server = subprocess.Popen(
        [sys.executable, "-m", "sportstats", "--config", str(config)],
        cwd=ROOT,
        env=clean_environment(BALLDONTLIE_API_KEY="bench-key", **variables),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    give_up = time.monotonic() + 20
    while time.monotonic() < give_up:
        try:
            with urllib.request.urlopen(f"{base}/healthz", timeout=1):
                return server, base
        except OSError:
            time.sleep(0.05)
    server.kill()
    raise SystemExit("the server did not come up")


async def sign_in(session: aiohttp.ClientSession, base: str) -> dict[str, str]:
    """A tester's whole sign-in: registration, the key on the sign-in page, the token."""
    async with session.post(f"{base}/register", json={"redirect_uris": [CALLBACK]}) as answer:
        client_id = (await answer.json())["client_id"]
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
    form = {
        "response_type": "code",
        "client_id": client_id,
        "redirect_uri": CALLBACK,
        "code_challenge": challenge.rstrip(b"=").decode(),
        "code_challenge_method": "S256",
        "tester_key": TESTER_KEY,
    }
    async with session.post(f"{base}/authorize", data=form, allow_redirects=False) as answer:
        code = URL(answer.headers["Location"]).query["code"]
    exchange = {"grant_type": "authorization_code", "code": code, "client_id": client_id,
                "redirect_uri": CALLBACK, "code_verifier": verifier}  # fmt: skip
    async with session.post(f"{base}/token", data=exchange) as answer:
        return {**(await answer.json()), "client_id": client_id}


async def flood(
    session: aiohttp.ClientSession, base: str, clients: int, addresses: int, pad: int
) -> collections.Counter[int]:
    statuses: collections.Counter[int] = collections.Counter()
    queue = list(range(clients))

    async def worker() -> None:
        while queue:
            n = queue.pop()
            uris = [f"{CALLBACK}?pad={'x' * pad}"] if pad else [CALLBACK]
            address = f"10.{(n % addresses) // 250}.{(n % addresses) % 250}.1"
            async with session.post(
                f"{base}/register",
                json={"client_name": f"flood {n}", "redirect_uris": uris},
                headers={"X-Forwarded-For": address},
            ) as answer:
                statuses[answer.status] += 1

    await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
    return statuses


async def still_works(session: aiohttp.ClientSession, base: str, tokens: dict[str, str]) -> str:
    ping = {"jsonrpc": "2.0", "id": 1, "method": "ping"}
    headers = {"Authorization": f"Bearer {tokens['access_token']}",
               "MCP-Protocol-Version": "2025-11-25"}  # fmt: skip
    async with session.post(f"{base}/mcp", json=ping, headers=headers) as answer:
        access = answer.status
    refresh = {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"],
               "client_id": tokens["client_id"]}  # fmt: skip
    async with session.post(f"{base}/token", data=refresh) as answer:
        return f"access token {access}, refresh {answer.status}"


async def main(clients: int, addresses: int) -> None:
    with tempfile.TemporaryDirectory() as folder:
        server, base = start_server(Path(folder))
        try:
            async with aiohttp.ClientSession() as session:
                tokens = await sign_in(session, base)
                print(f"RSS after start and one sign-in: {rss_mb(server.pid):.0f} MB")
                for label, pad in (("63 kB redirect_uris", 63_000), ("small metadata", 0)):
                    began = time.monotonic()
                    statuses = await flood(session, base, clients, addresses, pad)
                    answers = dict(sorted(statuses.items()))
                    print(
                        f"{label}: {clients} registrations from {addresses} addresses in"
                        f" {time.monotonic() - began:.1f} s, answers {answers},"
                        f" RSS {rss_mb(server.pid):.0f} MB"
                    )
                print(f"the tester after both floods: {await still_works(session, base, tokens)}")
        finally:
            server.terminate()
            server.wait(10)


if __name__ == "__main__":
    arguments = [int(value) for value in sys.argv[1:3]]
    asyncio.run(main(*arguments) if arguments else main(5000, 250))
