"""MCP at /mcp: the official MCP client against the real server on 127.0.0.1, upstream mocked.

Both protocol eras: the client's default mode probes `server/discover` and speaks 2026-07-28
(one self-contained request per POST); mode "legacy" does the 2025-11-25 `initialize` handshake,
as ChatGPT and Claude do today.
"""

from __future__ import annotations

import json as json_module
import re
from collections.abc import Callable
from typing import Any

import aiohttp
import httpx2
import jsonschema
import pytest
import yaml
from mcp import Client, ClientSession
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError
from mcp_types import (
    CLIENT_CAPABILITIES_META_KEY,
    CLIENT_INFO_META_KEY,
    HEADER_MISMATCH,
    INVALID_PARAMS,
    INVALID_REQUEST,
    METHOD_NOT_FOUND,
    PARSE_ERROR,
    PROTOCOL_VERSION_META_KEY,
    SERVER_INFO_META_KEY,
    UNSUPPORTED_PROTOCOL_VERSION,
)
from mcp_types.version import (
    HANDSHAKE_PROTOCOL_VERSIONS,
    LATEST_HANDSHAKE_VERSION,
    LATEST_MODERN_VERSION,
)
from multidict import CIMultiDict

from sportstats.core.endpoints import BY_NAME, ENDPOINTS
from sportstats.core.params import QUERY_ARRAY_NOTE
from sportstats.core.tables import markdown_table
from sportstats.mcp.methods import DISCOVERY_TTL_MS
from sportstats.mcp.tools import output_schema
from sportstats.mcp.transport import MAX_BATCH_MESSAGES
from tests.conftest import load_fixture, sent, upstream_route
from tests.league import League, player_id
from tests.mcp_support import connect

PING = {"jsonrpc": "2.0", "id": 1, "method": "ping"}
JSON_HEADERS = {"Accept": "application/json, text/event-stream"}
VERSION_HEADER = {**JSON_HEADERS, "MCP-Protocol-Version": LATEST_HANDSHAKE_VERSION}
LEBRON = load_fixture("player_237.json")["data"]
SERVICE_TOKEN = "mcp-test-token-not-secret"

# One question per tool, the recorded upstream answers it needs, and the rows it gives.
TOOL_CALLS = [
    ("players", {"query": "james", "limit": 4}, {"/players": "players_page_ASSEMBLED.json"}),
    ("teams", {"conference": "east"}, {"/teams": "teams_all.json"}),
    (
        "games",
        {"dates": ["2025-01-05"], "team_ids": "14"},
        {"/games": "games_2025-01-05_final_with_quarters.json"},
    ),
    (
        "stats",
        {"game_ids": [1037684]},
        {"/stats": "stats_game_1037684_2023-11-05_DET_vs_GSW.json", "/teams": "teams_all.json"},
    ),
    (
        "stats",  # a team by name, resolved from the teams list, filtering a box score's rows
        {"game_ids": [1037684], "team": ["Warriors"]},
        {"/teams": "teams_all.json", "/stats": "stats_game_1037684_2023-11-05_DET_vs_GSW.json"},
    ),
    (
        "season_averages",
        {"season": 2019, "player_ids": [237]},
        {"/season_averages": "season_averages_237_2019.json", "/players": None},
    ),
]


def mock_upstream(upstream: Any, answers: dict[str, str | None]) -> None:
    for path, fixture in answers.items():
        payload = load_fixture(fixture) if fixture else {"data": [LEBRON], "meta": {}}
        upstream.get(upstream_route(path), payload=payload)


def parse_markdown(text: str) -> tuple[list[str], list[list[str]], str]:
    """Header, rows and the meta line of a tool's text, cells unescaped: the table read back."""
    table, _, meta = text.rpartition("\n\n")
    lines = table.split("\n")
    assert re.fullmatch(r"\|(---\|)+", lines[1]), lines[1]
    return _cells(lines[0]), [_cells(line) for line in lines[2:]], meta


def _cells(line: str) -> list[str]:
    assert line.startswith("| ") and line.endswith(" |"), line
    cells, cell, chars = [], "", iter(line[2:-2])
    for char in chars:
        if char == "\\":
            cell += next(chars)
        elif char == "|":
            cells.append(cell.removesuffix(" "))
            cell = ""
            next(chars)  # the space after a delimiter
        else:
            cell += char
    return [*cells, cell]


