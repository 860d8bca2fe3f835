"""The access log: one line per request, with its id, client, outcome, upstream calls, duration."""

from __future__ import annotations

import json
import logging
import re
from typing import Any

import aiohttp
import pytest

from sportstats.ops.access_log import logfmt_value
from tests.conftest import API_KEY as CONFTEST_API_KEY
from tests.conftest import load_fixture, upstream_route
from tests.fake_upstream import API_KEY as UPSTREAM_KEY
from tests.fake_upstream import make_app
from tests.server_process import ServerProcess, clean_environment

TEAMS = upstream_route("/teams")


FIELD = re.compile(r'(\w+)=("(?:[^"\\]|\\.)*"|\S+)(?: |$)')


def parse(line: str) -> dict[str, str]:
    """A logfmt line as a dict; quoted values are JSON strings."""
    fields = {}
    for match in FIELD.finditer(line):
        key, value = match.groups()
        fields[key] = json.loads(value) if value.startswith('"') else value
    assert " ".join(f"{k}={v}" for k, v in FIELD.findall(line)) == line, line
    return fields


@pytest.fixture
def access(caplog: pytest.LogCaptureFixture) -> Any:
    """The access-log lines written so far, parsed."""
    caplog.set_level(logging.INFO, logger="sportstats.access")

    def lines() -> list[dict[str, str]]:
        return [parse(r.getMessage()) for r in caplog.records if r.name == "sportstats.access"]

    return lines


async def test_each_request_logs_one_line_with_its_outcome(client, upstream, access):
    upstream.get(TEAMS, payload=load_fixture("teams_all.json"))
    first = await client.get("/teams")
    second = await client.get("/teams")

    miss, hit = access()
    assert miss["request_id"] == first.headers["X-Request-Id"]
    assert hit["request_id"] == second.headers["X-Request-Id"] != miss["request_id"]
    assert miss["client"] == miss["addr"] == "127.0.0.1"
    assert miss["method"] == "GET"
    assert (miss["endpoint"], miss["status"], miss["cache"]) == ("teams", "200", "MISS")
    assert (hit["cache"], hit["upstream_calls"]) == ("HIT", "0")
    assert miss["upstream_calls"] == "1"
    assert float(miss["duration_ms"]) >= 0


async def test_every_upstream_call_of_a_fan_out_counts_for_its_request(client, upstream, access):
    upstream.get(
        upstream_route("/season_averages"), payload=load_fixture("season_averages_237_2019.json")
    )
    upstream.get(upstream_route("/players"), payload=load_fixture("players_page_ASSEMBLED.json"))
    response = await client.get("/season_averages?season=2019&player_ids=237")
    assert response.status == 200

    (line,) = access()
    assert (line["endpoint"], line["cache"], line["upstream_calls"]) == (
        "season_averages",
        "MISS",
        "2",  # the player's averages and the players lookup for the name
    )


async def test_a_short_safe_request_id_is_kept_and_any_other_replaced(client, access):
    kept = await client.get("/healthz", headers={"X-Request-Id": "lb-1234.abc_DEF"})
    assert kept.headers["X-Request-Id"] == "lb-1234.abc_DEF"
    for bad in ("x" * 65, "a b", "id\tforged=1", "ü-id", ""):
        response = await client.get("/healthz", headers={"X-Request-Id": bad})
        assert re.fullmatch(r"[0-9a-f]{32}", response.headers["X-Request-Id"])
    assert [line["request_id"] for line in access()][0] == "lb-1234.abc_DEF"
    assert len(access()) == 6


async def test_refused_and_unknown_requests_are_logged_with_their_status(client, access):
    assert (await client.get("/teams?conference=North")).status == 400
    assert (await client.get("/no/such/path")).status == 404
    assert (await client.post("/teams")).status == 405

    bad, unknown, method = access()
    assert (bad["endpoint"], bad["status"], bad["cache"], bad["upstream_calls"]) == (
        "teams",
        "400",
        "-",
        "0",
    )
    assert (unknown["endpoint"], unknown["status"]) == ("unmatched", "404")
    assert (method["method"], method["status"]) == ("POST", "405")


def test_values_from_the_request_cannot_forge_fields_or_lines():
    forged = "x status=200\nfake=1"
    line = f"client={logfmt_value(forged)} endpoint={logfmt_value('teams')}"
    assert "\n" not in line
    assert parse(line) == {"client": "x status=200\nfake=1", "endpoint": "teams"}


ALICE_KEY = "alice-key-0123456789abcdef"
BOB_KEY = "bob-key-0123456789abcdef"
WRONG_KEY = "wrong-key-0123456789abcdef"
METRICS_TOKEN = "metrics-token-0123456789abcdef"


