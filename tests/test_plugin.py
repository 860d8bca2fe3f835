"""The plugin files: manifest, OpenAPI spec and logo, their limits, public URL, and CORS."""

from __future__ import annotations

import json
import re
import struct
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from openapi_spec_validator import validate

from sportstats.app import create_app
from sportstats.core.endpoints import BY_NAME, ENDPOINTS
from sportstats.web import plugin
from tests.conftest import (
    UPSTREAM,
    answer_season_averages,
    load_fixture,
    make_settings,
    sent,
    upstream_route,
)

ROOT = Path(__file__).resolve().parent.parent
ASSISTANT_ORIGINS = ("https://chatgpt.com", "https://chat.openai.com")
# Routes that serve the assistant or the operator rather than data; everything else is in the spec.
SERVICE_ROUTES = {
    "/.well-known/ai-plugin.json",
    "/openapi.yaml",
    "/logo.png",
    "/legal",
    "/healthz",
    "/readyz",
    "/metrics",
    "/mcp",
}
TEXT_LIMIT = 200


async def served_spec(client: Any, headers: dict[str, str] | None = None) -> dict[str, Any]:
    response = await client.get("/openapi.yaml", headers=headers)
    assert response.status == 200
    assert "yaml" in response.headers["Content-Type"]
    return yaml.safe_load(await response.text())


async def served_manifest(client: Any, headers: dict[str, str] | None = None) -> dict[str, Any]:
    response = await client.get("/.well-known/ai-plugin.json", headers=headers)
    assert response.status == 200
    return await response.json()


def operations(spec: dict[str, Any]) -> list[dict[str, Any]]:
    return [op for item in spec["paths"].values() for op in item.values()]


# --- manifest --------------------------------------------------------------------------------


async def test_the_manifest_is_within_the_platforms_limits(client: Any) -> None:
    manifest = await served_manifest(client)
    assert manifest["schema_version"] == "v1"
    assert re.fullmatch(r"[A-Za-z0-9]{1,50}", manifest["name_for_model"])
    assert 0 < len(manifest["name_for_human"]) <= 20
    assert 0 < len(manifest["description_for_human"]) <= 100
    assert 0 < len(manifest["description_for_model"]) <= 8000
    assert manifest["auth"] == {"type": "none"}
    assert manifest["api"]["type"] == "openapi"
    for key in ("contact_email", "legal_info_url", "logo_url"):
        assert manifest[key]


async def test_the_manifest_tells_the_model_it_is_nba_only_and_what_each_endpoint_gives(
    client: Any,
) -> None:
    text = (await served_manifest(client))["description_for_model"]
    assert "NBA" in text and "only" in text
    for endpoint in ENDPOINTS:
        assert endpoint.path in text


async def test_plain_http_fills_in_the_host_the_request_came_in_on(client: Any) -> None:
    base = f"http://{client.host}:{client.port}"
    manifest = await served_manifest(client)
    assert manifest["api"]["url"] == f"{base}/openapi.yaml"
    assert manifest["logo_url"] == f"{base}/logo.png"
    assert manifest["legal_info_url"] == f"{base}/legal"
    assert (await served_spec(client))["servers"] == [{"url": base}]


async def test_the_contact_and_the_terms_in_the_manifest_are_the_operators(
    make_client: Any,
) -> None:
    client = await make_client(
        contact_email="ops@stats.example.org", legal_info_url="https://stats.example.org/terms"
    )
    manifest = await served_manifest(client)
    assert manifest["contact_email"] == "ops@stats.example.org"
    assert manifest["legal_info_url"] == "https://stats.example.org/terms"


async def test_a_tls_proxys_forwarded_scheme_and_host_are_honoured(client: Any) -> None:
    proxy = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "nba.example.org"}
    manifest = await served_manifest(client, proxy)
    assert manifest["api"]["url"] == "https://nba.example.org/openapi.yaml"
    assert manifest["logo_url"] == "https://nba.example.org/logo.png"
    assert (await served_spec(client, proxy))["servers"] == [{"url": "https://nba.example.org"}]