def shown(value: Any) -> str:
    """What a cell should read for a value of structuredContent."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value).lower()
    return str(value).replace("\n", "<br>")


META = {
    "count": 1,
    "next_cursor": None,
    "source": "here",
    "query": {},
    "fetched_at": "2026-12-01T00:00:00Z",
    "cache": "miss",
    "upstream_calls": 1,
}


def broken_answers(answer: dict[str, Any]) -> list[dict[str, Any]]:
    """Copies of a valid answer, each wrong in one way an output schema must catch."""
    row, column = answer["data"][0], answer["columns"][0]
    return [
        {**answer, "data": [{**row, "not_a_column": 1}]},
        {**answer, "data": [{**row, column: {"not": "a cell"}}]},
        {**answer, "meta": {**answer["meta"], "cache": "perhaps"}},
        {k: v for k, v in answer.items() if k != "meta"},
    ]


# --- handshake and tool list ---------------------------------------------------------------


async def test_initialize_negotiates_our_latest_revision_and_offers_tools_only(url: str) -> None:
    async with streamable_http_client(url) as (read, write), ClientSession(read, write) as session:
        result = await session.initialize()
    assert result.protocol_version == LATEST_HANDSHAKE_VERSION
    assert result.capabilities.tools is not None
    assert result.capabilities.resources is None and result.capabilities.prompts is None
    assert result.server_info.name == "sportstats"
    assert "get_players" in (result.instructions or "")


@pytest.mark.parametrize(
    ("asked", "answered"),
    [(v, v) for v in HANDSHAKE_PROTOCOL_VERSIONS] + [("2099-01-01", LATEST_HANDSHAKE_VERSION)],
)
async def test_initialize_answers_the_clients_revision_when_supported_else_our_latest(
    client: Any, asked: str, answered: str
) -> None:
    params = {
        "protocolVersion": asked,
        "capabilities": {},
        "clientInfo": {"name": "t", "version": "1"},
    }
    response = await client.post(
        "/mcp", json={"jsonrpc": "2.0", "id": "a", "method": "initialize", "params": params},
        headers=JSON_HEADERS,
    )  # fmt: skip
    body = await response.json()
    assert response.status == 200 and body["id"] == "a"
    assert body["result"]["protocolVersion"] == answered


async def test_the_default_client_speaks_2026_07_28_after_server_discover_without_initialize(
    url: str,
) -> None:
    async with Client(url) as mcp_client:  # mode="auto": server/discover first
        assert mcp_client.protocol_version == LATEST_MODERN_VERSION == "2026-07-28"
        assert mcp_client.session.initialize_result is None
        discovered = mcp_client.session.discover_result
        server_info = mcp_client.server_info  # from the serverInfo stamp in the result's _meta
        tools = await mcp_client.list_tools()
    assert discovered is not None and discovered.supported_versions == [LATEST_MODERN_VERSION]
    assert discovered.capabilities.tools is not None
    assert discovered.capabilities.resources is None and discovered.capabilities.prompts is None
    assert "get_players" in (discovered.instructions or "")
    assert server_info is not None and server_info.name == "sportstats"
    assert len(tools.tools) == len(ENDPOINTS)


async def test_tools_are_the_five_endpoints_with_schemas_and_read_only_annotations(
    url: str, mode: str
) -> None:
    async with connect(url, mode) as mcp_client:
        tools = (await mcp_client.list_tools()).tools
    assert [t.name for t in tools] == [
        "get_players", "get_teams", "get_games", "get_stats", "get_season_averages",
        "get_standings",
    ]  # fmt: skip
    for listed, endpoint in zip(tools, ENDPOINTS, strict=True):
        assert listed.title == endpoint.summary
        assert listed.description == endpoint.description and len(listed.description) <= 300
        assert listed.annotations is not None
        assert listed.annotations.read_only_hint is True
        assert listed.annotations.open_world_hint is True
        schema = listed.input_schema
        assert schema["type"] == "object" and schema["additionalProperties"] is False
        assert list(schema["properties"]) == [p.name for p in endpoint.params]
        assert schema.get("required", []) == [p.name for p in endpoint.params if p.always_required]
        assert listed.output_schema is not None
        jsonschema.Draft202012Validator.check_schema(listed.output_schema)
    # player_ids or player: a rule of two arguments, which validation states (tests/test_players.py)
    assert "required" not in tools[4].input_schema


async def test_each_tools_input_schema_is_the_specs_parameters_of_its_operation(
    client: Any, url: str, mode: str
) -> None:
    spec = yaml.safe_load(await (await client.get("/openapi.yaml")).text())
    async with connect(url, mode) as mcp_client:
        tools = {t.name: t for t in (await mcp_client.list_tools()).tools}
    for endpoint in ENDPOINTS:
        operation = spec["paths"][endpoint.path]["get"]
        from_spec = {
            p["name"]: {**p["schema"], "description": p["description"]}
            for p in operation["parameters"]
        }
        schema = tools[endpoint.tool_name].input_schema
        # The same schemas; a tool passes several values as a JSON array, so its argument's
        # description leaves out how a URL gives them ("Repeat the parameter or ...").
        for name, prop in schema["properties"].items():
            spec_text = from_spec[name].pop("description")
            assert {k: v for k, v in prop.items() if k != "description"} == from_spec[name]
            assert spec_text == prop["description"] or (
                prop["type"] == "array" and spec_text == f"{prop['description']} {QUERY_ARRAY_NOTE}"
            )
            assert "Repeat" not in prop["description"]
        assert set(schema["properties"]) == set(from_spec)
        required = [p["name"] for p in operation["parameters"] if p["required"]]
        assert schema.get("required", []) == required


@pytest.mark.parametrize(
    "endpoint", [e for e in ENDPOINTS if not e.outline_in_tools], ids=lambda e: e.name
)
def test_output_schemas_are_self_contained_and_write_nullable_columns_as_any_of(
    endpoint: Any,
) -> None:
    schema = output_schema(endpoint)
    jsonschema.Draft202012Validator.check_schema(schema)
    assert schema["type"] == "object"
    refs = re.findall(r"'\$ref': '([^']+)'", str(schema))
    assert refs and all(ref.removeprefix("#/$defs/") in schema["$defs"] for ref in refs)
    assert "'type': [" not in str(schema)  # no type lists, which strict validators refuse
    validator = jsonschema.Draft202012Validator(schema)
    row = dict.fromkeys(endpoint.table.columns)  # every column may be null
    answer = {"columns": list(row), "data": [row], "meta": META}
    assert validator.is_valid(answer)
    wrong = {**row, "player_id" if "player_id" in row else "team_id": "seven"}
    assert not validator.is_valid({**answer, "data": [wrong]})
    assert not validator.is_valid({**answer, "data": [{**row, "not_a_column": 1}]})


# --- tool calls ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "arguments", "answers"), TOOL_CALLS, ids=[c[0] for c in TOOL_CALLS]
)
async def test_each_tool_answers_rows_as_structured_content_and_the_same_rows_as_markdown(
    url: str,
    mode: str,
    upstream: Any,
    name: str,
    arguments: dict[str, Any],
    answers: dict[str, str],
) -> None:
    endpoint = BY_NAME[name]
    mock_upstream(upstream, answers)
    async with connect(url, mode) as mcp_client:
        advertised = {t.name: t.output_schema for t in (await mcp_client.list_tools()).tools}
        result = await mcp_client.call_tool(endpoint.tool_name, arguments)

    assert result.is_error is False
    answer = result.structured_content
    output_schema = jsonschema.Draft202012Validator(advertised[endpoint.tool_name])
    output_schema.validate(answer)
    for broken in broken_answers(answer):  # the advertised schema constrains, it is not `{}`
        assert not output_schema.is_valid(broken), broken
    assert answer["columns"] == list(endpoint.table.columns)
    assert answer["data"], "the recorded answer has rows"
    assert answer["meta"]["cache"] == "miss"
    [text] = result.content
    header, rows, meta_line = parse_markdown(text.text)
    assert header == answer["columns"]
    assert rows == [[shown(row[c]) for c in answer["columns"]] for row in answer["data"]]
    next_cursor = answer["meta"]["next_cursor"]
    assert meta_line.startswith(
        f"count: {len(answer['data'])} · next_cursor: {next_cursor if next_cursor else 'none'}"
        " · cache: miss"
    )


async def test_a_tool_call_and_the_http_endpoint_share_one_cache_entry(
    url: str, mode: str, upstream: Any
) -> None:
    """Same path: the tool's question is the HTTP question, so HTTP is then served from cache."""
    upstream.get(
        upstream_route("/games"), payload=load_fixture("games_2025-01-05_final_with_quarters.json")
    )
    async with connect(url, mode) as mcp_client:
        result = await mcp_client.call_tool(
            "get_games", {"dates": ["2025-01-05"], "team_ids": [14]}
        )
    async with aiohttp.ClientSession() as http_client:
        http = await http_client.get(url.replace("/mcp", "/games?team_ids=14&dates=2025-01-05"))
        body = await http.json()
    assert http.headers["X-Cache"] == "HIT" and len(sent(upstream)) == 1
    assert body["data"] == result.structured_content["data"]


