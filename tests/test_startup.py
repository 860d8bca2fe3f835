"""What an operator reads at start-up, under `python -m sportstats` and under gunicorn alike: the
line that says where the server listens and how it is set up, or one line saying what is wrong
with the fix (a taken port, a bad value named as it was set, a placeholder left in)."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
from collections.abc import Iterator

import aiohttp
import pytest

from tests.server_process import ROOT, ServerProcess, clean_environment, free_port
from tests.test_deploy import EXAMPLE, GUNICORN

pytestmark = pytest.mark.process

TOOLS = "tools get_players, get_teams, get_games, get_stats, get_season_averages"


@pytest.fixture
def taken_port() -> Iterator[int]:
    """A port another process listens on."""
    with socket.socket() as other:
        other.bind(("127.0.0.1", 0))
        other.listen()
        yield other.getsockname()[1]


def run(command: list[str], **variables: str) -> subprocess.CompletedProcess[str]:
    env = clean_environment(**variables)
    return subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)


def one_line(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode != 0
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert "Traceback" not in done.stderr
    return lines[0]


def test_a_taken_port_is_one_line_with_the_fix(taken_port: int) -> None:
    line = one_line(
        run(
            [sys.executable, "-m", "sportstats", "--port", str(taken_port)], BALLDONTLIE_API_KEY="k"
        )
    )
    assert line == (
        f"sportstats: port {taken_port} on 127.0.0.1 is already in use by another process:"
        " stop it, or choose another port (--port, `port:` in the config file, or SPORTSTATS_PORT)"
    )


def test_a_taken_port_under_gunicorn_is_the_same_one_line_without_retrying(
    taken_port: int,
) -> None:
    done = run(
        GUNICORN, BALLDONTLIE_API_KEY="k", SPORTSTATS_PORT=str(taken_port), WEB_CONCURRENCY="1"
    )
    line = one_line(done)
    assert f"port {taken_port} on 127.0.0.1 is already in use" in line
    assert "Retrying" not in done.stderr


@pytest.mark.parametrize(
    ("variables", "said"),
    [
        ({"SPORTSTATS_PORT": "fifty"}, "SPORTSTATS_PORT must be a whole number 1-65535"),
        ({"SPORTSTATS_AUTH__MODE": "users"}, "SPORTSTATS_AUTH__MODE must be none, service, user"),
    ],
)
@pytest.mark.parametrize("server", ["python", "gunicorn"])
def test_a_bad_environment_variable_is_one_line_naming_it_as_set(variables, said, server) -> None:
    command = GUNICORN if server == "gunicorn" else [sys.executable, "-m", "sportstats"]
    line = one_line(run(command, BALLDONTLIE_API_KEY="k", WEB_CONCURRENCY="1", **variables))
    assert line.startswith(f"sportstats: {said}"), line


def test_the_example_left_as_shipped_names_the_placeholder_it_still_holds() -> None:
    done = run(
        [sys.executable, "-m", "sportstats", "--config", str(EXAMPLE)], BALLDONTLIE_API_KEY="k"
    )
    line = one_line(done)
    assert "placeholder" in line and line.endswith(f"in config file {EXAMPLE}")
    assert line.startswith(("sportstats: metrics_token", "sportstats: auth.keys entry 1")), line


async def test_gunicorn_prints_the_start_up_line_and_keeps_serving_after_a_reload(
    tmp_path,
) -> None:
    port = free_port()
    configured = tmp_path / "sportstats.yaml"
    configured.write_text(EXAMPLE.read_text().replace("change-me", "our-own"))
    env = clean_environment(
        SPORTSTATS_CONFIG=str(configured),
        BALLDONTLIE_API_KEY="k",
        SPORTSTATS_PORT=str(port),
        SPORTSTATS_UPSTREAM_URL="http://127.0.0.1:9/v1",  # never called: nothing is asked
        WEB_CONCURRENCY="1",
    )
    server = ServerProcess(GUNICORN, env, port)
    await server.start()
    try:
        [line] = [line for line in server.lines if "listening on" in line]
        assert f"listening on http://127.0.0.1:{port} (MCP at http://127.0.0.1:{port}/mcp)" in line
        assert "auth oauth" in line and "cache memory" in line and TOOLS in line
        assert "connect assistants to https://stats.example.com/mcp" in line
        server.signal(signal.SIGHUP)  # runs the config file again: the port is ours, not taken
        for _ in range(100):
            if server.log.count("Booting worker") >= 2:
                break
            await server_pause()
        async with aiohttp.ClientSession() as session, session.get(server.url + "/healthz") as r:
            assert r.status == 200
        server.signal()
        assert await server.wait() == 0
    finally:
        await server.stop()
    assert "already in use" not in server.log
    assert server.log.count("listening on") == 1


async def server_pause() -> None:
    import asyncio

    await asyncio.sleep(0.1)
