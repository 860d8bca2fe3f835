"""`fields` keeps the columns asked for (and the ids); an empty answer's note fits its question."""

from __future__ import annotations

from typing import Any

import pytest

from sportstats.core.params import current_season
from tests.conftest import ask, load_fixture, sent, upstream_route

BOX_SCORE = load_fixture("stats_game_1037684_2023-11-05_DET_vs_GSW.json")
EMPTY = {"data": [], "meta": {"next_cursor": None, "per_page": 25}}


async def test_fields_keep_those_columns_and_the_ids_from_the_one_cached_answer(
    client: Any, upstream: Any
) -> None:
    upstream.get(upstream_route("/stats"), payload=BOX_SCORE)
    upstream.get(upstream_route("/teams"), payload=load_fixture("teams_all.json"))

    full = await ask(client, "/stats?game_ids=1037684&limit=100")
    slim = await ask(client, "/stats?game_ids=1037684&limit=100&fields=pts,player")
    other = await ask(client, "/stats?game_ids=1037684&limit=100&fields=reb,opponent")

    ids = ["player_id", "team_id", "game_id", "opponent_id"]
    assert slim["columns"] == ["player", "pts", *ids]  # the table's order, not the asked one
    assert all(list(row) == slim["columns"] for row in slim["data"])
    assert [row["pts"] for row in slim["data"]] == [row["pts"] for row in full["data"]]
    assert other["columns"] == ["opponent", "reb", *ids]
    assert slim["meta"]["query"]["fields"] == ["player", "pts"]
    assert len(sent(upstream)) == 2  # the box score and the teams list, once
    assert slim["meta"]["upstream_calls"] == other["meta"]["upstream_calls"] == 0
    # served from the cached box score: a hit, said as such, not a miss that cost nothing
    assert full["meta"]["cache"] == "miss"
    assert slim["meta"]["cache"] == other["meta"]["cache"] == "hit"


async def test_fields_with_sort_and_limit_give_a_short_top_list(client: Any, upstream: Any) -> None:
    upstream.get(upstream_route("/stats"), payload=BOX_SCORE)
    upstream.get(upstream_route("/teams"), payload=load_fixture("teams_all.json"))

    top = await ask(client, "/stats?game_ids=1037684&sort=-pts&limit=3&fields=player,pts")

    points = sorted((s["pts"] for s in BOX_SCORE["data"] if s["pts"] is not None), reverse=True)
    assert [row["pts"] for row in top["data"]] == points[:3]
    assert set(top["columns"]) == {
        "player",
        "pts",
        "player_id",
        "team_id",
        "game_id",
        "opponent_id",
    }


async def test_fields_on_season_averages_and_teams(client: Any, upstream: Any) -> None:
    upstream.get(upstream_route("/teams"), payload=load_fixture("teams_all.json"))
    teams = await ask(client, "/teams?division=pacific&fields=abbreviation")
    assert teams["columns"] == ["abbreviation", "team_id"]
    assert sorted(row["abbreviation"] for row in teams["data"]) == [
        "GSW",
        "LAC",
        "LAL",
        "PHX",
        "SAC",
    ]


@pytest.mark.parametrize(
    "asked", ["/stats?fields=foo", "/players?fields=pts", "/teams?fields=-team"]
)
async def test_an_unknown_field_is_a_400_listing_the_columns(
    client: Any, upstream: Any, asked: str
) -> None:
    response = await client.get(asked)
    body = await response.json()
    assert response.status == 400 and body["error"]["code"] == "invalid_parameter"
    assert "columns" in body["error"]["hint"] and "_id" in body["error"]["hint"]
    assert sent(upstream) == []


@pytest.mark.parametrize(
    ("asked", "path", "words"),
    [
        ("/players?query=zzyzx", "/players", "No player's name matches 'zzyzx'"),
        ("/players?last_name=Nobody", "/players", "No player has the last name 'Nobody'"),
        ("/games?dates=2024-07-04", "/games", "No games on 2024-07-04"),
        ("/games?team_ids=14&seasons=2019", "/games", "Team 14 has no games in season 2019"),
        ("/stats?game_ids=18448007", "/stats", "No box-score lines for game 18448007 yet"),
        ("/stats?player_ids=237&seasons=2003", "/stats", "no games played then"),
        ("/stats?dates=2024-12-24", "/stats", "no games were played that day"),
    ],
)
async def test_an_empty_answer_says_why_in_words_that_fit(
    client: Any, upstream: Any, asked: str, path: str, words: str
) -> None:
    upstream.get(upstream_route(path), payload=EMPTY)
    answer = await ask(client, asked)
    assert answer["data"] == [] and words in answer["meta"]["note"]


async def test_a_player_without_games_that_season_is_named_in_the_note(
    client: Any, upstream: Any
) -> None:
    upstream.get(upstream_route("/season_averages"), payload={"data": []})
    upstream.get(upstream_route("/players"), payload=load_fixture("players_page_ASSEMBLED.json"))
    answer = await ask(client, "/season_averages?player_ids=237&season=2002")
    assert answer["meta"]["note"] == (
        "No averages for LeBron James (player_id 237) in season 2002: no games played that season."
    )


@pytest.mark.parametrize(
    ("path", "asked"),
    [
        ("/games", "/games?team_ids=14&seasons={next}"),
        ("/stats", "/stats?player_ids=237&seasons={next}"),
        ("/season_averages", "/season_averages?player_ids=237&season={next}"),
    ],
)
async def test_a_season_not_yet_started_says_when_it_starts(
    client: Any, upstream: Any, path: str, asked: str
) -> None:
    upcoming = current_season() + 1
    upstream.get(
        upstream_route(path), payload=EMPTY if path != "/season_averages" else {"data": []}
    )
    upstream.get(upstream_route("/players"), payload=load_fixture("players_page_ASSEMBLED.json"))
    answer = await ask(client, asked.format(next=upcoming))
    label = f"{upcoming}-{(upcoming + 1) % 100:02d}"
    assert answer["meta"]["note"].startswith(
        f"Season {upcoming} ({label}) has not started yet: it starts in October {upcoming}"
    )
    assert f"The current season is {upcoming - 1}" in answer["meta"]["note"]


@pytest.mark.parametrize(
    ("asked", "path", "words"),
    [
        (
            "/games?team=Lakers&seasons=2019",
            "/games",
            "Team Los Angeles Lakers has no games in season 2019",
        ),
        (
            "/stats?player=LeBron James&seasons=2003",
            "/stats",
            "Player LeBron James has no box-score lines in season 2003",
        ),
    ],
)
async def test_an_empty_answer_asked_by_name_says_the_name_not_the_id(
    client: Any, upstream: Any, asked: str, path: str, words: str
) -> None:
    upstream.get(upstream_route("/teams"), payload=load_fixture("teams_all.json"))
    upstream.get(upstream_route("/players"), payload=load_fixture("players_page_ASSEMBLED.json"))
    upstream.get(upstream_route(path), payload=EMPTY)
    answer = await ask(client, asked)
    assert answer["data"] == [] and answer["meta"]["note"].startswith(words), answer["meta"]
