"""Upstream trouble mapped to clear JSON errors: refused key, missing record, rate limit, outage."""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest

from tests import fake_upstream
from tests.conftest import API_KEY, load_fixture, sent, upstream_route

ONE_ATTEMPT = {"max_attempts": 1}


async def error_of(response: Any, status: int) -> dict[str, str]:
    text = await response.text()
    assert response.status == status, text
    assert API_KEY not in text
    body = await response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "hint"}
    return body["error"]


@pytest.fixture
async def client(make_client: Any) -> Any:
    """One attempt per question: these tests are about how a failure is told, not retried."""
    return await make_client(upstream=ONE_ATTEMPT)


REFUSALS = [
    (401, '{"error": "Unauthorized"}', "application/json"),
    (401, load_fixture("401_unauthorized.txt"), "text/plain"),
    (403, '{"error": "Forbidden"}', "application/json"),
    (403, "", "text/html"),
]


@pytest.mark.parametrize(("status", "body", "content_type"), REFUSALS)
async def test_a_route_refused_while_the_key_works_elsewhere_is_a_403_naming_the_plan(
    client: Any, upstream: Any, status: int, body: str, content_type: str
) -> None:
    upstream.get(upstream_route("/stats"), status=status, body=body, content_type=content_type)
    upstream.get(upstream_route("/teams"), payload=load_fixture("teams_all.json"))
    error = await error_of(await client.get("/stats?player_ids=237"), 403)
    assert error["code"] == "plan_not_covered"
    assert "stats" in error["message"] and "ALL-STAR plan" in error["message"]
    assert "/teams" in error["hint"] and "get_teams" in error["hint"]
    assert "BALLDONTLIE_API_KEY" not in error["hint"]


@pytest.mark.parametrize(("status", "body", "content_type"), REFUSALS)
async def test_a_key_refused_everywhere_is_a_503_that_says_the_key_not_the_plan(
    client: Any, upstream: Any, status: int, body: str, content_type: str
) -> None:
    upstream.get(upstream_route("/stats"), status=status, body=body, content_type=content_type)
    upstream.get(upstream_route("/teams"), status=status, body=body, content_type=content_type)
    error = await error_of(await client.get("/stats?player_ids=237"), 503)
    assert error["code"] == "upstream_key_rejected"
    assert "key" in error["message"] and "not a missing plan" in error["message"]
    assert "BALLDONTLIE_API_KEY" in error["hint"]


async def test_a_refusal_is_not_retried_and_not_asked_again(
    make_client: Any, upstream: Any
) -> None:
    client = await make_client()
    upstream.get(upstream_route("/stats"), status=401, body="Unauthorized", repeat=True)
    upstream.get(upstream_route("/teams"), payload=load_fixture("teams_all.json"), repeat=True)
    await error_of(await client.get("/stats"), 403)
    await error_of(await client.get("/stats?seasons=2023"), 403)
    assert sorted(url.path for url in sent(upstream)) == ["/nba/v1/stats", "/nba/v1/teams"]


async def test_an_unknown_id_upstream_is_a_404(client: Any, upstream: Any) -> None:
    upstream.get(upstream_route("/players"), status=404, payload={"error": "Not Found"})
    error = await error_of(await client.get("/players?player_ids=999999999"), 404)
    assert error["code"] == "not_found"
    assert "/players" in error["hint"]


@pytest.mark.parametrize(("retry_after", "told"), [("7", "7"), (None, "60")])
async def test_an_upstream_rate_limit_is_a_429_with_retry_after(
    client: Any, upstream: Any, retry_after: str | None, told: str
) -> None:
    headers = {"Retry-After": retry_after} if retry_after else None
    upstream.get(
        upstream_route("/games"), status=429, payload={"error": "Too Many"}, headers=headers
    )
    response = await client.get("/games?seasons=2024")
    error = await error_of(response, 429)
    assert response.headers["Retry-After"] == told
    assert error["code"] == "upstream_rate_limited"
    assert told in error["hint"]


async def test_a_429_without_retry_after_is_not_retried_within_the_minute(
    make_client: Any, upstream: Any
) -> None:
    client = await make_client()
    upstream.get(upstream_route("/games"), status=429, body="", repeat=True)
    await error_of(await client.get("/games"), 429)
    assert len(sent(upstream)) == 1


@pytest.mark.parametrize("status", [500, 502, 503, 504, 501])
async def test_an_upstream_server_error_is_a_502(client: Any, upstream: Any, status: int) -> None:
    upstream.get(upstream_route("/teams"), status=status, body="<html>oops</html>")
    error = await error_of(await client.get("/teams"), 502)
    assert error["code"] == "upstream_error"
    assert f"HTTP {status}" in error["message"]


async def test_a_transient_server_error_is_retried_up_to_max_attempts(
    make_client: Any, upstream: Any
) -> None:
    client = await make_client(upstream={"backoff_base_s": 0.001, "backoff_max_s": 0.002})
    upstream.get(upstream_route("/teams"), status=503, body="", repeat=True)
    await error_of(await client.get("/teams"), 502)
    assert len(sent(upstream)) == 3


@pytest.mark.parametrize(
    "body", ["<html>Bad Gateway</html>", '{"data": [', "[1, 2]", '"just text"']
)
async def test_an_answer_that_is_not_a_json_object_is_a_502(
    client: Any, upstream: Any, body: str
) -> None:
    upstream.get(upstream_route("/players"), status=200, body=body)
    error = await error_of(await client.get("/players"), 502)
    assert error["code"] == "upstream_bad_response"


async def test_an_answer_without_a_data_list_is_a_502(client: Any, upstream: Any) -> None:
    upstream.get(upstream_route("/players"), payload={"message": "maintenance"})
    error = await error_of(await client.get("/players"), 502)
    assert error["code"] == "upstream_bad_response"


async def test_an_upstream_that_cannot_be_reached_is_a_502(client: Any, upstream: Any) -> None:
    upstream.get(upstream_route("/games"), exception=aiohttp.ClientConnectionError("refused"))
    error = await error_of(await client.get("/games"), 502)
    assert error["code"] == "upstream_unreachable"


async def test_an_upstream_timeout_is_a_504(client: Any, upstream: Any) -> None:
    upstream.get(upstream_route("/games"), timeout=True)
    error = await error_of(await client.get("/games"), 504)
    assert error["code"] == "upstream_timeout"


async def test_a_slow_upstream_is_cut_off_at_the_deadline_with_a_504(
    make_client: Any, aiohttp_server: Any
) -> None:
    slow = await aiohttp_server(fake_upstream.make_app(latency_s=0.5), host="127.0.0.1")
    client = await make_client(upstream_url=str(slow.make_url("/v1")), upstream={"deadline_s": 0.1})
    error = await error_of(await client.get("/teams"), 504)
    assert error["code"] == "upstream_timeout"
    assert "0.1 s" in error["message"]


async def test_an_upstream_400_is_a_502_that_points_at_the_spec(client: Any, upstream: Any) -> None:
    upstream.get(upstream_route("/stats"), status=400, payload={"error": "bad"})
    error = await error_of(await client.get("/stats"), 502)
    assert error["code"] == "upstream_rejected"
    assert "openapi.yaml" in error["hint"]