async def test_a_second_identical_call_is_a_cache_hit_without_an_upstream_request(
    url: str, mode: str, upstream: Any
) -> None:
    upstream.get(upstream_route("/teams"), payload=load_fixture("teams_all.json"))
    async with connect(url, mode) as mcp_client:
        first = await mcp_client.call_tool("get_teams", {"division": "Pacific"})
        second = await mcp_client.call_tool("get_teams", {"division": "pacific"})
    assert first.structured_content["meta"]["cache"] == "miss"
    assert second.structured_content["meta"]["cache"] == "hit"
    assert "cache: hit" in second.content[0].text
    assert second.structured_content["data"] == first.structured_content["data"]
    assert len(sent(upstream)) == 1


@pytest.mark.parametrize(
    ("tool", "arguments", "query"),
    [
        ("get_players", {"limit": 0}, "/players?limit=0"),
        ("get_games", {"seasons": [2023, 1900]}, "/games?seasons=2023,1900"),
        ("get_games", {"postseason": "maybe"}, "/games?postseason=maybe"),
        ("get_teams", {"league": "NBA"}, "/teams?league=NBA"),
        ("get_season_averages", {"season": 2024}, "/season_averages?season=2024"),
        ("get_stats", {"start_date": "2024-02-01", "end_date": "2024-01-01"},
         "/stats?start_date=2024-02-01&end_date=2024-01-01"),
    ],
)  # fmt: skip
async def test_a_bad_argument_is_a_tool_error_with_the_http_message_and_hint(
    url: str,
    mode: str,
    client: Any,
    upstream: Any,
    tool: str,
    arguments: dict[str, Any],
    query: str,
) -> None:
    async with connect(url, mode) as mcp_client:
        result = await mcp_client.call_tool(tool, arguments)
    http = await client.get(query)
    error = (await http.json())["error"]
    assert http.status == 400
    assert result.is_error is True and result.structured_content is None
    assert (
        result.content[0].text
        == f"Error ({error['code']}): {error['message']}\nHint: {error['hint']}"
    )
    assert sent(upstream) == []


