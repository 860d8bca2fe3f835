"""The served openapi.yaml imports cleanly as a GPT Action: the editor's limits, the https URL."""

from __future__ import annotations

import re
from typing import Any

import pytest
import yaml

from sportstats.core.endpoints import ENDPOINTS

# The GPT editor refuses an Action whose texts exceed these, or whose server is not https.
SUMMARY_LIMIT = 300
DESCRIPTION_LIMIT = 300
PARAMETER_DESCRIPTION_LIMIT = 700
OPERATION_ID = re.compile(r"^[A-Za-z0-9_-]+$")
METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}


async def action_spec(client: Any, headers: dict[str, str] | None = None) -> dict[str, Any]:
    response = await client.get("/openapi.yaml", headers=headers)
    assert response.status == 200
    return yaml.safe_load(await response.text())


def operations(spec: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (path, method, operation)
        for path, item in spec["paths"].items()
        for method, operation in item.items()
        if method in METHODS
    ]


async def test_every_operation_has_a_unique_operation_id_an_action_can_name(client: Any) -> None:
    ops = operations(await action_spec(client))
    assert len(ops) == len(ENDPOINTS)
    ids = [operation.get("operationId", "") for _, _, operation in ops]
    assert all(OPERATION_ID.match(i) for i in ids), ids
    assert len(set(ids)) == len(ids)


async def test_summaries_and_descriptions_fit_the_action_limits(client: Any) -> None:
    spec = await action_spec(client)
    assert len(spec["info"].get("description", "")) <= DESCRIPTION_LIMIT
    for path, method, operation in operations(spec):
        where = f"{method.upper()} {path}"
        assert 0 < len(operation["summary"]) <= SUMMARY_LIMIT, where
        assert 0 < len(operation["description"]) <= DESCRIPTION_LIMIT, where
        for parameter in operation["parameters"]:
            assert 0 < len(parameter["description"]) <= PARAMETER_DESCRIPTION_LIMIT, (
                where,
                parameter["name"],
            )


async def test_every_answer_and_error_has_a_json_schema_the_action_can_read(client: Any) -> None:
    spec = await action_spec(client)
    schemas = spec["components"]["schemas"]
    for _, _, operation in operations(spec):
        for response in operation["responses"].values():
            ref = response["content"]["application/json"]["schema"]["$ref"]
            assert ref.removeprefix("#/components/schemas/") in schemas


@pytest.mark.parametrize(
    ("overrides", "headers", "server"),
    [
        ({}, {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "nba.example.org"},
         "https://nba.example.org"),
        ({"public_url": "https://stats.example.com"}, {}, "https://stats.example.com"),
        ({"public_url": "https://stats.example.com/"}, {"X-Forwarded-Proto": "http"},
         "https://stats.example.com"),
    ],
)  # fmt: skip
async def test_behind_https_the_only_server_is_the_public_https_url(
    make_client: Any, overrides: dict[str, Any], headers: dict[str, str], server: str
) -> None:
    client = await make_client(**overrides)
    spec = await action_spec(client, headers)
    assert spec["servers"] == [{"url": server}]


async def test_behind_https_on_the_same_host_the_scheme_follows_the_proxy(client: Any) -> None:
    spec = await action_spec(client, {"X-Forwarded-Proto": "https"})
    [server] = spec["servers"]
    assert server["url"] == f"https://{client.server.host}:{client.server.port}"
