"""`python -m sportstats check`: the path a host runs to connect, against the real server on
127.0.0.1 in every auth mode (its upstream a fake on loopback), and against the example
configuration started as shipped under gunicorn, its placeholders filled in."""

from __future__ import annotations

import asyncio
import io
import sys
from typing import Any

import pytest

from sportstats.app import create_app
from sportstats.check.run import DEFAULT_REDIRECT, check, command_line
from sportstats.check.signin import CHATGPT_REDIRECT
from tests.conftest import make_settings
from tests.fake_upstream import API_KEY, CALLS, make_app
from tests.server_process import ROOT, ServerProcess, clean_environment, free_port
from tests.test_deploy import EXAMPLE, GUNICORN
from tests.test_oauth import resolve_as

ALICE = "alice-key-000000000000000"
TESTERS = [{"name": "alice", "key": ALICE}]
OAUTH_STEPS = [
    "discovery",
    "resource metadata",
    "authorization server metadata",
    "registration",
    "authorization with PKCE",
    "sign-in with the tester key",
    "token",
    "initialize",
    "tools/list",
    "tools/call get_teams",
    "refresh",
    "tools/list",
]


async def run_check(aiohttp_server: Any, auth: dict[str, Any], *argv: str) -> tuple[int, str]:
    """The check against the real app (auth as given), its upstream the fake; code and output."""
    fake = await aiohttp_server(make_app())
    settings = make_settings(auth=auth, upstream_url=str(fake.make_url("/v1")))
    settings._api_key = API_KEY
    server = await aiohttp_server(create_app(settings))
    args = command_line().parse_args(["--url", str(server.make_url("/")), *argv])
    out = io.StringIO()
    code = await check(args, out)
    return code, out.getvalue()


def steps(output: str, verdict: str) -> list[str]:
    """The steps the output marks `ok`, `skip` or `FAIL`, in order."""
    marked = [line.split(None, 1) for line in output.splitlines() if line.startswith("  ")]
    return [rest.split(":", 1)[0] for mark, rest in marked if mark == verdict]


async def test_in_oauth_mode_every_step_a_host_runs_passes(aiohttp_server) -> None:
    code, output = await run_check(
        aiohttp_server, {"mode": "oauth", "keys": TESTERS}, "--key", ALICE
    )
    assert code == 0, output
    assert steps(output, "ok") == OAUTH_STEPS
    assert "30 rows (cache miss)" in output
    assert "passed, 12 steps: ChatGPT, Claude and any MCP client" in output
    assert ALICE not in output


async def test_a_wrong_tester_key_fails_at_the_sign_in_and_goes_no_further(aiohttp_server) -> None:
    code, output = await run_check(
        aiohttp_server, {"mode": "oauth", "keys": TESTERS}, "--key", "wrong-key-0000000000000"
    )
    assert code == 1
    assert steps(output, "FAIL") == ["sign-in with the tester key"]
    assert "That key was not accepted" in output and "auth.keys" in output
    assert "initialize" not in output
    assert output.rstrip().endswith("failed after 5 steps passed")


async def test_a_redirect_uri_the_server_refuses_fails_at_registration_with_the_fix(
    aiohttp_server,
) -> None:
    auth = {"mode": "oauth", "keys": TESTERS, "redirect_uris": [CHATGPT_REDIRECT]}
    code, output = await run_check(aiohttp_server, auth, "--key", ALICE)
    assert code == 1
    assert steps(output, "FAIL") == ["registration"]
    assert "invalid_redirect_uri" in output and f"ChatGPT's {CHATGPT_REDIRECT}" in output

    code, output = await run_check(
        aiohttp_server, auth, "--key", ALICE, "--redirect-uri", CHATGPT_REDIRECT
    )
    assert code == 0, output


@pytest.mark.parametrize(
    ("auth", "key"),
    [
        ({"mode": "user", "keys": TESTERS}, ALICE),
        (
            {"mode": "service", "service_token": "service-token-000000000"},
            "service-token-000000000",
        ),
        ({"mode": "none"}, ""),
    ],
)
async def test_without_oauth_the_sign_in_is_skipped_and_the_calls_pass(
    aiohttp_server, auth: dict[str, Any], key: str
) -> None:
    code, output = await run_check(aiohttp_server, auth, "--key", key)
    assert code == 0, output
    assert steps(output, "ok") == ["discovery", "initialize", "tools/list", "tools/call get_teams"]
    assert steps(output, "skip") == [
        "registration",
        "authorization with PKCE",
        "sign-in",
        "token",
        "refresh",
    ]
    if auth["mode"] != "none":
        assert "ChatGPT and Claude need auth.mode oauth" in output


