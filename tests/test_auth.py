"""Access control: modes, 401s without an upstream call, tester usage, key reload, networks."""

from __future__ import annotations

import hmac
import logging
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import yaml
from aioresponses import aioresponses

from sportstats.ops import auth
from sportstats.settings import AuthSettings, SettingsError, load_settings
from sportstats.settings import TesterKey as Key
from sportstats.web.keys import ACCESS
from sportstats.web.plugin import manifest_json
from tests.conftest import (
    API_KEY,
    error_fields,
    eventually,
    load_fixture,
    make_settings,
    sent,
    upstream_route,
)

SERVICE_TOKEN = "service-token-0123456789"
ALICE = "alice-key-0123456789abcdef"
BOB = "bob-key-0123456789abcdefgh"
TESTERS = [{"name": "alice", "key": ALICE}, {"name": "bob", "key": BOB}]
PUBLIC = ["/.well-known/ai-plugin.json", "/openapi.yaml", "/logo.png", "/legal", "/healthz"]


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def serve_teams(upstream: aioresponses) -> None:
    upstream.get(upstream_route("/teams"), payload=load_fixture("teams_all.json"), repeat=True)


async def assert_refused(response: aiohttp.ClientResponse) -> dict[str, Any]:
    assert response.status == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert response.headers["Content-Type"].startswith("application/json")
    body = await response.json()
    assert error_fields(body)[0] == "unauthorized"
    return body


# --- the manifest follows the mode ---------------------------------------------------------------


async def test_the_manifest_says_no_auth_by_default(client: Any) -> None:
    manifest = await (await client.get("/.well-known/ai-plugin.json")).json()
    assert manifest["auth"] == {"type": "none"}


async def test_the_manifest_says_service_http_with_the_verification_token(
    make_client: Any,
) -> None:
    client = await make_client(
        auth={"mode": "service", "service_token": SERVICE_TOKEN, "verification_token": "vt-123"}
    )
    response = await client.get("/.well-known/ai-plugin.json")
    assert response.status == 200
    manifest = await response.json()
    assert manifest["auth"] == {
        "type": "service_http",
        "authorization_type": "bearer",
        "verification_tokens": {"openai": "vt-123"},
    }
    assert SERVICE_TOKEN not in await response.text()


async def test_the_manifest_says_user_http_bearer_in_user_mode(make_client: Any) -> None:
    client = await make_client(auth={"mode": "user", "keys": TESTERS})
    manifest = await (await client.get("/.well-known/ai-plugin.json")).json()
    assert manifest["auth"] == {"type": "user_http", "authorization_type": "bearer"}


def test_the_committed_manifest_copy_keeps_auth_none() -> None:
    assert '"auth": {\n    "type": "none"\n  }' in manifest_json("http://localhost:5001")


# --- service mode --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "headers",
    [
        {},
        bearer("wrong-token-0123456789"),
        bearer(SERVICE_TOKEN + "x"),
        bearer(SERVICE_TOKEN[:-1]),
        {"Authorization": SERVICE_TOKEN},
        {"Authorization": f"Basic {SERVICE_TOKEN}"},
        bearer(ALICE),
    ],
    ids=["missing", "wrong", "longer", "shorter", "no-scheme", "basic", "tester-key"],
)
async def test_service_mode_refuses_without_the_token_and_calls_no_upstream(
    make_client: Any, upstream: aioresponses, headers: dict[str, str]
) -> None:
    serve_teams(upstream)
    client = await make_client(
        auth={"mode": "service", "service_token": SERVICE_TOKEN, "keys": [TESTERS[0]]}
    )
    body = await assert_refused(await client.get("/teams", headers=headers))
    assert SERVICE_TOKEN not in str(body) and ALICE not in str(body)
    assert sent(upstream) == []


async def test_service_mode_answers_with_the_token(
    make_client: Any, upstream: aioresponses
) -> None:
    serve_teams(upstream)
    client = await make_client(auth={"mode": "service", "service_token": SERVICE_TOKEN})
    response = await client.get("/teams", headers={"Authorization": f"bearer  {SERVICE_TOKEN}"})
    assert response.status == 200
    assert (await response.json())["meta"]["count"] == 30
    assert len(sent(upstream)) == 1