@pytest.mark.process
async def test_no_secret_reaches_the_log_of_the_real_server(aiohttp_server, tmp_path):
    """The upstream key, tester keys, a wrong key and the metrics token, sent in headers, queries
    and paths, on good and error paths: none appears in anything the server writes."""
    fake = await aiohttp_server(make_app())
    config = tmp_path / "sportstats.yaml"
    config.write_text(
        "auth:\n"
        "  mode: user\n"
        "  keys:\n"
        f"    - {{name: alice, key: {ALICE_KEY}}}\n"
        f"    - {{name: bob, key: {BOB_KEY}}}\n"
        f"metrics_token: {METRICS_TOKEN}\n"
    )
    server = ServerProcess.sportstats(
        "--config",
        str(config),
        "--upstream-url",
        str(fake.make_url("/v1")),
        "--log-level",
        "DEBUG",
        env=clean_environment(BALLDONTLIE_API_KEY=UPSTREAM_KEY),
    )
    await server.start()
    alice = {"Authorization": f"Bearer {ALICE_KEY}"}
    asked = [
        ("GET", "/teams", alice, 200),
        ("GET", "/teams", alice, 200),
        (
            "GET",
            f"/players?query=curry&api_key={BOB_KEY}",
            {"Authorization": f"Bearer {BOB_KEY}"},
            400,
        ),
        ("GET", f"/players?query={ALICE_KEY}", alice, 200),
        ("GET", f"/stats?player_ids={ALICE_KEY}", alice, 400),
        ("GET", f"/teams?key={ALICE_KEY}&token={METRICS_TOKEN}", {}, 401),
        ("GET", "/teams", {"Authorization": f"Bearer {WRONG_KEY}"}, 401),
        ("GET", "/teams", {"Authorization": WRONG_KEY}, 401),
        ("GET", "/teams", {"X-Api-Key": ALICE_KEY, "Cookie": f"key={BOB_KEY}"}, 401),
        ("GET", f"/no/such/{ALICE_KEY}", alice, 404),
        ("POST", f"/teams?key={ALICE_KEY}", alice, 405),
        ("GET", "/metrics", {"Authorization": f"Bearer {METRICS_TOKEN}"}, 200),
        ("GET", "/metrics", alice, 401),
        ("GET", "/readyz", {"Authorization": f"Bearer {WRONG_KEY}"}, 200),
        ("GET", f"/.well-known/ai-plugin.json?k={ALICE_KEY}", alice, 200),
    ]
    try:
        async with aiohttp.ClientSession() as session:
            for method, path, headers, status in asked:
                async with session.request(method, server.url + path, headers=headers) as r:
                    assert r.status == status, (method, path, await r.text())
    finally:
        assert await server.stop() == 0

    log = server.log
    lines = [line for line in log.splitlines() if " sportstats.access " in line]
    assert len([line for line in lines if "endpoint=healthz" not in line]) == len(asked)
    assert "client=alice" in log and "client=bob" in log
    for secret in (UPSTREAM_KEY, ALICE_KEY, BOB_KEY, WRONG_KEY, METRICS_TOKEN):
        assert secret not in log, secret


async def test_upstream_failures_log_no_upstream_key(make_client, upstream, caplog):
    caplog.set_level(logging.DEBUG)
    client = await make_client(upstream={"breaker_failures": 100})
    upstream.get(upstream_route("/players"), exception=aiohttp.ClientConnectionError("refused"))
    upstream.get(upstream_route("/games"), status=500, repeat=True)
    upstream.get(upstream_route("/stats"), body="not json")
    upstream.get(TEAMS, status=401, body="Unauthorized: bad key")
    assert (await client.get("/players?query=curry")).status == 502
    assert (await client.get("/stats?game_ids=1")).status == 502
    assert (await client.get("/games?dates=2025-01-05")).status == 502
    # a 401 on a route every plan serves: the key itself is refused
    assert (await client.get("/teams")).status == 503

    assert "answered HTTP 401" in caplog.text  # the failures were logged...
    assert CONFTEST_API_KEY not in caplog.text  # ...without the key
    assert len([r for r in caplog.records if r.name == "sportstats.access"]) == 4


def test_a_request_matched_by_a_resource_without_routes_is_logged_as_unmatched() -> None:
    """A mounted sub-application's resource (e.g. an ASGI app) matches without a route."""
    from types import SimpleNamespace

    from aiohttp.test_utils import make_mocked_request

    from sportstats.ops.record import endpoint_of

    request = make_mocked_request("POST", "/mounted/mcp")
    request._match_info = SimpleNamespace(route=None)  # what such a resource's match gives
    assert endpoint_of(request) == "unmatched"


async def test_an_mcp_tool_calls_cache_outcome_is_logged_as_for_http(client, upstream, access):
    upstream.get(TEAMS, payload=load_fixture("teams_all.json"))
    call = {"jsonrpc": "2.0", "id": 1, "method": "tools/call"}
    call["params"] = {"name": "get_teams", "arguments": {}}
    headers = {
        "Accept": "application/json, text/event-stream",
        "MCP-Protocol-Version": "2025-06-18",
    }
    for _ in range(2):
        response = await client.post("/mcp", json=call, headers=headers)
        assert response.status == 200 and "result" in await response.json()
    listed = await client.post(
        "/mcp", json={**call, "method": "tools/list", "params": {}}, headers=headers
    )
    assert listed.status == 200

    miss, hit, tools_list = access()
    assert (miss["endpoint"], miss["cache"], miss["upstream_calls"]) == ("mcp", "MISS", "1")
    assert (hit["cache"], hit["upstream_calls"]) == ("HIT", "0")
    assert tools_list["cache"] == "-"  # no answer of the cache in a tools/list