async def test_a_wrong_key_in_user_mode_fails_at_initialize(aiohttp_server) -> None:
    code, output = await run_check(
        aiohttp_server, {"mode": "user", "keys": TESTERS}, "--key", "wrong-key-0000000000000"
    )
    assert code == 1
    assert steps(output, "FAIL") == ["initialize"]
    assert "401" in output and "not accepted" in output


async def test_a_failing_tool_call_is_the_failed_step(aiohttp_server) -> None:
    code, output = await run_check(
        aiohttp_server, {"mode": "none"}, "--tool", "get_stats", "--arguments", '{"last": 0}'
    )
    assert code == 1
    assert steps(output, "FAIL") == ["tools/call get_stats"]


async def test_a_public_address_over_http_fails_before_any_request() -> None:
    args = command_line().parse_args(["--url", "http://stats.example.com", "--key", ALICE])
    out = io.StringIO()
    assert await check(args, out) == 1
    assert steps(out.getvalue(), "FAIL") == ["discovery"]
    assert "ChatGPT and Claude call https URLs only" in out.getvalue()


async def test_a_server_that_is_not_there_is_one_failed_step() -> None:
    args = command_line().parse_args(["--url", f"http://127.0.0.1:{free_port()}"])
    out = io.StringIO()
    assert await check(args, out) == 1
    assert steps(out.getvalue(), "FAIL") == ["discovery"]
    assert "cannot reach the server" in out.getvalue()


@pytest.mark.process
async def test_the_example_config_as_shipped_passes_the_check_under_gunicorn(
    aiohttp_server, tmp_path
) -> None:
    """The example with its placeholders filled in, started as the deployment starts it; the
    check run as an operator runs it, as a command."""
    fake = await aiohttp_server(make_app())
    port = free_port()
    configured = tmp_path / "sportstats.yaml"
    configured.write_text(EXAMPLE.read_text().replace("change-me", "our-own"))
    env = clean_environment(
        SPORTSTATS_CONFIG=str(configured),
        BALLDONTLIE_API_KEY=API_KEY,
        SPORTSTATS_PORT=str(port),
        # the public URL filled in: this machine's, so that every step stays on loopback
        SPORTSTATS_PUBLIC_URL=f"http://127.0.0.1:{port}",
        SPORTSTATS_UPSTREAM_URL=str(fake.make_url("/v1")),
        WEB_CONCURRENCY="1",
    )
    server = ServerProcess(GUNICORN, env, port)
    await server.start()
    try:
        command = [sys.executable, "-m", "sportstats", "check", "--url", server.url]
        done = await asyncio.create_subprocess_exec(
            *command,
            cwd=ROOT,
            env=clean_environment(TESTER_KEY="our-own-alice-000000000000"),  # not on argv
            stdout=asyncio.subprocess.PIPE,
        )
        output = (await asyncio.wait_for(done.communicate(), 60))[0].decode()
    finally:
        await server.stop()
    assert done.returncode == 0, output + server.log
    assert steps(output, "ok") == OAUTH_STEPS
    assert fake.app[CALLS] == ["/v1/teams"]
    assert "client=alice" in server.log


async def test_a_client_metadata_document_stands_in_for_registration(
    aiohttp_server, upstream, monkeypatch
) -> None:
    """The server fetches the document (mocked, its host resolved here: nothing leaves
    loopback); the check names it as the client id, as Claude's client documents do."""
    document = "https://client.example.org/oauth/sportstats-check.json"
    resolve_as(monkeypatch, {"client.example.org": ["127.0.0.1"]})
    upstream.get(
        document,
        payload={
            "client_id": document,
            "client_name": "A Host",
            "redirect_uris": [DEFAULT_REDIRECT],
        },
    )
    auth = {"mode": "oauth", "keys": TESTERS, "client_document_private_ok": True}
    code, output = await run_check(aiohttp_server, auth, "--key", ALICE, "--client-id", document)
    assert code == 0, output
    assert steps(output, "skip") == ["registration"]
    assert "registration" not in steps(output, "ok")
    assert "the client metadata document" in output