async def test_json_numbers_and_booleans_are_read_like_their_query_text(
    url: str, mode: str, upstream: Any
) -> None:
    upstream.get(upstream_route("/games"), payload={"data": [], "meta": {}}, repeat=True)
    async with connect(url, mode) as mcp_client:
        typed = await mcp_client.call_tool("get_games", {"seasons": [2024], "postseason": True})
        texts = await mcp_client.call_tool("get_games", {"seasons": "2024", "postseason": "true"})
        unset = await mcp_client.call_tool("get_games", {"seasons": [2024], "postseason": None})
    assert typed.structured_content["meta"]["query"] == {
        "seasons": [2024],
        "postseason": True,
        "limit": 25,
    }
    assert texts.structured_content["meta"]["cache"] == "hit"
    assert unset.structured_content["meta"]["query"] == {"seasons": [2024], "limit": 25}


async def test_an_upstream_failure_is_a_tool_error_not_a_protocol_error(
    url: str, mode: str, client: Any, upstream: Any
) -> None:
    upstream.get(upstream_route("/stats"), status=401, body=load_fixture("401_unauthorized.txt"))
    async with connect(url, mode) as mcp_client:
        result = await mcp_client.call_tool("get_stats", {"game_ids": [1037684]})
    assert result.is_error is True
    text = result.content[0].text
    assert text.startswith("Error (upstream_refused): The upstream data service refused")
    assert "Hint: Ask the server's operator to check BALLDONTLIE_API_KEY" in text


async def test_mcp_is_a_data_route_behind_the_same_bearer_token(
    serve: Callable[..., Any], upstream: Any, mode: str
) -> None:
    url = await serve(auth={"mode": "service", "service_token": SERVICE_TOKEN})
    async with aiohttp.ClientSession() as anonymous:
        refused = await anonymous.post(url, json=PING, headers=VERSION_HEADER)
        assert refused.status == 401 and "WWW-Authenticate" in refused.headers
    upstream.get(upstream_route("/teams"), payload=load_fixture("teams_all.json"))
    bearer = {"Authorization": f"Bearer {SERVICE_TOKEN}"}
    async with (
        httpx2.AsyncClient(headers=bearer) as http,
        connect(streamable_http_client(url, http_client=http), mode) as mcp_client,
    ):
        result = await mcp_client.call_tool("get_teams", {})
    assert result.is_error is False and len(result.structured_content["data"]) == 30


async def test_an_unknown_tool_is_a_json_rpc_invalid_params_error(url: str, mode: str) -> None:
    async with connect(url, mode) as mcp_client:
        with pytest.raises(MCPError) as caught:
            await mcp_client.call_tool("get_weather", {})
    assert caught.value.error.code == INVALID_PARAMS
    assert "get_weather" in caught.value.error.message


# --- the transport, message by message ---------------------------------------------------------


async def post(client: Any, body: Any, headers: dict[str, str] = VERSION_HEADER) -> tuple[int, Any]:
    """A raw POST to /mcp (a string body is sent as is): status and the JSON reply, if any."""
    if isinstance(body, str):
        sending = {"data": body, "headers": {"Content-Type": "application/json", **headers}}
    else:
        sending = {"json": body, "headers": headers}
    response = await client.post("/mcp", **sending)
    return response.status, (await response.json() if await response.read() else None)


async def test_ping_answers_an_empty_result(client: Any) -> None:
    assert await post(client, PING) == (200, {"jsonrpc": "2.0", "id": 1, "result": {}})