# --- user mode -----------------------------------------------------------------------------------


async def test_each_tester_key_opens_the_data_and_usage_is_counted_per_tester(
    make_client: Any, upstream: aioresponses
) -> None:
    serve_teams(upstream)
    client = await make_client(auth={"mode": "user", "keys": TESTERS})
    for token in (ALICE, BOB, ALICE):
        assert (await client.get("/teams", headers=bearer(token))).status == 200
    await assert_refused(await client.get("/teams", headers=bearer("mallory-key-0123456789")))
    assert client.app[ACCESS].usage == {"alice": 2, "bob": 1}


async def test_a_refusal_never_hints_at_valid_keys_or_names(make_client: Any) -> None:
    client = await make_client(auth={"mode": "user", "keys": TESTERS})
    for headers in ({}, bearer(ALICE[:-1]), bearer(ALICE.upper())):
        body = await assert_refused(await client.get("/players", headers=headers))
        text = str(body)
        assert not any(secret in text for secret in (ALICE, BOB, "alice", "bob"))


async def test_plugin_files_health_and_preflights_stay_public(make_client: Any) -> None:
    client = await make_client(auth={"mode": "user", "keys": TESTERS})
    for path in PUBLIC:
        assert (await client.get(path)).status == 200, path
    preflight = await client.options(
        "/teams",
        headers={"Origin": "https://chatgpt.com", "Access-Control-Request-Method": "GET"},
    )
    assert preflight.status == 200
    assert preflight.headers["Access-Control-Allow-Origin"] == "https://chatgpt.com"


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/players?query=x"),
        ("POST", "/mcp"),
        ("GET", "/metrics"),
        ("GET", "/nowhere"),
        ("HEAD", "/nowhere"),
        ("GET", "/healthz/"),
    ],
)
async def test_every_other_path_is_protected_even_unknown_ones(
    make_client: Any, method: str, path: str
) -> None:
    client = await make_client(auth={"mode": "user", "keys": TESTERS})
    response = await client.request(method, path, json={} if method == "POST" else None)
    if method == "HEAD":
        assert response.status == 401
    else:
        await assert_refused(response)


async def test_metrics_take_their_own_token_when_one_is_set(make_client: Any) -> None:
    metrics_token = "metrics-token-0123456789"
    client = await make_client(auth={"mode": "user", "keys": TESTERS}, metrics_token=metrics_token)
    await assert_refused(await client.get("/metrics"))
    await assert_refused(await client.get("/metrics", headers=bearer(ALICE)))
    assert (await client.get("/metrics", headers=bearer(metrics_token))).status == 200
    await assert_refused(await client.get("/teams", headers=bearer(metrics_token)))


