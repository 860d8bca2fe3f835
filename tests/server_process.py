"""The server as a real process (`python -m sportstats`, or gunicorn), for the tests that need
signals, real sockets and the log output exactly as an operator would see it."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
from collections.abc import Sequence
from pathlib import Path

import aiohttp

ROOT = Path(__file__).parent.parent
START_TIMEOUT_S = 20.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def clean_environment(**variables: str) -> dict[str, str]:
    """This process's environment without any sportstats setting, plus `variables`."""
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith("SPORTSTATS_") and name != "BALLDONTLIE_API_KEY"
    }
    # The fakes serve what the ALL-STAR plan does (a test of `auto` or another plan names it).
    return env | {"SPORTSTATS_UPSTREAM__PLAN": "all-star"} | variables


class ServerProcess:
    """Starts a server command, collects its stderr, and waits until /healthz answers."""

    def __init__(self, command: Sequence[str], env: dict[str, str], port: int) -> None:
        self.command = list(command)
        self.env = env
        self.url = f"http://127.0.0.1:{port}"
        self.process: asyncio.subprocess.Process | None = None
        self.lines: list[str] = []
        self._reader: asyncio.Task[None] | None = None

    @classmethod
    def sportstats(cls, *args: str, env: dict[str, str]) -> ServerProcess:
        port = free_port()
        command = [sys.executable, "-m", "sportstats", "--port", str(port), *args]
        return cls(command, env, port)

    @property
    def log(self) -> str:
        return "".join(self.lines)

    async def start(self) -> ServerProcess:
        self.process = await asyncio.create_subprocess_exec(
            *self.command,
            cwd=ROOT,
            env=self.env,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
        )
        self._reader = asyncio.create_task(self._read())
        give_up = asyncio.get_running_loop().time() + START_TIMEOUT_S
        async with aiohttp.ClientSession() as session:
            while True:
                if self.process.returncode is not None:
                    await self._reader
                    raise AssertionError(f"server exited at start:\n{self.log}")
                try:
                    async with session.get(self.url + "/healthz") as response:
                        if response.status == 200:
                            return self
                except aiohttp.ClientConnectionError:
                    pass
                if asyncio.get_running_loop().time() > give_up:
                    raise AssertionError(f"server did not come up:\n{self.log}")
                await asyncio.sleep(0.05)

    async def _read(self) -> None:
        assert self.process is not None and self.process.stderr is not None
        async for line in self.process.stderr:
            self.lines.append(line.decode(errors="replace"))

    def signal(self, number: int = signal.SIGTERM) -> None:
        assert self.process is not None
        self.process.send_signal(number)

    async def wait(self, timeout_s: float = 30.0) -> int:
        """The exit code, once the process and its log are done."""
        assert self.process is not None and self._reader is not None
        code = await asyncio.wait_for(self.process.wait(), timeout_s)
        await self._reader
        return code

    async def stop(self) -> int | None:
        """SIGTERM, then SIGKILL if it lingers; for cleanup after a failed test."""
        if self.process is None or self.process.returncode is not None:
            return None if self.process is None else self.process.returncode
        self.signal()
        try:
            return await self.wait(15)
        except TimeoutError:
            self.process.kill()
            return await self.wait(5)
