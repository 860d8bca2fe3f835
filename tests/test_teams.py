"""Teams by name: every spelling resolves from the one cached teams list; unknown and ambiguous
names are refused with candidates; on /stats a team filters the rows of a cached page."""

from __future__ import annotations

from typing import Any

import pytest

from sportstats.core.teams import TeamIndex, fold
from tests.conftest import ask, load_fixture, sent, upstream_route, upstream_url

TEAMS = load_fixture("teams_all.json")
BOX_SCORE = load_fixture("stats_game_1037684_2023-11-05_DET_vs_GSW.json")  # DET 9, GSW 12 rows
EMPTY = {"data": [], "meta": {"per_page": 25}}


def serve(upstream: Any) -> None:
    upstream.get(upstream_route("/teams"), payload=TEAMS)
    upstream.get(upstream_route("/games"), payload=EMPTY, repeat=True)


@pytest.mark.parametrize(
    "name",
    ["14", "LAL", "lal", "Lakers", "LAKERS", "Los Angeles Lakers", "  los   angeles lakers "],
)
async def test_every_spelling_of_a_team_asks_the_upstream_by_its_id(
    client: Any, upstream: Any, name: str
) -> None:
    serve(upstream)
    answer = await ask(client, f"/games?team={name}")
    assert sent(upstream)[-1] == upstream_url("/games", [("team_ids[]", "14"), ("per_page", "25")])
    assert answer["meta"]["query"] == {"limit": 25, "team_ids": [14]}


async def test_a_city_that_names_one_team_and_accents_are_understood(
    client: Any, upstream: Any
) -> None:
    serve(upstream)
    await ask(client, "/games?team=Boston,Bróoklyn Néts")
    assert sent(upstream)[-1] == upstream_url(
        "/games", [("team_ids[]", "2"), ("team_ids[]", "3"), ("per_page", "25")]
    )


async def test_names_and_ids_together_mean_either_team(client: Any, upstream: Any) -> None:
    serve(upstream)
    await ask(client, "/games?team=Celtics&team_ids=14")
    assert sent(upstream)[-1] == upstream_url(
        "/games", [("team_ids[]", "2"), ("team_ids[]", "14"), ("per_page", "25")]
    )


async def test_the_teams_list_is_asked_once_for_every_name(client: Any, upstream: Any) -> None:
    serve(upstream)
    for name in ("Lakers", "BOS", "Denver", "Golden State Warriors"):
        await ask(client, f"/games?team={name}")
    await ask(client, "/teams?conference=West")
    teams_calls = [url for url in sent(upstream) if url.path.endswith("/teams")]
    assert teams_calls == [upstream_url("/teams")]


async def test_los_angeles_names_two_teams_and_the_answer_lists_both(
    client: Any, upstream: Any
) -> None:
    serve(upstream)
    body = await ask(client, "/games?team=Los Angeles", status=400)
    assert body["error"]["code"] == "ambiguous_team"
    assert "LA Clippers (LAC, team_id 13)" in body["error"]["message"]
    assert "Los Angeles Lakers (LAL, team_id 14)" in body["error"]["message"]
    assert not [url for url in sent(upstream) if url.path.endswith("/games")]


async def test_an_unknown_team_is_refused_with_the_closest_names(
    client: Any, upstream: Any
) -> None:
    serve(upstream)
    body = await ask(client, "/games?team=Lakerz", status=400)
    assert body["error"]["code"] == "unknown_team"
    assert "Los Angeles Lakers" in body["error"]["message"]
    assert "/teams" in body["error"]["hint"]
    assert not [url for url in sent(upstream) if url.path.endswith("/games")]


async def test_an_empty_team_means_not_given_and_a_bad_one_costs_no_upstream_call(
    client: Any, upstream: Any
) -> None:
    body = await ask(client, "/games?team=" + "x" * 65, status=400)
    assert body["error"]["code"] == "invalid_parameter"
    assert sent(upstream) == []


async def test_on_stats_a_team_keeps_its_rows_of_one_cached_page(
    client: Any, upstream: Any
) -> None:
    serve(upstream)
    upstream.get(upstream_route("/stats"), payload=BOX_SCORE)

    detroit = await ask(client, "/stats?game_ids=1037684&team=Pistons")
    golden_state = await ask(client, "/stats?game_ids=1037684&team=GSW&limit=5")

    stats_calls = [url for url in sent(upstream) if url.path.endswith("/stats")]
    assert stats_calls == [
        upstream_url("/stats", [("game_ids[]", "1037684"), ("per_page", "100")])
    ]  # one upstream page for both questions; the team is not sent upstream
    assert {row["team"] for row in detroit["data"]} == {"DET"} and len(detroit["data"]) == 9
    assert detroit["meta"]["query"]["team"] == [9]
    assert len(golden_state["data"]) == 5 and golden_state["meta"]["total"] == 12
    assert "larger limit" in golden_state["meta"]["note"]


def test_folding_ignores_case_accents_dots_and_spaces() -> None:
    assert fold("  Dóncic  L.A. ") == "doncic la"


def test_the_index_knows_nicknames_cities_and_abbreviations() -> None:
    rows = [
        {"team": "Portland Trail Blazers", "abbreviation": "POR", "city": "Portland", "team_id": 25}
    ]
    index = TeamIndex(rows)
    assert {index.resolve(n) for n in ("trail blazers", "Portland", "por", "25")} == {25}
