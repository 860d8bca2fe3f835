"""The deployment as README describes it: the example config, and gunicorn workers sharing Redis."""

from __future__ import annotations

import asyncio
import subprocess
import sys

import aiohttp
import pytest

from sportstats.app import gunicorn_app
from sportstats.settings import SettingsError, load_settings
from sportstats.web.keys import SETTINGS
from sportstats.web.runner import JsonErrorAppRunner
from tests.fake_upstream import API_KEY, CALLS, make_app
from tests.server_process import ROOT, ServerProcess, clean_environment, free_port
from tests.test_metrics import sample

EXAMPLE = ROOT / "deploy" / "sportstats.example.yaml"
GUNICORN = [
    sys.executable,
    "-m",
    "gunicorn",
    "-c",
    "deploy/gunicorn.conf.py",
    "sportstats.app:gunicorn_app",
]
ALICE = {"Authorization": "Bearer our-own-alice-000000000000"}  # the example's, replaced
METRICS = {"Authorization": "Bearer our-own-metrics-token-0000"}


def gunicorn(configured, fake, **variables: str) -> ServerProcess:
    """gunicorn as the deployment runs it, on a free port, calling `fake` as its upstream."""
    port = free_port()
    env = clean_environment(
        SPORTSTATS_CONFIG=str(configured),
        BALLDONTLIE_API_KEY=API_KEY,
        SPORTSTATS_PORT=str(port),
        SPORTSTATS_UPSTREAM_URL=str(fake.make_url("/v1")),
        **variables,
    )
    return ServerProcess(GUNICORN, env, port)


@pytest.fixture
def configured(tmp_path):
    """The example config with its `change-me` placeholders replaced, as README says to do."""
    path = tmp_path / "sportstats.yaml"
    path.write_text(EXAMPLE.read_text().replace("change-me", "our-own"))
    return path


def test_the_example_config_unedited_is_refused_for_its_placeholder_secrets():
    with pytest.raises(SettingsError, match="placeholder"):
        load_settings(config_file=str(EXAMPLE), environ={"BALLDONTLIE_API_KEY": "k"})


def test_example_config_is_the_recommended_deployment_for_testers(configured):
    """OAuth with tester keys (what ChatGPT and Claude speak), an https public URL, Redis
    optional and commented out, and every auth mode named where the mode is chosen."""
    settings = load_settings(config_file=str(configured), environ={"BALLDONTLIE_API_KEY": "k"})
    assert settings.auth.mode == "oauth"
    assert len(settings.auth.keys) >= 2
    assert settings.public_url and settings.public_url.startswith("https://")
    assert settings.metrics_token and settings.contact_email == "our-own@example.com"
    assert settings.redis_url is None
    assert "\n# redis_url: redis://" in EXAMPLE.read_text()
    assert settings.auth.trusted_proxies
    assert settings.limits.requests_per_minute > 0
    # The plan learned, its budget with it: a fixed figure would outrun a free key's 5 a minute.
    assert settings.upstream.plan == "auto" and settings.upstream.requests_per_minute is None
    mode_comment = EXAMPLE.read_text().split("\nauth:\n")[1].split("  mode: oauth")[0]
    for mode in ("none:", "service:", "user:", "oauth:"):
        assert mode in mode_comment


async def test_gunicorn_app_builds_the_app_from_the_environment(monkeypatch, configured):
    monkeypatch.setenv("SPORTSTATS_CONFIG", str(configured))
    monkeypatch.setenv("BALLDONTLIE_API_KEY", "k")
    monkeypatch.setenv("SPORTSTATS_SHUTDOWN_TIMEOUT_S", "7")
    runner = await gunicorn_app()
    assert isinstance(runner, JsonErrorAppRunner)
    assert runner.app[SETTINGS].auth.mode == "oauth"
    assert runner.app[SETTINGS].shutdown_timeout_s == 7


@pytest.mark.process
def test_gunicorn_refuses_several_workers_without_redis():
    env = clean_environment(BALLDONTLIE_API_KEY="k", WEB_CONCURRENCY="2")
    done = subprocess.run(GUNICORN, cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode != 0
    assert "several workers need redis_url" in done.stderr


@pytest.mark.process
def test_gunicorn_stops_at_a_bad_configuration(configured):
    env = clean_environment(SPORTSTATS_CONFIG=str(configured))  # no upstream key
    done = subprocess.run(GUNICORN, cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode != 0
    assert "sportstats: no upstream API key" in done.stderr


@pytest.mark.process
async def test_gunicorn_workers_share_one_cache_through_redis(
    aiohttp_server, redis_url, redis_prefix, configured
):
    fake = await aiohttp_server(make_app(latency_s=0.2))
    server = gunicorn(
        configured,
        fake,
        SPORTSTATS_redis_url=redis_url,
        SPORTSTATS_REDIS_PREFIX=redis_prefix,
        WEB_CONCURRENCY="2",
        # keys as bearer tokens: this measures the sharing; the sign-in is test_check's
        SPORTSTATS_AUTH__MODE="user",
    )
    await server.start()
    try:

        async def ask() -> tuple[int, str]:
            # a connection of its own each, so gunicorn spreads them over its workers
            async with (
                aiohttp.ClientSession() as session,
                session.get(server.url + "/teams", headers=ALICE) as response,
            ):
                return response.status, response.headers["X-Cache"]

        answers = await asyncio.gather(*(ask() for _ in range(8)))
        assert {status for status, _ in answers} == {200}
        assert fake.app[CALLS] == ["/v1/teams"]  # one upstream call for all workers
        for _ in range(4):  # whichever worker answers, it counts every worker's requests
            async with (
                aiohttp.ClientSession() as session,
                session.get(server.url + "/metrics", headers=METRICS) as response,
            ):
                text = await response.text()
            assert sample(text, "sportstats_requests_total", endpoint="teams", status="200") == 8
            assert sample(text, "sportstats_client_requests_total", client="alice", status="200")
        async with (
            aiohttp.ClientSession() as session,
            session.get(server.url + "/teams", headers={"Authorization": "Bearer wrong"}) as r,
        ):
            assert r.status == 401
        server.signal()
        assert await server.wait() == 0
    finally:
        await server.stop()

    log = server.log
    assert log.count("Booting worker with pid") == 2
    assert log.count("client=alice") == 8
    assert "our-own-alice" not in log


@pytest.mark.process
async def test_gunicorn_stops_within_the_shutdown_timeout_with_a_request_stuck_upstream(
    aiohttp_server, configured
):
    fake = await aiohttp_server(make_app(latency_s=30))
    server = gunicorn(
        configured,
        fake,
        SPORTSTATS_SHUTDOWN_TIMEOUT_S="2",
        WEB_CONCURRENCY="1",
        SPORTSTATS_AUTH__MODE="user",  # the tester's key as a bearer token, no sign-in
    )
    await server.start()
    try:
        async with aiohttp.ClientSession() as session:
            stuck = asyncio.create_task(session.get(server.url + "/teams", headers=ALICE))
            while not fake.app[CALLS]:
                await asyncio.sleep(0.01)
            loop = asyncio.get_running_loop()
            began = loop.time()
            server.signal()
            await server.wait(timeout_s=20)
            took = loop.time() - began
            stuck.cancel()
        assert took <= 2.0 + 0.3, took  # the setting, and the processes' own exit
    finally:
        await server.stop()