@pytest.mark.parametrize(
    "message",
    [
        {"jsonrpc": "2.0", "method": "notifications/initialized"},
        {"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {"requestId": 3}},
        {"jsonrpc": "2.0", "id": 9, "result": {}},
    ],
)
async def test_notifications_and_responses_are_accepted_with_202_and_no_body(
    client: Any, message: dict[str, Any]
) -> None:
    assert await post(client, message) == (202, None)


@pytest.mark.parametrize(
    ("body", "status", "code", "answered_id"),
    [
        ('{"jsonrpc": "2.0", "id": 1, "method": "ping"', 400, PARSE_ERROR, None),
        ("not json", 400, PARSE_ERROR, None),
        ({"jsonrpc": "2.0"}, 400, INVALID_REQUEST, None),
        ({"jsonrpc": "1.0", "id": 1, "method": "ping"}, 400, INVALID_REQUEST, None),
        ({"jsonrpc": "2.0", "id": None, "method": "ping"}, 400, INVALID_REQUEST, None),
        ({"jsonrpc": "2.0", "id": 1.5, "method": "ping"}, 400, INVALID_REQUEST, None),
        ({"jsonrpc": "2.0", "id": 1, "method": 7}, 400, INVALID_REQUEST, None),
        ("[1, 2]", 400, INVALID_REQUEST, None),
        ({"jsonrpc": "2.0", "id": 2, "method": "ping", "params": [1]}, 200, INVALID_REQUEST, 2),
        ({"jsonrpc": "2.0", "id": 3, "method": "resources/list"}, 200, METHOD_NOT_FOUND, 3),
        ({"jsonrpc": "2.0", "id": 4, "method": "server/discover"}, 200, METHOD_NOT_FOUND, 4),
        ({"jsonrpc": "2.0", "id": 5, "method": "tools/call", "params": {"arguments": {}}},
         200, INVALID_PARAMS, 5),
        ({"jsonrpc": "2.0", "id": 6, "method": "tools/call",
          "params": {"name": "get_teams", "arguments": [1]}}, 200, INVALID_PARAMS, 6),
    ],
)  # fmt: skip
async def test_a_malformed_message_gets_the_json_rpc_error_the_spec_defines(
    client: Any, upstream: Any, body: Any, status: int, code: int, answered_id: Any
) -> None:
    got_status, reply = await post(client, body)
    assert (got_status, reply["error"]["code"], reply["id"]) == (status, code, answered_id)
    assert reply["jsonrpc"] == "2.0" and reply["error"]["message"]
    assert sent(upstream) == []


async def test_batches_are_refused_from_2025_06_18_on_and_answered_in_2025_03_26(
    client: Any,
) -> None:
    batch = [PING, {"jsonrpc": "2.0", "method": "notifications/initialized"}, {**PING, "id": 2}]
    status, reply = await post(client, batch)
    assert (status, reply["error"]["code"]) == (400, INVALID_REQUEST)
    old = {**JSON_HEADERS, "MCP-Protocol-Version": "2025-03-26"}
    status, replies = await post(client, batch, old)
    assert status == 200
    assert replies == [{"jsonrpc": "2.0", "id": i, "result": {}} for i in (1, 2)]
    assert await post(client, batch[1:2], old) == (202, None)
    for refused in ([], [PING] * (MAX_BATCH_MESSAGES + 1)):
        status, reply = await post(client, refused, old)
        assert (status, reply["error"]["code"]) == (400, INVALID_REQUEST)


async def test_a_handshake_era_request_without_version_header_is_read_as_2025_03_26(
    client: Any,
) -> None:
    assert await post(client, PING, JSON_HEADERS) == (
        200,
        {"jsonrpc": "2.0", "id": 1, "result": {}},
    )


# --- the 2026-07-28 wire, message by message ----------------------------------------------------


def envelope(version: str = LATEST_MODERN_VERSION) -> dict[str, Any]:
    return {
        PROTOCOL_VERSION_META_KEY: version,
        CLIENT_INFO_META_KEY: {"name": "t", "version": "1"},
        CLIENT_CAPABILITIES_META_KEY: {},
    }


def modern(
    method: str, params: dict[str, Any] | None = None, version: str = LATEST_MODERN_VERSION
) -> tuple[dict[str, Any], dict[str, str]]:
    """A 2026-07-28 request as a conforming client sends it: envelope and routing headers."""
    body = {"jsonrpc": "2.0", "id": 7, "method": method, "params": {**(params or {})}}
    body["params"]["_meta"] = envelope(version)
    headers = {**JSON_HEADERS, "MCP-Protocol-Version": version, "Mcp-Method": method}
    if method == "tools/call":
        headers["Mcp-Name"] = body["params"]["name"]
    return body, headers


async def test_server_discover_names_2026_07_28_the_tools_capability_and_cache_hints(
    client: Any,
) -> None:
    status, reply = await post(client, *modern("server/discover"))
    assert status == 200 and reply["id"] == 7
    result = reply["result"]
    assert result["resultType"] == "complete"
    assert result["supportedVersions"] == [LATEST_MODERN_VERSION]
    assert result["capabilities"] == {"tools": {"listChanged": True}}  # subscriptions/listen
    assert result["ttlMs"] == DISCOVERY_TTL_MS and result["cacheScope"] == "public"
    assert result["_meta"][SERVER_INFO_META_KEY]["name"] == "sportstats"
    assert "get_players" in result["instructions"]


async def test_each_era_gets_its_own_result_shape(client: Any, upstream: Any) -> None:
    upstream.get(upstream_route("/teams"), payload=load_fixture("teams_all.json"))
    call = {"name": "get_teams", "arguments": {"conference": "west"}}
    _, modern_call = await post(client, *modern("tools/call", call))
    _, modern_list = await post(client, *modern("tools/list"))
    _, legacy_call = await post(client, {**PING, "method": "tools/call", "params": call})
    _, legacy_list = await post(client, {**PING, "method": "tools/list"})

    result = modern_call["result"]
    assert result["resultType"] == "complete" and result["isError"] is False
    assert result["structuredContent"]["meta"]["cache"] == "miss"
    assert result["_meta"][SERVER_INFO_META_KEY]["version"]
    assert modern_list["result"]["ttlMs"] == DISCOVERY_TTL_MS
    assert [t["name"] for t in modern_list["result"]["tools"]] == [e.tool_name for e in ENDPOINTS]
    assert modern_list["result"]["tools"] == legacy_list["result"]["tools"]
    # 2026-07-28 fields are not sent to a handshake-era client.
    assert legacy_call["result"]["structuredContent"]["data"] == result["structuredContent"]["data"]
    for legacy in (legacy_call["result"], legacy_list["result"]):
        assert {"resultType", "ttlMs", "cacheScope", "_meta"}.isdisjoint(legacy)


async def test_a_2026_tool_error_is_a_result_answered_200(client: Any, upstream: Any) -> None:
    status, reply = await post(
        client, *modern("tools/call", {"name": "get_players", "arguments": {"limit": 0}})
    )
    assert status == 200
    assert reply["result"]["isError"] is True and reply["result"]["resultType"] == "complete"
    assert reply["result"]["content"][0]["text"].startswith(
        "Error (invalid_parameter): Parameter 'limit'"
    )
    assert sent(upstream) == []


def _with_header(name: str, value: str | None) -> Callable[[dict[str, str]], dict[str, str]]:
    def change(headers: dict[str, str]) -> dict[str, str]:
        changed = {k: v for k, v in headers.items() if k != name}
        return changed if value is None else {**changed, name: value}

    return change


@pytest.mark.parametrize(
    "change",
    [
        _with_header("MCP-Protocol-Version", "2025-11-25"),
        _with_header("MCP-Protocol-Version", None),
        _with_header("Mcp-Method", "tools/list"),
        _with_header("Mcp-Method", None),
        _with_header("Mcp-Name", "get_games"),
        _with_header("Mcp-Name", None),
    ],
    ids=["old-version", "no-version", "other-method", "no-method", "other-name", "no-name"],
)
async def test_a_routing_header_that_disagrees_with_the_body_is_a_400_header_mismatch(
    client: Any, upstream: Any, change: Callable[[dict[str, str]], dict[str, str]]
) -> None:
    body, headers = modern("tools/call", {"name": "get_teams", "arguments": {}})
    status, reply = await post(client, body, change(headers))
    assert (status, reply["error"]["code"], reply["id"]) == (400, HEADER_MISMATCH, 7)
    assert sent(upstream) == []


async def test_a_routing_header_sent_twice_is_a_header_mismatch(client: Any) -> None:
    body, headers = modern("tools/list")
    twice = CIMultiDict(headers)
    twice.add("Mcp-Method", "tools/list")
    response = await client.post("/mcp", json=body, headers=twice)
    reply = await response.json()
    assert (response.status, reply["error"]["code"]) == (400, HEADER_MISMATCH)
    assert "mcp-method" in reply["error"]["message"]


async def test_an_unsupported_revision_is_a_400_naming_the_ones_served(client: Any) -> None:
    status, reply = await post(client, *modern("tools/list", version="2099-01-01"))
    assert (status, reply["error"]["code"], reply["id"]) == (400, UNSUPPORTED_PROTOCOL_VERSION, 7)
    assert reply["error"]["data"] == {"supported": ["2026-07-28"], "requested": "2099-01-01"}
    notice = {"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {"requestId": 7}}
    status, reply = await post(client, notice, {**JSON_HEADERS, "MCP-Protocol-Version": "2099-01"})
    assert (status, reply["error"]["code"], reply["id"]) == (
        400,
        UNSUPPORTED_PROTOCOL_VERSION,
        None,
    )


@pytest.mark.parametrize(
    ("mutate", "status", "code"),
    [
        (lambda b: b["params"].pop("_meta"), 400, INVALID_PARAMS),
        (lambda b: b["params"]["_meta"].pop(CLIENT_CAPABILITIES_META_KEY), 400, INVALID_PARAMS),
        (lambda b: b.update(method="ping"), 404, METHOD_NOT_FOUND),
        (lambda b: b.update(method="initialize"), 404, METHOD_NOT_FOUND),
        (lambda b: b.update(method="resources/list"), 404, METHOD_NOT_FOUND),
        (lambda b: b["params"].update(name="get_weather"), 400, INVALID_PARAMS),
        (lambda b: b["params"].update(arguments=[1]), 400, INVALID_PARAMS),
    ],
    ids=["no-meta", "no-capabilities", "ping", "initialize", "unknown-method", "unknown-tool",
         "bad-arguments"],
)  # fmt: skip
async def test_a_2026_request_error_has_the_status_the_revision_maps_its_code_to(
    client: Any, upstream: Any, mutate: Callable[[dict[str, Any]], Any], status: int, code: int
) -> None:
    body, headers = modern("tools/call", {"name": "get_teams", "arguments": {}})
    mutate(body)
    headers["Mcp-Method"] = body["method"]
    headers["Mcp-Name"] = body["params"]["name"]
    got, reply = await post(client, body, headers)
    assert (got, reply["error"]["code"], reply["id"]) == (status, code, 7)
    assert sent(upstream) == []


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {"requestId": 3}}, 202),
        ({"jsonrpc": "2.0", "method": "notifications/initialized"}, 202),
        ({"jsonrpc": "2.0", "id": 9, "result": {}}, 400),
        ([PING, {**PING, "id": 2}], 400),
        ({"jsonrpc": "2.0", "method": 7}, 400),
    ],
    ids=["cancelled", "initialized", "posted-response", "batch", "bad-notification"],
)
async def test_2026_notifications_are_202_and_other_non_requests_invalid(
    client: Any, body: Any, status: int
) -> None:
    headers = {**JSON_HEADERS, "MCP-Protocol-Version": LATEST_MODERN_VERSION}
    got, reply = await post(client, body, headers)
    assert got == status
    if status == 400:
        assert (reply["error"]["code"], reply["id"]) == (INVALID_REQUEST, None)


