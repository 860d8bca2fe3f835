"""The route table and the plans: declared once, as the vendor documents them, read by the
client and the endpoints."""

from __future__ import annotations

import ast
import logging
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from aioresponses import aioresponses

from sportstats.core.endpoints import ENDPOINTS
from sportstats.upstream.plans import BY_NAME, CHOICES, PLANS, cheapest_serving
from sportstats.upstream.routes import LEAGUE, ROUTES, RouteBase
from tests.conftest import FIXTURES, load_fixture, sent, upstream_route

PACKAGE = Path(__file__).resolve().parent.parent / "sportstats"
VENDOR = yaml.safe_load((FIXTURES / "vendor_nba_openapi.yml").read_text())


def documented(path: str) -> str:
    """The vendor's path that `path` is, placeholders named as the vendor names them."""
    shape = re.sub(r"\{[^}]+\}", "{}", path)
    matches = [known for known in VENDOR["paths"] if re.sub(r"\{[^}]+\}", "{}", known) == shape]
    assert len(matches) == 1, path
    return matches[0]


def vendor_array_params(path: str) -> set[str]:
    """The query params the vendor's spec makes arrays on `path` (brackets dropped)."""
    components = VENDOR["components"]["parameters"]
    found = set()
    for param in VENDOR["paths"][path]["get"].get("parameters", []):
        if "$ref" in param:
            param = components[param["$ref"].rsplit("/", 1)[1]]
        if param.get("in") == "query" and param.get("schema", {}).get("type") == "array":
            found.add(param["name"].removesuffix("[]"))
    return found


@pytest.mark.parametrize("route", ROUTES.values(), ids=lambda route: route.name)
def test_every_route_is_a_path_of_the_vendors_spec_with_its_array_params(route: Any) -> None:
    assert set(route.arrays) == vendor_array_params(documented(route.path))


def test_the_route_table_holds_the_routes_the_server_and_the_paid_answers_use() -> None:
    assert {endpoint.route.name for endpoint in ENDPOINTS} <= set(ROUTES)
    assert {
        "players/active",
        "player_injuries",
        "leaders",
        "standings",
        "box_scores",
        "box_scores/live",
        "season_averages/{category}",
        "team_season_averages/{category}",
        "stats/advanced",
    } <= set(ROUTES)


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=lambda endpoint: endpoint.name)
def test_every_array_param_an_endpoint_sends_is_an_array_on_its_route(endpoint: Any) -> None:
    fanned_out = endpoint.per_player.ids_param if endpoint.per_player else None
    sent_as_arrays = {
        p.upstream_name
        for p in endpoint.params
        if p.is_array and not p.local and p.name != fanned_out
    }
    assert sent_as_arrays <= set(endpoint.route.arrays)


def test_the_plans_are_free_all_star_and_goat_with_5_60_and_600_a_minute() -> None:
    assert CHOICES == ("auto", "free", "all-star", "goat")
    assert [plan.requests_per_minute for plan in PLANS] == [5, 60, 600]


def test_each_plan_serves_what_the_vendor_says_and_every_pricier_plan_serves_it_too() -> None:
    served = {plan.name: {route.name for route in plan.routes()} for plan in PLANS}
    assert served["free"] == {"teams", "players", "games"}
    assert served["all-star"] == served["free"] | {
        "stats",
        "season_averages",
        "players/active",
        "player_injuries",
    }
    assert served["goat"] == set(ROUTES)
    assert cheapest_serving(ROUTES["leaders"]) is BY_NAME["goat"]
    assert cheapest_serving(ROUTES["stats"]) is BY_NAME["all-star"]


def test_the_documented_base_puts_every_route_at_its_documented_path() -> None:
    base = RouteBase.read("https://api.balldontlie.io")
    assert str(base.url(ROUTES["teams"], [])) == "https://api.balldontlie.io/nba/v1/teams"
    advanced = base.url(ROUTES["stats/advanced"], [("seasons", "2024")])
    assert str(advanced) == "https://api.balldontlie.io/nba/v2/stats/advanced?seasons%5B%5D=2024"
    clutch = base.url(ROUTES["season_averages/{category}"], [], category="clutch")
    assert clutch.path == "/nba/v1/season_averages/clutch"


@pytest.mark.parametrize(
    ("configured", "teams", "advanced"),
    [
        ("https://api.balldontlie.io/v1", "/v1/teams", "/v2/stats/advanced"),
        ("https://api.balldontlie.io/v1/", "/v1/teams", "/v2/stats/advanced"),
        ("https://api.balldontlie.io/nba/v1", "/nba/v1/teams", "/nba/v2/stats/advanced"),
        ("http://127.0.0.1:8000/proxy/v1", "/proxy/v1/teams", "/proxy/v2/stats/advanced"),
        ("http://127.0.0.1:8000/proxy", "/proxy/nba/v1/teams", "/proxy/nba/v2/stats/advanced"),
    ],
)
def test_an_older_base_ending_in_v1_keeps_working_and_says_how_it_was_read(
    configured: str, teams: str, advanced: str
) -> None:
    base = RouteBase.read(configured)
    assert base.url(ROUTES["teams"], []).path == teams
    assert base.url(ROUTES["stats/advanced"], []).path == advanced
    assert configured in base.reading and teams.removesuffix("teams") in base.reading


def test_a_route_with_a_path_param_refuses_to_be_asked_without_it() -> None:
    with pytest.raises(ValueError, match="category"):
        RouteBase.read("https://api.balldontlie.io").url(
            ROUTES["team_season_averages/{category}"], []
        )


async def test_the_client_asks_the_routes_path_with_bracketed_arrays_and_logs_the_base(
    make_client: Any, upstream: aioresponses, caplog: pytest.LogCaptureFixture
) -> None:
    upstream.get(upstream_route("/teams"), payload=load_fixture("teams_all.json"))
    upstream.get(upstream_route("/games"), payload={"data": [], "meta": {}})
    with caplog.at_level(logging.INFO, logger="sportstats.upstream.client"):
        client = await make_client()
        assert (await client.get("/games?team=LAL&seasons=2024")).status == 200
    assert "routes at https://api.balldontlie.io/nba/v1/..." in caplog.text
    games = [url for url in sent(upstream) if url.path.endswith("/games")]
    assert [url.path for url in games] == ["/nba/v1/games"]
    assert games[0].query.getall("seasons[]") == ["2024"]
    assert games[0].query.getall("team_ids[]") == ["14"]


def test_no_league_path_is_spelled_outside_the_route_table() -> None:
    spelled = (LEAGUE.prefix + "/",)
    found = []
    for path in PACKAGE.rglob("*.py"):
        if path.name == "routes.py" and path.parent.name == "upstream":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            text = node.value if isinstance(node, ast.Constant) else None
            if isinstance(text, str) and any(spelling in text for spelling in spelled):
                found.append(f"{path.relative_to(PACKAGE)}:{node.lineno}")
    assert found == []


def test_the_cache_keeps_an_answer_as_long_as_its_routes_settled_data_stays_true() -> None:
    """The settings cannot read the route table (they come first): their default TTLs are
    checked against it here, for each endpoint answered from its own route."""
    from sportstats.settings.options import DEFAULT_TTLS_S

    own = [e for e in ENDPOINTS if e.answered_from is None]
    assert {e.name: DEFAULT_TTLS_S[e.freshness.ttl_option] for e in own} == {
        e.name: e.route.fresh_s for e in own
    }