def test_a_token_is_compared_with_every_key_in_constant_time(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    access = auth.AccessControl(AuthSettings(mode="user", keys=TESTERS))
    compared: list[tuple[bytes, bytes]] = []
    original = hmac.compare_digest

    def compare_digest(a: bytes, b: bytes) -> bool:
        compared.append((a, b))
        return original(a, b)

    monkeypatch.setattr(auth.hmac, "compare_digest", compare_digest)
    assert access.tester(ALICE) == "alice"  # the first key matches; the second is still compared
    assert len(compared) == 2
    assert all(len(a) == len(b) == 32 for a, b in compared)  # digests: no length leaks
    assert access.tester("x") is None


# --- key reload ----------------------------------------------------------------------------------


def write_config(path: Path, testers: Any, **extra: Any) -> None:
    path.write_text(yaml.safe_dump({"auth": {"mode": "user", "keys": testers}, **extra}))


async def test_reloading_the_config_file_revokes_a_key_and_a_bad_file_keeps_the_old_list(
    aiohttp_client: Any,
    upstream: aioresponses,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    from sportstats.app import create_app

    serve_teams(upstream)
    config = tmp_path / "sportstats.yaml"
    write_config(config, TESTERS)
    settings = load_settings(config_file=str(config), environ={"BALLDONTLIE_API_KEY": API_KEY})
    client = await aiohttp_client(create_app(settings))
    access = client.app[ACCESS]
    assert (await client.get("/teams", headers=bearer(BOB))).status == 200

    write_config(config, TESTERS[:1])
    assert access.reload_keys()
    await assert_refused(await client.get("/teams", headers=bearer(BOB)))
    assert (await client.get("/teams", headers=bearer(ALICE))).status == 200

    for bad in ("auth: [unclosed", "auth:\n  keys:\n    - name: carol\n      key: short\n"):
        config.write_text(bad)
        with caplog.at_level(logging.ERROR, logger="sportstats.ops.auth"):
            assert not access.reload_keys()
        assert "not reloaded, 1 kept" in caplog.text
        assert (await client.get("/teams", headers=bearer(ALICE))).status == 200
    assert "short" not in caplog.text  # the refused key itself is never logged


async def test_sighup_reloads_the_keys_in_the_running_server(
    aiohttp_client: Any, upstream: aioresponses, tmp_path: Path
) -> None:
    from sportstats.app import create_app

    config = tmp_path / "sportstats.yaml"
    write_config(config, TESTERS)
    settings = load_settings(config_file=str(config), environ={"BALLDONTLIE_API_KEY": API_KEY})
    client = await aiohttp_client(create_app(settings))
    assert (await client.get("/nowhere", headers=bearer(BOB))).status == 404
    write_config(config, TESTERS[:1])
    os.kill(os.getpid(), signal.SIGHUP)
    await eventually(lambda: client.app[ACCESS].testers == ["alice"], "the keys reloaded")
    await assert_refused(await client.get("/nowhere", headers=bearer(BOB)))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def get_status(url: str, token: str) -> int:
    import urllib.error
    import urllib.request

    request = urllib.request.Request(url, headers=bearer(token))
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)


@pytest.mark.process
def test_sighup_to_the_server_process_revokes_a_removed_key(tmp_path: Path) -> None:
    """The real thing: `python -m sportstats` with a config file, then `kill -HUP`."""
    config = tmp_path / "sportstats.yaml"
    port = free_port()
    write_config(config, TESTERS, port=port, upstream_url="http://127.0.0.1:9/v1")
    env = {**os.environ, "BALLDONTLIE_API_KEY": API_KEY}
    root = Path(__file__).parent.parent
    server = subprocess.Popen(
        [sys.executable, "-m", "sportstats", "--config", str(config)],
        env=env,
        cwd=root,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}/nowhere"
    try:
        deadline = time.monotonic() + 30
        while get_status_or_none(url, BOB) is None and time.monotonic() < deadline:
            time.sleep(0.1)
        assert get_status(url, BOB) == 404  # a good key gets past the access control
        write_config(config, TESTERS[:1], port=port)
        server.send_signal(signal.SIGHUP)
        while get_status(url, BOB) != 401 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert get_status(url, BOB) == 401
        assert get_status(url, ALICE) == 404
        config.write_text("auth: [broken")
        server.send_signal(signal.SIGHUP)
        time.sleep(0.5)
        assert server.poll() is None  # a bad file does not stop the server
        assert get_status(url, ALICE) == 404
    finally:
        server.terminate()
        _, stderr = server.communicate(timeout=30)
    log = stderr.decode()
    assert "tester keys reloaded" in log and "not reloaded, 1 kept" in log
    assert ALICE not in log and BOB not in log


def get_status_or_none(url: str, token: str) -> int | None:
    try:
        return get_status(url, token)
    except OSError:
        return None


# --- networks ------------------------------------------------------------------------------------


async def test_a_client_outside_the_allowed_networks_gets_403(make_client: Any) -> None:
    client = await make_client(auth={"allow_networks": ["203.0.113.0/24"]})
    response = await client.get("/openapi.yaml")
    assert response.status == 403
    assert (await response.json())["error"]["code"] == "forbidden"
    assert (await client.get("/healthz")).status == 200  # probes stay open


async def test_a_client_inside_the_allowed_networks_is_served(make_client: Any) -> None:
    client = await make_client(auth={"allow_networks": ["203.0.113.0/24", "127.0.0.0/8"]})
    assert (await client.get("/openapi.yaml")).status == 200


async def test_forwarded_for_is_ignored_unless_the_peer_is_a_trusted_proxy(
    make_client: Any,
) -> None:
    client = await make_client(auth={"allow_networks": ["203.0.113.0/24"]})
    response = await client.get("/legal", headers={"X-Forwarded-For": "203.0.113.7"})
    assert response.status == 403


async def test_forwarded_for_from_a_trusted_proxy_names_the_client(make_client: Any) -> None:
    client = await make_client(
        auth={"allow_networks": ["203.0.113.0/24"], "trusted_proxies": ["127.0.0.1/32"]}
    )
    allowed = {"X-Forwarded-For": "203.0.113.7"}
    assert (await client.get("/legal", headers=allowed)).status == 200
    # A client cannot forge its way in: the proxy appends the address it saw, and that counts.
    forged = {"X-Forwarded-For": "203.0.113.7, 198.51.100.1"}
    assert (await client.get("/legal", headers=forged)).status == 403
    assert (await client.get("/legal", headers={"X-Forwarded-For": "not-an-ip"})).status == 403


def test_forwarded_for_is_read_right_to_left_past_trusted_hops() -> None:
    from aiohttp.test_utils import make_mocked_request

    proxies = auth.parse_networks(["10.0.0.0/8"])

    def address(peer: str, forwarded: str | None) -> str:
        headers = {"X-Forwarded-For": forwarded} if forwarded else {}
        request = make_mocked_request("GET", "/", headers=headers).clone(remote=peer)
        return auth.client_address(request, proxies)

    assert address("10.0.0.2", "198.51.100.9, 203.0.113.7, 10.0.0.5") == "203.0.113.7"
    assert address("10.0.0.2", "10.0.0.9, 10.0.0.5") == "10.0.0.9"
    assert address("10.0.0.2", None) == "10.0.0.2"
    assert address("192.0.2.1", "203.0.113.7") == "192.0.2.1"


# --- settings ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("auth_section", "message"),
    [
        ({"mode": "open"}, "auth.mode"),
        ({"mode": "service"}, "service_token"),
        ({"mode": "service", "service_token": "short"}, "service_token"),
        ({"keys": [{"name": "a", "key": "short"}]}, "at least 16"),
        ({"keys": [{"name": "a", "key": ALICE}, {"name": "a", "key": BOB}]}, "repeats"),
        ({"keys": [{"name": "a", "key": ALICE}, {"name": "b", "key": ALICE}]}, "repeats"),
        ({"keys": [{"key": ALICE}]}, "name and a key"),
        ({"keys": "alice"}, "list"),
        ({"allow_networks": ["10.0.0.0/33"]}, "allow_networks"),
        ({"trusted_proxies": "proxy.example"}, "trusted_proxies"),
    ],
)
def test_bad_auth_settings_stop_the_server_with_one_line(
    auth_section: dict[str, Any], message: str
) -> None:
    with pytest.raises(SettingsError, match=message) as caught:
        make_settings(auth=auth_section)
    assert "\n" not in str(caught.value)
    assert ALICE not in str(caught.value)


def test_auth_settings_come_from_the_environment_too() -> None:
    settings = load_settings(
        environ={
            "BALLDONTLIE_API_KEY": API_KEY,
            "SPORTSTATS_AUTH__MODE": "service",
            "SPORTSTATS_AUTH__SERVICE_TOKEN": SERVICE_TOKEN,
            "SPORTSTATS_AUTH__ALLOW_NETWORKS": "203.0.113.0/24, 2001:db8::/32",
        }
    )
    assert settings.auth.mode == "service"
    assert settings.auth.allow_networks == ["203.0.113.0/24", "2001:db8::/32"]
    assert SERVICE_TOKEN not in repr(settings)


def test_tester_keys_never_show_in_a_repr() -> None:
    settings = make_settings(auth={"mode": "user", "keys": TESTERS})
    assert settings.auth.keys[0] == Key("alice", ALICE)
    assert ALICE not in repr(settings) and ALICE not in repr(settings.auth.keys)