async def test_a_forged_forwarded_scheme_or_host_is_not_written_into_the_manifest(
    client: Any,
) -> None:
    forged = {"X-Forwarded-Proto": "javascript", "X-Forwarded-Host": 'evil"host/x'}
    manifest = await served_manifest(client, forged)
    assert manifest["api"]["url"] == f"http://{client.host}:{client.port}/openapi.yaml"


@pytest.mark.parametrize(
    ("trusted", "believed"), [(["127.0.0.1/32"], True), (["10.0.0.0/8"], False)]
)
async def test_forwarded_headers_are_believed_only_from_the_trusted_proxies_once_named(
    make_client: Any, trusted: list[str], believed: bool
) -> None:
    client = await make_client(auth={"trusted_proxies": trusted})
    proxy = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "stats.example.com"}
    manifest = await served_manifest(client, proxy)
    own = f"http://{client.host}:{client.port}"
    expected = "https://stats.example.com" if believed else own
    assert manifest["api"]["url"] == f"{expected}/openapi.yaml"


async def test_the_configured_public_url_wins_over_the_request(make_client: Any) -> None:
    client = await make_client(public_url="https://stats.example.com/")
    proxy = {"X-Forwarded-Proto": "http", "X-Forwarded-Host": "elsewhere.example"}
    manifest = await served_manifest(client, proxy)
    assert manifest["api"]["url"] == "https://stats.example.com/openapi.yaml"
    assert (await served_spec(client))["servers"] == [{"url": "https://stats.example.com"}]


def test_no_plugin_hostname_placeholder_is_left_anywhere() -> None:
    files = [ROOT / "openapi.yaml", ROOT / "ai-plugin.json", ROOT / "README.md"]
    files += sorted((ROOT / "docs").glob("*.md"))
    files += sorted((ROOT / "sportstats").glob("*.py"))
    for path in files:
        assert "PLUGIN_HOSTNAME" not in path.read_text(encoding="utf-8"), path
    assert "PLUGIN_HOSTNAME" not in plugin.spec_yaml("http://localhost:5001")


async def test_the_logo_is_a_real_png(client: Any) -> None:
    response = await client.get("/logo.png")
    body = await response.read()
    assert response.status == 200
    assert response.headers["Content-Type"] == "image/png"
    assert body[:8] == b"\x89PNG\r\n\x1a\n"
    length, kind, width, height = struct.unpack(">I4sII", body[8:24])
    assert (length, kind) == (13, b"IHDR")
    assert 16 <= width <= 1024 and width == height
    assert body.endswith(b"IEND\xaeB`\x82")


def test_the_committed_plugin_files_are_what_the_code_generates() -> None:
    """Run `python -m sportstats.web.plugin .` after changing an endpoint or the manifest."""
    committed_spec = (ROOT / "openapi.yaml").read_text(encoding="utf-8")
    committed_manifest = (ROOT / "ai-plugin.json").read_text(encoding="utf-8")
    assert committed_spec == plugin.spec_yaml(plugin.LOCAL_URL)
    assert committed_manifest == plugin.manifest_json(plugin.LOCAL_URL)
    assert json.loads(committed_manifest)["api"]["url"] == "http://localhost:5001/openapi.yaml"


# --- spec ------------------------------------------------------------------------------------


async def test_the_served_spec_is_valid_openapi(client: Any) -> None:
    spec = await served_spec(client)
    assert spec["openapi"].startswith("3.")
    validate(spec)


async def test_the_spec_spells_every_schema_out_without_yaml_anchors(client: Any) -> None:
    text = await (await client.get("/openapi.yaml")).text()
    assert not re.search(r"[&*]id\d+", text)


def test_the_committed_spec_is_valid_openapi() -> None:
    validate(yaml.safe_load((ROOT / "openapi.yaml").read_text(encoding="utf-8")))