@pytest.mark.parametrize(
    ("origin", "status"),
    [(None, 200), ("https://chatgpt.com", 200), ("https://evil.example", 403), ("null", 403)],
)
async def test_a_browser_origin_must_be_a_configured_cors_origin(
    client: Any, origin: str | None, status: int
) -> None:
    headers = {**VERSION_HEADER, **({"Origin": origin} if origin else {})}
    got, _ = await post(client, PING, headers)
    assert got == status


async def test_an_operator_who_allows_every_cors_origin_allows_every_origin(
    make_client: Any,
) -> None:
    client = await make_client(cors_origins="*")
    got, _ = await post(client, PING, {**VERSION_HEADER, "Origin": "https://any.example"})
    assert got == 200


@pytest.mark.parametrize(
    "origin",
    ["http://localhost:6274", "http://127.0.0.1:3000", "http://[::1]:8080", "http://localhost"],
)
async def test_on_loopback_any_local_origin_is_let_in(client: Any, origin: str) -> None:
    """The MCP Inspector's page (localhost:6274) or any local tool's, whatever its port."""
    got, _ = await post(client, PING, {**VERSION_HEADER, "Origin": origin})
    assert got == 200


@pytest.mark.parametrize(
    "host", ["evil.example", "evil.example:5001", "127.0.0.1.evil.example", "localhost.evil"]
)
async def test_on_loopback_a_foreign_host_is_refused_as_dns_rebinding_would_send_it(
    client: Any, host: str
) -> None:
    """A rebinding page's name resolves to 127.0.0.1, so its Host (and Origin) name it."""
    headers = {**VERSION_HEADER, "Host": host, "Origin": f"http://{host}"}
    got, reply = await post(client, PING, headers)
    assert (
        got == 403
        and reply["id"] is None
        and "is not this local server" in reply["error"]["message"]
    )
    got, _ = await post(client, PING, {**VERSION_HEADER, "Host": host})  # no Origin: the same
    assert got == 403


