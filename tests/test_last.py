"""`last` N: the most recent finished games, found by a bounded search back through time."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import ask, load_fixture, sent, upstream_route
from tests.league import League, player_id

LAKERS, CELTICS, KNICKS, WARRIORS = 14, 2, 20, 10


@pytest.fixture
def league(upstream: Any) -> League:
    league = League()
    league.serve(upstream)
    upstream.get(upstream_route("/teams"), payload=load_fixture("teams_all.json"), repeat=True)
    return league


def upstream_paths(upstream: Any) -> list[str]:
    return [url.path.removeprefix("/nba/v1") for url in sent(upstream)]


async def test_a_teams_last_games_are_its_newest_finished_ones_newest_first(
    client: Any, upstream: Any, league: League
) -> None:
    for days_ago in (20, 12, 9, 5, 3):
        league.game(days_ago, LAKERS, CELTICS)
    league.game(4, KNICKS, WARRIORS)  # someone else's game
    league.game(0, LAKERS, KNICKS, status="3rd Qtr")  # live: not finished

    answer = await ask(client, "/games?team=Lakers&last=3")

    dates = [row["date"] for row in answer["data"]]
    expected = [league.games[i]["date"] for i in (4, 3, 2)]
    assert dates == expected
    assert all(row["status"] == "Final" for row in answer["data"])
    assert answer["meta"]["last"]["asked"] == answer["meta"]["last"]["found"] == 3
    assert "note" not in answer["meta"]
    # the teams list for the name, then one window of games
    assert upstream_paths(upstream) == ["/teams", "/games"]
    assert answer["meta"]["upstream_calls"] == 2

    again = await ask(client, "/games?team=LAL&last=3")
    assert again["data"] == answer["data"]
    assert again["meta"]["upstream_calls"] == 0 and again["meta"]["cache"] == "hit"


async def test_the_search_crosses_into_the_previous_season(
    client: Any, upstream: Any, league: League
) -> None:
    for days_ago in (200, 204, 208):  # last season's spring
        league.game(days_ago, CELTICS, KNICKS)
    for days_ago in (6, 2):  # this season so far
        league.game(days_ago, KNICKS, CELTICS)

    answer = await ask(client, "/games?team=BOS&last=5")

    seasons = [row["season"] for row in answer["data"]]
    assert len(answer["data"]) == 5
    assert len(set(seasons)) == 2 and seasons == sorted(seasons, reverse=True)
    dates = [row["date"] for row in answer["data"]]
    assert dates == sorted(dates, reverse=True)
    assert answer["meta"]["last"]["searches"] <= 4


async def test_fewer_games_than_asked_says_how_far_it_looked(
    client: Any, upstream: Any, league: League
) -> None:
    league.game(3, WARRIORS, KNICKS)
    league.game(1, KNICKS, WARRIORS)

    answer = await ask(client, "/games?team=Warriors&last=5")

    assert len(answer["data"]) == 2
    last = answer["meta"]["last"]
    assert last["found"] == 2 and last["asked"] == 5 and last["searches"] == 4
    assert last["searched_from"] < last["searched_to"]
    note = answer["meta"]["note"]
    assert "Found 2 of the 5 games" in note and last["searched_from"] in note
    assert "4 lookups" in note
    assert upstream_paths(upstream).count("/games") == 4  # the bound, no more


async def test_the_bound_is_a_setting(make_client: Any, upstream: Any, league: League) -> None:
    client = await make_client(upstream={"last_max_calls": 1})
    league.game(60, WARRIORS, KNICKS)

    answer = await ask(client, "/games?team=GSW&last=1")

    assert answer["data"] == []
    assert upstream_paths(upstream).count("/games") == 1
    assert "1 lookups" in answer["meta"]["note"]


async def test_a_teams_top_scorers_of_its_last_game_in_one_question(
    client: Any, upstream: Any, league: League
) -> None:
    league.game(9, LAKERS, CELTICS, score=(99, 101))
    league.game(2, CELTICS, LAKERS, score=(104, 112))  # the Lakers' last game, away, a win
    league.game(1, KNICKS, WARRIORS)

    answer = await ask(client, "/stats?team=Lakers&last=1&sort=-pts&limit=2")

    rows = answer["data"]
    assert [row["player_id"] for row in rows] == [player_id(LAKERS, 3), player_id(LAKERS, 2)]
    assert {row["team"] for row in rows} == {"LAL"}
    assert {row["opponent"] for row in rows} == {"BOS"}
    assert {row["home_away"] for row in rows} == {"away"}
    assert {row["result"] for row in rows} == {"W 112-104"}
    assert answer["meta"]["sorted"] == "all" and answer["meta"]["total"] == 3
    # teams, one window of the Lakers' games, then that game's lines
    assert upstream_paths(upstream) == ["/teams", "/games", "/stats"]
    assert answer["meta"]["upstream_calls"] == 3


async def test_a_players_last_games_skip_those_he_sat_out(
    client: Any, upstream: Any, league: League
) -> None:
    brown = player_id(CELTICS, 1)
    for days_ago in (15, 11, 8, 6, 4):
        league.game(days_ago, CELTICS, KNICKS)
    league.game(2, KNICKS, CELTICS, sitting_out=(brown,))  # his newest line: did not play

    answer = await ask(client, f"/stats?player_ids={brown}&last=3")

    rows = answer["data"]
    assert [row["date"] for row in rows] == [league.games[i]["date"] for i in (4, 3, 2)]
    assert {row["player_id"] for row in rows} == {brown}
    assert all(row["min"] is not None for row in rows)
    assert {row["opponent"] for row in rows} == {"NYK"}
    assert answer["meta"]["last"]["found"] == 3


async def test_a_player_named_and_his_last_games(
    client: Any, upstream: Any, league: League
) -> None:
    brown = player_id(CELTICS, 2)
    found = {"data": [{**load_fixture("player_237.json")["data"], "id": brown}], "meta": {}}
    upstream.get(upstream_route("/players"), payload=found)
    for days_ago in (5, 3, 1):
        league.game(days_ago, CELTICS, WARRIORS)

    answer = await ask(client, "/stats?player=LeBron James&last=2")

    assert [row["player_id"] for row in answer["data"]] == [brown, brown]
    assert answer["meta"]["query"]["player_ids"] == [brown]
    assert answer["meta"]["upstream_calls"] <= 4


@pytest.mark.parametrize(
    ("asked", "words"),
    [
        ("/games?last=0", "from 1 to 25"),
        ("/games?last=26", "from 1 to 25"),
        ("/games?last=abc", "from 1 to 25"),
        ("/games?last=3&cursor=5", "cannot be combined with cursor"),
        ("/games?last=3&dates=2024-01-05", "cannot be combined with dates"),
        ("/stats?last=3", "needs one of player, player_ids, team"),
        ("/stats?last=3&player_ids=1&game_ids=2", "cannot be combined with game_ids"),
    ],
)
async def test_a_bad_last_is_a_400_without_an_upstream_call(
    client: Any, upstream: Any, asked: str, words: str
) -> None:
    body = await ask(client, asked, 400)
    assert words in body["error"]["message"] + body["error"]["hint"]
    assert sent(upstream) == []


async def test_a_window_of_more_than_a_page_is_narrowed_to_its_newest_days(
    client: Any, upstream: Any, league: League
) -> None:
    for days_ago in range(1, 7):  # 30 games a day: five days hold more than a page of 100
        for home in range(1, 31):
            league.game(days_ago, home, home % 30 + 1)

    answer = await ask(client, "/games?last=25")

    newest = sorted((g["date"], g["id"]) for g in league.games)[-25:]
    assert [(r["date"], r["game_id"]) for r in answer["data"]] == sorted(newest, reverse=True)
    windows = [(q["start_date"][0], q["end_date"][0]) for q in league.asked]
    assert len(windows) == 2 and windows[1][0] > windows[0][0]  # the same end, fewer days
    assert windows[0][1] == windows[1][1]