async def test_every_operation_has_one_unique_operation_id_and_short_texts(client: Any) -> None:
    spec = await served_spec(client)
    ops = operations(spec)
    ids = [op["operationId"] for op in ops]
    assert len(ids) == len(set(ids)) == len(ENDPOINTS)
    for op in ops:
        assert 0 < len(op["summary"]) <= TEXT_LIMIT
        assert 0 < len(op["description"]) <= TEXT_LIMIT
        for parameter in op["parameters"]:
            assert 0 < len(parameter["description"]) <= TEXT_LIMIT, parameter["name"]


async def test_every_operation_declares_schemas_for_rows_meta_and_errors(client: Any) -> None:
    spec = await served_spec(client)
    schemas = spec["components"]["schemas"]
    for op in operations(spec):
        ok = op["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
        answer = schemas[ok.rsplit("/", 1)[1]]
        assert {"columns", "data", "meta"} <= set(answer["properties"])
        row = answer["properties"]["data"]["items"]
        assert row["additionalProperties"] is False and row["properties"]
        for column in row["properties"].values():  # a nullable type, written as anyOf
            nullable = schemas[column["$ref"].rsplit("/", 1)[1]]
            assert {"type": "null"} in nullable["anyOf"] and len(nullable["anyOf"]) == 2
        for status in ("400", "404", "429", "502", "504"):
            error = op["responses"][status]["content"]["application/json"]["schema"]["$ref"]
            assert error == "#/components/schemas/Error"


def test_the_spec_paths_are_exactly_the_data_routes_the_app_serves() -> None:
    """Fails when a route is added without its spec entry, or the other way round."""
    app = create_app(make_settings())
    served = {resource.canonical for resource in app.router.resources()}
    spec = plugin.spec(plugin.LOCAL_URL)
    assert served - SERVICE_ROUTES == set(spec["paths"])
    for path, item in spec["paths"].items():
        assert set(item) == {"get"}, path


def test_the_spec_parameters_are_the_param_declarations() -> None:
    spec = plugin.spec(plugin.LOCAL_URL)
    for path, item in spec["paths"].items():
        endpoint = BY_NAME[path.lstrip("/")]
        declared = {
            p.name: {
                "required": p.always_required,
                "schema": p.schema(),
                "description": p.query_description,
            }
            for p in endpoint.params
        }
        documented = {
            p["name"]: {k: p[k] for k in ("required", "schema", "description")}
            for p in item["get"]["parameters"]
        }
        assert documented == declared, path
        assert all(p["in"] == "query" for p in item["get"]["parameters"])


def example(schema: dict[str, Any]) -> str:
    """A valid value for a parameter, as text, from its schema alone."""
    if schema["type"] == "array":
        return example(schema["items"])
    if "enum" in schema:
        return schema["enum"][0]
    if schema["type"] == "integer":
        return str(schema["minimum"])
    if schema["type"] == "boolean":
        return "true"
    if schema.get("format") == "date" or {"format": "date"} in schema.get("anyOf", []):
        return "2024-01-05"
    return schema.get("example", "curry")


def outside(schema: dict[str, Any]) -> list[str]:
    """Values a parameter's schema excludes, as text: each must be refused."""
    if schema["type"] == "array":
        values = outside(schema["items"])
        if schema["items"]["type"] == "integer":  # one more distinct value than maxItems allows
            first = schema["items"]["minimum"]
            values.append(",".join(str(first + i) for i in range(schema["maxItems"] + 1)))
        return values
    if "enum" in schema:
        return ["not-" + schema["enum"][0]]
    if schema["type"] == "integer":
        values = [str(schema["minimum"] - 1)]
        return values + ([str(schema["maximum"] + 1)] if "maximum" in schema else [])
    if schema["type"] == "boolean":
        return ["maybe"]
    if schema.get("format") == "date" or {"format": "date"} in schema.get("anyOf", []):
        return ["2024-02-30", "05/01/2024", "someday"]
    return ["x" * (schema["maxLength"] + 1)]


async def test_the_app_accepts_every_documented_parameter_and_only_those(
    client: Any, upstream: Any
) -> None:
    upstream.get(upstream_route("/teams"), payload=load_fixture("teams_all.json"))  # names
    lebron = {"data": [load_fixture("player_237.json")["data"]], "meta": {}}
    upstream.get(upstream_route("/players"), payload=lebron, repeat=True)
    upstream.get(re.compile(re.escape(UPSTREAM) + ".*"), payload={"data": []}, repeat=True)
    spec = await served_spec(client)
    for path, item in spec["paths"].items():
        parameters = item["get"]["parameters"]
        query = {p["name"]: example(p["schema"]) for p in parameters}
        exclusive = {p.name: p.excludes for p in BY_NAME[path[1:]].params if p.excludes}
        together = [{k: v for k, v in query.items() if k not in exclusive}]
        for name, excludes in exclusive.items():  # each with those it may be given with
            others = set(exclusive) - {name}
            together.append({k: v for k, v in query.items() if k not in {*excludes, *others}})
        for given in together:
            response = await client.get(path, params=given)
            assert response.status == 200, (path, given, await response.text())

        response = await client.get(path, params={**query, "not_in_the_spec": "1"})
        error = (await response.json())["error"]
        assert error["code"] == "unknown_parameter"
        names = ", ".join(p["name"] for p in parameters)
        assert error["hint"] == f"Allowed parameters: {names}.", path


async def test_the_app_refuses_every_value_a_documented_parameters_schema_excludes(
    make_client: Any, upstream: Any
) -> None:
    """The spec's bounds, enums and formats are the server's: what the schema excludes is a 400."""
    client = await make_client(limits={"requests_per_minute": 0})  # many questions from one client
    spec = await served_spec(client)
    for path, item in spec["paths"].items():
        parameters = item["get"]["parameters"]
        query = {p["name"]: example(p["schema"]) for p in parameters}
        for parameter in parameters:
            for value in outside(parameter["schema"]):
                response = await client.get(path, params={**query, parameter["name"]: value})
                asked = (path, parameter["name"], value)
                assert response.status == 400, asked
                error = (await response.json())["error"]
                assert error["code"] == "invalid_parameter", asked
                assert f"'{parameter['name']}'" in error["message"], asked
    assert sent(upstream) == []


def validator(spec: dict[str, Any], path: str, status: str) -> jsonschema.Validator:
    ref = spec["paths"][path]["get"]["responses"][status]["content"]["application/json"]
    # The spec's schema, its references resolved in the spec's components as in the spec.
    schema = {"$ref": ref["schema"]["$ref"], "components": spec["components"]}
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


ANSWERS = [
    ("/teams", "/teams", "teams_all.json"),
    ("/players?query=james", "/players", "players_page_ASSEMBLED.json"),
    ("/players?query=zzyzx", "/players", "players_empty_search.json"),
    ("/games?seasons=2023", "/games", "games_2023-24_mixed_page.json"),
    ("/stats?dates=2015-04-05", "/stats", "stats_dnp_all_null.json"),
    ("/stats?game_ids=1037684", "/stats", "stats_game_1037684_2023-11-05_DET_vs_GSW.json"),
]


@pytest.mark.parametrize(("asked", "path", "fixture"), ANSWERS)
async def test_real_answers_match_the_specs_response_schema(
    client: Any, upstream: Any, asked: str, path: str, fixture: str
) -> None:
    upstream.get(upstream_route(path), payload=load_fixture(fixture))
    upstream.get(upstream_route("/teams"), payload=load_fixture("teams_all.json"))  # opponents
    spec = await served_spec(client)
    response = await client.get(asked)
    assert response.status == 200
    answer = await response.json()
    validator(spec, path, "200").validate(answer)
    wrong = {**answer, "data": [{answer["columns"][-1]: "an id, as text"}]}
    assert not validator(spec, path, "200").is_valid(wrong)  # the references bite


async def test_a_season_averages_answer_with_a_missing_player_matches_the_spec(
    client: Any, upstream: Any
) -> None:
    answer_season_averages(
        upstream,
        2019,
        {237: load_fixture("season_averages_237_2019.json"), 70: {"data": []}},
        load_fixture("players_page_ASSEMBLED.json"),
    )
    spec = await served_spec(client)
    response = await client.get("/season_averages?season=2019&player_ids=237,70")
    answer = await response.json()
    assert answer["meta"]["missing_player_ids"] == [70]
    validator(spec, "/season_averages", "200").validate(answer)


@pytest.mark.parametrize(
    ("asked", "status"), [("/games?seasons=1800", "400"), ("/stats?player_ids=1", "502")]
)
async def test_error_answers_match_the_specs_error_schema(
    client: Any, upstream: Any, asked: str, status: str
) -> None:
    upstream.get(upstream_route("/stats"), status=401, body="Unauthorized")
    spec = await served_spec(client)
    response = await client.get(asked)
    assert str(response.status) == status
    validator(spec, asked.split("?")[0], status).validate(await response.json())


# --- CORS ------------------------------------------------------------------------------------


def served_routes() -> list[tuple[str, str]]:
    """Every path the app serves with each method it takes, read from the router.

    HEAD comes with each GET and OPTIONS is the preflight itself, so neither is asked for.
    """
    app = create_app(make_settings())
    return sorted(
        {
            (route.resource.canonical, route.method)
            for route in app.router.routes()
            if route.resource is not None and route.method not in ("HEAD", "OPTIONS")
        }
    )


ROUTES = served_routes()


def test_the_preflight_test_walks_the_service_routes_too() -> None:
    assert ("/mcp", "POST") in ROUTES
    assert {path for path, _ in ROUTES} >= SERVICE_ROUTES


@pytest.mark.parametrize("origin", ASSISTANT_ORIGINS)
@pytest.mark.parametrize(("path", "method"), ROUTES, ids=[f"{m} {p}" for p, m in ROUTES])
async def test_the_assistants_preflight_is_allowed_on_every_route_with_private_network(
    client: Any, origin: str, path: str, method: str
) -> None:
    response = await client.options(
        path,
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": method,
            "Access-Control-Request-Private-Network": "true",
        },
    )
    assert response.status == 200
    assert response.headers["Access-Control-Allow-Origin"] == origin
    assert method in response.headers["Access-Control-Allow-Methods"]
    assert response.headers["Access-Control-Allow-Private-Network"] == "true"