async def test_on_a_public_address_the_host_must_be_the_public_urls(make_client: Any) -> None:
    client = await make_client(host="0.0.0.0", public_url="https://stats.example.org")
    got, _ = await post(client, PING, {**VERSION_HEADER, "Host": "stats.example.org"})
    assert got == 200
    got, reply = await post(client, PING, {**VERSION_HEADER, "Host": "other.example.org"})
    assert got == 403 and "public host" in reply["error"]["message"]
    local = {**VERSION_HEADER, "Host": "stats.example.org", "Origin": "http://localhost:6274"}
    got, _ = await post(client, PING, local)  # not local here: a configured origin or nothing
    assert got == 403


async def test_content_negotiation_needs_json_both_ways(client: Any) -> None:
    response = await client.post("/mcp", json=PING, headers={"Accept": "text/event-stream"})
    assert response.status == 406
    response = await client.post("/mcp", data="ping", headers={"Content-Type": "text/plain"})
    assert response.status == 415


@pytest.mark.parametrize("method", ["GET", "DELETE"])
async def test_get_and_delete_are_405_for_a_stateless_server_without_streams(
    client: Any, method: str
) -> None:
    response = await client.request(method, "/mcp", headers={"Accept": "text/event-stream"})
    assert response.status == 405
    assert "POST" in response.headers["Allow"].split(", ")
    assert response.content_type == "application/json"


# --- the markdown table ----------------------------------------------------------------------