async def test_a_preflight_that_does_not_ask_for_private_network_gets_no_such_header(
    client: Any,
) -> None:
    response = await client.options(
        "/teams",
        headers={"Origin": "https://chatgpt.com", "Access-Control-Request-Method": "GET"},
    )
    assert response.headers["Access-Control-Allow-Origin"] == "https://chatgpt.com"
    assert "Access-Control-Allow-Private-Network" not in response.headers


async def test_a_disallowed_origin_gets_no_allow_origin_header(client: Any) -> None:
    response = await client.options(
        "/teams",
        headers={
            "Origin": "https://evil.example",
            "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Private-Network": "true",
        },
    )
    assert "Access-Control-Allow-Origin" not in response.headers
    assert "Access-Control-Allow-Private-Network" not in response.headers


async def test_a_simple_request_from_the_assistant_carries_the_allow_origin_header(
    client: Any,
) -> None:
    response = await client.get(
        "/.well-known/ai-plugin.json", headers={"Origin": "https://chat.openai.com"}
    )
    assert response.headers["Access-Control-Allow-Origin"] == "https://chat.openai.com"


async def test_the_allowed_origins_are_configurable(make_client: Any) -> None:
    client = await make_client(cors_origins="https://assistant.example")
    preflight = {"Access-Control-Request-Method": "GET"}
    allowed = await client.options(
        "/teams", headers={"Origin": "https://assistant.example", **preflight}
    )
    refused = await client.options("/teams", headers={"Origin": "https://chatgpt.com", **preflight})
    assert allowed.headers["Access-Control-Allow-Origin"] == "https://assistant.example"
    assert "Access-Control-Allow-Origin" not in refused.headers