def test_markdown_cells_escape_pipes_backslashes_and_line_breaks_and_show_null_empty() -> None:
    answer = {
        "columns": ["name", "note", "n", "flag"],
        "data": [
            {"name": "A | B", "note": "line 1\nline 2\r\nline 3", "n": None, "flag": True},
            {"name": "back\\", "note": "\\|", "n": 0.5, "flag": False},
        ],
        "meta": {"count": 2, "next_cursor": 77, "cache": "stale", "note": "two\nlines"},
    }
    text = markdown_table(answer)
    header, rows, meta_line = parse_markdown(text)
    assert header == answer["columns"]
    assert rows == [
        ["A | B", "line 1<br>line 2<br>line 3", "", "true"],
        ["back\\", "\\|", "0.5", "false"],
    ]
    assert text.splitlines()[2] == r"| A \| B | line 1<br>line 2<br>line 3 |  | true |"
    assert meta_line == "count: 2 · next_cursor: 77 · cache: stale · note: two lines"


# --- the questions people ask, one call each -------------------------------------------------

LAKERS, CELTICS = 14, 2  # team ids
# tools/list before names, sort, last and fields were added was 16,892 characters; they stayed
# within it (16,762). The game-night questions (next, opponent, day words) may add 1,300 more.
TOOLS_LIST_MAX_CHARS = 16_762 + 1_300
# What get_standings may add to it (issue #26): at most 1,200 characters
STANDINGS_TOOL_MAX_CHARS = 1_200


def league_with_games(upstream: Any) -> League:
    league = League()
    league.serve(upstream)
    upstream.get(upstream_route("/teams"), payload=load_fixture("teams_all.json"), repeat=True)
    league.game(8, LAKERS, CELTICS, score=(120, 118))
    league.game(3, CELTICS, LAKERS, score=(101, 99))  # the Lakers' last game: lost away
    return league


async def test_a_teams_top_scorers_in_its_last_game_in_one_call(
    url: str, mode: str, upstream: Any
) -> None:
    league_with_games(upstream)
    question = {"team": ["Lakers"], "last": 1, "sort": "-pts", "limit": 2, "fields": ["pts"]}
    async with connect(url, mode) as mcp_client:
        result = await mcp_client.call_tool("get_stats", question)

    assert result.is_error is False
    answer = result.structured_content
    assert answer["columns"] == ["pts", "player_id", "team_id", "game_id", "opponent_id"]
    assert [row["player_id"] for row in answer["data"]] == [
        player_id(LAKERS, 3),
        player_id(LAKERS, 2),
    ]
    assert {row["opponent_id"] for row in answer["data"]} == {CELTICS}
    header, rows, meta_line = parse_markdown(result.content[0].text)
    assert header == answer["columns"] and len(rows) == 2
    assert answer["meta"]["upstream_calls"] == 3 and len(sent(upstream)) == 3


async def test_a_teams_last_games_and_a_players_lines_with_the_opponent(
    url: str, mode: str, upstream: Any
) -> None:
    league_with_games(upstream)
    async with connect(url, mode) as mcp_client:
        games = await mcp_client.call_tool("get_games", {"team": ["LAL"], "last": 2})
        lines = await mcp_client.call_tool(
            "get_stats", {"player_ids": [player_id(CELTICS, 1)], "last": 2}
        )

    assert [row["home_score"] for row in games.structured_content["data"]] == [101, 120]
    rows = lines.structured_content["data"]
    assert [(r["opponent"], r["home_away"], r["result"]) for r in rows] == [
        ("LAL", "home", "W 101-99"),
        ("LAL", "away", "L 118-120"),
    ]


async def test_a_bad_last_is_an_error_result_with_the_https_words(
    url: str, mode: str, upstream: Any
) -> None:
    async with connect(url, mode) as mcp_client:
        result = await mcp_client.call_tool("get_stats", {"last": 3})
        unknown = await mcp_client.call_tool("get_teams", {"fields": ["pts"]})
    assert result.is_error is True
    assert "needs one of player, player_ids, team" in result.content[0].text
    assert unknown.is_error is True and "team_id" in unknown.content[0].text
    assert sent(upstream) == []


async def test_tools_list_stays_within_its_old_size(url: str) -> None:
    request = {"jsonrpc": "2.0", "id": 1, "method": "tools/list"}
    headers = {
        "Accept": "application/json, text/event-stream",
        "MCP-Protocol-Version": "2025-06-18",
    }
    async with aiohttp.ClientSession() as session:
        response = await session.post(url, json=request, headers=headers)
        body = await response.read()
    result = json_module.loads(body)["result"]
    assert len(result["tools"]) == 6
    standings = [t for t in result["tools"] if t["name"] == "get_standings"]
    added = len(json_module.dumps(standings[0])) + 2  # as the body writes it, and its ", "
    assert added <= STANDINGS_TOOL_MAX_CHARS
    assert len(body) - added <= TOOLS_LIST_MAX_CHARS
